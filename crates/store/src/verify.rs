//! `verify`: every blob against its hash, every snapshot's manifest against the versions it
//! is folded from, and the hash chain from each tenant's first snapshot to its last.

use std::collections::HashSet;

use futures_util::TryStreamExt as _;
use rewind_model::ContentHash;
use serde::Serialize;
use sqlx::Row as _;

use crate::chain::{AmendmentFields, RowFields};
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::integrity::{ChainRow, amendment_row, stored_row};
use crate::manifest::{Manifest, ObjectKey, apply, manifest_hash};
use crate::store::Store;

/// One thing wrong with a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The tenant, by name, when the problem is in its timeline.
    pub tenant: Option<String>,
    /// The snapshot concerned.
    pub snapshot: Option<SnapshotId>,
    /// The object concerned.
    pub object: Option<ObjectKey>,
    /// The blob concerned.
    pub blob: Option<ContentHash>,
    /// What is wrong.
    pub what: String,
}

/// What `verify` checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Blobs read and re-hashed.
    pub blobs: u64,
    /// Snapshots whose manifest and chain hash were recomputed.
    pub snapshots: u64,
    /// Version rows folded.
    pub versions: u64,
    /// Audit records read back.
    pub audit: u64,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
    /// Each tenant's chain head: the chain hash of its latest snapshot, to keep elsewhere and
    /// compare later (`rewind verify --head`).
    pub heads: Vec<ChainHead>,
}

/// A tenant's chain head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainHead {
    /// The tenant's name.
    pub tenant: String,
    /// Its directory id.
    pub tenant_id: String,
    /// Its latest snapshot.
    pub snapshot: SnapshotId,
    /// That snapshot's chain hash.
    pub chain: ContentHash,
}

impl VerifyReport {
    /// Nothing is wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, what: impl Into<String>) -> &mut Problem {
        let at = self.problems.len();
        self.problems.push(Problem {
            tenant: None,
            snapshot: None,
            object: None,
            blob: None,
            what: what.into(),
        });
        &mut self.problems[at]
    }
}

