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
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, StepStatus::Failed | StepStatus::Skipped))
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
    let mut run = Run {
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
        app_ids: plan
            .desired
            .iter()
            .filter(|d| d.kind == Kind::Application)
            .filter_map(|d| {
                let app_id = d.object.as_ref()?.get("appId")?.as_str()?;
                Some((d.id.clone(), app_id.to_string()))
            })
            .collect(),
        new_app_ids: std::sync::Mutex::new(HashMap::new()),
        restored: plan
            .steps
            .iter()
            .filter(|s| s.action == Action::Restore)
            .map(|s| s.id.clone())
            .collect(),
    };
    for l in store
        .lineage(tenant)
        .await?
        .into_iter()
        .filter(|l| l.restore == restore)
    {
        run.lineage.insert(
            key::split(&l.old_key).1.to_string(),
            key::split(&l.new_key).1.to_string(),
        );
    }
    let total = plan.steps.len();
    let mut i = 0;
    while i < total {
        let wave = wave(&plan.steps, i);
        i += wave.len();
        let mut runnable = Vec::new();
        for step in wave {
            match run.precheck(step, journal.get(&step.n)) {
                Some(outcome) => run.finish(outcome, total, progress).await?,
                None => runnable.push(step),
            }
        }
        if runnable.is_empty() {
            continue;
        }
        let started: Vec<(usize, StepState, String)> = runnable
            .iter()
            .map(|s| (s.n, StepState::Started, String::new()))
            .collect();
        store.record_steps(restore, &started).await?;
        let resumed: Vec<bool> = runnable
            .iter()
            .map(|s| {
                journal
                    .get(&s.n)
                    .is_some_and(|r| r.state == StepState::Started)
            })
            .collect();
        if matches!(runnable[0].action, Action::AddLink | Action::RemoveLink) {
            for outcome in run.links(&runnable).await {
                run.finish(outcome, total, progress).await?;
            }
        } else {
            let width = if is_conditional_access(runnable[0].kind) {
                1
            } else {
                client.concurrency().max(1)
            };
            let run_ref = &run;
            let mut results = futures_util::stream::iter(runnable.iter().zip(resumed))
                .map(|(s, again)| async move { run_ref.step(s, again).await })
                .buffer_unordered(width);
            let mut done = Vec::new();
            while let Some(outcome) = results.next().await {
                done.push(outcome);
            }
            drop(results);
            for outcome in done {
                run.finish(outcome, total, progress).await?;
            }
        }
        run.flush().await?;
    }
    run.flush().await?;
    let after = client.stats();
    let failed = run
        .outcomes
        .values()
        .any(|o| matches!(o.status, StepStatus::Failed | StepStatus::Skipped));
    // Applied is not finished: the journal is finished once verification has read the tenant
    // back (`--resume` after a crash during verification verifies).
    store
        .finish_restore(
            restore,
            if failed {
                RestoreStatus::Partial
            } else {
                RestoreStatus::Verifying
            },
        )
        .await?;
    Ok(Execution {
        restore,
        outcomes: run.outcomes.into_values().collect(),
        lineage: run.lineage.into_iter().collect(),
        app_ids: run
            .new_app_ids
            .into_inner()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        requests: after.requests - stats.requests,
        throttled: after.throttled - stats.throttled,
        seconds: started.elapsed().as_secs_f64(),
    })
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

impl Run<'_> {
    /// The outcome of a step that need not run: done in an earlier run, or blocked.
    fn precheck(
        &self,
        step: &Step,
        journal: Option<&rewind_store::StepRecord>,
    ) -> Option<StepOutcome> {
        if let Some(r) = journal.filter(|r| r.state == StepState::Done) {
            let new_id = serde_json::from_str::<Value>(&r.result)
                .ok()
                .and_then(|v| v.get("new_id").and_then(Value::as_str).map(str::to_string));
            return Some(outcome(
                step,
                StepStatus::AlreadyDone,
                Some("done in an earlier run".into()),
                new_id,
            ));
        }
        let blocked = step.depends_on.iter().find(|d| {
            self.outcomes
                .get(d)
                .is_some_and(|o| matches!(o.status, StepStatus::Failed | StepStatus::Skipped))
        });
        if let Some(d) = blocked {
            return Some(outcome(
                step,
                StepStatus::Skipped,
                Some(format!("step {d} did not succeed")),
                None,
            ));
        }
        if step.action == Action::SwitchState && self.any_failed {
            return Some(outcome(
                step,
                StepStatus::Skipped,
                Some("left report-only because an earlier step did not succeed; switch it on once the rest is in place".into()),
                None,
            ));
        }
        None
    }

    async fn finish(
        &mut self,
        o: StepOutcome,
        total: usize,
        progress: &(dyn Fn(StepEvent<'_>) + Sync),
    ) -> Result<(), RestoreError> {
        if let (Some(new), StepStatus::Done | StepStatus::AlreadyDone) = (&o.new_id, o.status) {
            let old = key::split(&o.id).1.to_string();
            if self.lineage.get(&old) != Some(&key::split(new).1.to_string()) {
                self.store
                    .record_lineage(self.tenant, self.restore, o.kind, &o.id, new)
                    .await?;
            }
            self.lineage.insert(old, key::split(new).1.to_string());
        }
        let (state, result) = match o.status {
            StepStatus::Done | StepStatus::AlreadyDone => {
                (StepState::Done, json!({"new_id": o.new_id}))
            }
            StepStatus::Failed => (StepState::Failed, json!({"error": o.detail})),
            StepStatus::Skipped => (StepState::Skipped, json!({"reason": o.detail})),
        };
        if matches!(o.status, StepStatus::Failed | StepStatus::Skipped) {
            self.any_failed = true;
        }
        self.pending.push((o.n, state, result.to_string()));
        if self.pending.len() >= 200 {
            self.flush().await?;
        }
        progress(StepEvent::Finished {
            done: self.outcomes.len() + 1,
            total,
            outcome: &o,
        });
        self.outcomes.insert(o.n, o);
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
        let mut body = step
            .body
            .clone()
            .unwrap_or(Value::Object(serde_json::Map::new()));
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
        let app = self
            .client
            .get(&format!("/applications/{new_object}?$select=appId"))
            .await?;
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
        step.remaps
            .iter()
            .filter_map(|r| self.lineage.get(&r.from))
            .collect()
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
