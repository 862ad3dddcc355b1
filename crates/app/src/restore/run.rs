//! One restore, top to bottom (DESIGN §6): check the write app can write, capture the tenant
//! as it is, plan the way back, judge the plan with the lockout guard and the write app's
//! permissions and roles, take the tenant's restore lock, journal and apply the plan, then
//! capture again until the tenant is as wanted or the verification budget runs out. `rewind
//! restore`, `rewind apply` and `--resume` are this type's methods in different orders; the
//! CLI parses flags, asks for confirmation and renders what these return.

use std::path::Path;
use std::time::{Duration, Instant};

use rewind_engine::restore::Plan;
use rewind_msgraph::protocol::RetryPolicy;
use rewind_msgraph::{ClientError, ClientOptions, GraphClient};
use rewind_policy::LockoutOptions;
use rewind_store::{
    RestoreId, RestoreRecord, RestoreStatus, SnapshotInfo, Store, StoreError, StoreLock, TenantInfo,
};
use serde::Serialize;

use super::execute::{ExecuteOptions, Execution, StepEvent, execute};
use super::guard::{Guard, guard};
use super::prepare::{Prepared, prepare, replan};
use super::privilege::missing_directory_roles;
use super::scope::Scope;
use super::verify::{Verification, verify};
use super::{RestoreError, unreviewed};
use crate::{CaptureEvent, CaptureOptions, CaptureReport, Config, capture};

/// How long verification waits for writes to become visible before it reports differences.
const VERIFY_BUDGET: Duration = Duration::from_secs(30);

/// The Graph clients a restore uses: the capture app reads; the write app writes.
pub struct RestoreClients {
    /// Reads (capture, planning, role checks).
    pub read: GraphClient,
    /// Writes.
    pub write: GraphClient,
    /// Whether a write app of its own is configured (else the capture app writes).
    pub separate_write_app: bool,
}

impl RestoreClients {
    /// The clients `config` names, `concurrency` requests at a time. Writes ride out Graph's
    /// write quota (3,000 per app per two and a half minutes): a throttled write waits for its
    /// window instead of failing the step. Restore writes with its own app when one is
    /// configured (DESIGN §10).
    pub fn from_config(config: &Config, concurrency: usize) -> Result<Self, ClientError> {
        let options = ClientOptions { concurrency, ..ClientOptions::default() };
        let read = config.read_client(options.clone())?;
        let write_options = ClientOptions {
            retry: RetryPolicy {
                max_wait: Duration::from_mins(3),
                budget: Duration::from_mins(30),
                max_attempts: 40,
                ..RetryPolicy::default()
            },
            ..options
        };
        let (write, separate_write_app) = config.write_client(write_options)?;
        Ok(RestoreClients { read, write, separate_write_app })
    }
}

/// Seconds each phase took, in the order the phases first ran.
#[derive(Debug, Default, Clone)]
pub struct Timings(Vec<(&'static str, f64)>);

impl Timings {
    fn record(&mut self, phase: &'static str, since: Instant) {
        let seconds = since.elapsed().as_secs_f64();
        match self.0.iter_mut().find(|(p, _)| *p == phase) {
            Some(entry) => entry.1 = seconds,
            None => self.0.push((phase, seconds)),
        }
    }
}

impl Serialize for Timings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(p, t)| (*p, *t)))
    }
}

/// What applying a plan needs that the write app lacks, in words.
#[derive(Debug, Clone, Default)]
pub struct Missing {
    /// Application permissions, with the steps that need each.
    pub permissions: Vec<String>,
    /// Directory roles, with the steps that need each.
    pub roles: Vec<String>,
}

impl Missing {
    /// Nothing is missing (or the token did not say).
    pub fn is_empty(&self) -> bool {
        self.permissions.is_empty() && self.roles.is_empty()
    }
}

/// A plan as judged before it may run.
#[derive(Debug)]
pub struct Judged {
    /// The plan, signed with the store's key when the store has one.
    pub plan: Plan,
    /// The lockout guard's judgement.
    pub guard: Guard,
    /// What the write app lacks to apply it.
    pub missing: Missing,
    /// What could not be checked, for the reader.
    pub warnings: Vec<String>,
}

/// A restore journaled and locked, ready to apply. Holding it holds the tenant's restore lock.
pub struct Begun {
    /// The journal's restore id.
    pub restore: RestoreId,
    /// Unfinished restores the new plan replaced (marked abandoned).
    pub abandoned: Vec<RestoreRecord>,
    _lock: StoreLock,
}