impl Store {
    /// Checks the whole store; reports every problem rather than stopping at the first.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        let good = self.verify_blobs(&mut report).await?;
        self.verify_owners(&mut report).await?;
        for tenant in self.tenants().await? {
            self.verify_timeline(&tenant, &good, &mut report).await?;
            if let Some(latest) = self.latest(&tenant).await? {
                report.heads.push(ChainHead {
                    tenant: tenant.name.clone(),
                    tenant_id: tenant.tenant_id.clone(),
                    snapshot: latest.id,
                    chain: latest.chain,
                });
            }
        }
        Ok(report)
    }

    async fn verify_blobs(
        &self,
        report: &mut VerifyReport,
    ) -> Result<HashSet<ContentHash>, StoreError> {
        let mut good = HashSet::new();
        let mut rows = sqlx::query("SELECT hash, size, data FROM blobs").fetch(&self.db);
        while let Some(r) = rows.try_next().await? {
            report.blobs += 1;
            let raw: Vec<u8> = r.try_get(0)?;
            let Some(hash) = ContentHash::from_slice(&raw) else {
                report.problem(format!("a blob's address is {} bytes, not 32", raw.len()));
                continue;
            };
            let size: i64 = r.try_get(1)?;
            let data: Vec<u8> = r.try_get(2)?;
            match self.sealer.open(hash.as_bytes(), &data) {
                Err(e) => report.problem(format!("cannot be read: {e}")).blob = Some(hash),
                Ok(plain) if ContentHash::of(&plain) != hash => {
                    report.problem("content does not match its hash").blob = Some(hash);
                }
                Ok(plain) if i64::try_from(plain.len()).ok() != Some(size) => {
                    report
                        .problem(format!("size is {} bytes, recorded {size}", plain.len()))
                        .blob = Some(hash);
                }
                Ok(_) => {
                    good.insert(hash);
                }
            }
        }
        Ok(good)
    }

    async fn verify_timeline(
        &self,
        tenant: &crate::tenant::TenantInfo,
        good: &HashSet<ContentHash>,
        report: &mut VerifyReport,
    ) -> Result<(), StoreError> {
        let snapshots = self.chain_rows(tenant).await?;
        let mut amendments = self.amendments_by_snapshot(tenant).await?;
        let mut rows = VersionRows::of(self, tenant.id);
        let mut check =
            TimelineCheck { tenant: &tenant.name, good, report, manifest: Manifest::new() };
        let mut previous: Option<&ChainRow> = None;
        for s in &snapshots {
            let mut own = check.fold(s.id, rows.up_to(s.id).await?)?;
            check.manifest_hash(s);
            let parent_chain = check.parent_chain(s, previous);
            self.verify_audit(s, &mut check).await;
            let mut found = amendments.remove(&s.id).unwrap_or_default();
            check.chain(
                s,
                self.expected_chain(tenant, s, parent_chain.as_ref(), &mut own, &mut found),
            );
            previous = Some(s);
        }
        while let Some((snapshot, row)) = rows.next().await? {
            check.stray(snapshot, &row);
        }
        for (snapshot, _) in amendments {
            check.at(snapshot, "late attributions belong to no snapshot");
        }
        self.verify_cursors(tenant, &snapshots, report).await?;
        self.verify_ledger(tenant, &snapshots, report).await
    }

    /// A snapshot's audit records can be read back from their blob.
    async fn verify_audit(&self, s: &ChainRow, check: &mut TimelineCheck<'_>) {
        let Some(a) = &s.audit else { return };
        match self.audit_records_of(a).await {
            Ok(records) if check.good.contains(a) => check.report.audit += records as u64,
            _ => check.at(s.id, "its audit records are missing or damaged").blob = Some(*a),
        }
    }

    /// The ledger's entries agree with the snapshots' recorded ledger heads.
    async fn verify_ledger(
        &self,
        tenant: &crate::tenant::TenantInfo,
        snapshots: &[ChainRow],
        report: &mut VerifyReport,
    ) -> Result<(), StoreError> {
        let heads: Vec<(i64, String)> =
            snapshots.iter().filter_map(|s| s.ledger_head.clone().map(|h| (s.id.0, h))).collect();
        for what in self.check_ledger(tenant.id, &heads).await? {
            report.problem(what).tenant = Some(tenant.name.clone());
        }
        Ok(())
    }

    /// Rows of a tenant the store does not have (or steps of a restore it does not have): no
    /// timeline checks them, and no command would show them.
    async fn verify_owners(&self, report: &mut VerifyReport) -> Result<(), StoreError> {
        const OWNED: &[&str] = &[
            "snapshots",
            "versions",
            "cursors",
            "amendments",
            "alerts",
            "restores",
            "lineage",
            "known_actors",
            "watch_state",
            "ledger",
        ];
        for table in OWNED {
            let n: i64 = sqlx::query(&format!(
                "SELECT COUNT(*) FROM {table} WHERE tenant NOT IN (SELECT id FROM tenants)"
            ))
            .fetch_one(&self.db)
            .await?
            .try_get(0)?;
            if n > 0 {
                report.problem(format!("{n} {table} rows belong to no tenant"));
            }
        }
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM restore_steps WHERE restore NOT IN (SELECT id FROM restores)",
        )
        .fetch_one(&self.db)
        .await?
        .try_get(0)?;
        if n > 0 {
            report.problem(format!("{n} restore steps belong to no restore"));
        }
        Ok(())
    }

    /// The delta cursors a capture would resume from are those their snapshot committed.
    async fn verify_cursors(
        &self,
        tenant: &crate::tenant::TenantInfo,
        snapshots: &[ChainRow],
        report: &mut VerifyReport,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query("SELECT kind, link, snapshot FROM cursors WHERE tenant = $1")
            .bind(tenant.id)
            .fetch_all(&self.db)
            .await?;
        for r in rows {
            let (kind, link, snapshot): (String, String, SnapshotId) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let Some(s) = snapshots.iter().find(|s| s.id == snapshot) else {
                let p = report.problem(format!("the {kind} cursor belongs to no snapshot"));
                p.tenant = Some(tenant.name.clone());
                continue;
            };
            if s.version < 2 {
                continue;
            }
            let committed: std::collections::BTreeMap<String, String> = s
                .cursor_kinds
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default();
            if committed.get(&kind) != Some(&blake3::hash(link.as_bytes()).to_hex().to_string()) {
                let p = report.problem(format!(
                    "the {kind} delta cursor is not the one its snapshot committed"
                ));
                (p.tenant, p.snapshot) = (Some(tenant.name.clone()), Some(s.id));
            }
        }
        Ok(())
    }

    /// Every amendment of the tenant, by the snapshot that found it.
    async fn amendments_by_snapshot(
        &self,
        tenant: &crate::tenant::TenantInfo,
    ) -> Result<std::collections::BTreeMap<SnapshotId, Vec<AmendmentFields>>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, version, actors, records, snapshot FROM amendments WHERE tenant = $1",
        )
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?;
        let mut out = std::collections::BTreeMap::<SnapshotId, Vec<AmendmentFields>>::new();
        for r in rows {
            out.entry(r.try_get(5)?).or_default().push(amendment_row(&r)?);
        }
        Ok(out)
    }

    /// How many records an audit blob holds; an error when it is not a list.
    async fn audit_records_of(&self, hash: &ContentHash) -> Result<usize, StoreError> {
        match self.version(hash).await? {
            serde_json::Value::Array(records) => Ok(records.len()),
            _ => Err(StoreError::Corrupt("an audit blob is not a list".into())),
        }
    }
}

/// The object and version a stored row names.
fn row_key(row: &RowFields) -> Result<(ObjectKey, Option<ContentHash>), StoreError> {
    let kind = rewind_model::Kind::from_name(&row.kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{}' in versions", row.kind)))?;
    let hash = crate::columns::opt_hash(row.hash.clone())?;
    Ok((ObjectKey::new(kind, row.key.clone()), hash))
}

/// A tenant's version rows in snapshot order, taken one snapshot at a time.
struct VersionRows<'a> {
    rows: futures_util::stream::BoxStream<'a, Result<sqlx::any::AnyRow, sqlx::Error>>,
    pending: Option<(SnapshotId, RowFields)>,
}

