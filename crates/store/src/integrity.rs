//! Damage stops work: before a command relies on a snapshot, its chain hash is recomputed from
//! what is stored about it (its fields, version rows, amendments, manifest, audit blob) and its
//! parent's chain, and its parent must be the tenant's previous snapshot. A snapshot that does
//! not match is refused with [`StoreError::Damaged`]. Each snapshot is checked once per process;
//! `verify` checks everything, blobs included.

use rewind_model::ContentHash;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::chain::{AmendmentFields, RowFields, SnapshotFields, chain_hash_v2, snapshot_digest};
use crate::columns::opt_hash;
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::manifest::chain_hash;
use crate::store::Store;
use crate::tenant::TenantInfo;

/// What the chain of one snapshot is computed from, besides its rows and amendments.
#[derive(Debug, Clone)]
pub(crate) struct ChainRow {
    pub(crate) id: SnapshotId,
    pub(crate) parent: Option<SnapshotId>,
    pub(crate) chain: ContentHash,
    pub(crate) anchor: Option<ContentHash>,
    pub(crate) version: i64,
    pub(crate) manifest: ContentHash,
    pub(crate) audit: Option<ContentHash>,
    pub(crate) taken_at: i64,
    pub(crate) complete: bool,
    pub(crate) objects: i64,
    pub(crate) counts: String,
    pub(crate) requests: i64,
    pub(crate) millis: i64,
    pub(crate) cursor_kinds: Option<String>,
    pub(crate) ledger_head: Option<String>,
    pub(crate) audit_until: Option<i64>,
}

/// The columns of a [`ChainRow`], in order.
pub(crate) const CHAIN_COLUMNS: &str = "id, parent, chain, chain_anchor, chain_version, manifest, \
     audit, taken_at, complete, objects, counts, requests, millis, cursor_kinds, ledger_head, audit_until";

pub(crate) fn chain_row(r: &AnyRow) -> Result<ChainRow, StoreError> {
    let hash = |i: usize| -> Result<ContentHash, StoreError> {
        opt_hash(r.try_get(i)?)?
            .ok_or_else(|| StoreError::Corrupt("a snapshot hash is missing".into()))
    };
    Ok(ChainRow {
        id: r.try_get(0)?,
        parent: r.try_get(1)?,
        chain: hash(2)?,
        anchor: opt_hash(r.try_get(3)?)?,
        version: r.try_get(4)?,
        manifest: hash(5)?,
        audit: opt_hash(r.try_get(6)?)?,
        taken_at: r.try_get(7)?,
        complete: r.try_get::<i64, _>(8)? != 0,
        objects: r.try_get(9)?,
        counts: r.try_get(10)?,
        requests: r.try_get(11)?,
        millis: r.try_get(12)?,
        cursor_kinds: r.try_get(13)?,
        ledger_head: r.try_get(14)?,
        audit_until: r.try_get(15)?,
    })
}

impl Store {
    /// The chain hash `s` should have, given its parent's chain and what is stored about it.
    pub(crate) fn expected_chain(
        &self,
        tenant: &TenantInfo,
        s: &ChainRow,
        parent: Option<&ContentHash>,
        rows: &mut [RowFields],
        amendments: &mut [AmendmentFields],
    ) -> ContentHash {
        if s.version < 2 {
            return chain_hash(
                parent,
                &s.manifest,
                s.audit.as_ref(),
                &tenant.tenant_id,
                s.taken_at,
            );
        }
        let fields = SnapshotFields {
            tenant,
            taken_at: s.taken_at,
            complete: s.complete,
            objects: s.objects,
            counts: &s.counts,
            requests: s.requests,
            millis: s.millis,
            cursor_kinds: s.cursor_kinds.as_deref(),
            ledger_head: s.ledger_head.as_deref(),
            audit_until: s.audit_until,
        };
        let digest = snapshot_digest(&fields, rows, amendments);
        chain_hash_v2(self.sealer.chain_key(), parent, &s.manifest, s.audit.as_ref(), &digest)
    }

