//! The lockout guard (DESIGN §6.4): the state a plan would leave, evaluated by the CA engine
//! for every protected principal, and compared with the state now.
//!
//! A plan is refused (unless the operator allows it) when it leaves any protected principal
//! worse off — safe becoming at risk or locked out, at risk becoming locked out — or removes
//! or disables a break-glass account, or removes an administrator who was one at the target
//! time; and when it leaves nobody among the break-glass accounts and Global Administrators
//! who can sign in, where someone could before. An administrator who did not exist, or held
//! no privileged role, at the target time (the rogue Global Administrator an attacker made)
//! is removed on purpose: listed first, not shielded. A restore that leaves an existing
//! lockout in place is told so, not refused, since refusing would not help.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use rewind_engine::restore::Plan;
use rewind_model::{Actor, Kind, ObjectKey};
use rewind_policy::{Analysis, Lockout, LockoutOptions, PrincipalReport, Verdict, analyse};
use rewind_store::{SnapshotId, SnapshotInfo, Store, TenantInfo};
use serde::Serialize;

use super::RestoreError;
use crate::access::{Subjects, desired_steps, load_access};

/// A protected principal the plan leaves worse off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorseOff {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// A break-glass account.
    pub break_glass: bool,
    /// The verdict now.
    pub before: Verdict,
    /// The verdict after the plan; `None` when the plan removes it (deletes the account or
    /// takes its role).
    pub after: Option<Verdict>,
    /// Policies responsible (after the plan).
    pub policies: Vec<String>,
}

/// An administrator the plan removes on purpose: not one at the target time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Why protected now (the roles).
    pub why_protected: Vec<String>,
    /// The account was created after the target time (else it gained its role after it).
    pub created_after: bool,
    /// Who created it (or made it an administrator), from the timeline.
    pub by: Vec<String>,
    /// When that change was captured.
    pub at: Option<Timestamp>,
}

/// The guard's judgement.
#[derive(Debug, Clone, Serialize)]
pub struct Guard {
    /// The tenant's verdict after the plan.
    pub verdict: Lockout,
    /// The verdict now, before it.
    pub before: Lockout,
    /// Protected principals the plan leaves worse off (refused).
    pub worse_off: Vec<WorseOff>,
    /// Administrators the plan removes on purpose (allowed, listed first).
    pub removed: Vec<Removed>,
    /// Of the worse off, those locked out or removed (the scripting contract's name).
    pub newly_locked_out: Vec<String>,
    /// After the plan, no break-glass account or Global Administrator can sign in, and one
    /// could before.
    pub no_way_in: bool,
    /// The analysis of the state after the plan.
    pub analysis: Analysis,
    /// Display names of the Conditional Access policies, now and after the plan, by id.
    pub policy_names: BTreeMap<String, String>,
}

impl Guard {
    /// Whether the plan must be refused.
    pub fn refuses(&self) -> bool {
        !self.worse_off.is_empty() || self.no_way_in
    }
}

/// Judges `plan` against the tenant at `live`; `target`, when the plan goes back to a
/// snapshot, tells administrators removed on purpose from those removed by mistake.
pub async fn guard(
    store: &Store,
    tenant: &TenantInfo,
    live: &SnapshotInfo,
    target: Option<&SnapshotInfo>,
    plan: &Plan,
    options: &LockoutOptions,
) -> Result<Guard, RestoreError> {
    let subjects = Subjects::Protected {
        break_glass: &options.break_glass,
        restore_app: options.restore_app.as_deref(),
    };
    let now = load_access(store, tenant, live.id, subjects, &[]).await?;
    let before = analyse(&now.policies, &now.directory, options);
    let after =
        load_access(store, tenant, live.id, subjects, &desired_steps(&plan.desired)).await?;
    let analysis = analyse(&after.policies, &after.directory, options);
    let then = match target {
        Some(t) => Some(protected_at(store, tenant, t, subjects, options).await?),
        None => None,
    };
    let judged = judge(&before, &analysis, then.as_ref());
    let mut removed = Vec::new();
    for p in judged.removed {
        removed.push(removal(store, tenant, target, p).await?);
    }
    let policies = now.policies.policies.iter().chain(&after.policies.policies);
    let policy_names = policies.map(|p| (p.id.clone(), p.name.clone())).collect();
    let newly_locked_out = newly_locked_out(&judged.worse_off);
    let (worse_off, no_way_in) = (judged.worse_off, judged.no_way_in);
    let (verdict, before) = (analysis.verdict, before.verdict);
    Ok(Guard {
        verdict,
        before,
        worse_off,
        removed,
        newly_locked_out,
        no_way_in,
        analysis,
        policy_names,
    })
}

