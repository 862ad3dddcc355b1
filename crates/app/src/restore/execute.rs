//! The executor (DESIGN §6.5): runs a plan's steps in order, in waves of independent steps of
//! one action (links through `$batch`, twenty to a request), journaling each step before and
//! after. Resuming skips what the journal says is done and, for a create that started but was
//! never recorded as done, looks for the object before creating it again.
//!
//! Throttling: the client honours `Retry-After`; Conditional Access writes are paced at one a
//! second, the service's budget, so they are never refused. Replication lag: a step that
//! names an object this restore just brought back retries a 404 within a bound. A failed step
//! fails the steps that wait for it and the final policy switches; the rest continue.

mod links;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use rewind_engine::restore::{Action, Plan, Step, follow_app_id, set_reference};
use rewind_model::{Kind, key};
use rewind_msgraph::{ClientError, GraphClient};
use rewind_store::{RestoreId, RestoreStatus, StepState, Store, TenantInfo};
use serde::Serialize;
use serde_json::{Value, json};

use super::RestoreError;
use super::graph::is_conditional_access;
use writes::is_lag;

/// How the executor paces and retries.
#[derive(Debug, Clone, Copy)]
pub struct ExecuteOptions {
    /// How long a step naming a just-created object retries a 404 (replication lag).
    pub lag_budget: Duration,
    /// The least time between two Conditional Access requests.
    pub ca_interval: Duration,
    /// How long link changes keep retrying while Graph throttles them (a directory write
    /// window is two and a half minutes).
    pub throttle_budget: Duration,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            lag_budget: Duration::from_mins(1),
            ca_interval: Duration::from_secs(1),
            throttle_budget: Duration::from_mins(30),
        }
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It ran and succeeded.
    Done,
    /// It had already happened (an earlier run, or the tenant already as wanted).
    AlreadyDone,
    /// It failed; `detail` says why.
    Failed,
    /// Not run because a step it waits for failed.
    Skipped,
}

impl StepStatus {
    /// Failed or skipped: the step's change is not in the tenant.
    pub fn is_failure(self) -> bool {
        matches!(self, StepStatus::Failed | StepStatus::Skipped)
    }
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepOutcome {
    /// The step's number.
    pub n: usize,
    /// Its action.
    pub action: Action,
    /// The object's kind.
    pub kind: Kind,
    /// The object's key in the plan.
    pub id: String,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// How it ended.
    pub status: StepStatus,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The key of an object created anew.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_id: Option<String>,
}

/// Progress of an execution.
#[derive(Debug, Clone, Copy)]
pub enum StepEvent<'a> {
    /// A step ended; `done` of `total` have.
    Finished {
        /// Steps ended so far.
        done: usize,
        /// Steps in the plan.
        total: usize,
        /// This one.
        outcome: &'a StepOutcome,
    },
}

/// What an execution did.
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    /// The journal's restore id.
    pub restore: RestoreId,
    /// Every step's outcome, in plan order.
    pub outcomes: Vec<StepOutcome>,
    /// Objects created anew: old id → new id.
    pub lineage: BTreeMap<String, String>,
    /// Applications created anew: old appId → new appId.
    pub app_ids: BTreeMap<String, String>,
    /// Graph requests made.
    pub requests: u64,
    /// Of which throttled.
    pub throttled: u64,
    /// How long it took.
    pub seconds: f64,
}

impl Execution {
    /// Every old id or appId the restore replaced, with its new one: what references to
    /// objects created anew now name.
    pub fn renamed(&self) -> BTreeMap<String, String> {
        self.lineage
            .iter()
            .chain(&self.app_ids)
            .map(|(old, new)| (old.clone(), new.clone()))
            .collect()
    }

    /// Steps that failed or were skipped.
    pub fn failed(&self) -> impl Iterator<Item = &StepOutcome> {
        self.outcomes.iter().filter(|o| o.status.is_failure())
    }
}

