//! The one reader of plan files, for `rewind apply` and `rewind check --plan`.
//!
//! A file is a **restore plan** when it (or its `plan` member, as in `rewind restore --json`)
//! carries a `format` or a `desired` state: it is read whole and must be in the format this
//! build writes. Anything else is a **list of steps** (`{"plan": {"steps": [...]}}`,
//! `{"steps": [...]}` or a bare array), each step's `object` the configuration it writes —
//! a change someone intends to make, which `check --plan` can judge but `apply` never runs.

use std::path::Path;

use rewind_engine::restore::{PLAN_FORMAT, Plan};
use serde_json::Value;

use crate::access::{PlanStep, desired_steps};
use crate::restore::RestoreError;

/// A plan file's contents.
#[derive(Debug, Clone)]
pub enum PlanFile {
    /// A plan written by `rewind restore --plan-out` (or its `--json` report).
    Restore(Box<Plan>),
    /// Steps described by hand.
    Steps(Vec<PlanStep>),
}

impl PlanFile {
    /// Reads and parses the file at `path`; errors name the file and what to fix.
    pub fn read(path: &Path) -> Result<PlanFile, RestoreError> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RestoreError::PlanFile(format!("cannot read the plan {shown}: {e}")))?;
        PlanFile::parse(&text).map_err(|e| RestoreError::PlanFile(format!("plan {shown}: {e}")))
    }

    /// Parses a plan file's text.
    pub fn parse(text: &str) -> Result<PlanFile, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let inner = value.get("plan").unwrap_or(&value);
        if inner.get("format").is_some() || inner.get("desired").is_some() {
            return restore_plan(inner.clone()).map(|p| PlanFile::Restore(Box::new(p)));
        }
        steps(inner.get("steps").unwrap_or(inner).clone()).map(PlanFile::Steps)
    }

    /// The steps the lockout analysis overlays: a restore plan's desired state, or the steps.
    pub fn steps(&self) -> Vec<PlanStep> {
        match self {
            PlanFile::Restore(plan) => desired_steps(&plan.desired),
            PlanFile::Steps(steps) => steps.clone(),
        }
    }

    /// The restore plan, for `apply`; a list of steps is not one.
    pub fn into_restore_plan(self, path: &Path) -> Result<Plan, RestoreError> {
        match self {
            PlanFile::Restore(plan) => Ok(*plan),
            PlanFile::Steps(_) => Err(RestoreError::PlanFile(format!(
                "plan {}: not a restore plan (it has no format): apply runs only plans written by `rewind restore … --plan-out FILE`",
                path.display()
            ))),
        }
    }
}

fn restore_plan(plan: Value) -> Result<Plan, String> {
    let format = plan.get("format").and_then(Value::as_u64);
    if format != Some(u64::from(PLAN_FORMAT)) {
        return Err(format!(
            "format {} is not the plan format this Rewind applies ({PLAN_FORMAT}); make the plan again with this version",
            format.map_or_else(|| "(none)".to_string(), |f| f.to_string())
        ));
    }
    serde_json::from_value(plan).map_err(|e| format!("not a restore plan: {e}"))
}

fn steps(steps: Value) -> Result<Vec<PlanStep>, String> {
    let steps: Vec<PlanStep> = serde_json::from_value(steps).map_err(|e| {
        format!("expected {{\"plan\": {{\"steps\": [{{\"action\", \"kind\", \"id\", \"object\"}}]}}}}: {e}")
    })?;
    for (i, s) in steps.iter().enumerate() {
        match (s.action.as_str(), &s.object) {
            ("delete", _) | ("create" | "update", Some(Value::Object(_))) => {}
            ("create" | "update", _) => {
                return Err(format!(
                    "step {}: {} {} has no object to write",
                    i + 1,
                    s.action,
                    s.id
                ));
            }
            (other, _) => {
                return Err(format!("step {}: '{other}' is not create, update or delete", i + 1));
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_plan_is_told_from_a_list_of_steps() {
        let plan = format!(
            r#"{{"plan": {{"format": {PLAN_FORMAT}, "steps": [], "notices": [], "desired": []}}}}"#
        );
        assert!(matches!(PlanFile::parse(&plan), Ok(PlanFile::Restore(_))));
        let steps = r#"{"plan": {"steps": [{"action": "delete", "kind": "group", "id": "g"}]}}"#;
        assert!(matches!(PlanFile::parse(steps), Ok(PlanFile::Steps(s)) if s.len() == 1));
        let bare = r#"[{"action": "delete", "kind": "group", "id": "g"}]"#;
        assert!(matches!(PlanFile::parse(bare), Ok(PlanFile::Steps(_))));
    }

    #[test]
    fn a_plan_in_another_format_or_with_a_bad_step_is_refused() {
        let old = r#"{"format": 99, "steps": [], "notices": [], "desired": []}"#;
        assert!(PlanFile::parse(old).unwrap_err().contains("format 99"));
        let edited = r#"{"desired": []}"#;
        assert!(PlanFile::parse(edited).unwrap_err().contains("format (none)"));
        let bad = r#"{"steps": [{"action": "explode", "kind": "group", "id": "g"}]}"#;
        assert!(PlanFile::parse(bad).unwrap_err().contains("'explode'"));
        let empty = r#"{"steps": [{"action": "update", "kind": "group", "id": "g"}]}"#;
        assert!(PlanFile::parse(empty).unwrap_err().contains("no object to write"));
    }
}
