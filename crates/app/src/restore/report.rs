//! What a restore reports: the `--json` shape of DESIGN §8.1, field by field and in order, as
//! types. The plan and the guard's judgement come first, then what happened.

use std::collections::BTreeMap;

use rewind_engine::restore::Plan;
use rewind_policy::{Lockout, Verdict};
use rewind_store::{RestoreId, SnapshotId, SnapshotInfo};
use serde::Serialize;

use super::execute::{Execution, StepOutcome};
use super::guard::{Guard, Removed, WorseOff};
use super::run::{Applied, Missing, Timings};
use super::verify::Difference;

/// A restore's report.
#[derive(Debug, Serialize)]
#[must_use]
pub struct RestoreReport<'a> {
    /// The plan (what ran, or would).
    pub plan: &'a Plan,
    /// The guard's judgement; `None` when a restore resumed (it was judged when it began).
    pub guard: Option<GuardReport<'a>>,
    /// Whether steps were applied.
    pub applied: bool,
    /// Whether the tenant is as the plan wants; `None` when nothing was applied.
    pub converged: Option<bool>,
    /// What differs from the desired state afterwards.
    pub differences: &'a [Difference],
    /// The snapshot restored to (none for a plan from a file, or a resumed restore).
    pub target: Option<SnapshotRef>,
    /// The snapshot planned against.
    pub before: SnapshotRef,
    /// Seconds each phase took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<&'a Timings>,
    /// What the write app lacks, when only planned.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub missing: Option<MissingReport<'a>>,
    /// What applying did.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeReport<'a>>,
}

/// A snapshot as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotRef {
    /// Its number.
    pub snapshot: SnapshotId,
    /// When it was taken.
    pub taken_at: jiff::Timestamp,
}

impl From<&SnapshotInfo> for SnapshotRef {
    fn from(s: &SnapshotInfo) -> Self {
        SnapshotRef { snapshot: s.id, taken_at: s.taken_at }
    }
}

/// What the write app lacks, in words.
#[derive(Debug, Serialize)]
pub struct MissingReport<'a> {
    /// Application permissions, with the steps that need each.
    pub missing_permissions: &'a [String],
    /// Directory roles, with the steps that need each.
    pub missing_roles: &'a [String],
}

/// What applying did.
#[derive(Debug, Serialize)]
pub struct OutcomeReport<'a> {
    /// The journal's restore id.
    pub restore: RestoreId,
    /// Steps that failed or were skipped.
    pub failed: Vec<&'a StepOutcome>,
    /// Objects created anew: old id → new id.
    pub lineage: &'a BTreeMap<String, String>,
    /// The snapshot verified against.
    pub after: SnapshotRef,
    /// Graph requests made.
    pub requests: u64,
    /// Of which throttled.
    pub throttled: u64,
    /// How long applying took.
    pub seconds: f64,
}

/// The guard's judgement as reported.
#[derive(Debug, Serialize)]
pub struct GuardReport<'a> {
    /// The tenant's verdict after the plan.
    pub verdict: Lockout,
    /// The verdict now.
    pub before: Lockout,
    /// Whether the plan is refused.
    pub refused: bool,
    /// Of the worse off, those locked out or removed.
    pub newly_locked_out: &'a [String],
    /// Protected principals the plan leaves worse off.
    pub worse_off: &'a [WorseOff],
    /// Administrators the plan removes on purpose.
    pub removed: &'a [Removed],
    /// After the plan nobody protected can sign in, and someone could before.
    pub no_way_in: bool,
    /// Each protected principal's verdict after the plan.
    pub principals: Vec<PrincipalVerdict<'a>>,
}

/// One protected principal's verdict after the plan.
#[derive(Debug, Serialize)]
pub struct PrincipalVerdict<'a> {
    /// Object id.
    pub id: &'a str,
    /// User principal name.
    pub user_principal_name: &'a str,
    /// Verdict.
    pub verdict: Verdict,
    /// The policies that block or may block.
    pub policies: &'a [String],
}

impl<'a> From<&'a Guard> for GuardReport<'a> {
    fn from(g: &'a Guard) -> Self {
        GuardReport {
            verdict: g.verdict,
            before: g.before,
            refused: g.refuses(),
            newly_locked_out: &g.newly_locked_out,
            worse_off: &g.worse_off,
            removed: &g.removed,
            no_way_in: g.no_way_in,
            principals: g
                .analysis
                .principals
                .iter()
                .map(|p| PrincipalVerdict {
                    id: &p.id,
                    user_principal_name: &p.user_principal_name,
                    verdict: p.verdict,
                    policies: &p.policies,
                })
                .collect(),
        }
    }
}

impl<'a> RestoreReport<'a> {
    /// A plan judged but not applied.
    pub fn planned(
        plan: &'a Plan,
        guard: Option<&'a Guard>,
        target: Option<&SnapshotInfo>,
        live: &SnapshotInfo,
    ) -> Self {
        RestoreReport {
            plan,
            guard: guard.map(GuardReport::from),
            applied: false,
            converged: None,
            differences: &[],
            target: target.map(SnapshotRef::from),
            before: live.into(),
            timings: None,
            missing: None,
            outcome: None,
        }
    }

    /// With what the write app lacks.
    pub fn with_missing(mut self, missing: &'a Missing) -> Self {
        self.missing = Some(MissingReport {
            missing_permissions: &missing.permissions,
            missing_roles: &missing.roles,
        });
        self
    }

    /// With the phases' timings.
    pub fn with_timings(mut self, timings: &'a Timings) -> Self {
        self.timings = Some(timings);
        self
    }

    /// A plan with nothing to do: the tenant is already as wanted.
    pub fn nothing_to_do(mut self) -> Self {
        self.converged = Some(true);
        self
    }

    /// With what applying did and what verification found.
    pub fn applied(mut self, applied: &'a Applied) -> Self {
        let e: &Execution = &applied.execution;
        self.applied = true;
        self.converged = Some(applied.verification.converged);
        self.differences = &applied.verification.differences;
        self.outcome = Some(OutcomeReport {
            restore: e.restore,
            failed: e.failed().collect(),
            lineage: &e.lineage,
            after: (&applied.after).into(),
            requests: e.requests,
            throttled: e.throttled,
            seconds: e.seconds,
        });
        self
    }
}
