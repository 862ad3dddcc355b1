//! Link steps (members, owners): a wave goes through `$batch`, twenty to a request, members
//! of one group bound twenty to a `PATCH`; a refused chunk is retried link by link.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use rewind_engine::restore::{Action, Step};
use rewind_model::Kind;
use rewind_msgraph::ClientError;
use rewind_msgraph::protocol::{BatchRequest, BatchResponse};
use serde_json::json;

use super::{Run, StepOutcome, StepStatus, outcome};
use crate::restore::graph::item_path;

impl Run<'_> {
    /// Runs a wave of link steps through `$batch`. Members added to one group go twenty to a
    /// `PATCH` with `members@odata.bind` (one write instead of twenty); a chunk Graph refuses
    /// because one of them is already a member is sent again link by link, where "already
    /// exists" means done. Throttling waits `Retry-After` within the throttle budget; 404s for
    /// objects just brought back and transient failures are retried within the lag budget.
    pub(super) async fn links(&self, steps: &[&Step]) -> Vec<StepOutcome> {
        let began = Instant::now();
        let mut results: BTreeMap<usize, StepOutcome> = BTreeMap::new();
        let members = self.members_restored_with(steps).await;
        let (present, steps): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| {
            s.link.as_ref().is_some_and(|l| members.contains(&(s.id.clone(), l.target.clone())))
        });
        let why = "a member it came back from the recycle bin with";
        record(&mut results, present.into_iter(), StepStatus::AlreadyDone, Some(why));
        let mut todo: Vec<Work<'_>> = self.work(&steps);
        let mut wait = Duration::from_millis(200);
        while !todo.is_empty() {
            let mut round = Round { again: Vec::new(), server_wait: Duration::ZERO, pause: false };
            let answers = self.send_batches(&todo).await;
            let budgets = self.options.budget_left(began.elapsed() + wait);
            for (chunk, answer) in answers {
                let responses = match answer {
                    Ok(responses) => responses,
                    Err(e) => {
                        let steps = chunk.iter().flat_map(Work::steps);
                        record(&mut results, steps, StepStatus::Failed, Some(&e.to_string()));
                        continue;
                    }
                };
                for (work, r) in chunk.iter().zip(responses) {
                    round.take(work, &r, budgets, &mut results);
                }
            }
            if round.pause {
                tokio::time::sleep(wait.max(round.server_wait)).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            todo = round.again;
        }
        results.into_values().collect()
    }

    /// Sends the work in `$batch` requests of twenty, as many at once as the client allows.
    async fn send_batches<'w, 's>(&self, todo: &'w [Work<'s>]) -> Vec<BatchAnswer<'w, 's>> {
        let requests: Vec<BatchRequest> = todo.iter().map(|w| self.request(w)).collect();
        let chunks: Vec<(&[Work<'_>], &[BatchRequest])> =
            todo.chunks(20).zip(requests.chunks(20)).collect();
        let width = self.client.concurrency().max(1);
        futures_util::stream::iter(chunks)
            .map(|(w, r)| async move { (w, self.client.batch(r).await) })
            .buffer_unordered(width)
            .collect()
            .await
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

/// Which retry budgets a round still has time in.
#[derive(Clone, Copy)]
struct Budgets {
    throttle: bool,
    lag: bool,
}

impl super::ExecuteOptions {
    /// Whether `spent` (with the next pause) is still within each retry budget.
    fn budget_left(&self, spent: Duration) -> Budgets {
        Budgets { throttle: spent < self.throttle_budget, lag: spent < self.lag_budget }
    }
}

/// One round of link requests: what goes again in the next, and how long to wait first.
struct Round<'s> {
    again: Vec<Work<'s>>,
    /// The longest `Retry-After` Graph asked for.
    server_wait: Duration,
    /// Splitting a refused bind needs no pause; throttling and lag do.
    pause: bool,
}

impl<'s> Round<'s> {
    /// Takes in Graph's answer to one piece of work: done, split, retried or failed.
    fn take(
        &mut self,
        work: &Work<'s>,
        r: &BatchResponse,
        budgets: Budgets,
        results: &mut BTreeMap<usize, StepOutcome>,
    ) {
        let verdict = match work {
            Work::One(s) => link_result(s, r),
            Work::Bind(_, group) => bind_result(group, r),
        };
        match verdict {
            LinkResult::Done(status) => record(results, work.steps(), status, None),
            LinkResult::OneByOne => self.again.extend(work.steps().map(Work::One)),
            LinkResult::Throttled if budgets.throttle => {
                self.server_wait = self.server_wait.max(retry_after(r));
                self.retry(work);
            }
            LinkResult::Retry if budgets.lag => self.retry(work),
            LinkResult::Retry | LinkResult::Throttled | LinkResult::Failed => {
                record(results, work.steps(), StepStatus::Failed, Some(&batch_error(r)));
            }
        }
    }

    fn retry(&mut self, work: &Work<'s>) {
        self.pause = true;
        self.again.push(work.clone());
    }
}

/// The pause a throttled response asks for (`Retry-After` seconds, at most five minutes).
fn retry_after(r: &BatchResponse) -> Duration {
    let seconds = r.retry_after.as_deref().and_then(|v| v.parse::<f64>().ok());
    seconds.map_or(Duration::ZERO, |w| Duration::from_secs_f64(w.clamp(0.0, 300.0)))
}

/// Records the same outcome for every step in `steps`.
fn record<'s>(
    results: &mut BTreeMap<usize, StepOutcome>,
    steps: impl Iterator<Item = &'s Step>,
    status: StepStatus,
    detail: Option<&str>,
) {
    for s in steps {
        results.insert(s.n, outcome(s, status, detail.map(str::to_string), None));
    }
}

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
