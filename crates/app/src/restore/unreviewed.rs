//! Whether a plan made now is the plan that was reviewed: `rewind apply` plans a file's
//! desired state again against the tenant as it is, and runs it only when the two have the
//! same steps. Steps are compared by what they do, apart from the words around them (their
//! number, reason, the name shown and the change list, which the plan made now supplies from
//! the live objects), and as sets: the plan made now runs in its own order.

use rewind_engine::restore::{Plan, Step};
use rewind_model::Kind;
use serde_json::{Value, json};

/// A step as a reader names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepName {
    /// What it does (`update`, `delete`, …).
    pub action: String,
    /// The kind of its object.
    pub kind: Kind,
    /// Its object's key.
    pub id: String,
}

/// One way the two plans differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreviewed {
    /// In the file, but not needed against the tenant now.
    NotNeeded(StepName),
    /// Needed now, but not in the file.
    NotInFile(StepName),
    /// The file repeats a step.
    Repeated,
}

/// How the file's plan and the plan made now differ; empty when they agree.
pub fn steps(file: &Plan, now: &Plan) -> Vec<Unreviewed> {
    let effects = |p: &Plan| p.steps.iter().map(|s| effect(s, p)).collect::<Vec<_>>();
    let (theirs, ours) = (effects(file), effects(now));
    let mut out: Vec<Unreviewed> = file
        .steps
        .iter()
        .zip(&theirs)
        .filter(|(_, e)| !ours.contains(e))
        .map(|(s, _)| Unreviewed::NotNeeded(name(s)))
        .collect();
    out.extend(
        now.steps
            .iter()
            .zip(&ours)
            .filter(|(_, e)| !theirs.contains(e))
            .map(|(s, _)| Unreviewed::NotInFile(name(s))),
    );
    if out.is_empty() && theirs.len() != ours.len() {
        out.push(Unreviewed::Repeated);
    }
    out
}

/// What a step does; the steps it waits for named by what they do, not by number.
fn effect(step: &Step, plan: &Plan) -> Value {
    let mut v = serde_json::to_value(step).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in ["n", "reason", "display_name", "changes", "depends_on"] {
            o.shift_remove(k);
        }
        let after: Vec<String> = step
            .depends_on
            .iter()
            .map(|n| {
                plan.steps
                    .iter()
                    .find(|s| s.n == *n)
                    .map_or_else(|| format!("#{n}"), |s| words(&name(s)))
            })
            .collect();
        o.insert("after".into(), json!(after));
    }
    v
}

fn name(s: &Step) -> StepName {
    let action = serde_json::to_value(s.action).unwrap_or(Value::Null);
    StepName { action: action.as_str().unwrap_or("?").to_string(), kind: s.kind, id: s.id.clone() }
}

fn words(s: &StepName) -> String {
    format!("{} {} {}", s.action, s.kind.name(), s.id)
}
