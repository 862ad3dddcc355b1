//! The lockout guard (DESIGN §6.4): the state a plan would leave, evaluated by the CA engine
//! for every protected principal. A plan is refused when it locks out someone the tenant does
//! not lock out now; a restore that leaves an existing lockout in place is told so, not
//! refused, since refusing would not help them.

use std::collections::BTreeMap;

use rewind_engine::restore::Plan;
use rewind_policy::{Analysis, Lockout, LockoutOptions, Verdict, analyse};
use rewind_store::{SnapshotInfo, Store, TenantInfo};
use serde::Serialize;

use super::RestoreError;
use crate::access::{Subjects, desired_steps, load_access};

/// The guard's judgement.
#[derive(Debug, Clone, Serialize)]
pub struct Guard {
    /// The tenant's verdict after the plan.
    pub verdict: Lockout,
    /// The verdict now, before it.
    pub before: Lockout,
    /// Protected principals the plan would lock out who can sign in now.
    pub newly_locked_out: Vec<String>,
    /// The analysis of the state after the plan.
    pub analysis: Analysis,
    /// Display names of the Conditional Access policies, now and after the plan, by id.
    pub policy_names: BTreeMap<String, String>,
}

impl Guard {
    /// Whether the plan must be refused.
    pub fn refuses(&self) -> bool {
        !self.newly_locked_out.is_empty()
    }
}

/// Judges `plan` against the tenant at `live`.
pub async fn guard(
    store: &Store,
    tenant: &TenantInfo,
    live: &SnapshotInfo,
    plan: &Plan,
    options: &LockoutOptions,
) -> Result<Guard, RestoreError> {
    let subjects = Subjects::Protected {
        break_glass: &options.break_glass,
    };
    let now = load_access(store, tenant, live.id, subjects, &[]).await?;
    let before = analyse(&now.policies, &now.directory, options);
    let after = load_access(
        store,
        tenant,
        live.id,
        subjects,
        &desired_steps(&plan.desired),
    )
    .await?;
    let analysis = analyse(&after.policies, &after.directory, options);
    let locked = |a: &Analysis, id: &str| {
        a.principals
            .iter()
            .any(|p| p.id == id && p.verdict == Verdict::LockedOut)
    };
    let newly_locked_out = analysis
        .principals
        .iter()
        .filter(|p| p.verdict == Verdict::LockedOut && !locked(&before, &p.id))
        .map(|p| p.user_principal_name.clone())
        .collect();
    let policy_names = now
        .policies
        .policies
        .iter()
        .chain(&after.policies.policies)
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    Ok(Guard {
        verdict: analysis.verdict,
        before: before.verdict,
        newly_locked_out,
        analysis,
        policy_names,
    })
}
