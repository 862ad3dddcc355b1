//! The watch use case (docs/design/watch.md): capture on an interval, evaluate what changed
//! with the risky-change rules, store and deliver the alerts — for one tenant, or, in a fleet,
//! for every tenant of a `PostgreSQL` store shared by any number of workers through leases.
//!
//! Stopping is always safe: a capture is committed in one transaction or not at all, so a
//! capture dropped half-way (a signal, a lost lease) leaves nothing behind.

mod evaluate;
mod metrics;
mod sinks;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use jiff::Timestamp;
use rewind_engine::risk::{Finding, Rule, Severity};
use rewind_model::Kind;
use rewind_msgraph::GraphClient;
use rewind_store::{AlertId, AlertRecord, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::capture::FailureClass;
use crate::{CaptureError, CaptureOptions, CaptureReport, capture};

pub use evaluate::{EvaluateOptions, evaluate};
pub use metrics::Metrics;
pub use sinks::{Email, SIGNATURE_HEADER, SinkError, Sinks, Webhook, sign};

/// The object an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertObject {
    /// Its kind.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// Its name.
    pub display_name: Option<String>,
}

/// `rewind alerts --json`: the alerts asked for, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct AlertsReport {
    /// The alerts.
    pub alerts: Vec<Alert>,
}

/// An alert as stored, listed and sent (the webhook's JSON body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Its id in the store, once stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AlertId>,
    /// The tenant's name in the store.
    pub tenant: String,
    /// The tenant (directory) id.
    pub tenant_id: String,
    /// The rule's id.
    pub rule: String,
    /// How urgent.
    pub severity: Severity,
    /// What happened, in one line.
    pub summary: String,
    /// Why it matters and what to do.
    pub explanation: String,
    /// The object it is about.
    pub object: Option<AlertObject>,
    /// Who did it (from the audit log), as names: the stable scripting contract.
    pub actors: Vec<String>,
    /// Who did it, as identities (object id, application id, user principal name, name).
    #[serde(default)]
    pub actor_identities: Vec<rewind_model::Actor>,
    /// The snapshot that saw it.
    pub snapshot: SnapshotId,
    /// When that snapshot was taken.
    pub taken_at: Timestamp,
    /// When it was found.
    pub detected_at: Timestamp,
}

impl Alert {
    fn new(tenant: &TenantInfo, to: &SnapshotInfo, f: &Finding) -> Alert {
        Alert {
            id: None,
            tenant: tenant.name.clone(),
            tenant_id: tenant.tenant_id.clone(),
            rule: f.rule.id().into(),
            severity: f.severity,
            summary: f.summary.clone(),
            explanation: f.rule.explanation().into(),
            object: match (f.kind, &f.id) {
                (Some(kind), Some(id)) => {
                    Some(AlertObject { kind, id: id.clone(), display_name: f.display_name.clone() })
                }
                _ => None,
            },
            actors: f.actors.iter().map(rewind_model::Actor::label).collect(),
            actor_identities: f.actors.clone(),
            snapshot: to.id,
            taken_at: to.taken_at,
            detected_at: Timestamp::now(),
        }
    }

    /// An alert as the store keeps it.
    pub fn from_record(r: &AlertRecord) -> Result<Alert, StoreError> {
        let mut a: Alert = serde_json::from_str(&r.body)
            .map_err(|e| StoreError::Corrupt(format!("alert {} is unreadable: {e}", r.id)))?;
        a.id = Some(r.id);
        Ok(a)
    }

    /// The rule, typed (`None` for a rule this build does not know).
    pub fn rule(&self) -> Option<Rule> {
        self.rule.parse().ok()
    }
}

/// Why a watch cycle failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The capture failed; nothing was stored.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tenant's settings cannot make a Graph client.
    #[error("tenant {tenant}: {reason}")]
    Settings {
        /// The tenant.
        tenant: String,
        /// What is wrong.
        reason: String,
    },
}

impl WatchError {
    /// Whether retrying cannot help until someone changes a setting or a permission.
    pub fn needs_a_person(&self) -> bool {
        match self {
            WatchError::Capture(e) => {
                matches!(e.class(), FailureClass::Authentication | FailureClass::Permission)
            }
            WatchError::Settings { .. } => true,
            WatchError::Store(_) => false,
        }
    }
}