/// Runs `plan` as restore `restore` of the journal (new or resumed).
pub async fn execute(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    plan: &Plan,
    restore: RestoreId,
    options: ExecuteOptions,
    progress: &(dyn Fn(StepEvent<'_>) + Sync),
) -> Result<Execution, RestoreError> {
    let started = Instant::now();
    let stats = client.stats();
    let journal = store.restore_steps(restore).await?;
    let mut run = Run::new(client, store, tenant, plan, restore, options);
    run.resume_lineage().await?;
    let mut i = 0;
    while i < plan.steps.len() {
        let wave = wave(&plan.steps, i);
        i += wave.len();
        let total = plan.steps.len();
        run.run_wave(wave, &journal, total, progress).await?;
    }
    run.flush().await?;
    // Applied is not finished: the journal is finished once verification has read the tenant
    // back (`--resume` after a crash during verification verifies).
    store.finish_restore(restore, run.status()).await?;
    Ok(run.into_execution(stats, started))
}

/// The steps from `start` that can run together: the same action on the same service, none
/// waiting for another of them.
fn wave(steps: &[Step], start: usize) -> &[Step] {
    let first = &steps[start];
    let mut end = start + 1;
    while let Some(s) = steps.get(end) {
        let same = s.action == first.action
            && is_conditional_access(s.kind) == is_conditional_access(first.kind);
        let independent = s.depends_on.iter().all(|d| *d < steps[start].n);
        if !same || !independent {
            break;
        }
        end += 1;
    }
    &steps[start..end]
}

struct Run<'a> {
    client: &'a GraphClient,
    store: &'a Store,
    tenant: &'a TenantInfo,
    restore: RestoreId,
    options: ExecuteOptions,
    /// Old id → new id of objects created anew.
    lineage: HashMap<String, String>,
    outcomes: BTreeMap<usize, StepOutcome>,
    /// Journal entries not yet written.
    pending: Vec<(usize, StepState, String)>,
    last_ca: tokio::sync::Mutex<Option<Instant>>,
    any_failed: bool,
    /// Old object id → old appId of the applications in the desired state.
    app_ids: HashMap<String, String>,
    /// Old appId → new appId of applications created anew, as learned.
    new_app_ids: std::sync::Mutex<HashMap<String, String>>,
    /// Keys of the objects the plan restores from a recycle bin.
    restored: std::collections::HashSet<String>,
}

fn outcome(
    step: &Step,
    status: StepStatus,
    detail: Option<String>,
    new_id: Option<String>,
) -> StepOutcome {
    StepOutcome {
        n: step.n,
        action: step.action,
        kind: step.kind,
        id: step.id.clone(),
        display_name: step.display_name.clone(),
        status,
        detail,
        new_id,
    }
}

impl<'a> Run<'a> {
    fn new(
        client: &'a GraphClient,
        store: &'a Store,
        tenant: &'a TenantInfo,
        plan: &Plan,
        restore: RestoreId,
        options: ExecuteOptions,
    ) -> Self {
        Run {
            client,
            store,
            tenant,
            restore,
            options,
            lineage: HashMap::new(),
            outcomes: BTreeMap::new(),
            pending: Vec::new(),
            // The capture just before read the Conditional Access policies: the service's
            // one-request-per-second budget starts spent.
            last_ca: tokio::sync::Mutex::new(Some(Instant::now())),
            any_failed: false,
            app_ids: app_ids(plan),
            new_app_ids: std::sync::Mutex::new(HashMap::new()),
            restored: restored_keys(plan),
        }
    }
}

/// Old object id → old appId of the applications in the plan's desired state.
fn app_ids(plan: &Plan) -> HashMap<String, String> {
    plan.desired
        .iter()
        .filter(|d| d.kind == Kind::Application)
        .filter_map(|d| {
            let app_id = d.object.as_ref()?.get("appId")?.as_str()?;
            Some((d.id.clone(), app_id.to_string()))
        })
        .collect()
}

/// Keys of the objects the plan brings back from a recycle bin.
fn restored_keys(plan: &Plan) -> std::collections::HashSet<String> {
    plan.steps.iter().filter(|s| s.action == Action::Restore).map(|s| s.id.clone()).collect()
}

/// A step the journal says an earlier run did.
fn already_done(step: &Step, record: &rewind_store::StepRecord) -> StepOutcome {
    let new_id = serde_json::from_str::<Value>(&record.result)
        .ok()
        .and_then(|v| v.get("new_id").and_then(Value::as_str).map(str::to_string));
    let why = Some("done in an earlier run".into());
    outcome(step, StepStatus::AlreadyDone, why, new_id)
}

fn journal_state(status: StepStatus) -> StepState {
    match status {
        StepStatus::Done | StepStatus::AlreadyDone => StepState::Done,
        StepStatus::Failed => StepState::Failed,
        StepStatus::Skipped => StepState::Skipped,
    }
}

/// The journal's record of a step's outcome (what a resumed run reads back).
fn journal_result(o: &StepOutcome) -> String {
    match o.status {
        StepStatus::Done | StepStatus::AlreadyDone => json!({"new_id": o.new_id}),
        StepStatus::Failed => json!({"error": o.detail}),
        StepStatus::Skipped => json!({"reason": o.detail}),
    }
    .to_string()
}

impl Run<'_> {
    /// Objects an earlier run of this restore created anew (a resumed restore).
    async fn resume_lineage(&mut self) -> Result<(), RestoreError> {
        let earlier = self.store.lineage(self.tenant).await?;
        for l in earlier.into_iter().filter(|l| l.restore == self.restore) {
            let old = key::split(&l.old_key).1.to_string();
            self.lineage.insert(old, key::split(&l.new_key).1.to_string());
        }
        Ok(())
    }

    /// Runs one wave: prechecks, journals the runnable steps as started, runs them.
    async fn run_wave(
        &mut self,
        wave: &[Step],
        journal: &BTreeMap<usize, rewind_store::StepRecord>,
        total: usize,
        progress: &(dyn Fn(StepEvent<'_>) + Sync),
    ) -> Result<(), RestoreError> {
        let mut runnable = Vec::new();
        for step in wave {
            match self.precheck(step, journal.get(&step.n)) {
                Some(outcome) => self.finish(outcome, total, progress).await?,
                None => runnable.push(step),
            }
        }
        if runnable.is_empty() {
            return Ok(());
        }
        self.journal_started(&runnable).await?;
        let outcomes = self.run_steps(&runnable, journal).await;
        for outcome in outcomes {
            self.finish(outcome, total, progress).await?;
        }
        self.flush().await
    }

    async fn journal_started(&self, steps: &[&Step]) -> Result<(), RestoreError> {
        let started: Vec<(usize, StepState, String)> =
            steps.iter().map(|s| (s.n, StepState::Started, String::new())).collect();
        Ok(self.store.record_steps(self.restore, &started).await?)
    }

    /// Runs a wave's runnable steps: links batched, Conditional Access one at a time, the
    /// rest as many at once as the client allows.
    async fn run_steps(
        &self,
        steps: &[&Step],
        journal: &BTreeMap<usize, rewind_store::StepRecord>,
    ) -> Vec<StepOutcome> {
        if matches!(steps[0].action, Action::AddLink | Action::RemoveLink) {
            return self.links(steps).await;
        }
        let width =
            if is_conditional_access(steps[0].kind) { 1 } else { self.client.concurrency().max(1) };
        let resumed = |s: &Step| journal.get(&s.n).is_some_and(|r| r.state == StepState::Started);
        futures_util::stream::iter(steps)
            .map(|s| self.step(s, resumed(s)))
            .buffer_unordered(width)
            .collect()
            .await
    }

    /// Partial when any step failed or was skipped, else on to verification.
    fn status(&self) -> RestoreStatus {
        if self.outcomes.values().any(|o| o.status.is_failure()) {
            RestoreStatus::Partial
        } else {
            RestoreStatus::Verifying
        }
    }

    fn into_execution(self, before: rewind_msgraph::ClientStats, started: Instant) -> Execution {
        let after = self.client.stats();
        let app_ids = self.new_app_ids.into_inner().unwrap_or_default();
        Execution {
            restore: self.restore,
            outcomes: self.outcomes.into_values().collect(),
            lineage: self.lineage.into_iter().collect(),
            app_ids: app_ids.into_iter().collect(),
            requests: after.requests - before.requests,
            throttled: after.throttled - before.throttled,
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// The outcome of a step that need not run: done in an earlier run, or blocked.
    fn precheck(
        &self,
        step: &Step,
        journal: Option<&rewind_store::StepRecord>,
    ) -> Option<StepOutcome> {
        if let Some(r) = journal.filter(|r| r.state == StepState::Done) {
            return Some(already_done(step, r));
        }
        let blocked = step
            .depends_on
            .iter()
            .find(|d| self.outcomes.get(d).is_some_and(|o| o.status.is_failure()));
        if let Some(d) = blocked {
            let why = format!("step {d} did not succeed");
            return Some(outcome(step, StepStatus::Skipped, Some(why), None));
        }
        (step.action == Action::SwitchState && self.any_failed).then(|| {
            let why = "left report-only because an earlier step did not succeed; switch it on once the rest is in place";
            outcome(step, StepStatus::Skipped, Some(why.into()), None)
        })
    }

    /// Records a step's outcome: its new id in the lineage, its journal entry, its progress.
    async fn finish(
        &mut self,
        o: StepOutcome,
        total: usize,
        progress: &(dyn Fn(StepEvent<'_>) + Sync),
    ) -> Result<(), RestoreError> {
        self.record_new_id(&o).await?;
        self.any_failed |= o.status.is_failure();
        self.pending.push((o.n, journal_state(o.status), journal_result(&o)));
        if self.pending.len() >= 200 {
            self.flush().await?;
        }
        let done = self.outcomes.len() + 1;
        progress(StepEvent::Finished { done, total, outcome: &o });
        self.outcomes.insert(o.n, o);
        Ok(())
    }

    /// Keeps the id of an object the step created anew, in memory and in the store.
    async fn record_new_id(&mut self, o: &StepOutcome) -> Result<(), RestoreError> {
        let (Some(new), StepStatus::Done | StepStatus::AlreadyDone) = (&o.new_id, o.status) else {
            return Ok(());
        };
        let (old, new_id) = (key::split(&o.id).1, key::split(new).1);
        if self.lineage.get(old).map(String::as_str) != Some(new_id) {
            let (tenant, restore) = (self.tenant, self.restore);
            self.store.record_lineage(tenant, restore, o.kind, &o.id, new).await?;
        }
        self.lineage.insert(old.to_string(), new_id.to_string());
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), RestoreError> {
        if !self.pending.is_empty() {
            let entries = std::mem::take(&mut self.pending);
            self.store.record_steps(self.restore, &entries).await?;
        }
        Ok(())
    }

    /// An id as it is now: the new id of an object created anew, else itself.
    fn now_id<'s>(&'s self, id: &'s str) -> &'s str {
        self.lineage.get(id).map_or(id, String::as_str)
    }

    /// A key as it is now (both parts of a contained object's key).
    fn now_key(&self, key: &str) -> String {
        match key::split(key) {
            (Some(p), c) => format!("{}/{}", self.now_id(p), self.now_id(c)),
            (None, k) => self.now_id(k).to_string(),
        }
    }

    /// The step's body with references to objects created anew rewritten.
    async fn body(&self, step: &Step) -> Result<Value, Failure> {
        let mut body = step.body.clone().unwrap_or(Value::Object(serde_json::Map::new()));
        for r in &step.remaps {
            if r.path == "link" {
                continue;
            }
            let new = match self.lineage.get(&r.from) {
                Some(new) => new.clone(),
                None => self.new_app_id(&r.from).await?.ok_or_else(|| {
                    Failure::Remap(format!(
                        "{} {} was not created, so {} cannot name it; nothing was written",
                        r.kind, r.from, r.path
                    ))
                })?,
            };
            set_reference(&mut body, &r.path, &new);
            if r.kind == Kind::Application {
                follow_app_id(step.kind, &mut body, &r.from, &new);
            }
        }
        Ok(body)
    }

    /// The appId of the application created anew in place of the one whose appId was
    /// `old`: learned when it was created, or read back (a resumed restore).
    async fn new_app_id(&self, old: &str) -> Result<Option<String>, Failure> {
        if let Some(new) = self.known_app_id(old) {
            return Ok(Some(new));
        }
        let Some(new_object) = self
            .app_ids
            .iter()
            .find(|(_, a)| a.as_str() == old)
            .and_then(|(object, _)| self.lineage.get(object))
        else {
            return Ok(None);
        };
        let app = self.client.get(&format!("/applications/{new_object}?$select=appId")).await?;
        let new = app.get("appId").and_then(Value::as_str).map(str::to_string);
        if let Some(new) = &new {
            self.learn_app_id(old, new);
        }
        Ok(new)
    }

    fn known_app_id(&self, old: &str) -> Option<String> {
        self.new_app_ids.lock().ok()?.get(old).cloned()
    }

    fn learn_app_id(&self, old: &str, new: &str) {
        if let Ok(mut known) = self.new_app_ids.lock() {
            known.insert(old.to_string(), new.to_string());
        }
    }

    /// Runs one step, retrying a 404 within the lag budget when the step names an object
    /// this restore brought back (it may not have replicated yet).
    async fn step(&self, step: &Step, resumed: bool) -> StepOutcome {
        let began = Instant::now();
        let mut wait = Duration::from_millis(200);
        loop {
            match self.attempt(step, resumed).await {
                Ok((status, new_id)) => return outcome(step, status, None, new_id),
                Err(Failure::Graph(ClientError::Graph(f)))
                    if !step.depends_on.is_empty()
                        && is_lag(&f, &self.created_for(step))
                        && began.elapsed() + wait < self.options.lag_budget =>
                {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => return outcome(step, StepStatus::Failed, Some(e.to_string()), None),
            }
        }
    }

    /// The new ids of objects this restore created that the step names.
    fn created_for(&self, step: &Step) -> Vec<&String> {
        step.remaps.iter().filter_map(|r| self.lineage.get(&r.from)).collect()
    }

    /// Waits for the Conditional Access budget (one request per second per tenant).
    async fn pace(&self, kind: Kind) {
        if !is_conditional_access(kind) {
            return;
        }
        let mut last = self.last_ca.lock().await;
        if let Some(at) = *last {
            let next = at + self.options.ca_interval;
            let now = Instant::now();
            if next > now {
                tokio::time::sleep(next - now).await;
            }
        }
        *last = Some(Instant::now());
    }

    async fn send(
        &self,
        kind: Kind,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        self.pace(kind).await;
        Ok(self.client.write(method, path, body).await?.1)
    }
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Graph(#[from] ClientError),
    #[error("{0}")]
    Remap(String),
    #[error("Rewind cannot write this step")]
    Unsupported,
}
