//! The executor (DESIGN §6.5): runs a plan's steps in order, in waves of independent steps of
//! one action (links through `$batch`, twenty to a request), journaling each step before and
//! after. Resuming skips what the journal says is done and, for a create that started but was
//! never recorded as done, looks for the object before creating it again.
//!
//! Throttling: the client honours `Retry-After`; Conditional Access writes are paced at one a
//! second, the service's budget, so they are never refused. Replication lag: a step that
//! names an object this restore just brought back retries a 404 within a bound. A failed step
//! fails the steps that wait for it and the final policy switches; the rest continue.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use rand::Rng as _;
use rewind_engine::restore::{Action, Plan, Step, follow_app_id, set_reference};
use rewind_model::Kind;
use rewind_msgraph::protocol::{BatchRequest, BatchResponse};
use rewind_msgraph::{ClientError, GraphClient};
use rewind_store::{RestoreId, RestoreStatus, StepState, Store, TenantInfo};
use serde::Serialize;
use serde_json::{Value, json};

use super::RestoreError;
use super::graph::{
    ELIGIBILITY_REQUESTS, create_path, created_key, eligibility_request, find_existing,
    is_conditional_access, is_invitation, item_path, restore_path, split_key,
};

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
            split_key(&l.old_key).1.to_string(),
            split_key(&l.new_key).1.to_string(),
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
            let old = split_key(&o.id).1.to_string();
            if self.lineage.get(&old) != Some(&split_key(new).1.to_string()) {
                self.store
                    .record_lineage(self.tenant, self.restore, o.kind, &o.id, new)
                    .await?;
            }
            self.lineage.insert(old, split_key(new).1.to_string());
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
        match split_key(key) {
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

    async fn attempt(
        &self,
        step: &Step,
        resumed: bool,
    ) -> Result<(StepStatus, Option<String>), Failure> {
        use reqwest::Method;
        let key = self.now_key(&step.id);
        let done = Ok((StepStatus::Done, None));
        match step.action {
            Action::Restore => {
                let path = restore_path(step.kind, &key).ok_or(Failure::Unsupported)?;
                match self.send(step.kind, Method::POST, &path, None).await {
                    Err(Failure::Graph(ClientError::Graph(f))) if f.status == 404 => {
                        // Restored by an earlier run whose journal entry was lost?
                        self.pace(step.kind).await;
                        match self.client.get(&item_path(step.kind, &key)).await {
                            Ok(_) => Ok((StepStatus::AlreadyDone, None)),
                            Err(_) => Err(Failure::Graph(ClientError::Graph(f))),
                        }
                    }
                    Err(e) => Err(e),
                    Ok(_) => done,
                }
            }
            Action::Create => self.create(step, resumed).await,
            Action::Update if step.kind == Kind::AuthenticationStrengthPolicy => {
                let body = self.body(step).await?;
                self.update_strength(&key, body).await?;
                done
            }
            Action::Update | Action::SwitchState => {
                let body = self.body(step).await?;
                self.send(
                    step.kind,
                    Method::PATCH,
                    &item_path(step.kind, &key),
                    Some(&body),
                )
                .await?;
                done
            }
            Action::Delete if step.kind == Kind::RoleEligibilitySchedule => {
                let body = eligibility_request("adminRemove", &self.body(step).await?);
                match self
                    .send(step.kind, Method::POST, ELIGIBILITY_REQUESTS, Some(&body))
                    .await
                {
                    Err(Failure::Graph(ClientError::Graph(f)))
                        if f.details.iter().any(|d| d == "RoleAssignmentDoesNotExist") =>
                    {
                        Ok((StepStatus::AlreadyDone, None))
                    }
                    other => other.map(|_| (StepStatus::Done, None)),
                }
            }
            Action::Delete => match self
                .send(step.kind, Method::DELETE, &item_path(step.kind, &key), None)
                .await
            {
                Err(Failure::Graph(ClientError::Graph(f))) if f.status == 404 => {
                    Ok((StepStatus::AlreadyDone, None))
                }
                other => other.map(|_| (StepStatus::Done, None)),
            },
            Action::RemoveCredential => {
                let body = json!({"keyId": step.key_id});
                let path = format!("{}/removePassword", item_path(step.kind, &key));
                match self.send(step.kind, Method::POST, &path, Some(&body)).await {
                    Err(Failure::Graph(ClientError::Graph(f)))
                        if f.status == 400 && f.message.contains("No password credential") =>
                    {
                        Ok((StepStatus::AlreadyDone, None))
                    }
                    other => other.map(|_| (StepStatus::Done, None)),
                }
            }
            Action::AddLink | Action::RemoveLink => Err(Failure::Unsupported),
        }
    }

    /// An authentication strength's combinations change only through its
    /// `updateAllowedCombinations` action; a `PATCH` takes its name and description alone
    /// (authenticationstrengthpolicy-update.md, -updateallowedcombinations.md). A widened
    /// administrators' strength is narrowed back this way.
    async fn update_strength(&self, key: &str, mut body: Value) -> Result<(), Failure> {
        use reqwest::Method;
        let kind = Kind::AuthenticationStrengthPolicy;
        let combinations = body
            .as_object_mut()
            .and_then(|b| b.shift_remove("allowedCombinations"));
        if body.as_object().is_some_and(|b| !b.is_empty()) {
            self.send(kind, Method::PATCH, &item_path(kind, key), Some(&body))
                .await?;
        }
        if let Some(combinations) = combinations {
            let path = format!("{}/updateAllowedCombinations", item_path(kind, key));
            let body = json!({ "allowedCombinations": combinations });
            self.send(kind, Method::POST, &path, Some(&body)).await?;
        }
        Ok(())
    }

    async fn create(
        &self,
        step: &Step,
        resumed: bool,
    ) -> Result<(StepStatus, Option<String>), Failure> {
        let mut body = self.body(step).await?;
        let parent = split_key(&step.id).0.map(|p| self.now_id(p).to_string());
        let path = create_path(step.kind, parent.as_deref(), &body).ok_or(Failure::Unsupported)?;
        if resumed {
            self.pace(step.kind).await;
            if let Some(found) = find_existing(self.client, step.kind, &path, &body).await? {
                let key = created_key(step.kind, parent.as_deref(), &body, &found);
                return Ok((StepStatus::AlreadyDone, key));
            }
        }
        if step.kind == Kind::User
            && !is_invitation(&body)
            && let Some(o) = body.as_object_mut()
        {
            o.insert(
                "passwordProfile".into(),
                json!({"forceChangePasswordNextSignIn": true, "password": random_password()}),
            );
        }
        let old_app_id = self
            .app_ids
            .get(&step.id)
            .filter(|_| step.kind == Kind::Application);
        let own_uris = old_app_id.and_then(|old| take_own_uris(&mut body, old));
        let sent = if step.kind == Kind::RoleEligibilitySchedule {
            eligibility_request("adminAssign", &body)
        } else {
            body.clone()
        };
        let created = self.create_once(step.kind, &path, &sent).await?;
        let key = created_key(step.kind, parent.as_deref(), &body, &created).ok_or_else(|| {
            Failure::Remap(format!("Graph created {} but returned no id", step.kind))
        })?;
        if let (Some(old), Some(new)) = (old_app_id, created.get("appId").and_then(Value::as_str)) {
            self.learn_app_id(old, new);
            if let Some(uris) = own_uris {
                // The application's own api://{appId} URIs name its new appId, which only
                // exists now (Graph refuses another application's: identifier-uri-restrictions.md).
                let mut body = json!({ "identifierUris": uris });
                follow_app_id(step.kind, &mut body, old, new);
                self.send(
                    step.kind,
                    reqwest::Method::PATCH,
                    &item_path(step.kind, &key),
                    Some(&body),
                )
                .await?;
            }
        }
        Ok((StepStatus::Done, Some(key)))
    }

    /// Creates an object exactly once. Graph may apply a create and still answer 5xx (or the
    /// connection may drop after it), so after such a failure the object is looked for by its
    /// identifying properties before the create is sent again.
    async fn create_once(&self, kind: Kind, path: &str, body: &Value) -> Result<Value, Failure> {
        let mut wait = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            self.pace(kind).await;
            match self.client.create(path, body).await {
                Ok((_, created)) => return Ok(created),
                Err(e) if maybe_applied(&e) && attempt < CREATE_ATTEMPTS => {
                    tracing::debug!(%path, error = %e, "a create may have been applied; looking");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                    self.pace(kind).await;
                    if let Some(found) = find_existing(self.client, kind, path, body).await? {
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Runs a wave of link steps through `$batch`. Members added to one group go twenty to a
    /// `PATCH` with `members@odata.bind` (one write instead of twenty); a chunk Graph refuses
    /// because one of them is already a member is sent again link by link, where "already
    /// exists" means done. Throttling waits `Retry-After` within the throttle budget; 404s for
    /// objects just brought back and transient failures are retried within the lag budget.
    async fn links(&self, steps: &[&Step]) -> Vec<StepOutcome> {
        let began = Instant::now();
        let mut results: BTreeMap<usize, StepOutcome> = BTreeMap::new();
        let members = self.members_restored_with(steps).await;
        let (present, steps): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| {
            s.link
                .as_ref()
                .is_some_and(|l| members.contains(&(s.id.clone(), l.target.clone())))
        });
        for s in present {
            let why = "a member it came back from the recycle bin with".to_string();
            results.insert(s.n, outcome(s, StepStatus::AlreadyDone, Some(why), None));
        }
        let mut todo: Vec<Work<'_>> = self.work(&steps);
        let mut wait = Duration::from_millis(200);
        while !todo.is_empty() {
            let requests: Vec<BatchRequest> = todo.iter().map(|w| self.request(w)).collect();
            let chunks: Vec<(&[Work<'_>], &[BatchRequest])> =
                todo.chunks(20).zip(requests.chunks(20)).collect();
            let width = self.client.concurrency().max(1);
            let answers: Vec<BatchAnswer<'_, '_>> = futures_util::stream::iter(chunks)
                .map(|(w, r)| async move { (w, self.client.batch(r).await) })
                .buffer_unordered(width)
                .collect()
                .await;
            let mut again: Vec<Work<'_>> = Vec::new();
            let mut server_wait = Duration::ZERO;
            // Splitting a refused bind needs no pause; throttling and lag do.
            let mut pause = false;
            for (chunk, answer) in answers {
                let responses = match answer {
                    Ok(r) => r,
                    Err(e) => {
                        for s in chunk.iter().flat_map(Work::steps) {
                            results.insert(
                                s.n,
                                outcome(s, StepStatus::Failed, Some(e.to_string()), None),
                            );
                        }
                        continue;
                    }
                };
                for (work, r) in chunk.iter().zip(responses) {
                    let verdict = match work {
                        Work::One(s) => link_result(s, &r),
                        Work::Bind(_, group) => bind_result(group, &r),
                    };
                    match verdict {
                        LinkResult::Done(status) => {
                            for s in work.steps() {
                                results.insert(s.n, outcome(s, status, None, None));
                            }
                        }
                        LinkResult::OneByOne => {
                            again.extend(work.steps().map(Work::One));
                        }
                        LinkResult::Throttled
                            if began.elapsed() + wait < self.options.throttle_budget =>
                        {
                            if let Some(w) =
                                r.retry_after.as_deref().and_then(|v| v.parse::<f64>().ok())
                            {
                                server_wait =
                                    server_wait.max(Duration::from_secs_f64(w.clamp(0.0, 300.0)));
                            }
                            pause = true;
                            again.push(work.clone());
                        }
                        LinkResult::Retry if began.elapsed() + wait < self.options.lag_budget => {
                            pause = true;
                            again.push(work.clone());
                        }
                        LinkResult::Retry | LinkResult::Throttled | LinkResult::Failed => {
                            for s in work.steps() {
                                results.insert(
                                    s.n,
                                    outcome(s, StepStatus::Failed, Some(batch_error(&r)), None),
                                );
                            }
                        }
                    }
                }
            }
            if pause {
                tokio::time::sleep(wait.max(server_wait)).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            todo = again;
        }
        results.into_values().collect()
    }

    /// `(group, member)` pairs that already hold among the member additions to groups this
    /// restore brought back from the recycle bin: a group comes back with the members it had
    /// when deleted, and a bind naming one of them would be refused whole and then sent link
    /// by link — a write each, from the same quota. One read of each such group's members
    /// saves them. A group that cannot be read is left to the writes.
    async fn members_restored_with(
        &self,
        steps: &[&Step],
    ) -> std::collections::HashSet<(String, String)> {
        let groups: std::collections::BTreeSet<&str> = steps
            .iter()
            .filter(|s| {
                s.action == Action::AddLink
                    && s.kind == Kind::Group
                    && self.restored.contains(&s.id)
                    && s.link.as_ref().is_some_and(|l| l.relation == "members")
            })
            .map(|s| s.id.as_str())
            .collect();
        let width = self.client.concurrency().max(1);
        futures_util::stream::iter(groups)
            .map(|g| async move {
                let path = format!("/groups/{}/members?$select=id&$top=999", self.now_id(g));
                let members = self.client.list(&path).await.unwrap_or_default();
                members
                    .into_iter()
                    .filter_map(|m| Some((g.to_string(), m.get("id")?.as_str()?.to_string())))
                    .collect::<Vec<_>>()
            })
            .buffer_unordered(width)
            .flat_map(futures_util::stream::iter)
            .collect()
            .await
    }

    /// Groups member additions of one group into binds of up to twenty; everything else goes
    /// link by link.
    fn work<'s>(&self, steps: &[&'s Step]) -> Vec<Work<'s>> {
        let mut binds: BTreeMap<String, Vec<&'s Step>> = BTreeMap::new();
        let mut out = Vec::new();
        for s in steps {
            let bindable = s.action == Action::AddLink
                && s.kind == Kind::Group
                && s.link.as_ref().is_some_and(|l| l.relation == "members");
            if bindable {
                binds.entry(self.now_key(&s.id)).or_default().push(s);
            } else {
                out.push(Work::One(s));
            }
        }
        for (group, members) in binds {
            for chunk in members.chunks(20) {
                if let [one] = chunk {
                    out.push(Work::One(one));
                } else {
                    out.push(Work::Bind(group.clone(), chunk.to_vec()));
                }
            }
        }
        out
    }

    fn request(&self, work: &Work<'_>) -> BatchRequest {
        match work {
            Work::One(s) => self.link_request(s),
            Work::Bind(group, steps) => {
                let urls: Vec<String> = steps
                    .iter()
                    .filter_map(|s| s.link.as_ref())
                    .map(|l| self.directory_object_url(self.now_id(&l.target)))
                    .collect();
                BatchRequest {
                    method: "PATCH",
                    url: item_path(Kind::Group, group),
                    body: Some(json!({ "members@odata.bind": urls })),
                }
            }
        }
    }

    fn directory_object_url(&self, id: &str) -> String {
        format!(
            "{}/v1.0/directoryObjects/{id}",
            self.client.endpoints().graph_url.trim_end_matches('/')
        )
    }

    fn link_request(&self, step: &Step) -> BatchRequest {
        let link = step.link.as_ref();
        let relation = link.map_or("members", |l| l.relation.as_str());
        let target = self.now_id(link.map_or("", |l| l.target.as_str()));
        let holder = item_path(step.kind, &self.now_key(&step.id));
        if step.action == Action::AddLink {
            BatchRequest {
                method: "POST",
                url: format!("{holder}/{relation}/$ref"),
                body: Some(json!({ "@odata.id": self.directory_object_url(target) })),
            }
        } else {
            BatchRequest {
                method: "DELETE",
                url: format!("{holder}/{relation}/{target}/$ref"),
                body: None,
            }
        }
    }
}

/// Link work sent as one inner request of a `$batch`.
#[derive(Clone)]
enum Work<'s> {
    /// One link, through `$ref`.
    One(&'s Step),
    /// Up to twenty members added to one group (its current key) in one `PATCH`.
    Bind(String, Vec<&'s Step>),
}

impl<'s> Work<'s> {
    fn steps(&self) -> impl Iterator<Item = &'s Step> + '_ {
        let (one, many): (Option<&'s Step>, &[&'s Step]) = match self {
            Work::One(s) => (Some(*s), &[]),
            Work::Bind(_, steps) => (None, steps.as_slice()),
        };
        one.into_iter().chain(many.iter().copied())
    }
}

/// A chunk of link work and what `$batch` answered for it.
type BatchAnswer<'w, 's> = (&'w [Work<'s>], Result<Vec<BatchResponse>, ClientError>);

enum LinkResult {
    Done(StepStatus),
    /// A bind refused as a whole (one member was already there): send its links one by one.
    OneByOne,
    /// Replication lag or a transient failure: retried within the lag budget.
    Retry,
    /// 429: retried after `Retry-After` within the throttle budget.
    Throttled,
    Failed,
}

fn link_result(step: &Step, r: &BatchResponse) -> LinkResult {
    let message = batch_error(r);
    match r.status {
        200..=299 => LinkResult::Done(StepStatus::Done),
        400 if step.action == Action::AddLink && message.contains("already exist") => {
            LinkResult::Done(StepStatus::AlreadyDone)
        }
        404 if step.action == Action::RemoveLink => LinkResult::Done(StepStatus::AlreadyDone),
        404 if !step.depends_on.is_empty() || step.action == Action::AddLink => LinkResult::Retry,
        429 => LinkResult::Throttled,
        0 | 500..=599 => LinkResult::Retry,
        _ => LinkResult::Failed,
    }
}

fn bind_result(steps: &[&Step], r: &BatchResponse) -> LinkResult {
    match r.status {
        200..=299 => LinkResult::Done(StepStatus::Done),
        400 => LinkResult::OneByOne,
        404 if steps.iter().any(|s| !s.depends_on.is_empty()) => LinkResult::Retry,
        404 => LinkResult::OneByOne,
        429 => LinkResult::Throttled,
        0 | 500..=599 => LinkResult::Retry,
        _ => LinkResult::Failed,
    }
}

fn batch_error(r: &BatchResponse) -> String {
    let message = r.body["error"]["message"].as_str().unwrap_or("");
    format!("HTTP {}: {message}", r.status)
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

/// Takes an application's identifier URIs out of its create body when any names its old appId
/// (`api://{appId}`): returns them all, to be written once the new appId is known.
fn take_own_uris(body: &mut Value, old_app_id: &str) -> Option<Vec<String>> {
    let uris: Vec<String> = body
        .get("identifierUris")?
        .as_array()?
        .iter()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    if !uris.iter().any(|u| u.contains(old_app_id)) {
        return None;
    }
    body.as_object_mut()?.shift_remove("identifierUris");
    Some(uris)
}

/// How many times a create that may have been applied is looked for and sent again.
const CREATE_ATTEMPTS: u32 = 5;

/// Whether Graph may have applied a request that failed this way: a server error, or no
/// answer at all. (A 429 was not applied; the client retries those itself.)
fn maybe_applied(e: &ClientError) -> bool {
    match e {
        ClientError::Graph(f) => f.status >= 500,
        ClientError::Unreachable { .. } => true,
        _ => false,
    }
}

/// Whether a failure is replication lag: a 404 for an object not replicated yet, or a 400
/// that names an object this restore just created (Graph answers so when a body references
/// a principal that has not replicated; graph-api.md §6.5) or says the application behind a
/// new service principal is not there yet (`NoBackingApplicationObject`).
fn is_lag(f: &rewind_msgraph::protocol::GraphFailure, created: &[&String]) -> bool {
    f.status == 404
        || (f.status == 400
            && (f.details.iter().any(|d| d == "NoBackingApplicationObject")
                || created.iter().any(|id| f.message.contains(id.as_str()))))
}

/// A password for a user created anew: 24 characters with every class Entra requires, never
/// stored or shown; the user must change it at next sign-in.
fn random_password() -> String {
    const CLASSES: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!#$%*+-=?@^_",
    ];
    let mut rng = rand::rng();
    let mut out: Vec<u8> = CLASSES
        .iter()
        .map(|c| c[rng.random_range(0..c.len())])
        .collect();
    while out.len() < 24 {
        let class = CLASSES[rng.random_range(0..CLASSES.len())];
        out.push(class[rng.random_range(0..class.len())]);
    }
    for i in (1..out.len()).rev() {
        out.swap(i, rng.random_range(0..=i));
    }
    String::from_utf8_lossy(&out).into_owned()
}
