//! What evaluating a sign-in yields: each condition's result, each policy's, and what the
//! enforced and the report-only policies decide together.

use serde::Serialize;

use crate::policy::{Control, Grant, Operator, Policy, Session, State};
use crate::tri::Tri;

/// A condition of a policy, named as Graph's What If names the reasons a policy does not
/// apply (`whatIfAnalysisReasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Condition {
    /// Users, groups, roles, guests.
    Users,
    /// Workload identities (service principals).
    WorkloadIdentities,
    /// Applications, user actions or authentication contexts.
    Application,
    /// Client app types.
    ClientApps,
    /// Device platforms.
    DevicePlatform,
    /// Locations.
    Location,
    /// Sign-in risk.
    SignInRisk,
    /// User risk.
    UserRisk,
    /// Service principal risk.
    ServicePrincipalRisk,
    /// Insider risk.
    InsiderRisk,
    /// Device filter.
    Devices,
    /// Authentication flows.
    AuthenticationFlow,
    /// The policy could not be read.
    InvalidPolicy,
}

/// One condition's result for one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Which condition.
    pub condition: Condition,
    /// Whether it matches.
    pub result: Tri,
    /// Why, in words.
    pub why: String,
}

/// One policy's result for one sign-in.
#[derive(Debug, Clone)]
pub struct PolicyResult<'p> {
    /// The policy.
    pub policy: &'p Policy,
    /// Whether it applies.
    pub applies: Tri,
    /// Its configured conditions' results (all of them when explaining).
    pub checks: Vec<Check>,
    /// The conditions that could not be decided (kept without explaining: the lockout
    /// analysis names the facts it could not see).
    pub unknown: Vec<Condition>,
}

impl PolicyResult<'_> {
    /// The grant controls of the policy, when it could be read.
    pub fn grant(&self) -> Option<&Grant> {
        self.policy.rules.as_ref().ok()?.grant.as_ref()
    }

    /// Whether it blocks if it applies; an unreadable policy might.
    pub fn blocks(&self) -> Tri {
        match &self.policy.rules {
            Err(_) => Tri::Unknown,
            Ok(r) => Tri::from_bool(r.grant.as_ref().is_some_and(Grant::blocks)),
        }
    }

    /// Graph's `analysisReasons`: `notSet` when it applies, otherwise the conditions that do
    /// not match (or `notEnoughInformation`, `invalidPolicy`, `policyNotEnabled`).
    pub fn analysis_reasons(&self) -> String {
        if self.policy.state == State::Disabled {
            return "policyNotEnabled".into();
        }
        match self.applies {
            Tri::Yes => "notSet".into(),
            Tri::Unknown if self.policy.rules.is_err() => "invalidPolicy".into(),
            Tri::Unknown => "notEnoughInformation".into(),
            Tri::No => {
                let names: Vec<String> = self
                    .checks
                    .iter()
                    .filter(|c| c.result == Tri::No)
                    .map(|c| {
                        serde_json::to_value(c.condition)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    })
                    .collect();
                names.join(",")
            }
        }
    }
}

/// What a policy that applies (or may apply) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// The policy's id.
    pub policy_id: String,
    /// The policy's name.
    pub policy: String,
    /// Whether the policy certainly applies (otherwise it depends on unknown signals).
    pub certain: bool,
    /// How the controls combine.
    pub operator: Operator,
    /// The controls.
    pub controls: Vec<Control>,
}

/// The decision for one state of enforcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A policy that applies blocks access.
    Blocked,
    /// A policy that may apply (depending on a signal not given) blocks access.
    MaybeBlocked,
    /// Access with the requirements listed (none: policies apply with session controls only).
    Grant,
    /// No policy applies.
    NoPolicy,
}

/// What the policies of one state of enforcement decide together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The decision.
    pub decision: Decision,
    /// Policies that apply and block.
    pub blocked_by: Vec<String>,
    /// Policies that may apply and block (or whose effect is unknown).
    pub maybe_blocked_by: Vec<String>,
    /// Grant requirements of policies that apply or may apply.
    pub requirements: Vec<Requirement>,
    /// Session controls of policies that apply or may apply: (policy id, control).
    pub sessions: Vec<(String, Session)>,
}

impl Outcome {
    pub(super) fn of(results: &[PolicyResult<'_>], state: State) -> Outcome {
        let mut o = Outcome {
            decision: Decision::NoPolicy,
            blocked_by: Vec::new(),
            maybe_blocked_by: Vec::new(),
            requirements: Vec::new(),
            sessions: Vec::new(),
        };
        let mut any = false;
        for r in results.iter().filter(|r| r.policy.state == state) {
            if r.applies == Tri::No {
                continue;
            }
            any = true;
            let id = r.policy.id.clone();
            match (r.applies, r.blocks()) {
                (Tri::Yes, Tri::Yes) => o.blocked_by.push(id),
                (_, Tri::Yes | Tri::Unknown) => o.maybe_blocked_by.push(id),
                _ => {}
            }
            if let Some(g) = r.grant().filter(|g| !g.blocks()) {
                o.requirements.push(Requirement {
                    policy_id: r.policy.id.clone(),
                    policy: r.policy.name.clone(),
                    certain: r.applies == Tri::Yes,
                    operator: g.operator,
                    controls: g.controls.clone(),
                });
            }
            if let Ok(rules) = &r.policy.rules {
                o.sessions.extend(rules.sessions.iter().map(|s| (r.policy.id.clone(), s.clone())));
            }
        }
        o.decision = if !o.blocked_by.is_empty() {
            Decision::Blocked
        } else if !o.maybe_blocked_by.is_empty() {
            Decision::MaybeBlocked
        } else if any {
            Decision::Grant
        } else {
            Decision::NoPolicy
        };
        o
    }
}

/// Every policy's result for one sign-in, and what the enforced and the report-only
/// policies decide.
#[derive(Debug, Clone)]
pub struct Evaluation<'p> {
    /// Every policy, in the set's order.
    pub results: Vec<PolicyResult<'p>>,
    /// What enabled policies decide.
    pub enforced: Outcome,
    /// What report-only policies would decide if they were enabled.
    pub report_only: Outcome,
}