/// How to watch.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Time between the starts of two captures of a tenant.
    pub interval: Duration,
    /// How captures run.
    pub capture: CaptureOptions,
    /// How changes are evaluated.
    pub evaluate: EvaluateOptions,
}

impl WatchOptions {
    /// What the configuration says about capturing (every `interval`, with the break-glass
    /// accounts' methods) and evaluating (rule settings, break-glass accounts, home country,
    /// Rewind's own app).
    pub fn from_config(
        raw: &crate::RawConfig,
        interval: Duration,
    ) -> Result<WatchOptions, crate::ConfigError> {
        let break_glass = raw.break_glass.clone().unwrap_or_default();
        Ok(WatchOptions {
            interval,
            capture: CaptureOptions {
                full: false,
                break_glass: break_glass.clone(),
                ..CaptureOptions::default()
            },
            evaluate: EvaluateOptions {
                settings: raw.rule_settings()?,
                break_glass,
                home_country: raw.home_country(None)?,
                restore_app: raw.restore_app(),
            },
        })
    }
}

/// What one cycle did.
#[derive(Debug, Clone)]
pub struct CycleReport {
    /// The capture.
    pub capture: CaptureReport,
    /// Alerts raised (new ones only).
    pub alerts: Vec<Alert>,
}

/// Everything a watcher shares between cycles and tasks.
#[derive(Clone)]
pub struct Watcher {
    /// The store.
    pub store: Store,
    /// How to watch.
    pub options: WatchOptions,
    /// Where alerts go.
    pub sinks: Sinks,
    /// What is counted.
    pub metrics: Metrics,
}

/// Tells running watches to stop; [`Stop::signal`] from a signal handler.
#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A stop switch and its trigger.
    pub fn new() -> (watch::Sender<bool>, Stop) {
        let (tx, rx) = watch::channel(false);
        (tx, Stop(rx))
    }

    /// Whether stopping was asked for.
    pub fn stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once stopping is asked for (or the trigger is gone).
    pub async fn signal(&mut self) {
        let _ = self.0.wait_for(|s| *s).await;
    }
}

