//! Reading the timeline back: snapshots, the manifest at one, changes and actors between two,
//! cursors, audit records and an object's history.

use std::collections::BTreeMap;

use futures_util::TryStreamExt as _;
use jiff::Timestamp;
use rewind_model::{Actor, Kind};
use serde_json::Value;
use sqlx::Row as _;

use super::{
    SNAPSHOT_COLUMNS, SnapshotInfo, VersionRecord, import_mark_key, merge_actors, object_key,
    parse_records, snapshot_row, version_key,
};
use crate::columns::opt_hash;
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::manifest::{Change, Manifest, ObjectKey, apply, manifest_hash};
use crate::store::{Store, micros};
use crate::tenant::TenantInfo;

impl Store {
    /// The audit records a snapshot keeps, as Graph returned them.
    pub async fn audit_records(&self, snapshot: &SnapshotInfo) -> Result<Vec<Value>, StoreError> {
        match &snapshot.audit {
            None => Ok(Vec::new()),
            Some(h) => match self.version(h).await? {
                Value::Array(records) => Ok(records),
                _ => Err(StoreError::Corrupt(format!(
                    "the audit blob {} of snapshot {} is not a list",
                    h.to_hex(),
                    snapshot.id
                ))),
            },
        }
    }

    /// The tenant's snapshots, oldest first.
    pub async fn snapshots(&self, tenant: &TenantInfo) -> Result<Vec<SnapshotInfo>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant = $1 ORDER BY id"
        ))
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?
        .iter()
        .map(snapshot_row)
        .collect()
    }

    /// The tenant's latest snapshot.
    pub async fn latest(&self, tenant: &TenantInfo) -> Result<Option<SnapshotInfo>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(tenant.id)
        .fetch_optional(&self.db)
        .await?
        .as_ref()
        .map(snapshot_row)
        .transpose()
    }

    /// The tenant's last snapshot taken at or before `at`.
    pub async fn snapshot_at(
        &self,
        tenant: &TenantInfo,
        at: Timestamp,
    ) -> Result<Option<SnapshotInfo>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant = $1 AND taken_at <= $2 \
             ORDER BY id DESC LIMIT 1"
        ))
        .bind(tenant.id)
        .bind(at.as_microsecond())
        .fetch_optional(&self.db)
        .await?
        .as_ref()
        .map(snapshot_row)
        .transpose()
    }

    /// A snapshot of the tenant by id.
    pub async fn snapshot(
        &self,
        tenant: &TenantInfo,
        id: SnapshotId,
    ) -> Result<Option<SnapshotInfo>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant = $1 AND id = $2"
        ))
        .bind(tenant.id)
        .bind(id)
        .fetch_optional(&self.db)
        .await?
        .as_ref()
        .map(snapshot_row)
        .transpose()
    }

    /// The manifest at a snapshot: every object's latest version up to it. It must give the
    /// snapshot's manifest hash and the snapshot its chain hash, or the snapshot is refused as
    /// damaged (a version row changed or removed).
    pub async fn manifest(
        &self,
        tenant: &TenantInfo,
        snapshot: &SnapshotInfo,
    ) -> Result<Manifest, StoreError> {
        let manifest = self.fold_manifest(tenant, snapshot).await?;
        if manifest_hash(&manifest) != snapshot.manifest {
            return Err(StoreError::Damaged {
                tenant: tenant.name.clone(),
                snapshot: snapshot.id,
                what: "its version rows no longer give its manifest".into(),
            });
        }
        self.check_snapshot(tenant, snapshot.id).await?;
        Ok(manifest)
    }

    /// The manifest at a snapshot as its rows give it, unchecked: only for `capture --full`,
    /// which reads the whole tenant to build a snapshot to rely on over damaged history.
    pub async fn manifest_as_stored(
        &self,
        tenant: &TenantInfo,
        snapshot: &SnapshotInfo,
    ) -> Result<Manifest, StoreError> {
        self.fold_manifest(tenant, snapshot).await
    }

    async fn fold_manifest(
        &self,
        tenant: &TenantInfo,
        snapshot: &SnapshotInfo,
    ) -> Result<Manifest, StoreError> {
        if let Some(path) = self.path.clone() {
            let (tenant, snapshot) = (tenant.id, snapshot.id);
            return tokio::task::spawn_blocking(move || {
                crate::bulk::manifest(&path, tenant, snapshot)
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        }
        let mut manifest = Manifest::new();
        let mut rows = sqlx::query(
            "SELECT kind, key, hash FROM versions WHERE tenant = $1 AND snapshot <= $2 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(snapshot.id)
        .fetch(&self.db);
        while let Some(row) = rows.try_next().await? {
            let (key, hash) = version_key(&row)?;
            apply(&mut manifest, key, hash);
        }
        Ok(manifest)
    }

    /// Objects with a version row after snapshot `after` up to snapshot `upto`: what changed
    /// between two points, found without reading either state.
    pub async fn changed_between(
        &self,
        tenant: &TenantInfo,
        after: SnapshotId,
        upto: SnapshotId,
    ) -> Result<Vec<ObjectKey>, StoreError> {
        self.check_range(tenant, after, upto).await?;
        let rows = sqlx::query(
            "SELECT DISTINCT kind, key FROM versions WHERE tenant = $1 AND snapshot > $2 AND snapshot <= $3",
        )
        .bind(tenant.id)
        .bind(after)
        .bind(upto)
        .fetch_all(&self.db)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let kind: String = r.try_get(0)?;
            let kind = Kind::from_name(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in versions")))?;
            out.push(ObjectKey::new(kind, r.try_get::<String, _>(1)?));
        }
        Ok(out)
    }

    /// Who changed each object after snapshot `after` up to snapshot `upto`, from its version
    /// rows and the late records that amend them: every identity, in order of appearance.
    pub async fn actors_between(
        &self,
        tenant: &TenantInfo,
        after: SnapshotId,
        upto: SnapshotId,
    ) -> Result<BTreeMap<ObjectKey, Vec<Actor>>, StoreError> {
        self.check_range(tenant, after, upto).await?;
        let rows = sqlx::query(
            "SELECT kind, key, actors FROM versions WHERE tenant = $1 AND snapshot > $2 \
             AND snapshot <= $3 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(after)
        .bind(upto)
        .fetch_all(&self.db)
        .await?;
        let mut out: BTreeMap<ObjectKey, Vec<Actor>> = BTreeMap::new();
        for r in rows {
            let key = object_key(&r.try_get::<String, _>(0)?, r.try_get(1)?)?;
            let actors = self.open_actors(&key, &r.try_get::<String, _>(2)?)?;
            merge_actors(out.entry(key).or_default(), actors);
        }
        for a in self.amendments_between(tenant, after, upto).await? {
            merge_actors(out.entry(a.object).or_default(), a.actors);
        }
        Ok(out)
    }

    /// The git commit the last import of a git history stopped at.
    pub async fn import_mark(&self, tenant: &TenantInfo) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(import_mark_key(tenant.id))
            .fetch_optional(&self.db)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    /// The delta links to resume from.
    pub async fn cursors(&self, tenant: &TenantInfo) -> Result<BTreeMap<Kind, String>, StoreError> {
        let rows = sqlx::query("SELECT kind, link FROM cursors WHERE tenant = $1")
            .bind(tenant.id)
            .fetch_all(&self.db)
            .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let kind: String = r.try_get(0)?;
            let kind = Kind::from_name(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in cursors")))?;
            out.insert(kind, r.try_get(1)?);
        }
        Ok(out)
    }

    /// The time of the newest audit record kept for the tenant.
    pub async fn last_audit_time(
        &self,
        tenant: &TenantInfo,
    ) -> Result<Option<Timestamp>, StoreError> {
        let us: Option<i64> =
            sqlx::query("SELECT MAX(audit_until) FROM snapshots WHERE tenant = $1")
                .bind(tenant.id)
                .fetch_one(&self.db)
                .await?
                .try_get(0)?;
        us.map(micros).transpose()
    }

    /// Every version of one object, oldest first.
    pub async fn history(
        &self,
        tenant: &TenantInfo,
        object: &ObjectKey,
    ) -> Result<Vec<VersionRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.snapshot, s.taken_at, v.hash, v.name, v.change, v.actors, v.records FROM versions v \
             JOIN snapshots s ON s.id = v.snapshot \
             WHERE v.tenant = $1 AND v.kind = $2 AND v.key = $3 ORDER BY v.snapshot",
        )
        .bind(tenant.id)
        .bind(object.kind.name())
        .bind(object.key.clone())
        .fetch_all(&self.db)
        .await?;
        // The history is only as good as the snapshots it comes from.
        for r in &rows {
            self.check_snapshot(tenant, r.try_get(0)?).await?;
        }
        let mut late = self.amendments_of(tenant, object).await?;
        let mut out: Vec<VersionRecord> = Vec::with_capacity(rows.len());
        for r in &rows {
            let change: String = r.try_get(4)?;
            let hash = opt_hash(r.try_get(2)?)?;
            let snapshot: SnapshotId = r.try_get(0)?;
            let mut actors = self.open_actors(object, &r.try_get::<String, _>(5)?)?;
            let mut records = parse_records(r.try_get(6)?)?;
            for a in late.iter_mut().filter(|a| a.version == snapshot) {
                merge_actors(&mut actors, std::mem::take(&mut a.actors));
                records.append(&mut a.records);
            }
            let name = if self.sealer.encrypted() {
                match &hash {
                    Some(h) => self.version(h).await?["displayName"].as_str().map(str::to_string),
                    None => out.last().and_then(|p| p.name.clone()),
                }
            } else {
                r.try_get(3)?
            };
            out.push(VersionRecord {
                snapshot,
                taken_at: micros(r.try_get(1)?)?,
                hash,
                name,
                change: Change::from_name(&change)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown change '{change}'")))?,
                actors,
                records,
            });
        }
        Ok(out)
    }
}
