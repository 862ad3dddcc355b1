//! Committing a snapshot: its version rows, counts, audit records and cursors, and its link
//! in the chain, in one transaction.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use serde_json::Value;
use sqlx::Row as _;

use super::{
    AuditEntry, KindCounts, NewSnapshot, ROWS_PER_INSERT, SNAPSHOT_COLUMNS, SnapshotInfo,
    VersionChange, cursor_digests, import_mark_key, len_i64, push_placeholders, record_ids,
    snapshot_row,
};
use crate::chain::{AmendmentFields, RowFields, SnapshotFields, chain_hash_v2, snapshot_digest};
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::manifest::{Manifest, apply, manifest_hash};
use crate::store::Store;
use crate::tenant::TenantInfo;

/// A snapshot ready to commit: its state, audit blob and rows exactly as they will be stored
/// (sealed when encrypted), since the chain commits to what is on disk.
struct Prepared {
    objects: i64,
    counts_json: String,
    manifest_hash: ContentHash,
    audit: Option<ContentHash>,
    audit_until: Option<i64>,
    rows: Vec<RowFields>,
    amendments: Vec<AmendmentFields>,
    cursor_kinds: String,
}

impl Store {
    /// Commits a snapshot on top of `base` (the tenant's latest snapshot when the capture
    /// began, with its manifest): the snapshot row, its version rows, the cursors and the
    /// audit records, in one transaction. Fails with a conflict, changing nothing, when another
    /// snapshot of the tenant was committed since `base`.
    pub async fn commit(
        &self,
        tenant: &TenantInfo,
        base: Option<&SnapshotInfo>,
        base_manifest: &Manifest,
        new: &NewSnapshot,
    ) -> Result<SnapshotInfo, StoreError> {
        let mut prepared = self.prepare(tenant, base_manifest, new).await?;
        let mut tx = self.db.begin().await?;
        lock_unchanged_since(&mut tx, tenant, base).await?;
        let snapshot = self.insert_snapshot(&mut tx, tenant, base, new, &mut prepared).await?;
        self.insert_versions(&mut tx, tenant.id, snapshot.id, &prepared.rows).await?;
        self.put_amendments(&mut tx, tenant, snapshot.id, &prepared.amendments).await?;
        self.mark_import(&mut tx, tenant.id, new).await?;
        move_cursors(&mut tx, tenant.id, snapshot.id, new).await?;
        tx.commit().await?;
        Ok(snapshot)
    }

    /// The state after `new` on top of `base_manifest`, its audit blob (stored now: blobs are
    /// content-addressed, so one nothing commits to is only garbage) and its rows as stored.
    async fn prepare(
        &self,
        tenant: &TenantInfo,
        base_manifest: &Manifest,
        new: &NewSnapshot,
    ) -> Result<Prepared, StoreError> {
        let (manifest, counts) = state_after(base_manifest, new);
        let (audit, audit_until) = self.put_audit_batch(tenant, &new.audit).await?;
        let counts_json = serde_json::to_string(&counts)
            .map_err(|e| StoreError::Corrupt(format!("counts: {e}")))?;
        Ok(Prepared {
            objects: len_i64(manifest.len()),
            counts_json,
            manifest_hash: manifest_hash(&manifest),
            audit,
            audit_until,
            rows: new.changes.iter().map(|c| self.row_fields(c)).collect::<Result<_, _>>()?,
            amendments: new
                .amendments
                .iter()
                .map(|a| self.amendment_fields(a))
                .collect::<Result<_, _>>()?,
            cursor_kinds: cursor_digests(&new.cursors),
        })
    }

