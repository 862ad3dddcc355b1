//! Writing and reading the timeline: blobs, snapshots with their version rows, cursors and
//! audit records, and the views built from them (a manifest at a snapshot, an object's history).

use std::collections::BTreeMap;

use futures_util::TryStreamExt as _;
use jiff::Timestamp;
use rewind_model::{Actor, ContentHash, Kind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::chain::{SnapshotFields, chain_hash_v2, snapshot_digest};
use crate::columns::opt_hash;
use crate::error::StoreError;
use crate::manifest::{Change, Manifest, ObjectKey, apply, manifest_hash};
use crate::schema::Dialect;
use crate::store::{Store, micros};
use crate::tenant::TenantInfo;

/// Rows per multi-row `INSERT`: well under both dialects' limits on bound values.
const ROWS_PER_INSERT: usize = 500;

/// Objects and changes of one kind in one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// Objects of the kind after the snapshot.
    pub objects: u64,
    /// Created since the parent.
    pub created: u64,
    /// Updated since the parent.
    pub updated: u64,
    /// Deleted since the parent.
    pub deleted: u64,
    /// Set when the capture could not read the kind (and kept its last known state): Graph
    /// refuses it in this tenant, for example for want of a licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<Unavailable>,
}

/// Why a capture could not read a kind in this tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unavailable {
    /// The tenant lacks the licence the kind needs (PIM needs Entra ID P2 or ID Governance:
    /// Graph answers `AadPremiumLicenseRequired`).
    LicenseRequired,
    /// Graph does not offer the kind in this tenant or cloud.
    NotOffered,
}

impl Unavailable {
    /// The code scripts read (as serialised): `license-required`, `not-offered`.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::LicenseRequired => "license-required",
            Unavailable::NotOffered => "not-offered",
        }
    }

    /// What a person reads.
    pub fn describe(self) -> &'static str {
        match self {
            Unavailable::LicenseRequired => {
                "the tenant lacks the licence it needs (Entra ID P2 or ID Governance for PIM)"
            }
            Unavailable::NotOffered => "Graph does not offer it in this tenant",
        }
    }
}

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// Its id, unique in the store.
    pub id: i64,
    /// The store's number of its tenant.
    #[serde(skip)]
    pub tenant: i64,
    /// When the capture began.
    pub taken_at: Timestamp,
    /// The previous snapshot of the tenant.
    pub parent: Option<i64>,
    /// The hash of its manifest.
    pub manifest: ContentHash,
    /// Its chain hash.
    pub chain: ContentHash,
    /// The blob of the audit records this capture read (a JSON array), if any.
    pub audit: Option<ContentHash>,
    /// Every kind was read in full (a restore point).
    pub complete: bool,
    /// Objects in the tenant at this point.
    pub objects: u64,
    /// Per kind, objects and changes.
    pub counts: BTreeMap<Kind, KindCounts>,
    /// Graph requests the capture made.
    pub requests: u64,
    /// How long the capture took.
    pub millis: u64,
}

impl SnapshotInfo {
    /// Changes of every kind together.
    pub fn totals(&self) -> KindCounts {
        self.counts
            .values()
            .fold(KindCounts::default(), |a, c| KindCounts {
                objects: a.objects + c.objects,
                created: a.created + c.created,
                updated: a.updated + c.updated,
                deleted: a.deleted + c.deleted,
                unavailable: None,
            })
    }
}

/// One object's change in a new snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    /// The object.
    pub object: ObjectKey,
    /// Its new version; `None` when it was deleted.
    pub hash: Option<ContentHash>,
    /// Its display name, to find it by (the last known name when deleted).
    pub name: Option<String>,
    /// What happened.
    pub change: Change,
    /// Who did it: the initiators of the audit records that explain it (none: unknown).
    pub actors: Vec<Actor>,
    /// Those audit records' ids; each record explains at most one change of an object.
    pub records: Vec<String>,
}

/// Audit records that explain a change of an earlier snapshot, found by a later capture
/// (Entra delivers audit records minutes after the change): kept with the later snapshot, so
/// history is only ever added to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amendment {
    /// The object.
    pub object: ObjectKey,
    /// The snapshot of the change it explains.
    pub version: i64,
    /// The records' initiators.
    pub actors: Vec<Actor>,
    /// The records' ids.
    pub records: Vec<String>,
}

