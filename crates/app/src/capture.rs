//! The capture use case: read a tenant and commit one snapshot (DESIGN §5).
//!
//! The first capture (or `--full`) reads every kind in full: delta kinds with a full delta
//! round (which also yields the cursor for next time), others as paged lists, relationships
//! that delta does not carry (owners, administrative unit members) and contained objects
//! (federated credentials, app role assignments) by expanding their owners' lists — one
//! request per page, never one per object. Later captures resume the delta cursors, re-read
//! the small policy lists, and re-read relationships only of objects that were created or that
//! the audit log names, so their cost follows the changes, not the tenant.
//!
//! Versions stream into the store as they are read; the snapshot row, its version rows, the
//! cursors and the audit records are committed in one transaction at the end, so a capture that
//! fails or is killed leaves no snapshot and no advanced cursor.

pub(crate) mod assemble;
pub(crate) mod audit;
mod methods;
mod objects;
mod phases;
mod relations;
mod source;
mod summary;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use rewind_msgraph::protocol::FailureKind;
use rewind_msgraph::{ClientError, GraphClient};
use rewind_store::{
    AuditEntry, Manifest, NewSnapshot, NewTenant, SnapshotId, SnapshotInfo, Store, StoreError,
    TenantInfo, VersionChange,
};
use serde::Serialize;
use tokio::sync::mpsc;

use assemble::Observed;
pub(crate) use source::{read_permission, select_query};
pub use summary::{CaptureSummary, ChangeTotals};

/// Whether Graph's answer says the tenant cannot have what was asked (a licence it lacks).
pub(crate) fn unavailable_in_tenant(e: &ClientError) -> bool {
    objects::unavailable(e).is_some()
}

/// How to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Read everything in full even when cursors exist (reconciles anything delta missed).
    pub full: bool,
    /// Break-glass accounts by object id or user principal name; empty to recognise them by
    /// name. Their authentication methods are captured with the administrators'.
    pub break_glass: Vec<String>,
    /// The longest a capture may read before it gives up and stores nothing: a server that
    /// answers slowly without end must not hold a capture (and a watch cycle) for ever.
    pub time_limit: std::time::Duration,
}

/// Four hours: a full read of a tenant of a million users under Graph's throttling takes
/// about one.
pub const DEFAULT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_hours(4);

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions { full: false, break_glass: Vec::new(), time_limit: DEFAULT_TIME_LIMIT }
    }
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureEvent {
    /// Objects of a kind read so far.
    Read {
        /// The kind.
        kind: Kind,
        /// Objects read so far.
        objects: u64,
    },
    /// Everything is read; the snapshot is being committed.
    Committing,
}

/// What a capture did.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureReport {
    /// The snapshot committed.
    pub snapshot: SnapshotInfo,
    /// Every kind was read in full.
    pub full: bool,
    /// Graph requests made.
    pub requests: u64,
    /// Of which answered 429.
    pub throttled: u64,
    /// Requests retried after a transient failure.
    pub retries: u64,
    /// Wall time.
    pub seconds: f64,
    /// Things that did not stop the capture but deserve a look.
    pub warnings: Vec<String>,
}

/// Why a capture failed; nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Graph refused or failed a request.
    #[error("reading {what}: {source}{}", advice(.source, .permission))]
    Graph {
        /// What was being read.
        what: String,
        /// The permission that reads it.
        permission: &'static str,
        /// The failure.
        #[source]
        source: Box<ClientError>,
    },
    /// Graph answered with something that is not what the API promises.
    #[error("reading {what}: {problem}")]
    Malformed {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The capture ran past its time limit.
    #[error(
        "the capture did not finish within {} (the last request was {last_url}); nothing was stored — check the endpoint, or raise --time-limit for a very large tenant",
        jiff::SignedDuration::try_from(*.limit).map(|d| format!("{d:#}")).unwrap_or_default()
    )]
    TimedOut {
        /// The limit.
        limit: std::time::Duration,
        /// The last URL requested.
        last_url: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What kind of failure a capture error is, for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Wrong or missing credentials.
    Authentication,
    /// The app lacks a permission.
    Permission,
    /// An endpoint could not be reached.
    Unreachable,
    /// Anything else.
    Other,
}

impl CaptureError {
    /// The class of failure.
    pub fn class(&self) -> FailureClass {
        match self {
            CaptureError::Graph { source, .. } => class_of(source),
            _ => FailureClass::Other,
        }
    }
}

