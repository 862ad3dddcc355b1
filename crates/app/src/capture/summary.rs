//! What `rewind capture --json` reports: DESIGN §8.1's fields first, then more.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rewind_model::Kind;
use rewind_store::{KindCounts, SnapshotId, TenantInfo};
use serde::Serialize;

use super::CaptureReport;

/// A capture's report.
#[derive(Debug, Serialize)]
pub struct CaptureSummary<'a> {
    /// The snapshot committed.
    pub snapshot: SnapshotId,
    /// When the capture began.
    pub taken_at: Timestamp,
    /// Every kind was read in full (a restore point).
    pub complete: bool,
    /// Objects in the tenant.
    pub objects: u64,
    /// Changes since the previous snapshot, every kind together.
    pub changes: ChangeTotals,
    /// Graph requests made.
    pub requests: u64,
    /// Wall time.
    pub seconds: f64,
    /// The tenant's name in the store.
    pub tenant: &'a str,
    /// Its directory id.
    pub tenant_id: &'a str,
    /// Every kind was read in full.
    pub full: bool,
    /// Requests answered 429.
    pub throttled: u64,
    /// Requests retried after a transient failure.
    pub retries: u64,
    /// Per kind, objects and changes.
    pub kinds: &'a BTreeMap<Kind, KindCounts>,
    /// What the reader should know.
    pub warnings: &'a [String],
    /// The snapshot's chain hash, hex.
    pub chain: String,
}

/// Created, updated and deleted objects.
#[derive(Debug, Serialize)]
pub struct ChangeTotals {
    /// Created.
    pub created: u64,
    /// Updated.
    pub updated: u64,
    /// Deleted.
    pub deleted: u64,
}

impl CaptureReport {
    /// The report of this capture of `tenant`.
    pub fn summary<'a>(&'a self, tenant: &'a TenantInfo) -> CaptureSummary<'a> {
        let s = &self.snapshot;
        let t = s.totals();
        CaptureSummary {
            snapshot: s.id,
            taken_at: s.taken_at,
            complete: s.complete,
            objects: s.objects,
            changes: ChangeTotals { created: t.created, updated: t.updated, deleted: t.deleted },
            requests: self.requests,
            seconds: self.seconds,
            tenant: &tenant.name,
            tenant_id: &tenant.tenant_id,
            full: self.full,
            throttled: self.throttled,
            retries: self.retries,
            kinds: &s.counts,
            warnings: &self.warnings,
            chain: s.chain.to_hex(),
        }
    }
}