/// An unfinished restore to resume.
pub struct Resumable {
    /// Its journal record.
    pub record: RestoreRecord,
    /// Its plan.
    pub plan: Plan,
}

/// What applying did, and what the tenant looked like afterwards.
#[derive(Debug)]
pub struct Applied {
    /// The steps' outcomes.
    pub execution: Execution,
    /// The snapshot verified against.
    pub after: SnapshotInfo,
    /// How it compares with the plan's desired state.
    pub verification: Verification,
    /// Warnings from the captures that verified it.
    pub warnings: Vec<String>,
}

/// How a restore ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every step succeeded and the tenant is as wanted.
    Converged,
    /// Some steps failed or were skipped.
    StepsFailed(usize),
    /// Every step succeeded, but these many objects still differ.
    Differs(usize),
}

impl Applied {
    /// How it ended.
    pub fn ending(&self) -> Ending {
        let failed = self.execution.failed().count();
        if failed > 0 {
            Ending::StepsFailed(failed)
        } else if !self.verification.converged {
            Ending::Differs(self.verification.differences.len())
        } else {
            Ending::Converged
        }
    }
}

/// One restore of one tenant.
pub struct Restore<'a> {
    store: &'a Store,
    tenant: &'a TenantInfo,
    clients: RestoreClients,
    lockout: LockoutOptions,
    timings: std::sync::Mutex<Timings>,
}

impl<'a> Restore<'a> {
    /// A restore of `tenant` with these clients, guarded for the principals `lockout` names.
    pub fn new(
        store: &'a Store,
        tenant: &'a TenantInfo,
        clients: RestoreClients,
        lockout: LockoutOptions,
    ) -> Self {
        Restore { store, tenant, clients, lockout, timings: std::sync::Mutex::default() }
    }

    /// The clients.
    pub fn clients(&self) -> &RestoreClients {
        &self.clients
    }

