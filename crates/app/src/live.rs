//! The live tenant as a point to compare with: read in full, fresh, into a throwaway store, so
//! that everything that compares two points (diff, changes, references) works on it unchanged
//! and the timeline itself is not touched.

use rewind_msgraph::GraphClient;
use rewind_store::{NewTenant, SnapshotInfo, Store, TenantInfo};

use crate::capture::{CaptureError, CaptureEvent, CaptureOptions, capture};

/// The tenant as read just now. The store lives in a temporary directory removed on drop.
pub struct Live {
    /// The throwaway store holding the one snapshot.
    pub store: Store,
    /// The tenant in it.
    pub tenant: TenantInfo,
    /// The snapshot of the live tenant.
    pub snapshot: SnapshotInfo,
    _dir: tempfile::TempDir,
}

/// Reads `of` in full through `client` (with the methods of `break_glass` accounts).
pub async fn read_live(
    client: &GraphClient,
    of: &TenantInfo,
    break_glass: Vec<String>,
    progress: &(dyn Fn(CaptureEvent) + Sync),
) -> Result<Live, CaptureError> {
    let dir = tempfile::Builder::new()
        .prefix("rewind-live-")
        .tempdir()
        .map_err(rewind_store::StoreError::from)?;
    let store = Store::open_sqlite(&dir.path().join("live.db"), None).await?;
    let tenant = store
        .add_tenant(&NewTenant {
            tenant_id: of.tenant_id.clone(),
            name: of.name.clone(),
            graph_url: of.graph_url.clone(),
            authority_url: of.authority_url.clone(),
            client_id: of.client_id.clone(),
        })
        .await?;
    let report = capture(
        client,
        &store,
        &tenant,
        CaptureOptions { full: true, break_glass, ..CaptureOptions::default() },
        progress,
    )
    .await?;
    Ok(Live { store, tenant, snapshot: report.snapshot, _dir: dir })
}
