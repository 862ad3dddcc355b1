//! Forgetting snapshots (docs/design/store-format.md, "Forgetting"). A snapshot stores only
//! its changes, so a forgotten snapshot's rows fold into the next kept snapshot: for each
//! object changed in the run of forgotten snapshots before a kept one, the kept snapshot gets
//! one row with the object's latest version, the change relative to the previous kept snapshot
//! and everyone who changed it on the way. Every kept snapshot's manifest — and so its manifest
//! hash and chain hash — stays exactly as it was; a kept snapshot whose parent went records the
//! parent's chain hash as its anchor. Then the blobs nothing references are deleted.

use std::collections::{BTreeMap, HashSet};

use futures_util::TryStreamExt as _;
use rewind_model::{Actor, ContentHash, Kind};
use serde::Serialize;
use sqlx::Row as _;

use crate::columns::opt_hash;
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::integrity::{CHAIN_COLUMNS, ChainRow, amendments_of, chain_row, stored_row};
use crate::manifest::{Change, ObjectKey};
use crate::retention::{Decision, KeepPolicy, select};
use crate::store::Store;
use crate::tenant::TenantInfo;
use crate::timeline::{
    KindCounts, SnapshotInfo, actors_text, json_list, merge_actors, parse_records,
};

/// What `forget` decided and did.
#[derive(Debug, Clone, Serialize)]
pub struct ForgetReport {
    /// Each snapshot, newest first, with why it is kept (empty reasons: forgotten).
    pub decisions: Vec<Decision>,
    /// Nothing was changed.
    pub dry_run: bool,
    /// Version rows removed (folded away or superseded).
    pub versions_removed: u64,
    /// Version rows written into kept snapshots.
    pub versions_folded: u64,
    /// Blobs deleted because nothing references them any more.
    pub blobs_removed: u64,
    /// Their stored size.
    pub bytes_removed: u64,
}

/// One object's net change over a run of forgotten snapshots and the kept one after it.
struct Folded {
    key: ObjectKey,
    hash: Option<ContentHash>,
    name: Option<String>,
    actors: Vec<Actor>,
    records: Vec<String>,
    in_kept: bool,
}

/// A kept snapshot, the forgotten run before it, and the fold of the run into it.
impl Folded {
    fn empty(key: ObjectKey) -> Folded {
        Folded {
            key,
            hash: None,
            name: None,
            actors: Vec::new(),
            records: Vec::new(),
            in_kept: false,
        }
    }
}

/// A version row, as folding reads it.
struct FoldRow {
    key: ObjectKey,
    snapshot: SnapshotId,
    hash: Option<ContentHash>,
    name: Option<String>,
    actors: Vec<Actor>,
    records: Vec<String>,
}

type Plan<'a> = (&'a SnapshotInfo, Vec<&'a SnapshotInfo>, Vec<(Folded, Option<Change>)>);

impl Store {
    /// Applies `policy` to the tenant's snapshots: forgets the ones it does not keep and
    /// collects the blobs left unreferenced (in every tenant of the store). Fails with a
    /// conflict, changing nothing, while a capture or import runs.
    pub async fn forget(
        &self,
        tenant: &TenantInfo,
        policy: KeepPolicy,
        dry_run: bool,
    ) -> Result<ForgetReport, StoreError> {
        let snapshots = self.snapshots(tenant).await?;
        let times: Vec<(SnapshotId, jiff::Timestamp)> =
            snapshots.iter().map(|s| (s.id, s.taken_at)).collect();
        let decisions = select(&times, policy);
        let mut report = ForgetReport {
            decisions,
            dry_run,
            versions_removed: 0,
            versions_folded: 0,
            blobs_removed: 0,
            bytes_removed: 0,
        };
        let kept: HashSet<SnapshotId> =
            report.decisions.iter().filter(|d| d.keep()).map(|d| d.snapshot).collect();
        if dry_run || kept.len() == snapshots.len() {
            return Ok(report);
        }
        let _lock = self.try_lock_exclusive().await?;
        // Folding damaged history would hide the damage for good: check it first.
        if let Some(last) = snapshots.last() {
            self.check_range(tenant, SnapshotId::BEFORE_ALL, last.id).await?;
        }
        // Plan every run from the data as stored (folding preserves every kept state, so the
        // state at the previous kept snapshot reads the same before and after).
        let mut plans = Vec::new();
        let mut previous: Option<&SnapshotInfo> = None;
        let mut run: Vec<&SnapshotInfo> = Vec::new();
        for s in &snapshots {
            if !kept.contains(&s.id) {
                run.push(s);
                continue;
            }
            if !run.is_empty() {
                let folded = self.fold(tenant, previous.map(|p| p.id), s.id).await?;
                plans.push((s, std::mem::take(&mut run), folded));
            }
            previous = Some(s);
        }
        self.apply_folds(tenant, &plans, &mut report).await?;
        let (blobs, bytes) = self.collect_garbage().await?;
        report.blobs_removed = blobs;
        report.bytes_removed = bytes;
        Ok(report)
    }

