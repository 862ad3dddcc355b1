//! `verify`: every blob against its hash, every snapshot's manifest against the versions it
//! is folded from, and the hash chain from each tenant's first snapshot to its last.

use std::collections::HashSet;

use futures_util::TryStreamExt as _;
use rewind_model::ContentHash;
use serde::Serialize;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::manifest::{Manifest, ObjectKey, apply, chain_hash, manifest_hash};
use crate::store::Store;
use crate::timeline::version_key;

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
        for tenant in self.tenants().await? {
            self.verify_timeline(&tenant, &good, &mut report).await?;
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
        tenant: &crate::store::TenantInfo,
        good: &HashSet<ContentHash>,
        report: &mut VerifyReport,
    ) -> Result<(), StoreError> {
        let snapshots = self.snapshots(tenant).await?;
        let anchors = self.chain_anchors(tenant.id).await?;
        let mut rows = sqlx::query(
            "SELECT kind, key, hash, snapshot FROM versions WHERE tenant = $1 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .fetch(&self.db);
        let mut pending: Option<(i64, ObjectKey, Option<ContentHash>)> = None;
        let mut manifest = Manifest::new();
        let mut previous: Option<(i64, ContentHash)> = None;
        let here = |snapshot: Option<i64>| (Some(tenant.name.clone()), snapshot);
        for s in &snapshots {
            report.snapshots += 1;
            loop {
                let next = match pending.take() {
                    Some(p) => Some(p),
                    None => match rows.try_next().await? {
                        Some(r) => {
                            let (key, hash) = version_key(&r)?;
                            Some((r.try_get::<i64, _>(3)?, key, hash))
                        }
                        None => None,
                    },
                };
                let Some((snap, key, hash)) = next else { break };
                if snap > s.id {
                    pending = Some((snap, key, hash));
                    break;
                }
                report.versions += 1;
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
            }
            let recomputed = manifest_hash(&manifest);
            if recomputed != s.manifest {
                let p = report.problem(format!(
                    "the manifest hash is {}, but its versions give {}",
                    s.manifest, recomputed
                ));
                (p.tenant, p.snapshot) = here(Some(s.id));
            }
            let parent_chain = match (s.parent, previous) {
                (None, None) => None,
                (Some(p), Some((prev, chain))) if p == prev => Some(chain),
                (Some(_), _) if anchors.iter().any(|(id, _)| *id == s.id) => {
                    anchors.iter().find(|(id, _)| *id == s.id).map(|(_, c)| *c)
                }
                (parent, _) => {
                    let p = report.problem(format!(
                        "its parent is {parent:?}, but the snapshot before it is {:?}",
                        previous.map(|p| p.0)
                    ));
                    (p.tenant, p.snapshot) = here(Some(s.id));
                    previous.map(|p| p.1)
                }
            };
            if let Some(a) = &s.audit {
                match self.audit_records(s).await {
                    Ok(records) if good.contains(a) => report.audit += records.len() as u64,
                    _ => {
                        let p = report.problem("its audit records are missing or damaged");
                        (p.tenant, p.snapshot) = here(Some(s.id));
                        p.blob = Some(*a);
                    }
                }
            }
            let chain = chain_hash(
                parent_chain.as_ref(),
                &s.manifest,
                s.audit.as_ref(),
                &tenant.tenant_id,
                s.taken_at.as_microsecond(),
            );
            if chain != s.chain {
                let p = report.problem(format!(
                    "the chain hash is {}, but recomputing it gives {}",
                    s.chain, chain
                ));
                (p.tenant, p.snapshot) = here(Some(s.id));
            }
            previous = Some((s.id, s.chain));
        }
        while let Some(r) = match pending.take() {
            Some(p) => Some(p),
            None => match rows.try_next().await? {
                Some(r) => {
                    let (key, hash) = version_key(&r)?;
                    Some((r.try_get::<i64, _>(3)?, key, hash))
                }
                None => None,
            },
        } {
            report.versions += 1;
            let p = report.problem("a version belongs to no snapshot");
            (p.tenant, p.snapshot) = here(Some(r.0));
            p.object = Some(r.1);
        }
        Ok(())
    }

    /// Snapshots whose parent was forgotten, with the forgotten parent's chain hash.
    async fn chain_anchors(&self, tenant: i64) -> Result<Vec<(i64, ContentHash)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, chain_anchor FROM snapshots WHERE tenant = $1 AND chain_anchor IS NOT NULL",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let b: Vec<u8> = r.try_get(1)?;
            if let Some(h) = ContentHash::from_slice(&b) {
                out.push((r.try_get(0)?, h));
            }
        }
        Ok(out)
    }
}