    /// Seconds each phase took so far.
    pub fn timings(&self) -> Timings {
        self.timings.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn timed(&self, phase: &'static str, since: Instant) {
        if let Ok(mut t) = self.timings.lock() {
            t.record(phase, since);
        }
    }

    /// The write app's application permissions, from its token, asked before anything is
    /// planned: an app that can write nothing (the capture app, when no write app is set) is
    /// refused now rather than after planning with a 403 on every write. A dry run only plans,
    /// so it is not refused. `None` when the token does not say.
    pub async fn write_permissions(
        &self,
        dry_run: bool,
    ) -> Result<Option<Vec<String>>, RestoreError> {
        let separate = self.clients.separate_write_app;
        let granted = self.clients.write.granted_roles().await.map_err(|e| {
            RestoreError::Auth(format!(
                "cannot sign in as the {}: {e}",
                if separate {
                    "write app (REWIND_WRITE_CLIENT_ID and its secret or certificate)"
                } else {
                    "capture app, which restore writes with while REWIND_WRITE_CLIENT_ID is not set"
                }
            ))
        })?;
        let read_only =
            granted.as_deref().is_some_and(|g| !rewind_engine::restore::can_write_anything(g));
        if read_only && !dry_run {
            return Err(RestoreError::Auth(if separate {
                "the write app (REWIND_WRITE_CLIENT_ID) holds no permission that writes: grant it \
                 the write permissions in the README's \"Permissions needed\", with admin consent"
                    .into()
            } else {
                "restore writes with the capture app because REWIND_WRITE_CLIENT_ID is not set, \
                 and that app holds no permission that writes: set REWIND_WRITE_CLIENT_ID and \
                 REWIND_WRITE_CLIENT_SECRET (or REWIND_WRITE_CLIENT_CERTIFICATE) to the write app \
                 (README, \"Permissions needed\"), or add --dry-run to only see the plan"
                    .into()
            }));
        }
        Ok(granted)
    }

    /// A snapshot of the tenant as it is now (incremental).
    pub async fn capture(
        &self,
        progress: &(dyn Fn(CaptureEvent) + Sync),
    ) -> Result<CaptureReport, RestoreError> {
        let began = Instant::now();
        let options = CaptureOptions {
            full: false,
            break_glass: self.lockout.break_glass.clone(),
            ..CaptureOptions::default()
        };
        let report =
            capture(&self.clients.read, self.store, self.tenant, options, progress).await?;
        self.timed("capture", began);
        Ok(report)
    }

    /// Plans restoring `scope` to `target` against the tenant at `live`.
    pub async fn plan(
        &self,
        target: &SnapshotInfo,
        live: &SnapshotInfo,
        scope: &Scope,
    ) -> Result<Prepared, RestoreError> {
        let began = Instant::now();
        let read = &self.clients.read;
        let prepared = prepare(read, self.store, self.tenant, target, live, scope).await?;
        self.timed("plan", began);
        Ok(prepared)
    }

    /// The plan a reviewed plan file stands for, made again from its desired state against
    /// the tenant at `live`; refused when it is not what was reviewed (a file edited, or a
    /// tenant changed since).
    pub async fn replan_reviewed(
        &self,
        reviewed: &Plan,
        live: &SnapshotInfo,
    ) -> Result<Plan, RestoreError> {
        let read = &self.clients.read;
        let now = replan(read, self.store, self.tenant, live, &reviewed.desired).await?;
        let differences = unreviewed::steps(reviewed, &now.plan);
        if differences.is_empty() {
            Ok(now.plan)
        } else {
            Err(RestoreError::Unreviewed(differences))
        }
    }

    /// Signs `plan` (when the store has a key), judges it with the lockout guard and finds
    /// what the write app lacks to apply it (`granted`: its permissions, when known).
    pub async fn judge(
        &self,
        mut plan: Plan,
        live: &SnapshotInfo,
        target: Option<&SnapshotInfo>,
        granted: Option<&[String]>,
    ) -> Result<Judged, RestoreError> {
        if self.store.encrypted() {
            // Serialising a large plan costs; only a store with a key signs it.
            plan.mac = None;
            plan.mac = self.store.plan_mac(&plan.mac_input());
        }
        let began = Instant::now();
        let judged = guard(self.store, self.tenant, live, target, &plan, &self.lockout).await?;
        let (missing, warnings) = self.missing(&plan, granted).await;
        self.timed("guard", began);
        Ok(Judged { plan, guard: judged, missing, warnings })
    }

    /// What applying `plan` needs that the write app lacks: permissions (from its token) and
    /// directory roles (read with the read app; when they cannot be read, a warning says so
    /// and Graph will answer for them).
    pub async fn missing(&self, plan: &Plan, granted: Option<&[String]>) -> (Missing, Vec<String>) {
        let writer = self.clients.write.client_id();
        let mut warnings = Vec::new();
        let roles = match missing_directory_roles(&self.clients.read, writer, plan).await {
            Ok(roles) => roles,
            Err(e) => {
                warnings.push(format!(
                    "could not check the write app's directory roles: {} ({})",
                    e.detail, e.fix
                ));
                Vec::new()
            }
        };
        let roles = roles
            .iter()
            .map(|m| {
                let steps: Vec<String> = m.steps.iter().map(usize::to_string).collect();
                format!("{}, {}: steps {}", m.role.name(), m.role.purpose(), steps.join(", "))
            })
            .collect();
        let missing = Missing { permissions: missing_permissions(plan, granted), roles };
        (missing, warnings)
    }

    /// Takes the tenant's restore lock (one restore at a time; `holder` names this one to
    /// another that is refused), marks unfinished restores abandoned — `--resume` must not
    /// pick them up later — and journals `plan`.
    pub async fn begin(&self, plan: &Plan, holder: &str) -> Result<Begun, RestoreError> {
        let lock = self.lock(holder).await?;
        let mut abandoned = Vec::new();
        for old in self.store.restores(self.tenant).await? {
            if old.status.unfinished() {
                self.store.finish_restore(old.id, RestoreStatus::Abandoned).await?;
                abandoned.push(old);
            }
        }
        let text = serde_json::to_string(plan)
            .map_err(|e| RestoreError::Scope(format!("the plan cannot be written: {e}")))?;
        let writer = self.clients.write.client_id();
        let restore = self.store.begin_restore(self.tenant, &text, writer).await?;
        Ok(Begun { restore, abandoned, _lock: lock })
    }

    /// The last restore that did not finish, to resume; `None` when there is none.
    pub async fn resumable(&self) -> Result<Option<Resumable>, RestoreError> {
        let restores = self.store.restores(self.tenant).await?;
        let Some(record) = restores.into_iter().find(|r| r.status.unfinished()) else {
            return Ok(None);
        };
        // The journal's plan is the store's own record, not a file someone handed in: when it
        // does not read, the store is damaged (as before the move, not a usage error).
        let plan: Plan = serde_json::from_str(&record.plan).map_err(|e| {
            StoreError::Corrupt(format!("restore {} has an unreadable plan: {e}", record.id))
        })?;
        Ok(Some(Resumable { record, plan }))
    }

    /// The tenant's restore lock: one restore at a time, `holder` named to another that is
    /// refused.
    pub async fn lock(&self, holder: &str) -> Result<StoreLock, RestoreError> {
        self.store.lock_restore(self.tenant, holder).await.map_err(RestoreError::Locked)
    }

    /// Applies (or resumes) restore `restore`, then captures until the tenant is as `plan`
    /// wants — what was just written may not be visible yet (replication lag), so a tenant
    /// that does not match is read again, a few times, before the restore is called
    /// unconverged — and records how it ended.
    pub async fn apply(
        &self,
        plan: &Plan,
        restore: RestoreId,
        steps: &(dyn Fn(StepEvent<'_>) + Sync),
        captures: &(dyn Fn(CaptureEvent) + Sync),
    ) -> Result<Applied, RestoreError> {
        let began = Instant::now();
        let write = &self.clients.write;
        let options = ExecuteOptions::default();
        let execution =
            execute(write, self.store, self.tenant, plan, restore, options, steps).await?;
        self.timed("apply", began);
        let lineage = execution.renamed();
        // With failed steps it cannot converge: one reading says what differs.
        let failed = execution.failed().next().is_some();
        let began = Instant::now();
        let mut wait = Duration::from_millis(500);
        let mut warnings = Vec::new();
        let (after, verification) = loop {
            let report = self.capture(captures).await?;
            warnings.extend(report.warnings);
            let after = report.snapshot;
            let v = verify(self.store, self.tenant, plan, &after, &lineage).await?;
            if v.converged || failed || began.elapsed() + wait > VERIFY_BUDGET {
                break (after, v);
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        };
        let status = if failed { RestoreStatus::Partial } else { RestoreStatus::Finished };
        self.store.finish_restore(restore, status).await?;
        Ok(Applied { execution, after, verification, warnings })
    }
}

/// An encrypted store applies only plans its own restores wrote: the file must carry the
/// store's MAC over the plan. (Re-planning already keeps an edited file from running
/// steps nobody reviewed; the MAC also keeps out a desired state nobody planned.) Returns
/// a warning when the plan carries a MAC this store cannot check.
pub fn check_plan_mac(
    store: &Store,
    plan: &Plan,
    path: &Path,
) -> Result<Option<String>, RestoreError> {
    let shown = path.display();
    let encrypted = store.encrypted();
    match &plan.mac {
        Some(mac) if encrypted => {
            if store.plan_mac_matches(&plan.mac_input(), mac) {
                Ok(None)
            } else {
                Err(RestoreError::PlanFile(format!(
                    "the plan {shown} was changed after this store's restore wrote it, or written by another store (its MAC does not match); nothing was applied: make the plan again (rewind restore … --plan-out FILE)"
                )))
            }
        }
        None if encrypted => Err(RestoreError::PlanFile(format!(
            "the plan {shown} carries no MAC from this store: an encrypted store applies only plans its own restores wrote (rewind restore … --plan-out FILE); nothing was applied"
        ))),
        Some(_) => Ok(Some(format!(
            "the plan {shown} carries a MAC, but this store has no key to check it with"
        ))),
        None => Ok(None),
    }
}

/// What applying `plan` needs that the write app lacks, in words; empty when nothing is
/// missing or the token does not say.
fn missing_permissions(plan: &Plan, granted: Option<&[String]>) -> Vec<String> {
    let Some(granted) = granted else {
        return Vec::new();
    };
    rewind_engine::restore::missing(&plan.steps, granted)
        .into_iter()
        .map(|m| {
            let kinds: Vec<&str> = m.kinds.iter().map(|k| k.name()).collect();
            let or = if m.alternatives.is_empty() {
                String::new()
            } else {
                format!(" (or {})", m.alternatives.join(", "))
            };
            let steps = if m.steps == 1 { "step" } else { "steps" };
            format!("{}{or}, for {} {steps} ({})", m.grant, m.steps, kinds.join(", "))
        })
        .collect()
}