    /// The net change of each object with rows after `previous` up to `kept`.
    async fn fold(
        &self,
        tenant: &TenantInfo,
        previous: Option<SnapshotId>,
        kept: SnapshotId,
    ) -> Result<Vec<(Folded, Option<Change>)>, StoreError> {
        let after = previous.unwrap_or(SnapshotId::BEFORE_ALL);
        let mut by_key = self.folded_rows(tenant, after, kept).await?;
        // Late attributions of the folded rows fold in with them.
        for a in self.amendments_between(tenant, after, kept).await? {
            if let Some(f) = by_key.get_mut(&a.object) {
                merge_actors(&mut f.actors, a.actors);
                f.records.extend(a.records);
            }
        }
        let keys: Vec<ObjectKey> = by_key.keys().cloned().collect();
        let before = match previous {
            Some(p) => self.versions_at(tenant, &keys, p).await?,
            None => std::collections::HashMap::new(),
        };
        let net = |f: Folded| {
            let was = before.get(&f.key).copied().flatten();
            let change = Change::between(was.as_ref(), f.hash.as_ref());
            (f, change)
        };
        Ok(by_key.into_values().map(net).collect())
    }

    /// Each object's version rows after `after` up to `kept`, folded into one: the last
    /// version and name, every actor and record.
    async fn folded_rows(
        &self,
        tenant: &TenantInfo,
        after: SnapshotId,
        kept: SnapshotId,
    ) -> Result<BTreeMap<ObjectKey, Folded>, StoreError> {
        let mut rows = sqlx::query(
            "SELECT kind, key, snapshot, hash, name, actors, records FROM versions WHERE tenant = $1 \
             AND snapshot > $2 AND snapshot <= $3 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(after)
        .bind(kept)
        .fetch(&self.db);
        let mut by_key: BTreeMap<ObjectKey, Folded> = BTreeMap::new();
        while let Some(r) = rows.try_next().await? {
            let row = self.fold_row(&r)?;
            let f = by_key.entry(row.key.clone()).or_insert_with(|| Folded::empty(row.key.clone()));
            f.hash = row.hash;
            f.name = row.name.or(f.name.take());
            f.in_kept |= row.snapshot == kept;
            merge_actors(&mut f.actors, row.actors);
            f.records.extend(row.records);
        }
        Ok(by_key)
    }

    /// One version row as `fold` reads it.
    fn fold_row(&self, r: &sqlx::any::AnyRow) -> Result<FoldRow, StoreError> {
        let kind: String = r.try_get(0)?;
        let kind = Kind::from_name(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in versions")))?;
        let key = ObjectKey::new(kind, r.try_get::<String, _>(1)?);
        let actors = self.open_actors(&key, &r.try_get::<String, _>(5)?)?;
        Ok(FoldRow {
            snapshot: r.try_get(2)?,
            hash: opt_hash(r.try_get(3)?)?,
            name: r.try_get(4)?,
            actors,
            records: parse_records(r.try_get(6)?)?,
            key,
        })
    }

    /// Writes the planned folds and removes the forgotten snapshots, in one transaction.
    async fn apply_folds(
        &self,
        tenant: &TenantInfo,
        plans: &[Plan<'_>],
        report: &mut ForgetReport,
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        for (kept, run, folded) in plans {
            let fold = Fold { tenant, kept, run };
            report.versions_removed += fold.remove_run_versions(&mut tx).await?;
            let counts = self.write_folded(&mut tx, &fold, folded, report).await?;
            fold.update_kept(&mut tx, &counts).await?;
            fold.move_amendments(&mut tx).await?;
            fold.remove_run(&mut tx).await?;
        }
        if let Some(first) = plans.iter().map(|(kept, _, _)| kept.id).min() {
            self.rechain(&mut tx, tenant, first).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes the kept snapshot's folded versions in place of its own; the kept snapshot's
    /// change counts, now of the folded changes.
    async fn write_folded(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        fold: &Fold<'_>,
        folded: &[(Folded, Option<Change>)],
        report: &mut ForgetReport,
    ) -> Result<BTreeMap<Kind, KindCounts>, StoreError> {
        let mut counts = fold.kept.counts.clone();
        for c in counts.values_mut() {
            (c.created, c.updated, c.deleted) = (0, 0, 0);
        }
        for (f, change) in folded {
            if f.in_kept {
                fold.remove_kept_version(tx, &f.key).await?;
                report.versions_removed += 1;
            }
            let Some(change) = change else { continue };
            let actors = self.sealer.seal_text(f.key.key.as_bytes(), &actors_text(&f.actors))?;
            fold.insert_version(tx, f, *change, actors).await?;
            report.versions_folded += 1;
            counts.entry(f.key.kind).or_default().count(*change);
        }
        Ok(counts)
    }

    /// Seals the chain again from snapshot `from` on, inside `forget`'s transaction: folding
    /// changed what is stored about the kept snapshots, so their chain hashes (and every later
    /// one, which commits to its parent's) are recomputed — as version 2, each parent now the
    /// previous kept snapshot. The chain head changes; `rewind verify` prints the new one.
    async fn rechain(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantInfo,
        from: SnapshotId,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {CHAIN_COLUMNS} FROM snapshots WHERE tenant = $1 ORDER BY id"
        ))
        .bind(tenant.id)
        .fetch_all(&mut **tx)
        .await?;
        let snapshots = rows.iter().map(chain_row).collect::<Result<Vec<_>, _>>()?;
        let mut parent: Option<(SnapshotId, ContentHash)> = None;
        for mut s in snapshots {
            if s.id >= from {
                s.version = 2;
                s.cursor_kinds = Some(self.cursors_of(tx, tenant, &s).await?);
                s.chain = self.reseal(tx, tenant, &s, parent.as_ref().map(|p| &p.1)).await?;
                store_chain(tx, &s, parent.map(|p| p.0)).await?;
            }
            parent = Some((s.id, s.chain));
        }
        if let Ok(mut checked) = self.checked.lock() {
            checked.clear();
        }
        Ok(())
    }

    /// The chain hash of `s` as stored now, on top of `parent`.
    async fn reseal(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantInfo,
        s: &ChainRow,
        parent: Option<&ContentHash>,
    ) -> Result<ContentHash, StoreError> {
        let mut own = sqlx::query(
            "SELECT kind, key, hash, change, name, actors, records FROM versions \
             WHERE tenant = $1 AND snapshot = $2",
        )
        .bind(tenant.id)
        .bind(s.id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(stored_row)
        .collect::<Result<Vec<_>, _>>()?;
        let mut found = amendments_of(&mut **tx, tenant, s.id).await?;
        Ok(self.expected_chain(tenant, s, parent, &mut own, &mut found))
    }

    /// The cursors a snapshot now holds, as the chain keeps them: those it committed, and
    /// those of forgotten snapshots moved to it.
    async fn cursors_of(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantInfo,
        s: &ChainRow,
    ) -> Result<String, StoreError> {
        let mut map: BTreeMap<String, String> = s
            .cursor_kinds
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        let rows =
            sqlx::query("SELECT kind, link FROM cursors WHERE tenant = $1 AND snapshot = $2")
                .bind(tenant.id)
                .bind(s.id)
                .fetch_all(&mut **tx)
                .await?;
        for r in rows {
            let link: String = r.try_get(1)?;
            map.insert(r.try_get(0)?, blake3::hash(link.as_bytes()).to_hex().to_string());
        }
        serde_json::to_string(&map).map_err(|e| StoreError::Corrupt(format!("cursors: {e}")))
    }

    /// Deletes blobs no version row and no snapshot's audit references, in every tenant.
    /// Returns how many and their stored size.
    async fn collect_garbage(&self) -> Result<(u64, u64), StoreError> {
        const UNREFERENCED: &str = "FROM blobs WHERE hash NOT IN \
             (SELECT hash FROM versions WHERE hash IS NOT NULL) \
             AND hash NOT IN (SELECT audit FROM snapshots WHERE audit IS NOT NULL)";
        let mut tx = self.db.begin().await?;
        let row = sqlx::query(&format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) {UNREFERENCED}"
        ))
        .fetch_one(&mut *tx)
        .await?;
        let (count, bytes): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        sqlx::query(&format!("DELETE {UNREFERENCED}")).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok((u64::try_from(count).unwrap_or(0), u64::try_from(bytes).unwrap_or(0)))
    }
}

/// One kept snapshot and the run of forgotten snapshots before it that fold into it.
struct Fold<'a> {
    tenant: &'a TenantInfo,
    kept: &'a SnapshotInfo,
    run: &'a [&'a SnapshotInfo],
}