fn class_of(source: &ClientError) -> FailureClass {
    match source {
        ClientError::Unreachable { .. } => FailureClass::Unreachable,
        ClientError::Certificate(_) => FailureClass::Authentication,
        ClientError::Graph(f) | ClientError::GaveUp { last: f, .. } => {
            // Token endpoint refusals carry OAuth codes (`invalid_client`, …), not a 401.
            if f.kind() == FailureKind::Authentication
                || f.code.starts_with("invalid_")
                || f.code == "unauthorized_client"
            {
                FailureClass::Authentication
            } else if f.kind() == FailureKind::Permission {
                FailureClass::Permission
            } else {
                FailureClass::Other
            }
        }
        ClientError::Redirected { .. } => FailureClass::Unreachable,
        ClientError::Malformed { .. }
        | ClientError::ForeignUrl { .. }
        | ClientError::TooLarge { .. } => FailureClass::Other,
    }
}

/// What to do about a failure, appended to its message.
fn advice(source: &ClientError, permission: &str) -> String {
    match class_of(source) {
        FailureClass::Authentication => " — check the tenant id, client id and secret or \
            certificate (REWIND_TENANT_ID, REWIND_CLIENT_ID, REWIND_CLIENT_SECRET or \
            REWIND_CLIENT_CERTIFICATE)"
            .into(),
        FailureClass::Permission => {
            format!(" — grant the app the application permission {permission} (with admin consent)")
        }
        FailureClass::Unreachable => {
            " — check REWIND_GRAPH_URL, REWIND_AUTHORITY_URL and the network".into()
        }
        FailureClass::Other => String::new(),
    }
}

/// One capture's shared state.
struct Run<'a> {
    client: &'a GraphClient,
    store: &'a Store,
    base: &'a Manifest,
    blobs: mpsc::Sender<Vec<(ContentHash, Vec<u8>)>>,
    progress: &'a (dyn Fn(CaptureEvent) + Sync),
}

/// Captures a tenant the store does not know yet: records it as `new`, then takes its first
/// snapshot. A first capture that fails leaves the store as it found it.
pub async fn capture_new(
    client: &GraphClient,
    store: &Store,
    new: &NewTenant,
    options: CaptureOptions,
    progress: &(dyn Fn(CaptureEvent) + Sync),
) -> Result<(TenantInfo, CaptureReport), CaptureError> {
    let tenant = store.add_tenant(new).await?;
    match capture(client, store, &tenant, options, progress).await {
        Ok(report) => Ok((tenant, report)),
        Err(e) => {
            store.remove_tenant(&tenant).await?;
            Err(e)
        }
    }
}

/// Reads the tenant and commits a snapshot.
pub async fn capture(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    options: CaptureOptions,
    progress: &(dyn Fn(CaptureEvent) + Sync),
) -> Result<CaptureReport, CaptureError> {
    // Shared with other captures; keeps `forget` from collecting blobs this capture is about
    // to reference.
    let _lock = store.lock_shared().await?;
    let c = Capture::start(client, store, tenant, &options, progress);
    let base = store.latest(tenant).await?;
    let base_manifest = c.base_manifest(base.as_ref()).await?;
    let full = options.full || base.is_none();
    let mut read = c.read(&base_manifest, full).await?;
    let mut warnings: Vec<String> = read.audit_warning.take().into_iter().collect();
    warnings.extend(c.read_methods(&base_manifest, &mut read.observed).await?);
    let unavailable = unavailable_kinds(&read.observed);
    warnings.extend(unavailable.iter().map(|(kind, why)| unavailable_warning(*kind, *why)));
    let new = c.assemble(base.as_ref(), &base_manifest, read, unavailable).await?;
    let snapshot = store.commit(tenant, base.as_ref(), &base_manifest, &new).await?;
    Ok(c.report(snapshot, full, warnings))
}

/// One capture in progress: what it reads with and when it began.
struct Capture<'a> {
    client: &'a GraphClient,
    store: &'a Store,
    tenant: &'a TenantInfo,
    options: &'a CaptureOptions,
    progress: &'a (dyn Fn(CaptureEvent) + Sync),
    started: Instant,
    taken_at: Timestamp,
    stats_before: rewind_msgraph::ClientStats,
}