/// A directory audit record as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Graph's record id.
    pub record_id: String,
    /// When the activity happened.
    pub activity_time: Timestamp,
    /// `activityDisplayName`.
    pub activity: String,
    /// Who initiated it; `None` when the record names no one.
    pub actor: Option<Actor>,
    /// Ids of the objects it touched.
    pub targets: Vec<String>,
    /// The record as Graph returned it.
    pub raw: Value,
}

/// A snapshot to commit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSnapshot {
    /// When the capture began.
    pub taken_at: Timestamp,
    /// Every object that changed since the parent.
    pub changes: Vec<VersionChange>,
    /// Delta links to resume from next time.
    pub cursors: Vec<(Kind, String)>,
    /// Audit records read by this capture (records an earlier snapshot keeps are dropped).
    pub audit: Vec<AuditEntry>,
    /// Late records explaining changes of earlier snapshots.
    pub amendments: Vec<Amendment>,
    /// Kinds whose delta cursors go: an import replaced their state, so the next capture
    /// must read them in full to see the tenant as it is.
    pub drop_cursors: Vec<Kind>,
    /// The git commit an import of a git history took this snapshot from: a later run goes on
    /// after it.
    pub import_mark: Option<String>,
    /// Kinds the capture could not read, and why: their last known state is kept and the
    /// snapshot's counts say they were not read.
    pub unavailable: BTreeMap<Kind, Unavailable>,
    /// Graph requests made.
    pub requests: u64,
    /// How long it took.
    pub millis: u64,
}

/// One version in an object's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRecord {
    /// The snapshot that recorded it.
    pub snapshot: i64,
    /// That snapshot's time.
    pub taken_at: Timestamp,
    /// The version; `None` when the object was deleted.
    pub hash: Option<ContentHash>,
    /// Its display name then.
    pub name: Option<String>,
    /// What happened.
    pub change: Change,
    /// Who did it (with what later-delivered audit records added).
    pub actors: Vec<Actor>,
    /// The audit records that explain it.
    pub records: Vec<String>,
}

const SNAPSHOT_COLUMNS: &str = "id, tenant, taken_at, parent, manifest, chain, audit, complete, \
                                objects, counts, requests, millis";