impl Watcher {
    /// One cycle for one tenant: capture, evaluate everything since the last evaluated
    /// snapshot, deliver what is new.
    pub async fn cycle(
        &self,
        client: &GraphClient,
        tenant: &TenantInfo,
    ) -> Result<CycleReport, WatchError> {
        let report =
            capture(client, &self.store, tenant, self.options.capture.clone(), &no_progress).await;
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                self.metrics.capture_failed(&tenant.name);
                return Err(e.into());
            }
        };
        self.metrics.captured(&tenant.name, &report);
        for w in &report.warnings {
            tracing::warn!(tenant = %tenant.name, "{w}");
        }
        let alerts = self.evaluate_new(tenant, &report.snapshot).await?;
        self.metrics.alerted(&alerts);
        Sinks::log(&alerts);
        self.deliver_pending(tenant).await?;
        let totals = report.snapshot.totals();
        tracing::info!(
            tenant = %tenant.name,
            snapshot = report.snapshot.id.0,
            full = report.full,
            objects = report.snapshot.objects,
            changes = totals.created + totals.updated + totals.deleted,
            requests = report.requests,
            seconds = report.seconds,
            alerts = alerts.len(),
            "captured"
        );
        Ok(CycleReport { capture: report, alerts })
    }

    /// Offers the sinks every alert of the tenant not yet delivered (those just raised, and
    /// those a sink failed to take in the last day), and records what they took.
    async fn deliver_pending(&self, tenant: &TenantInfo) -> Result<(), StoreError> {
        let since = Timestamp::now() - jiff::SignedDuration::from_hours(24);
        let mut pending = Vec::new();
        for r in self.store.undelivered_alerts(tenant, since, PENDING_PER_CYCLE).await? {
            pending.push((Alert::from_record(&r)?, r.delivered_to));
        }
        if pending.is_empty() {
            return Ok(());
        }
        let delivered = self.sinks.deliver(&pending, &self.metrics).await;
        self.store.record_deliveries(&delivered).await
    }

    /// Evaluates from the last evaluated snapshot (or, the first time, from the new
    /// snapshot's parent, after learning the actors of the history before it) to `to`.
    async fn evaluate_new(
        &self,
        tenant: &TenantInfo,
        to: &SnapshotInfo,
    ) -> Result<Vec<Alert>, StoreError> {
        let store = &self.store;
        let options = &self.options.evaluate;
        let from = match store.watch_evaluated(tenant).await? {
            Some(id) => store.snapshot(tenant, id).await?,
            None => match to.parent {
                Some(p) => {
                    let parent = store.snapshot(tenant, p).await?;
                    if let Some(parent) = &parent {
                        evaluate(store, tenant, None, parent, options).await?;
                    }
                    parent
                }
                None => None,
            },
        };
        evaluate(store, tenant, from.as_ref(), to, options).await
    }

    /// Watches one tenant until `stop`: a cycle every interval (counted from the start of the
    /// previous one), backing off after failures. The first cycle's failure to authenticate
    /// or to read for lack of a permission is returned: that needs a person, not a retry.
    pub async fn watch_one(
        &self,
        client: &GraphClient,
        tenant: &TenantInfo,
        mut stop: Stop,
    ) -> Result<(), WatchError> {
        let mut failures: u32 = 0;
        let mut first = true;
        loop {
            let started = tokio::time::Instant::now();
            let outcome = tokio::select! {
                r = self.cycle(client, tenant) => r,
                () = stop.signal() => {
                    tracing::info!(tenant = %tenant.name, "stopped; a capture in progress was discarded, nothing partial is stored");
                    return Ok(());
                }
            };
            let wait = match outcome {
                Ok(_) => {
                    failures = 0;
                    self.options.interval
                }
                Err(e) if first && e.needs_a_person() => return Err(e),
                Err(e) => {
                    failures += 1;
                    let wait = backoff(failures, self.options.interval);
                    tracing::error!(tenant = %tenant.name, failures, retry_in_s = wait.as_secs_f64(), "capture failed: {e}");
                    wait
                }
            };
            first = false;
            let next =
                if failures == 0 { started + wait } else { tokio::time::Instant::now() + wait };
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = stop.signal() => {
                    tracing::info!(tenant = %tenant.name, "stopped");
                    return Ok(());
                }
            }
        }
    }
}

/// Alerts offered to the sinks per cycle and tenant, oldest first (a bulk incident raises
/// few alerts; this bounds a long webhook outage's backlog per cycle).
const PENDING_PER_CYCLE: i64 = 500;

/// Watch reports each cycle in its logs, not with a progress bar.
fn no_progress(_: crate::CaptureEvent) {}

/// The wait after `failures` failures in a row: 15 s doubling, never more than the interval.
pub fn backoff(failures: u32, interval: Duration) -> Duration {
    let exp = failures.saturating_sub(1).min(10);
    Duration::from_secs(15).saturating_mul(1 << exp).min(interval)
}

/// Makes the Graph client for a tenant, or says why it cannot.
pub type Connect = Arc<dyn Fn(&TenantInfo) -> Result<GraphClient, String> + Send + Sync>;

/// A fleet worker's settings.
#[derive(Clone)]
pub struct Fleet {
    /// This worker's name in leases (unique among workers).
    pub holder: String,
    /// How long a claim lasts without renewal: a dead worker's tenants go to others after it.
    pub lease: Duration,
    /// Tenants captured at once by this worker.
    pub concurrency: usize,
    /// Makes the Graph client for a tenant (its stored settings with the worker's
    /// credentials).
    pub connect: Connect,
}