impl<'a> Capture<'a> {
    fn start(
        client: &'a GraphClient,
        store: &'a Store,
        tenant: &'a TenantInfo,
        options: &'a CaptureOptions,
        progress: &'a (dyn Fn(CaptureEvent) + Sync),
    ) -> Self {
        let (started, stats_before) = (Instant::now(), client.stats());
        let taken_at = Timestamp::now();
        Capture { client, store, tenant, options, progress, started, taken_at, stats_before }
    }

    /// The state the capture compares with. An incremental capture builds on its parent, which
    /// must be intact; a full one reads everything again and is how a damaged timeline gets a
    /// snapshot to rely on.
    async fn base_manifest(&self, base: Option<&SnapshotInfo>) -> Result<Manifest, StoreError> {
        match base {
            Some(b) if self.options.full => self.store.manifest_as_stored(self.tenant, b).await,
            Some(b) => self.store.manifest(self.tenant, b).await,
            None => Ok(Manifest::new()),
        }
    }

    /// The stored delta cursors this capture can resume. One issued by another Graph endpoint
    /// (the settings changed) or for another request (an older Rewind's `$select`) cannot be:
    /// that kind is read in full instead.
    async fn resumable_cursors(&self) -> Result<BTreeMap<Kind, String>, StoreError> {
        let stored = self.store.cursors(self.tenant).await?;
        let resumable = stored.into_iter().filter_map(|(kind, stored)| {
            let link = source::resumable(kind, &stored)
                .filter(|link| self.client.endpoints().is_graph(link));
            if link.is_none() {
                let kind = kind.name();
                tracing::info!(
                    kind,
                    "the delta cursor is not for this request; reading the kind in full"
                );
            }
            Some((kind, link?))
        });
        Ok(resumable.collect())
    }

    /// Reads every kind, streaming versions to a blob writer, within the time limit.
    async fn read(&self, base: &Manifest, full: bool) -> Result<Read, CaptureError> {
        let cursors = if full { BTreeMap::new() } else { self.resumable_cursors().await? };
        let since = self.store.last_audit_time(self.tenant).await?;
        let (tx, rx) = mpsc::channel(8);
        let writer = tokio::spawn(write_blobs(self.store.clone(), rx));
        let run = Run {
            client: self.client,
            store: self.store,
            base,
            blobs: tx,
            progress: self.progress,
        };
        let read = self.within_limit(run.read_all(full, &cursors, since)).await;
        drop(run);
        let written = writer
            .await
            .map_err(|e| StoreError::Corrupt(format!("the blob writer stopped: {e}")))?;
        // A writer failure is the cause of the readers' "writer stopped": report it first.
        written?;
        read
    }

    /// Reads the protected people's authentication methods into `observed`; a warning when
    /// some could not be read.
    async fn read_methods(
        &self,
        base: &Manifest,
        observed: &mut BTreeMap<Kind, Observed>,
    ) -> Result<Option<String>, CaptureError> {
        let (client, store, tenant) = (self.client, self.store, self.tenant);
        let break_glass = &self.options.break_glass;
        let reading = methods::read_methods(client, store, tenant, base, observed, break_glass);
        let (methods, warning) = self.within_limit(reading).await?;
        observed.insert(Kind::UserAuthenticationMethods, methods);
        Ok(warning)
    }

    /// `reading`, or `TimedOut` once the capture's time limit has passed.
    async fn within_limit<T>(
        &self,
        reading: impl Future<Output = Result<T, CaptureError>>,
    ) -> Result<T, CaptureError> {
        let deadline = tokio::time::Instant::from_std(self.started) + self.options.time_limit;
        tokio::time::timeout_at(deadline, reading).await.unwrap_or_else(|_| {
            let last_url = self.client.last_url().unwrap_or_default();
            Err(CaptureError::TimedOut { limit: self.options.time_limit, last_url })
        })
    }