impl<'a> VersionRows<'a> {
    fn of(store: &'a Store, tenant: i64) -> Self {
        let rows = sqlx::query(
            "SELECT kind, key, hash, change, name, actors, records, snapshot FROM versions \
             WHERE tenant = $1 ORDER BY snapshot",
        )
        .bind(tenant)
        .fetch(&store.db);
        VersionRows { rows, pending: None }
    }

    /// The next row and the snapshot it belongs to.
    async fn next(&mut self) -> Result<Option<(SnapshotId, RowFields)>, StoreError> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        match self.rows.try_next().await? {
            Some(r) => Ok(Some((r.try_get::<SnapshotId, _>(7)?, stored_row(&r)?))),
            None => Ok(None),
        }
    }

    /// The rows of snapshots up to `id` (those before it belong to no snapshot).
    async fn up_to(&mut self, id: SnapshotId) -> Result<Vec<(SnapshotId, RowFields)>, StoreError> {
        let mut out = Vec::new();
        while let Some((snapshot, row)) = self.next().await? {
            if snapshot > id {
                self.pending = Some((snapshot, row));
                break;
            }
            out.push((snapshot, row));
        }
        Ok(out)
    }
}

/// One tenant's timeline being verified: the manifest folded so far and where problems go.
struct TimelineCheck<'a> {
    tenant: &'a str,
    good: &'a HashSet<ContentHash>,
    report: &'a mut VerifyReport,
    manifest: Manifest,
}

impl TimelineCheck<'_> {
    /// A problem in snapshot `snapshot` of this tenant.
    fn at(&mut self, snapshot: SnapshotId, what: impl Into<String>) -> &mut Problem {
        let p = self.report.problem(what);
        (p.tenant, p.snapshot) = (Some(self.tenant.to_string()), Some(snapshot));
        p
    }

    /// Folds snapshot `id`'s version rows into the manifest, checking each one's blob; the
    /// rows, for the chain hash.
    fn fold(
        &mut self,
        id: SnapshotId,
        rows: Vec<(SnapshotId, RowFields)>,
    ) -> Result<Vec<RowFields>, StoreError> {
        let mut own = Vec::with_capacity(rows.len());
        for (snapshot, row) in rows {
            self.report.versions += 1;
            let (key, hash) = row_key(&row)?;
            if snapshot < id {
                self.at(snapshot, "a version belongs to no snapshot").object = Some(key.clone());
            }
            if let Some(h) = hash.filter(|h| !self.good.contains(h)) {
                let p = self.at(id, "its version's blob is missing or damaged");
                (p.object, p.blob) = (Some(key.clone()), Some(h));
            }
            apply(&mut self.manifest, key, hash);
            own.push(row);
        }
        self.report.snapshots += 1;
        Ok(own)
    }

    /// The snapshot's stored manifest hash is that of the versions folded so far.
    fn manifest_hash(&mut self, s: &ChainRow) {
        let recomputed = manifest_hash(&self.manifest);
        if recomputed != s.manifest {
            let stored = s.manifest;
            self.at(
                s.id,
                format!("the manifest hash is {stored}, but its versions give {recomputed}"),
            );
        }
        if s.version >= 2 && s.anchor.is_some() {
            self.at(s.id, "a version-2 snapshot carries an anchor");
        }
    }

    /// The chain hash the snapshot builds on: its parent's, which must be the snapshot
    /// before it (a version-1 snapshot after `forget` carries its parent's as an anchor).
    fn parent_chain(&mut self, s: &ChainRow, previous: Option<&ChainRow>) -> Option<ContentHash> {
        match (s.parent, previous) {
            (None, None) => None,
            (Some(p), Some(prev)) if p == prev.id => Some(prev.chain),
            (Some(_), _) if s.version < 2 && s.anchor.is_some() => s.anchor,
            (parent, _) => {
                let parent = parent.map_or_else(|| "none".into(), |p| p.to_string());
                let before = previous.map_or_else(|| "none".into(), |p| p.id.to_string());
                self.at(
                    s.id,
                    format!("its parent is {parent}, but the snapshot before it is {before}"),
                );
                previous.map(|p| p.chain)
            }
        }
    }

    /// The snapshot's stored chain hash is the one recomputed from what is stored about it.
    fn chain(&mut self, s: &ChainRow, recomputed: ContentHash) {
        if recomputed != s.chain {
            let stored = s.chain;
            self.at(
                s.id,
                format!(
                    "the chain hash is {stored}, but what is stored about it gives {recomputed}"
                ),
            );
        }
    }

    /// A version row after the last snapshot.
    fn stray(&mut self, snapshot: SnapshotId, row: &RowFields) {
        self.report.versions += 1;
        self.at(snapshot, "a version belongs to no snapshot").object =
            row_key(row).ok().map(|k| k.0);
    }
}