    /// The tenant's snapshots as the chain sees them, oldest first.
    pub(crate) async fn chain_rows(
        &self,
        tenant: &TenantInfo,
    ) -> Result<Vec<ChainRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CHAIN_COLUMNS} FROM snapshots WHERE tenant = $1 ORDER BY id"
        ))
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(chain_row).collect()
    }

    /// One snapshot's version rows, as stored.
    pub(crate) async fn row_fields_of(
        &self,
        tenant: &TenantInfo,
        snapshot: SnapshotId,
    ) -> Result<Vec<RowFields>, StoreError> {
        if let Some(path) = self.path.clone() {
            // A first snapshot holds a row per object: read directly, as manifests are, a
            // large tenant's rows take a fifth of the time.
            let tenant = tenant.id;
            return tokio::task::spawn_blocking(move || {
                crate::bulk::row_fields(&path, tenant, snapshot)
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        }
        let rows = sqlx::query(
            "SELECT kind, key, hash, change, name, actors, records FROM versions \
             WHERE tenant = $1 AND snapshot = $2",
        )
        .bind(tenant.id)
        .bind(snapshot)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(stored_row).collect()
    }

    /// Checks the chain of every snapshot of the tenant after `after` up to `upto`: what a
    /// command reading the changes between them relies on.
    pub async fn check_range(
        &self,
        tenant: &TenantInfo,
        after: SnapshotId,
        upto: SnapshotId,
    ) -> Result<(), StoreError> {
        let all = self.chain_rows(tenant).await?;
        for (i, s) in all.iter().enumerate() {
            if s.id > after && s.id <= upto {
                let previous = i.checked_sub(1).map(|p| &all[p]);
                self.check_one(tenant, s, previous).await?;
            }
        }
        Ok(())
    }

    /// Checks one snapshot's chain: what a command reading the state at it relies on (its
    /// manifest is checked where it is folded).
    pub async fn check_snapshot(
        &self,
        tenant: &TenantInfo,
        snapshot: SnapshotId,
    ) -> Result<(), StoreError> {
        if self.was_checked(snapshot.0) {
            return Ok(());
        }
        self.check_range(tenant, SnapshotId(snapshot.0 - 1), snapshot).await
    }

    /// Checks the state at a snapshot as a whole: its version rows up to it give its manifest,
    /// and its chain holds. For commands that read parts of a state (kinds, some objects)
    /// but rely on all of it, such as the lockout analysis.
    pub async fn check_state(
        &self,
        tenant: &TenantInfo,
        snapshot: SnapshotId,
    ) -> Result<(), StoreError> {
        let key = -snapshot.0;
        if self.was_checked(key) {
            return Ok(());
        }
        let Some(info) = self.snapshot(tenant, snapshot).await? else {
            return Ok(());
        };
        self.manifest(tenant, &info).await?;
        if let Ok(mut set) = self.checked.lock() {
            set.insert(key);
        }
        Ok(())
    }

    fn was_checked(&self, snapshot: i64) -> bool {
        self.checked.lock().is_ok_and(|set| set.contains(&snapshot))
    }

    async fn check_one(
        &self,
        tenant: &TenantInfo,
        s: &ChainRow,
        previous: Option<&ChainRow>,
    ) -> Result<(), StoreError> {
        if self.was_checked(s.id.0) {
            return Ok(());
        }
        let damaged = |what: String| StoreError::Damaged {
            tenant: tenant.name.clone(),
            snapshot: s.id,
            what,
        };
        let parent_chain = match (s.parent, previous) {
            (None, None) => None,
            (Some(p), Some(prev)) if p == prev.id => Some(prev.chain),
            // A parent that an old `forget` removed (version 1 only: `forget` now re-seals
            // the chain, and a version-2 link must be to the snapshot before).
            (Some(_), _) if s.version < 2 && s.anchor.is_some() => s.anchor,
            (parent, prev) => {
                return Err(damaged(format!(
                    "its parent is {}, but the snapshot before it is {}",
                    parent.map_or_else(|| "none".into(), |p| p.to_string()),
                    prev.map_or_else(|| "none".into(), |p| p.id.to_string())
                )));
            }
        };
        let mut rows = self.row_fields_of(tenant, s.id).await?;
        let mut amendments = amendments_of(&self.db, tenant, s.id).await?;
        let expected =
            self.expected_chain(tenant, s, parent_chain.as_ref(), &mut rows, &mut amendments);
        if expected != s.chain {
            return Err(damaged("what is stored about it no longer gives its chain hash".into()));
        }
        if let Ok(mut set) = self.checked.lock() {
            set.insert(s.id.0);
        }
        Ok(())
    }
}

/// The amendments one snapshot's capture found, as stored, read through `db` (the pool, or
/// `forget`'s transaction).
pub(crate) async fn amendments_of<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
) -> Result<Vec<AmendmentFields>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, key, version, actors, records FROM amendments \
         WHERE tenant = $1 AND snapshot = $2",
    )
    .bind(tenant.id)
    .bind(snapshot)
    .fetch_all(db)
    .await?;
    rows.iter().map(amendment_row).collect()
}

/// An amendments row (`kind, key, version, actors, records`) as stored.
pub(crate) fn amendment_row(r: &AnyRow) -> Result<AmendmentFields, StoreError> {
    Ok(AmendmentFields {
        kind: r.try_get(0)?,
        key: r.try_get(1)?,
        version: r.try_get(2)?,
        actors: r.try_get(3)?,
        records: r.try_get(4)?,
    })
}

/// A versions row (`kind, key, hash, change, name, actors, records`) as stored.
pub(crate) fn stored_row(r: &AnyRow) -> Result<RowFields, StoreError> {
    Ok(RowFields {
        kind: r.try_get(0)?,
        key: r.try_get(1)?,
        hash: r.try_get(2)?,
        change: r.try_get(3)?,
        name: r.try_get(4)?,
        actors: r.try_get(5)?,
        records: r.try_get(6)?,
    })
}