type Tx<'t> = sqlx::Transaction<'t, sqlx::Any>;

impl Fold<'_> {
    /// Deletes the forgotten snapshots' versions; how many there were.
    async fn remove_run_versions(&self, tx: &mut Tx<'_>) -> Result<u64, StoreError> {
        let mut removed = 0;
        for gone in self.run {
            removed += sqlx::query("DELETE FROM versions WHERE tenant = $1 AND snapshot = $2")
                .bind(self.tenant.id)
                .bind(gone.id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }

    /// Deletes the kept snapshot's own version of `key` (a folded one replaces it).
    async fn remove_kept_version(
        &self,
        tx: &mut Tx<'_>,
        key: &ObjectKey,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM versions WHERE tenant = $1 AND kind = $2 AND key = $3 AND snapshot = $4",
        )
        .bind(self.tenant.id)
        .bind(key.kind.name())
        .bind(key.key.clone())
        .bind(self.kept.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn insert_version(
        &self,
        tx: &mut Tx<'_>,
        f: &Folded,
        change: Change,
        sealed_actors: String,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO versions (tenant, kind, key, snapshot, hash, name, change, actors, records) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(self.tenant.id)
        .bind(f.key.kind.name())
        .bind(f.key.key.clone())
        .bind(self.kept.id)
        .bind(f.hash.map(|h| h.as_bytes().to_vec()))
        .bind(f.name.clone())
        .bind(change.name())
        .bind(sealed_actors)
        .bind(json_list(&f.records))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The kept snapshot's new counts and, when its parent is forgotten, that parent's chain
    /// hash as its anchor.
    async fn update_kept(
        &self,
        tx: &mut Tx<'_>,
        counts: &BTreeMap<Kind, KindCounts>,
    ) -> Result<(), StoreError> {
        let kept = self.kept;
        let parent_gone = kept.parent.is_some_and(|p| self.run.iter().any(|g| g.id == p));
        let anchor = self
            .run
            .iter()
            .find(|g| Some(g.id) == kept.parent)
            .map(|g| g.chain.as_bytes().to_vec());
        let counts = serde_json::to_string(counts)
            .map_err(|e| StoreError::Corrupt(format!("counts: {e}")))?;
        sqlx::query(
            "UPDATE snapshots SET counts = $1, \
             chain_anchor = CASE WHEN $2 THEN $3 ELSE chain_anchor END WHERE id = $4",
        )
        .bind(counts)
        .bind(parent_gone)
        .bind(anchor)
        .bind(kept.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Amendments of the folded rows are in the new rows now; amendments that forgotten
    /// captures made to rows that stay move to the kept snapshot.
    async fn move_amendments(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        let first = self.run.first().map_or(self.kept.id, |g| g.id);
        sqlx::query("DELETE FROM amendments WHERE tenant = $1 AND version >= $2 AND version <= $3")
            .bind(self.tenant.id)
            .bind(first)
            .bind(self.kept.id)
            .execute(&mut **tx)
            .await?;
        for gone in self.run {
            sqlx::query("UPDATE amendments SET snapshot = $1 WHERE tenant = $2 AND snapshot = $3")
                .bind(self.kept.id)
                .bind(self.tenant.id)
                .bind(gone.id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Moves the forgotten snapshots' cursors to the kept one and deletes the snapshots.
    async fn remove_run(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        for gone in self.run {
            sqlx::query("UPDATE cursors SET snapshot = $1 WHERE tenant = $2 AND snapshot = $3")
                .bind(self.kept.id)
                .bind(self.tenant.id)
                .bind(gone.id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM snapshots WHERE id = $1")
                .bind(gone.id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

/// Writes a re-sealed snapshot: version 2, its parent now the previous kept snapshot, no anchor.
async fn store_chain(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    s: &ChainRow,
    parent: Option<SnapshotId>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE snapshots SET parent = $1, chain_anchor = NULL, chain_version = 2, \
         chain = $2, cursor_kinds = $3 WHERE id = $4",
    )
    .bind(parent)
    .bind(s.chain.as_bytes().to_vec())
    .bind(s.cursor_kinds.clone())
    .bind(s.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