    /// The snapshot to commit: every kind's changes, attributed from the audit records.
    async fn assemble(
        &self,
        base: Option<&SnapshotInfo>,
        base_manifest: &Manifest,
        read: Read,
        unavailable: BTreeMap<Kind, rewind_store::Unavailable>,
    ) -> Result<NewSnapshot, CaptureError> {
        let mut changes: Vec<VersionChange> = read
            .observed
            .iter()
            .flat_map(|(kind, seen)| assemble::changes(*kind, base_manifest, seen))
            .collect();
        let known = known_attributions(self.store, self.tenant, &read.records).await?;
        let window = audit::Window::of(base.map(|b| b.taken_at), Timestamp::now());
        let amendments = audit::attribute(&mut changes, &read.records, &known, window);
        (self.progress)(CaptureEvent::Committing);
        Ok(NewSnapshot {
            taken_at: self.taken_at,
            changes,
            cursors: read.cursors,
            audit: read.records,
            amendments,
            drop_cursors: Vec::new(),
            import_mark: None,
            unavailable,
            requests: self.client.stats().requests - self.stats_before.requests,
            millis: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    fn report(&self, snapshot: SnapshotInfo, full: bool, warnings: Vec<String>) -> CaptureReport {
        let (stats, before) = (self.client.stats(), &self.stats_before);
        CaptureReport {
            snapshot,
            full,
            requests: stats.requests - before.requests,
            throttled: stats.throttled - before.throttled,
            retries: stats.retries - before.retries,
            seconds: self.started.elapsed().as_secs_f64(),
            warnings,
        }
    }
}

/// The kinds Graph would not let the capture read, and why.
fn unavailable_kinds(
    observed: &BTreeMap<Kind, Observed>,
) -> BTreeMap<Kind, rewind_store::Unavailable> {
    observed.iter().filter_map(|(kind, seen)| Some((*kind, seen.unavailable?))).collect()
}

fn unavailable_warning(kind: Kind, why: rewind_store::Unavailable) -> String {
    let (kind, why) = (kind_label(kind), why.describe());
    format!("{kind} was not read: {why}; its last known state is kept")
}

/// The recent version rows a late record may explain (those of snapshots whose window reaches
/// back to the oldest record read), with their windows, and the apps Rewind restored with.
async fn known_attributions(
    store: &Store,
    tenant: &TenantInfo,
    records: &[AuditEntry],
) -> Result<audit::Known, StoreError> {
    let writers = store.restore_writers(tenant).await?;
    let Some(oldest) = records.iter().map(|r| r.activity_time).min() else {
        return Ok(audit::Known { rows: Vec::new(), writers });
    };
    let reach = oldest.saturating_sub(audit::CLOCK_SLACK).unwrap_or(oldest);
    let (first, windows) = windows_reaching(&store.snapshots(tenant).await?, reach);
    let rows = match first {
        Some(after) => store.attributions_since(tenant, after).await?,
        None => Vec::new(),
    };
    let rows = rows.into_iter().filter_map(|r| Some((r.clone(), (*windows.get(&r.snapshot)?)?)));
    Ok(audit::Known { rows: rows.collect(), writers })
}

/// The windows of the snapshots whose capture ended at or after `reach`, by snapshot id, and
/// the parent of the first of them.
fn windows_reaching(
    snapshots: &[SnapshotInfo],
    reach: Timestamp,
) -> (Option<SnapshotId>, HashMap<SnapshotId, Option<audit::Window>>) {
    let mut windows = HashMap::new();
    let mut first = None;
    for pair in snapshots.windows(2) {
        let (parent, s) = (&pair[0], &pair[1]);
        let end = capture_end(s);
        if end >= reach {
            first.get_or_insert(parent.id);
            windows.insert(s.id, audit::Window::of(Some(parent.taken_at), end));
        }
    }
    (first, windows)
}

/// When a snapshot's capture ended.
fn capture_end(s: &SnapshotInfo) -> Timestamp {
    let took = jiff::SignedDuration::from_millis(i64::try_from(s.millis).unwrap_or(i64::MAX));
    s.taken_at.saturating_add(took).unwrap_or(s.taken_at)
}

/// Writes blobs as the readers produce them, in the order they arrive.
async fn write_blobs(
    store: Store,
    mut rx: mpsc::Receiver<Vec<(ContentHash, Vec<u8>)>>,
) -> Result<(), CaptureError> {
    while let Some(batch) = rx.recv().await {
        store.put_blobs(&batch).await?;
    }
    Ok(())
}

/// Everything a capture read.
struct Read {
    observed: BTreeMap<Kind, Observed>,
    cursors: Vec<(Kind, String)>,
    records: Vec<AuditEntry>,
    audit_warning: Option<String>,
}

fn kind_label(kind: Kind) -> String {
    format!("{} ({})", kind.name(), kind.graph_path())
}

fn malformed(kind: Kind, e: &rewind_msgraph::protocol::PageError) -> CaptureError {
    CaptureError::Malformed { what: kind_label(kind), problem: e.to_string() }
}

fn no_key(kind: Kind) -> CaptureError {
    CaptureError::Malformed {
        what: kind_label(kind),
        problem: format!("an object has no '{}'", kind.key_property()),
    }
}
