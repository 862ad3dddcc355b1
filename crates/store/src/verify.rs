//! `verify`: every blob against its hash, every snapshot's manifest against the versions it
//! is folded from, and the hash chain from each tenant's first snapshot to its last.

use std::collections::HashSet;

use futures_util::TryStreamExt as _;
use rewind_model::ContentHash;
use serde::Serialize;
use sqlx::Row as _;

use crate::chain::{AmendmentFields, RowFields};
use crate::error::StoreError;
use crate::integrity::{ChainRow, stored_row};
use crate::manifest::{Manifest, ObjectKey, apply, manifest_hash};
use crate::store::Store;

/// One thing wrong with a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The tenant, by name, when the problem is in its timeline.
    pub tenant: Option<String>,
    /// The snapshot concerned.
    pub snapshot: Option<i64>,
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
    pub snapshot: i64,
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
        let mut rows = sqlx::query(
            "SELECT kind, key, hash, change, name, actors, records, snapshot FROM versions \
             WHERE tenant = $1 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .fetch(&self.db);
        let mut pending: Option<(i64, RowFields)> = None;
        let mut manifest = Manifest::new();
        let mut previous: Option<&ChainRow> = None;
        let here = |snapshot: Option<i64>| (Some(tenant.name.clone()), snapshot);
        for s in &snapshots {
            report.snapshots += 1;
            let mut own: Vec<RowFields> = Vec::new();
            loop {
                let next = match pending.take() {
                    Some(p) => Some(p),
                    None => match rows.try_next().await? {
                        Some(r) => Some((r.try_get::<i64, _>(7)?, stored_row(&r)?)),
                        None => None,
                    },
                };
                let Some((snap, row)) = next else { break };
                if snap > s.id {
                    pending = Some((snap, row));
                    break;
                }
                report.versions += 1;
                let (key, hash) = row_key(&row)?;
                if snap < s.id {
                    let p = report.problem("a version belongs to no snapshot");
                    (p.tenant, p.snapshot) = here(Some(snap));
                    p.object = Some(key.clone());
                }
                if let Some(h) = hash.filter(|h| !good.contains(h)) {
                    let p = report.problem("its version's blob is missing or damaged");
                    (p.tenant, p.snapshot) = here(Some(s.id));
                    (p.object, p.blob) = (Some(key.clone()), Some(h));
                }
                apply(&mut manifest, key, hash);
                own.push(row);
            }
            let recomputed = manifest_hash(&manifest);
            if recomputed != s.manifest {
                let p = report.problem(format!(
                    "the manifest hash is {}, but its versions give {}",
                    s.manifest, recomputed
                ));
                (p.tenant, p.snapshot) = here(Some(s.id));
            }
            if s.version >= 2 && s.anchor.is_some() {
                let p = report.problem("a version-2 snapshot carries an anchor");
                (p.tenant, p.snapshot) = here(Some(s.id));
            }
            let parent_chain = match (s.parent, previous) {
                (None, None) => None,
                (Some(p), Some(prev)) if p == prev.id => Some(prev.chain),
                (Some(_), _) if s.version < 2 && s.anchor.is_some() => s.anchor,
                (parent, _) => {
                    let p = report.problem(format!(
                        "its parent is {}, but the snapshot before it is {}",
                        parent.map_or_else(|| "none".into(), |p| p.to_string()),
                        previous.map_or_else(|| "none".into(), |p| p.id.to_string())
                    ));
                    (p.tenant, p.snapshot) = here(Some(s.id));
                    previous.map(|p| p.chain)
                }
            };
            if let Some(a) = &s.audit {
                match self.audit_records_of(a).await {
                    Ok(records) if good.contains(a) => report.audit += records as u64,
                    _ => {
                        let p = report.problem("its audit records are missing or damaged");
                        (p.tenant, p.snapshot) = here(Some(s.id));
                        p.blob = Some(*a);
                    }
                }
            }
            let mut found = amendments.remove(&s.id).unwrap_or_default();
            let chain = self.expected_chain(tenant, s, parent_chain.as_ref(), &mut own, &mut found);
            if chain != s.chain {
                let p = report.problem(format!(
                    "the chain hash is {}, but what is stored about it gives {}",
                    s.chain, chain
                ));
                (p.tenant, p.snapshot) = here(Some(s.id));
            }
            previous = Some(s);
        }
        while let Some((snap, row)) = match pending.take() {
            Some(p) => Some(p),
            None => match rows.try_next().await? {
                Some(r) => Some((r.try_get::<i64, _>(7)?, stored_row(&r)?)),
                None => None,
            },
        } {
            report.versions += 1;
            let p = report.problem("a version belongs to no snapshot");
            (p.tenant, p.snapshot) = here(Some(snap));
            p.object = row_key(&row).ok().map(|k| k.0);
        }
        for (snapshot, _) in amendments {
            let p = report.problem("late attributions belong to no snapshot");
            (p.tenant, p.snapshot) = here(Some(snapshot));
        }
        self.verify_cursors(tenant, &snapshots, report).await?;
        let heads: Vec<(i64, String)> =
            snapshots.iter().filter_map(|s| s.ledger_head.clone().map(|h| (s.id, h))).collect();
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
            let (kind, link, snapshot): (String, String, i64) =
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
    ) -> Result<std::collections::BTreeMap<i64, Vec<AmendmentFields>>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, version, actors, records, snapshot FROM amendments WHERE tenant = $1",
        )
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?;
        let mut out = std::collections::BTreeMap::<i64, Vec<AmendmentFields>>::new();
        for r in rows {
            out.entry(r.try_get(5)?).or_default().push(AmendmentFields {
                kind: r.try_get(0)?,
                key: r.try_get(1)?,
                version: r.try_get(2)?,
                actors: r.try_get(3)?,
                records: r.try_get(4)?,
            });
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