impl Watcher {
    /// Runs a fleet worker until `stop`: claims due tenants (up to `concurrency` at once),
    /// captures each under a lease it renews, and gives it back due one interval after the
    /// capture began (sooner after a failure, with backoff).
    pub async fn watch_fleet(&self, fleet: Fleet, mut stop: Stop) -> Result<(), WatchError> {
        // Cycles run concurrently inside this task (they wait on I/O, not on the CPU), which
        // also spares them from having to be `Send`.
        let mut running = FuturesUnordered::new();
        let poll = (fleet.lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
        // Tenants added to the store are enrolled whenever nothing is due (so within a poll),
        // not before every claim.
        let mut idle = true;
        loop {
            if idle {
                if let Err(e) = self.store.enroll_tenants().await {
                    tracing::error!(worker = %fleet.holder, "enrolling tenants failed: {e}");
                }
                idle = false;
            }
            while running.len() < fleet.concurrency.max(1) && !stop.stopping() {
                match self.store.claim_due_tenant(&fleet.holder, fleet.lease).await {
                    Ok(Some((tenant, failures))) => {
                        running.push(self.leased_cycle(&fleet, tenant, failures, stop.clone()));
                    }
                    Ok(None) => {
                        idle = true;
                        break;
                    }
                    // A store that is not PostgreSQL will not become one.
                    Err(e @ StoreError::Unsupported(_)) => return Err(e.into()),
                    // The database restarting must not end every worker: try again next poll.
                    Err(e) => {
                        tracing::error!(worker = %fleet.holder, "claiming a tenant failed: {e}");
                        break;
                    }
                }
            }
            tokio::select! {
                Some(()) = running.next(), if !running.is_empty() => {}
                () = tokio::time::sleep(poll) => {}
                () = stop.signal() => {
                    // Each cycle gives its lease back as it stops.
                    while running.next().await.is_some() {}
                    tracing::info!(worker = %fleet.holder, "stopped");
                    return Ok(());
                }
            }
        }
    }

    /// One cycle of a claimed tenant, renewing the lease meanwhile; the capture is dropped the
    /// moment the lease is lost, so two workers never capture one tenant at once.
    async fn leased_cycle(&self, fleet: &Fleet, tenant: TenantInfo, failures: i64, mut stop: Stop) {
        let started = tokio::time::Instant::now();
        tracing::info!(worker = %fleet.holder, tenant = %tenant.name, "claimed");
        let outcome: Option<Result<(), WatchError>> = match (fleet.connect)(&tenant) {
            Err(reason) => Some(Err(WatchError::Settings { tenant: tenant.name.clone(), reason })),
            Ok(client) => tokio::select! {
                r = self.cycle(&client, &tenant) => Some(r.map(|_| ())),
                () = keep_lease(&self.store, &tenant, fleet) => {
                    // Another worker holds it now: nothing to give back.
                    tracing::error!(worker = %fleet.holder, tenant = %tenant.name, "lease lost; the capture was dropped");
                    return;
                }
                () = stop.signal() => None,
            },
        };
        let (after, failed) = match &outcome {
            // Stopping: due at once, for another worker.
            None => (Duration::ZERO, false),
            Some(Ok(())) => (self.options.interval.saturating_sub(started.elapsed()), false),
            Some(Err(e)) => {
                let n = u32::try_from(failures + 1).unwrap_or(u32::MAX);
                let wait = backoff(n, self.options.interval);
                tracing::error!(worker = %fleet.holder, tenant = %tenant.name, failures = n, retry_in_s = wait.as_secs_f64(), "capture failed: {e}");
                (wait, true)
            }
        };
        if let Err(e) = self.store.release_lease(&tenant, &fleet.holder, after, failed).await {
            tracing::error!(tenant = %tenant.name, "giving the lease back failed (it expires by itself): {e}");
        }
    }
}

/// Renews the lease every third of its length; returns when it is lost.
async fn keep_lease(store: &Store, tenant: &TenantInfo, fleet: &Fleet) {
    let every = fleet.lease / 3;
    loop {
        tokio::time::sleep(every).await;
        match store.renew_lease(tenant, &fleet.holder, fleet.lease).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(tenant = %tenant.name, "renewing the lease failed: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_fifteen_seconds_up_to_the_interval() {
        let hour = Duration::from_hours(1);
        let waits: Vec<u64> = (1..=6).map(|n| backoff(n, hour).as_secs()).collect();
        assert_eq!(waits, [15, 30, 60, 120, 240, 480]);
        assert_eq!(backoff(40, hour), hour);
        assert_eq!(backoff(1, Duration::from_secs(5)), Duration::from_secs(5));
    }
}