impl Store {
    /// Stores canonical version bytes under their hashes (already stored ones are skipped).
    /// Done as a capture streams, outside the snapshot's transaction: blobs of a capture that
    /// then fails are unreferenced and harmless.
    ///
    /// Rows go in in hash order: tenants share versions, and two captures inserting the same
    /// hashes in different orders would each wait for the other's uncommitted index entry
    /// (`PostgreSQL` reports a deadlock). One order for everyone makes that impossible.
    pub async fn put_blobs(&self, blobs: &[(ContentHash, Vec<u8>)]) -> Result<(), StoreError> {
        let mut ordered: Vec<&(ContentHash, Vec<u8>)> = blobs.iter().collect();
        ordered.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        ordered.dedup_by(|a, b| a.0 == b.0);
        for chunk in ordered.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from("INSERT INTO blobs (hash, size, data) VALUES ");
            push_placeholders(&mut sql, self.dialect, chunk.len(), 3);
            sql.push_str(" ON CONFLICT (hash) DO NOTHING");
            let mut q = sqlx::query(&sql);
            for &(hash, bytes) in chunk {
                let sealed = self.sealer.seal(hash.as_bytes(), bytes)?;
                q = q
                    .bind(hash.as_bytes().to_vec())
                    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
                    .bind(sealed);
            }
            q.execute(&self.db).await?;
        }
        Ok(())
    }

    /// The canonical bytes stored under `hash`, checked against it.
    pub async fn blob(&self, hash: &ContentHash) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query("SELECT data FROM blobs WHERE hash = $1")
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("blob {} is missing", hash.to_hex())))?;
        let data: Vec<u8> = row.try_get(0)?;
        self.sealer.open_blob(hash, &data)
    }

    /// Many blobs at once (far faster than one by one), each checked against its hash; each
    /// once, in no particular order. A hash not stored is an error.
    pub async fn blobs(
        &self,
        hashes: &[ContentHash],
    ) -> Result<Vec<(ContentHash, Vec<u8>)>, StoreError> {
        if let Some(path) = self.path.clone().filter(|_| hashes.len() > 64) {
            let (sealer, hashes) = (self.sealer.clone(), hashes.to_vec());
            return tokio::task::spawn_blocking(move || {
                crate::bulk::blobs(&path, &sealer, &hashes)
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        }
        let mut unique = hashes.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut out = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from("SELECT hash, data FROM blobs WHERE hash IN ");
            push_placeholders(&mut sql, self.dialect, 1, chunk.len());
            let mut q = sqlx::query(&sql);
            for h in chunk {
                q = q.bind(h.as_bytes().to_vec());
            }
            let rows = q.fetch_all(&self.db).await?;
            let found = rows.len();
            for r in rows {
                let raw: Vec<u8> = r.try_get(0)?;
                let hash = ContentHash::from_slice(&raw)
                    .ok_or_else(|| StoreError::Corrupt("a blob address is not 32 bytes".into()))?;
                let data: Vec<u8> = r.try_get(1)?;
                out.push((hash, self.sealer.open_blob(&hash, &data)?));
            }
            if found < chunk.len() {
                return Err(StoreError::Corrupt(format!(
                    "{} blob(s) of {} asked for are missing",
                    chunk.len() - found,
                    chunk.len()
                )));
            }
        }
        Ok(out)
    }

    /// A stored version as JSON.
    pub async fn version(&self, hash: &ContentHash) -> Result<Value, StoreError> {
        let bytes = self.blob(hash).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("blob {} is not JSON: {e}", hash.to_hex())))
    }

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
        let mut manifest = base_manifest.clone();
        for c in &new.changes {
            apply(&mut manifest, c.object.clone(), c.hash);
        }
        let mut counts = count(&manifest, &new.changes);
        for (kind, why) in &new.unavailable {
            counts.entry(*kind).or_default().unavailable = Some(*why);
        }
        let manifest_hash = manifest_hash(&manifest);
        let taken_at = new.taken_at.as_microsecond();
        let (audit, audit_until) = self.put_audit_batch(tenant, &new.audit).await?;
        let counts_json = serde_json::to_string(&counts)
            .map_err(|e| StoreError::Corrupt(format!("counts: {e}")))?;
        // Rows and amendments exactly as they will be stored (sealed when encrypted): the
        // chain commits to what is on disk.
        let mut rows = new
            .changes
            .iter()
            .map(|c| self.row_fields(c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut amendments = new
            .amendments
            .iter()
            .map(|a| self.amendment_fields(a))
            .collect::<Result<Vec<_>, _>>()?;
        let cursor_kinds = cursor_digests(&new.cursors);
        let mut tx = self.db.begin().await?;
        // Take the tenant's write lock first (a row lock in PostgreSQL, the database's write
        // lock in SQLite), then check nobody committed since the capture began.
        sqlx::query("UPDATE tenants SET id = id WHERE id = $1")
            .bind(tenant.id)
            .execute(&mut *tx)
            .await?;
        let latest: Option<i64> = sqlx::query("SELECT MAX(id) FROM snapshots WHERE tenant = $1")
            .bind(tenant.id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if latest != base.map(|b| b.id) {
            return Err(StoreError::Conflict(format!(
                "another capture of tenant '{}' finished first; run capture again",
                tenant.name
            )));
        }
        let ledger_head = self.ledger_head(&mut tx, tenant.id).await?;
        let fields = SnapshotFields {
            tenant,
            taken_at,
            complete: true,
            objects: len_i64(manifest.len()),
            counts: &counts_json,
            requests: i64::try_from(new.requests).unwrap_or(i64::MAX),
            millis: i64::try_from(new.millis).unwrap_or(i64::MAX),
            cursor_kinds: Some(&cursor_kinds),
            ledger_head: Some(&ledger_head),
            audit_until,
        };
        let digest = snapshot_digest(&fields, &mut rows, &mut amendments);
        let chain = chain_hash_v2(
            self.sealer.chain_key(),
            base.map(|b| &b.chain),
            &manifest_hash,
            audit.as_ref(),
            &digest,
        );
        let row = sqlx::query(&format!(
            "INSERT INTO snapshots (tenant, taken_at, parent, manifest, chain, audit, audit_until, \
             complete, objects, counts, requests, millis, chain_version, cursor_kinds, ledger_head) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, 2, $12, $13) RETURNING {SNAPSHOT_COLUMNS}"
        ))
        .bind(tenant.id)
        .bind(taken_at)
        .bind(base.map(|b| b.id))
        .bind(manifest_hash.as_bytes().to_vec())
        .bind(chain.as_bytes().to_vec())
        .bind(audit.map(|a| a.as_bytes().to_vec()))
        .bind(audit_until)
        .bind(fields.objects)
        .bind(counts_json.clone())
        .bind(fields.requests)
        .bind(fields.millis)
        .bind(cursor_kinds.clone())
        .bind(ledger_head.clone())
        .fetch_one(&mut *tx)
        .await?;
        let snapshot = snapshot_row(&row)?;

        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO versions (tenant, kind, key, snapshot, hash, name, change, actors, records) VALUES ",
            );
            push_placeholders(&mut sql, self.dialect, chunk.len(), 9);
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(tenant.id)
                    .bind(r.kind.clone())
                    .bind(r.key.clone())
                    .bind(snapshot.id)
                    .bind(r.hash.clone())
                    .bind(r.name.clone())
                    .bind(r.change.clone())
                    .bind(r.actors.clone())
                    .bind(r.records.clone());
            }
            q.execute(&mut *tx).await?;
        }
        self.put_amendments(&mut tx, tenant, snapshot.id, &amendments)
            .await?;
        for kind in &new.drop_cursors {
            sqlx::query("DELETE FROM cursors WHERE tenant = $1 AND kind = $2")
                .bind(tenant.id)
                .bind(kind.name())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(commit) = &new.import_mark {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(import_mark_key(tenant.id))
            .bind(commit)
            .execute(&mut *tx)
            .await?;
            let body = serde_json::json!({"commit": commit});
            self.append_ledger(&mut tx, tenant.id, "import", "git", &body, taken_at)
                .await?;
        }
        for (kind, link) in &new.cursors {
            sqlx::query(
                "INSERT INTO cursors (tenant, kind, link, snapshot) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant, kind) DO UPDATE SET link = excluded.link, snapshot = excluded.snapshot",
            )
            .bind(tenant.id)
            .bind(kind.name())
            .bind(link)
            .bind(snapshot.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(snapshot)
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
        let mut fresh: Vec<&AuditEntry> = records
            .iter()
            .filter(|r| !kept.contains(&r.record_id))
            .collect();
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
        id: i64,
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
        after: i64,
        upto: i64,
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
        after: i64,
        upto: i64,
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
            let snapshot: i64 = r.try_get(0)?;
            let mut actors = self.open_actors(object, &r.try_get::<String, _>(5)?)?;
            let mut records = parse_records(r.try_get(6)?)?;
            for a in late.iter_mut().filter(|a| a.version == snapshot) {
                merge_actors(&mut actors, std::mem::take(&mut a.actors));
                records.append(&mut a.records);
            }
            let name = if self.sealer.encrypted() {
                match &hash {
                    Some(h) => self.version(h).await?["displayName"]
                        .as_str()
                        .map(str::to_string),
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

    /// Objects whose key is `key` (a contained object's also by its own id, after the `/`), or
    /// whose display name ever was `name`, of any kind or of `kind`: how `OBJECT` arguments are
    /// resolved. Each with its latest known name.
    pub async fn find_objects(
        &self,
        tenant: &TenantInfo,
        kind: Option<Kind>,
        key_or_name: &str,
    ) -> Result<Vec<(ObjectKey, Option<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, name FROM versions WHERE tenant = $1 AND (key = $2 OR name = $3 \
             OR substr(key, length(key) - length($2)) = '/' || $2) ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(key_or_name)
        .bind(self.sealer.index(key_or_name))
        .fetch_all(&self.db)
        .await?;
        let mut found: BTreeMap<ObjectKey, Option<String>> = BTreeMap::new();
        for r in rows {
            let k: String = r.try_get(0)?;
            let Some(k) = Kind::from_name(&k) else {
                continue;
            };
            if kind.is_some_and(|want| want != k) {
                continue;
            }
            let name: Option<String> = r.try_get(2)?;
            let name = name.map(|n| {
                if n.starts_with("h:") {
                    key_or_name.to_string()
                } else {
                    n
                }
            });
            found.insert(ObjectKey::new(k, r.try_get::<String, _>(1)?), name);
        }
        Ok(found.into_iter().collect())
    }

    /// The latest recorded display name of each of `keys` of `kind` (a keyed read each, by the
    /// primary key); keys never named, and every key on an encrypted store (whose names are
    /// sealed), are left out.
    pub async fn latest_names(
        &self,
        tenant: &TenantInfo,
        kind: Kind,
        keys: &[&str],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let mut out = BTreeMap::new();
        if self.sealer.encrypted() {
            return Ok(out);
        }
        for key in keys {
            let name: Option<Option<String>> = sqlx::query_scalar(
                "SELECT name FROM versions WHERE tenant = $1 AND kind = $2 AND key = $3 \
                 AND name IS NOT NULL ORDER BY snapshot DESC LIMIT 1",
            )
            .bind(tenant.id)
            .bind(kind.name())
            .bind(*key)
            .fetch_optional(&self.db)
            .await?;
            if let Some(Some(n)) = name {
                out.insert((*key).to_string(), n);
            }
        }
        Ok(out)
    }

    /// Keys of objects of `kind` any version of which had a display name containing one of
    /// `words` (case-insensitive). Empty on an encrypted store, whose names are sealed.
    pub async fn keys_named_like(
        &self,
        tenant: &TenantInfo,
        kind: Kind,
        words: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        use std::fmt::Write as _;
        if self.sealer.encrypted() || words.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "SELECT DISTINCT key FROM versions WHERE tenant = $1 AND kind = $2 AND name IS NOT NULL AND (",
        );
        for i in 0..words.len() {
            if i > 0 {
                sql.push_str(" OR ");
            }
            let _ = write!(sql, "LOWER(name) LIKE ${}", i + 3);
        }
        sql.push_str(") ORDER BY key");
        let mut q = sqlx::query(&sql).bind(tenant.id).bind(kind.name());
        for w in words {
            q = q.bind(format!("%{}%", w.to_lowercase().replace(['%', '_'], "")));
        }
        let rows = q.fetch_all(&self.db).await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Display names similar to `text`, for "did you mean" hints.
    pub async fn names_like(
        &self,
        tenant: &TenantInfo,
        text: &str,
        limit: i64,
    ) -> Result<Vec<(Kind, String)>, StoreError> {
        if self.sealer.encrypted() {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        let rows = sqlx::query(
            "SELECT DISTINCT kind, name FROM versions WHERE tenant = $1 AND name IS NOT NULL \
             AND LOWER(name) LIKE $2 ORDER BY name LIMIT $3",
        )
        .bind(tenant.id)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(k) = Kind::from_name(&r.try_get::<String, _>(0)?) {
                out.push((k, r.try_get(1)?));
            }
        }
        Ok(out)
    }
}

/// Per kind, objects in `manifest` and the changes listed.
fn count(manifest: &Manifest, changes: &[VersionChange]) -> BTreeMap<Kind, KindCounts> {
    let mut counts: BTreeMap<Kind, KindCounts> = BTreeMap::new();
    for k in manifest.keys() {
        counts.entry(k.kind).or_default().objects += 1;
    }
    for c in changes {
        let e = counts.entry(c.object.kind).or_default();
        match c.change {
            Change::Created => e.created += 1,
            Change::Updated => e.updated += 1,
            Change::Deleted => e.deleted += 1,
        }
    }
    counts
}

/// Appends `(…), (…)` placeholders for `rows` rows of `cols` values: `$n` for `PostgreSQL`,
/// plain `?` for `SQLite`, whose driver would otherwise look every `$n` up by name (a third of
/// a large capture's time went there).
fn push_placeholders(sql: &mut String, dialect: Dialect, rows: usize, cols: usize) {
    push_placeholders_after(sql, dialect, 0, rows, cols);
}

/// Like `push_placeholders`, after `before` parameters already in the statement (which `SQLite`
/// must then write as `?` too).
pub(crate) fn push_placeholders_after(
    sql: &mut String,
    dialect: Dialect,
    before: usize,
    rows: usize,
    cols: usize,
) {
    use std::fmt::Write as _;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            match dialect {
                Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => {
                    let _ = write!(sql, "${}", before + r * cols + c + 1);
                }
            }
        }
        sql.push(')');
    }
}

pub(crate) fn snapshot_row(r: &AnyRow) -> Result<SnapshotInfo, StoreError> {
    let counts: String = r.try_get("counts")?;
    let hash = |col: &str| -> Result<ContentHash, StoreError> {
        let b: Vec<u8> = r.try_get(col)?;
        ContentHash::from_slice(&b)
            .ok_or_else(|| StoreError::Corrupt(format!("snapshot {col} is not 32 bytes")))
    };
    Ok(SnapshotInfo {
        id: r.try_get("id")?,
        tenant: r.try_get("tenant")?,
        taken_at: micros(r.try_get("taken_at")?)?,
        parent: r.try_get("parent")?,
        manifest: hash("manifest")?,
        chain: hash("chain")?,
        audit: opt_hash(r.try_get("audit")?)?,
        complete: r.try_get::<i64, _>("complete")? != 0,
        objects: u64::try_from(r.try_get::<i64, _>("objects")?).unwrap_or(0),
        counts: serde_json::from_str(&counts)
            .map_err(|e| StoreError::Corrupt(format!("snapshot counts: {e}")))?,
        requests: u64::try_from(r.try_get::<i64, _>("requests")?).unwrap_or(0),
        millis: u64::try_from(r.try_get::<i64, _>("millis")?).unwrap_or(0),
    })
}

/// `(kind, key, hash)` columns 0–2 of a versions row.
pub(crate) fn version_key(r: &AnyRow) -> Result<(ObjectKey, Option<ContentHash>), StoreError> {
    let kind: String = r.try_get(0)?;
    let kind = Kind::from_name(&kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in versions")))?;
    Ok((
        ObjectKey::new(kind, r.try_get::<String, _>(1)?),
        opt_hash(r.try_get(2)?)?,
    ))
}

/// The `id`s of a JSON array of audit records.
pub(crate) fn record_ids(records: &Value) -> Vec<String> {
    records
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn parse_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("a stored list: {e}")))
}

/// A `records` column: a JSON list of audit record ids, or NULL (rows written before records
/// were kept).
pub(crate) fn parse_records(s: Option<String>) -> Result<Vec<String>, StoreError> {
    s.map_or_else(|| Ok(Vec::new()), |s| parse_list(&s))
}

/// Actors as stored: a JSON list of identities.
pub(crate) fn actors_text(actors: &[Actor]) -> String {
    serde_json::to_string(actors).unwrap_or_else(|_| "[]".into())
}

/// A stored list of actors: identities, or plain names written before identities were kept.
pub(crate) fn parse_actors_text(s: &str) -> Result<Vec<Actor>, StoreError> {
    let value: Value = serde_json::from_str(s)
        .map_err(|e| StoreError::Corrupt(format!("a stored list of actors: {e}")))?;
    rewind_model::parse_actors(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("a stored list of actors is malformed: {s}")))
}

/// Adds `more` to `actors`, each identity once.
pub(crate) fn merge_actors(actors: &mut Vec<Actor>, more: Vec<Actor>) {
    for a in more {
        if !actors.contains(&a) {
            actors.push(a);
        }
    }
}

/// An object key from a stored kind name and key.
pub(crate) fn object_key(kind: &str, key: String) -> Result<ObjectKey, StoreError> {
    let kind = Kind::from_name(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in versions")))?;
    Ok(ObjectKey::new(kind, key))
}

/// Where the last imported git commit of a tenant is kept (`meta`).
pub(crate) fn import_mark_key(tenant: i64) -> String {
    format!("git-import:{tenant}")
}

/// The delta cursors a snapshot commits, as the chain keeps them: kind → BLAKE3 of the link,
/// as a JSON object in kind order.
pub(crate) fn cursor_digests(cursors: &[(Kind, String)]) -> String {
    let map: BTreeMap<&str, String> = cursors
        .iter()
        .map(|(k, link)| (k.name(), blake3::hash(link.as_bytes()).to_hex().to_string()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}