    /// Seals `prepared` into the chain after `base` and inserts the snapshot row.
    async fn insert_snapshot(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantInfo,
        base: Option<&SnapshotInfo>,
        new: &NewSnapshot,
        prepared: &mut Prepared,
    ) -> Result<SnapshotInfo, StoreError> {
        let ledger_head = self.ledger_head(tx, tenant.id).await?;
        let fields = SnapshotFields {
            tenant,
            taken_at: new.taken_at.as_microsecond(),
            complete: true,
            objects: prepared.objects,
            counts: &prepared.counts_json,
            requests: i64::try_from(new.requests).unwrap_or(i64::MAX),
            millis: i64::try_from(new.millis).unwrap_or(i64::MAX),
            cursor_kinds: Some(&prepared.cursor_kinds),
            ledger_head: Some(&ledger_head),
            audit_until: prepared.audit_until,
        };
        let digest = snapshot_digest(&fields, &mut prepared.rows, &mut prepared.amendments);
        let chain = chain_hash_v2(
            self.sealer.chain_key(),
            base.map(|b| &b.chain),
            &prepared.manifest_hash,
            prepared.audit.as_ref(),
            &digest,
        );
        insert_snapshot_row(tx, &fields, base, prepared, &chain).await
    }

    /// The snapshot's version rows, in batches.
    async fn insert_versions(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: i64,
        snapshot: SnapshotId,
        rows: &[RowFields],
    ) -> Result<(), StoreError> {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO versions (tenant, kind, key, snapshot, hash, name, change, actors, records) VALUES ",
            );
            push_placeholders(&mut sql, self.dialect, chunk.len(), 9);
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(tenant)
                    .bind(r.kind.clone())
                    .bind(r.key.clone())
                    .bind(snapshot)
                    .bind(r.hash.clone())
                    .bind(r.name.clone())
                    .bind(r.change.clone())
                    .bind(r.actors.clone())
                    .bind(r.records.clone());
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Records the git commit an import stored (where the next import goes on), in the meta
    /// table and the ledger.
    async fn mark_import(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: i64,
        new: &NewSnapshot,
    ) -> Result<(), StoreError> {
        let Some(commit) = &new.import_mark else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(import_mark_key(tenant))
        .bind(commit)
        .execute(&mut **tx)
        .await?;
        let body = serde_json::json!({"commit": commit});
        self.append_ledger(tx, tenant, "import", "git", &body, new.taken_at.as_microsecond()).await
    }

    /// Stores the audit records a capture read that no recent snapshot holds yet, together
    /// as one blob (a JSON array in record-id order): records are alike, and compressed
    /// together they take a fraction of the space they would one by one. Returns the blob's
    /// hash and the newest record's time, or nothing when every record was already kept.
    async fn put_audit_batch(
        &self,
        tenant: &TenantInfo,
        records: &[AuditEntry],
    ) -> Result<(Option<ContentHash>, Option<i64>), StoreError> {
        let Some(oldest) = records.iter().map(|r| r.activity_time).min() else {
            return Ok((None, None));
        };
        let kept = self.audit_ids_since(tenant, oldest).await?;
        let mut fresh: Vec<&AuditEntry> =
            records.iter().filter(|r| !kept.contains(&r.record_id)).collect();
        fresh.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        fresh.dedup_by(|a, b| a.record_id == b.record_id);
        let Some(until) = fresh.iter().map(|r| r.activity_time.as_microsecond()).max() else {
            return Ok((None, None));
        };
        let raws: Vec<&Value> = fresh.iter().map(|a| &a.raw).collect();
        let bytes = serde_json::to_vec(&raws)
            .map_err(|e| StoreError::Corrupt(format!("audit records: {e}")))?;
        let hash = ContentHash::of(&bytes);
        self.put_blobs(&[(hash, bytes)]).await?;
        Ok((Some(hash), Some(until)))
    }

    /// Ids of the audit records kept in snapshots whose newest record is at or after `since`:
    /// the overlap a new capture may read again.
    async fn audit_ids_since(
        &self,
        tenant: &TenantInfo,
        since: Timestamp,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT audit FROM snapshots WHERE tenant = $1 AND audit IS NOT NULL AND audit_until >= $2",
        )
        .bind(tenant.id)
        .bind(since.as_microsecond())
        .fetch_all(&self.db)
        .await?;
        let mut ids = std::collections::HashSet::new();
        for r in rows {
            let raw: Vec<u8> = r.try_get(0)?;
            let hash = ContentHash::from_slice(&raw)
                .ok_or_else(|| StoreError::Corrupt("an audit hash is not 32 bytes".into()))?;
            ids.extend(record_ids(&self.version(&hash).await?));
        }
        Ok(ids)
    }
}