/// The ids of the principals protected at snapshot `at`.
async fn protected_at(
    store: &Store,
    tenant: &TenantInfo,
    at: &SnapshotInfo,
    subjects: Subjects<'_>,
    options: &LockoutOptions,
) -> Result<BTreeSet<String>, RestoreError> {
    let access = load_access(store, tenant, at.id, subjects, &[]).await?;
    let analysis = analyse(&access.policies, &access.directory, options);
    let protected = analysis.principals.into_iter().filter(|p| !p.protection.is_empty());
    Ok(protected.map(|p| p.id).collect())
}

/// Who the plan would lock out who can sign in now.
fn newly_locked_out(worse_off: &[WorseOff]) -> Vec<String> {
    let locked = worse_off.iter().filter(|w| w.after.is_none_or(|v| v == Verdict::LockedOut));
    locked.map(|w| w.user_principal_name.clone()).collect()
}

/// What the guard decides from the analyses now and after the plan, and the ids protected at
/// the target time (`None`: no target; every removal is then a loss).
pub(crate) struct Judged<'a> {
    pub(crate) worse_off: Vec<WorseOff>,
    pub(crate) removed: Vec<&'a PrincipalReport>,
    pub(crate) no_way_in: bool,
}

pub(crate) fn judge<'a>(
    now: &'a Analysis,
    after: &Analysis,
    then: Option<&BTreeSet<String>>,
) -> Judged<'a> {
    let mut worse_off = Vec::new();
    let mut removed = Vec::new();
    // Rewind's own identity counts too: a plan that blocks it stops the restore half-way.
    for p in now.principals.iter().chain(&now.restore_identity) {
        let break_glass = p.protection.iter().any(rewind_policy::Protection::is_break_glass);
        let later = after.principals.iter().chain(&after.restore_identity).find(|a| a.id == p.id);
        let worse = |to: Option<&PrincipalReport>| WorseOff {
            id: p.id.clone(),
            user_principal_name: p.user_principal_name.clone(),
            break_glass,
            before: p.verdict,
            after: to.map(|a| a.verdict),
            policies: to.map(|a| a.policies.clone()).unwrap_or_default(),
        };
        match later {
            Some(a) if rank(a.verdict) > rank(p.verdict) => worse_off.push(worse(Some(a))),
            Some(_) => {}
            None if break_glass => worse_off.push(worse(None)),
            None if then.is_some_and(|ids| !ids.contains(&p.id)) => removed.push(p),
            None => worse_off.push(worse(None)),
        }
    }
    let can_sign_in = |a: &Analysis| {
        a.principals.iter().any(|p| {
            p.verdict == Verdict::Safe
                && p.protection.iter().any(|x| {
                    x.is_break_glass()
                        || matches!(x, rewind_policy::Protection::Role(r) if r == "Global Administrator")
                })
        })
    };
    Judged { worse_off, removed, no_way_in: can_sign_in(now) && !can_sign_in(after) }
}

fn rank(v: Verdict) -> u8 {
    match v {
        Verdict::Safe => 0,
        Verdict::AtRisk => 1,
        Verdict::LockedOut => 2,
    }
}

