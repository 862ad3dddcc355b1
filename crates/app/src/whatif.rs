//! `rewind whatif --json`: which Conditional Access policies of a point apply to one sign-in,
//! why, and what they require — the report of [`rewind_policy::PolicySet::evaluate`].

use std::collections::BTreeSet;

use rewind_policy::{
    Capabilities, Check, Evaluation, Grant, Outcome, PolicyError, PolicyResult, Requirement,
    SignIn, State, Tri, User,
};
use serde::Serialize;

use crate::compare::PointStamp;

/// One sign-in's evaluation at one point.
#[derive(Debug, Serialize)]
pub struct WhatIfReport<'a> {
    /// The point evaluated.
    pub at: PointStamp,
    /// Who signs in.
    pub user: UserRef<'a>,
    /// The sign-in's signals.
    pub sign_in: &'a SignIn,
    /// What the enforced policies decide together.
    pub outcome: &'a Outcome,
    /// What the report-only policies would decide.
    pub report_only: &'a Outcome,
    /// The enforced policies' requirements, each with whether the user can satisfy it.
    pub requirements: Vec<Satisfiable<'a>>,
    /// The authentication methods the user registered and may use, when known.
    pub methods: Option<&'a BTreeSet<String>>,
    /// Every policy with whether it applies and why.
    pub policies: Vec<PolicyEntry<'a>>,
}

/// The user of a sign-in.
#[derive(Debug, Serialize)]
pub struct UserRef<'a> {
    /// Object id.
    pub id: &'a str,
    /// User principal name.
    pub user_principal_name: &'a str,
}

/// A requirement and whether the user's registered methods can meet it.
#[derive(Debug, Serialize)]
pub struct Satisfiable<'a> {
    /// The requirement.
    #[serde(flatten)]
    pub requirement: &'a Requirement,
    /// Whether the user can satisfy it.
    pub satisfiable: Tri,
}

/// One policy's result.
#[derive(Debug, Serialize)]
pub struct PolicyEntry<'a> {
    /// The policy's id.
    pub id: &'a str,
    /// Its name.
    pub display_name: &'a str,
    /// Enabled, report-only or disabled.
    pub state: State,
    /// Whether it applies.
    pub applies: Tri,
    /// The conditions that decided it, in short.
    pub analysis_reasons: String,
    /// Each configured condition's result.
    pub checks: &'a [Check],
    /// Its grant controls, when it could be read.
    pub grant: Option<&'a Grant>,
    /// Why it could not be read, if it could not.
    pub error: Option<&'a PolicyError>,
}

impl<'a> WhatIfReport<'a> {
    /// The report of `evaluation` of `sign_in` by `user`, whose capabilities are `caps`.
    pub fn new(
        at: PointStamp,
        user: &'a User,
        sign_in: &'a SignIn,
        evaluation: &'a Evaluation<'a>,
        caps: &'a Capabilities,
    ) -> Self {
        WhatIfReport {
            at,
            user: UserRef { id: &user.id, user_principal_name: &user.user_principal_name },
            sign_in,
            outcome: &evaluation.enforced,
            report_only: &evaluation.report_only,
            requirements: evaluation
                .enforced
                .requirements
                .iter()
                .map(|q| Satisfiable { requirement: q, satisfiable: caps.requirement(q, sign_in) })
                .collect(),
            methods: caps.modes.as_ref(),
            policies: evaluation.results.iter().map(PolicyEntry::from).collect(),
        }
    }
}

impl<'a> From<&'a PolicyResult<'a>> for PolicyEntry<'a> {
    fn from(r: &'a PolicyResult<'a>) -> Self {
        PolicyEntry {
            id: &r.policy.id,
            display_name: &r.policy.name,
            state: r.policy.state,
            applies: r.applies,
            analysis_reasons: r.analysis_reasons(),
            checks: &r.checks,
            grant: r.grant(),
            error: r.policy.rules.as_ref().err(),
        }
    }
}