/// Per kind, objects in `manifest` and the changes listed.
/// The manifest after `new`'s changes on top of `base`, and its counts per kind (with the
/// kinds `new` could not read marked).
fn state_after(base: &Manifest, new: &NewSnapshot) -> (Manifest, BTreeMap<Kind, KindCounts>) {
    let mut manifest = base.clone();
    for c in &new.changes {
        apply(&mut manifest, c.object.clone(), c.hash);
    }
    let mut counts = count(&manifest, &new.changes);
    for (kind, why) in &new.unavailable {
        counts.entry(*kind).or_default().unavailable = Some(*why);
    }
    (manifest, counts)
}

/// Takes the tenant's write lock (a row lock in PostgreSQL, the database's write lock in
/// SQLite), then fails with a conflict when a snapshot was committed since `base`.
async fn lock_unchanged_since(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &TenantInfo,
    base: Option<&SnapshotInfo>,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE tenants SET id = id WHERE id = $1")
        .bind(tenant.id)
        .execute(&mut **tx)
        .await?;
    let latest: Option<SnapshotId> = sqlx::query("SELECT MAX(id) FROM snapshots WHERE tenant = $1")
        .bind(tenant.id)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?;
    if latest == base.map(|b| b.id) {
        return Ok(());
    }
    Err(StoreError::Conflict(format!(
        "another capture of tenant '{}' finished first; run capture again",
        tenant.name
    )))
}

/// Inserts the snapshot row of `fields`, chained as `chain`.
async fn insert_snapshot_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    fields: &SnapshotFields<'_>,
    base: Option<&SnapshotInfo>,
    prepared: &Prepared,
    chain: &ContentHash,
) -> Result<SnapshotInfo, StoreError> {
    let row = sqlx::query(&format!(
        "INSERT INTO snapshots (tenant, taken_at, parent, manifest, chain, audit, audit_until, \
         complete, objects, counts, requests, millis, chain_version, cursor_kinds, ledger_head) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, 2, $12, $13) RETURNING {SNAPSHOT_COLUMNS}"
    ))
    .bind(fields.tenant.id)
    .bind(fields.taken_at)
    .bind(base.map(|b| b.id))
    .bind(prepared.manifest_hash.as_bytes().to_vec())
    .bind(chain.as_bytes().to_vec())
    .bind(prepared.audit.map(|a| a.as_bytes().to_vec()))
    .bind(fields.audit_until)
    .bind(fields.objects)
    .bind(fields.counts.to_string())
    .bind(fields.requests)
    .bind(fields.millis)
    .bind(fields.cursor_kinds.map(str::to_string))
    .bind(fields.ledger_head.map(str::to_string))
    .fetch_one(&mut **tx)
    .await?;
    snapshot_row(&row)
}

/// Deletes the delta cursors `new` dropped and stores the ones it brought.
async fn move_cursors(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: i64,
    snapshot: SnapshotId,
    new: &NewSnapshot,
) -> Result<(), StoreError> {
    for kind in &new.drop_cursors {
        sqlx::query("DELETE FROM cursors WHERE tenant = $1 AND kind = $2")
            .bind(tenant)
            .bind(kind.name())
            .execute(&mut **tx)
            .await?;
    }
    for (kind, link) in &new.cursors {
        sqlx::query(
            "INSERT INTO cursors (tenant, kind, link, snapshot) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, kind) DO UPDATE SET link = excluded.link, snapshot = excluded.snapshot",
        )
        .bind(tenant)
        .bind(kind.name())
        .bind(link)
        .bind(snapshot)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn count(manifest: &Manifest, changes: &[VersionChange]) -> BTreeMap<Kind, KindCounts> {
    let mut counts: BTreeMap<Kind, KindCounts> = BTreeMap::new();
    for k in manifest.keys() {
        counts.entry(k.kind).or_default().objects += 1;
    }
    for c in changes {
        counts.entry(c.object.kind).or_default().count(c.change);
    }
    counts
}
