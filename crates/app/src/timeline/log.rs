//! `rewind log --json`: a tenant's snapshots and the head of its chain.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use rewind_model::Kind;
use rewind_store::{KindCounts, SnapshotId, SnapshotInfo, TenantInfo};
use serde::Serialize;

use super::Changes;

/// A tenant's snapshots in the order given, and the chain hash of its latest one.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// The tenant's name in the store.
    pub tenant: String,
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The snapshots, in the order asked for.
    pub snapshots: Vec<SnapshotEntry>,
    /// The latest snapshot's chain hash (what `verify --head` checks), if any.
    pub head: Option<String>,
}

/// One snapshot: when, how complete, what it changed per kind and what it cost.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotEntry {
    /// The snapshot's id.
    pub snapshot: SnapshotId,
    /// When it was taken.
    pub taken_at: Timestamp,
    /// Whether every kind was read.
    pub complete: bool,
    /// Objects in the tenant after it.
    pub objects: u64,
    /// Objects it created, updated and deleted.
    pub changes: Changes,
    /// Objects and changes per kind.
    pub kinds: BTreeMap<Kind, KindCounts>,
    /// Graph requests the capture made.
    pub requests: u64,
    /// How long the capture took.
    pub seconds: f64,
    /// Its chain hash (the hash chain `verify` checks).
    pub chain: String,
    /// The snapshot before it.
    pub parent: Option<SnapshotId>,
}

impl LogReport {
    /// The report of `snapshots` (in the order given) with `head`, the tenant's latest.
    pub fn new(
        tenant: &TenantInfo,
        snapshots: &[SnapshotInfo],
        head: Option<&SnapshotInfo>,
    ) -> Self {
        LogReport {
            tenant: tenant.name.clone(),
            tenant_id: tenant.tenant_id.clone(),
            snapshots: snapshots.iter().map(SnapshotEntry::from).collect(),
            head: head.map(|s| s.chain.to_hex()),
        }
    }
}

impl From<&SnapshotInfo> for SnapshotEntry {
    fn from(s: &SnapshotInfo) -> Self {
        SnapshotEntry {
            snapshot: s.id,
            taken_at: s.taken_at,
            complete: s.complete,
            objects: s.objects,
            changes: s.totals().into(),
            kinds: s.counts.clone(),
            requests: s.requests,
            seconds: Duration::from_millis(s.millis).as_secs_f64(),
            chain: s.chain.to_hex(),
            parent: s.parent,
        }
    }
}
