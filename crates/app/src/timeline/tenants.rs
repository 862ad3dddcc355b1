//! `rewind tenant list --json`: the tenants a store keeps and their latest snapshots.

use jiff::Timestamp;
use rewind_store::{SnapshotId, SnapshotInfo, TenantInfo};
use serde::Serialize;

/// Every tenant of the store.
#[derive(Debug, Clone, Serialize)]
pub struct TenantsReport {
    /// One entry per tenant.
    pub tenants: Vec<TenantEntry>,
}

/// A tenant as the store records it, with its latest snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct TenantEntry {
    /// The tenant as the store records it.
    #[serde(flatten)]
    pub tenant: TenantInfo,
    /// Its latest snapshot, if any.
    pub latest_snapshot: Option<SnapshotId>,
    /// When that snapshot was taken.
    pub latest_taken_at: Option<Timestamp>,
}

impl TenantEntry {
    /// `tenant` with its `latest` snapshot.
    pub fn new(tenant: &TenantInfo, latest: Option<&SnapshotInfo>) -> Self {
        TenantEntry {
            tenant: tenant.clone(),
            latest_snapshot: latest.map(|s| s.id),
            latest_taken_at: latest.map(|s| s.taken_at),
        }
    }
}
