//! Evaluating a sign-in against every policy of a state, with Entra's semantics: a policy
//! applies when every configured condition matches; exclusions beat inclusions; only enabled
//! policies enforce (report-only ones are evaluated and reported apart); any applicable block
//! wins; otherwise every applicable policy's grant controls must be met.

mod capabilities;
mod conditions;
mod outcome;

use std::collections::HashMap;

use serde_json::Value;

use crate::directory::{Directory, Principal};
use crate::locations::NamedLocation;
use crate::methods_policy::MethodsPolicy;
use crate::policy::{self, Policy, PolicyError, State};
use crate::signin::{Identity, SignIn};
use crate::strength::Strength;
use crate::tri::Tri;
use crate::vocab::GuestType;

pub use capabilities::Capabilities;
pub use outcome::{Check, Condition, Decision, Evaluation, Outcome, PolicyResult, Requirement};

/// The policies of one state, compiled, with the named locations they name.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// Every policy, in the order given.
    pub policies: Vec<Policy>,
    /// Named locations by id.
    pub locations: HashMap<String, NamedLocation>,
    /// Named locations that could not be read.
    pub location_errors: Vec<String>,
    /// The authentication methods policy: which registered methods count (unknown until
    /// given).
    pub methods: MethodsPolicy,
}

impl PolicySet {
    /// Compiles policies with the named locations and authentication strengths of the same
    /// state (built-in strengths are always known).
    pub fn compile(policies: &[Value], locations: &[Value], strengths: &[Value]) -> PolicySet {
        let mut known = Strength::built_in();
        for s in strengths.iter().filter_map(Strength::from_graph) {
            known.retain(|k| k.id != s.id);
            known.push(s);
        }
        let mut set = PolicySet {
            policies: policies.iter().map(|p| policy::compile(p, &known)).collect(),
            ..PolicySet::default()
        };
        for l in locations {
            match NamedLocation::from_graph(l) {
                Ok(l) => {
                    set.locations.insert(l.id.clone(), l);
                }
                Err(e) => set.location_errors.push(e),
            }
        }
        set
    }

    /// The same set with the state's authentication methods policy.
    #[must_use]
    pub fn with_methods(mut self, methods: MethodsPolicy) -> PolicySet {
        self.methods = methods;
        self
    }

    /// Policies that could not be read.
    pub fn errors(&self) -> impl Iterator<Item = (&Policy, &PolicyError)> {
        self.policies.iter().filter_map(|p| p.rules.as_ref().err().map(|e| (p, e)))
    }

    /// Evaluates one sign-in.
    pub fn evaluate<'p>(
        &'p self,
        directory: &Directory,
        sign_in: &SignIn,
    ) -> Result<Evaluation<'p>, EvaluateError> {
        let subject = Subject::resolve(directory, &sign_in.identity)?;
        Ok(self.evaluate_subject(&subject, sign_in, directory, None, true))
    }

    /// Whether each policy's users (or workload identities) condition matches a subject: the
    /// part of an evaluation that does not depend on the sign-in's other signals, computed
    /// once for the many sign-ins of one principal.
    pub fn scope(
        &self,
        subject: &Subject<'_>,
        sign_in: &SignIn,
        directory: &Directory,
    ) -> Vec<Tri> {
        self.policies
            .iter()
            .map(|p| match &p.rules {
                Err(_) => Tri::Unknown,
                Ok(rules) => conditions::users(self, rules, subject, sign_in, directory),
            })
            .collect()
    }

    /// Evaluates one sign-in of an already resolved subject, with its [`scope`](Self::scope)
    /// when known; `explain` false skips the explanations (the lockout analysis evaluates
    /// thousands of sign-ins).
    pub fn evaluate_subject<'p>(
        &'p self,
        subject: &Subject<'_>,
        sign_in: &SignIn,
        directory: &Directory,
        scope: Option<&[Tri]>,
        explain: bool,
    ) -> Evaluation<'p> {
        let results: Vec<PolicyResult<'p>> = self
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let users = scope.and_then(|s| s.get(i).copied());
                conditions::policy_result(self, p, subject, users, sign_in, directory, explain)
            })
            .collect();
        let enforced = Outcome::of(&results, State::Enabled);
        let report_only = Outcome::of(&results, State::EnabledForReportingButNotEnforced);
        Evaluation { results, enforced, report_only }
    }
}

/// Why a sign-in could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluateError {
    /// The user is not in this state.
    #[error("no user '{0}' in this state; give an object id or user principal name")]
    UnknownUser(String),
    /// The service principal is not in this state.
    #[error("no service principal '{0}' in this state")]
    UnknownServicePrincipal(String),
}

/// Who signs in, resolved against the directory once for many sign-ins.
#[derive(Debug, Clone)]
pub enum Subject<'d> {
    /// A user with their groups and roles, and their guest type.
    User(Principal<'d>, Option<GuestType>),
    /// A service principal by object id.
    ServicePrincipal(String),
}

impl<'d> Subject<'d> {
    /// Resolves an identity.
    pub fn resolve(dir: &'d Directory, identity: &Identity) -> Result<Subject<'d>, EvaluateError> {
        match identity {
            Identity::User(id) => {
                let user =
                    dir.find_user(id).ok_or_else(|| EvaluateError::UnknownUser(id.clone()))?;
                let principal = dir
                    .principal(&user.id)
                    .ok_or_else(|| EvaluateError::UnknownUser(id.clone()))?;
                let guest = user.guest_type();
                Ok(Subject::User(principal, guest))
            }
            Identity::ServicePrincipal(id) => {
                dir.app_of_service_principal(id)
                    .ok_or_else(|| EvaluateError::UnknownServicePrincipal(id.clone()))?;
                Ok(Subject::ServicePrincipal(id.clone()))
            }
        }
    }
}
