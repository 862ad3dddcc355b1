//! Reading parts of the state at a point without folding the whole manifest: the versions of
//! chosen objects, or of one kind. What diffs, name look-ups and references need, at a cost
//! that follows what is asked, not the size of the tenant.

use std::collections::HashMap;

use futures_util::TryStreamExt as _;
use rewind_model::{ContentHash, Kind};

use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::manifest::{Manifest, ObjectKey, apply};
use crate::schema::Dialect;
use crate::store::Store;
use crate::tenant::TenantInfo;
use crate::timeline::{push_placeholders_after, version_key};

/// Objects asked for in one statement (two parameters each).
const KEYS_PER_QUERY: usize = 400;

impl Store {
    /// The version of each of `objects` at `snapshot`: `Some(hash)` when it existed then,
    /// `None` when it had been deleted; objects never seen by then are left out.
    pub async fn versions_at(
        &self,
        tenant: &TenantInfo,
        objects: &[ObjectKey],
        snapshot: SnapshotId,
    ) -> Result<HashMap<ObjectKey, Option<ContentHash>>, StoreError> {
        self.check_snapshot(tenant, snapshot).await?;
        let mut out = HashMap::with_capacity(objects.len());
        for chunk in objects.chunks(KEYS_PER_QUERY) {
            let mut sql = String::from(match self.dialect {
                Dialect::Sqlite => {
                    "SELECT kind, key, hash FROM versions WHERE tenant = ? AND snapshot <= ? \
                     AND (kind, key) IN (VALUES "
                }
                Dialect::Postgres => {
                    "SELECT kind, key, hash FROM versions WHERE tenant = $1 AND snapshot <= $2 \
                     AND (kind, key) IN (VALUES "
                }
            });
            push_placeholders_after(&mut sql, self.dialect, 2, chunk.len(), 2);
            sql.push_str(") ORDER BY snapshot");
            let mut q = sqlx::query(&sql).bind(tenant.id).bind(snapshot);
            for o in chunk {
                q = q.bind(o.kind.name()).bind(o.key.clone());
            }
            let mut rows = q.fetch(&self.db);
            while let Some(row) = rows.try_next().await? {
                let (key, hash) = version_key(&row)?;
                out.insert(key, hash);
            }
        }
        Ok(out)
    }

    /// Every object of `kind` that exists at `snapshot`, with its version.
    pub async fn kind_at(
        &self,
        tenant: &TenantInfo,
        kind: Kind,
        snapshot: SnapshotId,
    ) -> Result<Manifest, StoreError> {
        self.check_snapshot(tenant, snapshot).await?;
        let mut manifest = Manifest::new();
        let mut rows = sqlx::query(
            "SELECT kind, key, hash FROM versions WHERE tenant = $1 AND kind = $2 \
             AND snapshot <= $3 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(kind.name())
        .bind(snapshot)
        .fetch(&self.db);
        while let Some(row) = rows.try_next().await? {
            let (key, hash) = version_key(&row)?;
            apply(&mut manifest, key, hash);
        }
        Ok(manifest)
    }
}