/// Who made an administrator removed on purpose, and when: the account's creation after the
/// target time, or else the change after it that made it one.
async fn removal(
    store: &Store,
    tenant: &TenantInfo,
    target: Option<&SnapshotInfo>,
    p: &PrincipalReport,
) -> Result<Removed, RestoreError> {
    let history = store.history(tenant, &ObjectKey::new(Kind::User, p.id.clone())).await?;
    let after_target = |s: SnapshotId| target.is_none_or(|t| s > t.id);
    let created_after = history.first().is_some_and(|v| after_target(v.snapshot));
    let first_after = history.iter().find(|v| after_target(v.snapshot));
    Ok(Removed {
        id: p.id.clone(),
        user_principal_name: p.user_principal_name.clone(),
        why_protected: p.why_protected.clone(),
        created_after,
        by: first_after.map(|v| v.actors.iter().map(Actor::label).collect()).unwrap_or_default(),
        at: first_after.map(|v| v.taken_at),
    })
}

#[cfg(test)]
mod tests {
    use rewind_policy::{PrincipalReport, Protection};

    use super::*;

    fn principal(id: &str, verdict: Verdict, protection: Protection) -> PrincipalReport {
        PrincipalReport {
            id: id.into(),
            user_principal_name: format!("{id}@contoso.com"),
            display_name: id.into(),
            why_protected: vec![protection.label()],
            protection: vec![protection],
            verdict,
            policies: vec![],
            methods: None,
            usable_methods: None,
            unusable_methods: vec![],
            unmet: vec![],
            findings: vec![],
            contexts: 120,
        }
    }

    fn analysis(principals: Vec<PrincipalReport>) -> Analysis {
        Analysis {
            verdict: Lockout::Ok,
            principals,
            restore_identity: None,
            notes: vec![],
            policy_errors: vec![],
            home_country: None,
        }
    }

    fn ga() -> Protection {
        Protection::Role("Global Administrator".into())
    }

    #[test]
    fn safe_to_at_risk_is_worse_and_a_rogue_admin_is_removed_on_purpose() {
        let now = analysis(vec![
            principal("bg", Verdict::Safe, Protection::BreakGlass),
            principal("adele", Verdict::Safe, ga()),
            principal("rogue", Verdict::Safe, ga()),
        ]);
        let after = analysis(vec![
            principal("bg", Verdict::AtRisk, Protection::BreakGlass),
            principal("adele", Verdict::Safe, ga()),
        ]);
        let then: BTreeSet<String> = ["bg".to_string(), "adele".to_string()].into();
        let judged = judge(&now, &after, Some(&then));
        assert_eq!(judged.worse_off.len(), 1);
        assert_eq!(
            (judged.worse_off[0].id.as_str(), judged.worse_off[0].after),
            ("bg", Some(Verdict::AtRisk))
        );
        assert_eq!(judged.removed.len(), 1);
        assert_eq!(judged.removed[0].id, "rogue");
        assert!(!judged.no_way_in);
    }

    #[test]
    fn a_break_glass_account_is_never_removed_and_nobody_left_is_refused() {
        let now = analysis(vec![
            principal("bg", Verdict::Safe, Protection::BreakGlass),
            principal("adele", Verdict::AtRisk, ga()),
        ]);
        let after = analysis(vec![principal("adele", Verdict::AtRisk, ga())]);
        let then: BTreeSet<String> = BTreeSet::new();
        let judged = judge(&now, &after, Some(&then));
        assert_eq!(judged.worse_off.len(), 1, "removed though absent at the target");
        assert!(judged.worse_off[0].break_glass && judged.worse_off[0].after.is_none());
        assert!(judged.no_way_in);
    }

    #[test]
    fn an_administrator_of_the_target_time_removed_is_worse_off() {
        let now = analysis(vec![principal("adele", Verdict::Safe, ga())]);
        let then: BTreeSet<String> = ["adele".to_string()].into();
        let judged = judge(&now, &analysis(vec![]), Some(&then));
        assert_eq!(judged.worse_off.len(), 1);
        let judged = judge(&now, &analysis(vec![]), None);
        assert_eq!(judged.worse_off.len(), 1, "without a target, every removal is a loss");
    }
}
