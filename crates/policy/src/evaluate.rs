//! Evaluating a sign-in against every policy of a state, with Entra's semantics: a policy
//! applies when every configured condition matches; exclusions beat inclusions; only enabled
//! policies enforce (report-only ones are evaluated and reported apart); any applicable block
//! wins; otherwise every applicable policy's grant controls must be met.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::apps;
use crate::directory::{Directory, Principal};
use crate::locations::NamedLocation;
use crate::methods_policy::{MethodsPolicy, REGISTRABLE};
use crate::policy::{
    self, AppSet, Control, Grant, LocationSet, Operator, Policy, PolicyError, Rules, Session,
    State, Who,
};
use crate::signin::{DeviceValue, Identity, SignIn, Target};
use crate::strength::{self, Strength};
use crate::tri::Tri;
use crate::vocab::{BuiltInControl, ClientApp, GuestType};

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
            policies: policies
                .iter()
                .map(|p| policy::compile(p, &known))
                .collect(),
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
        self.policies
            .iter()
            .filter_map(|p| p.rules.as_ref().err().map(|e| (p, e)))
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
                Ok(rules) => {
                    let ctx = Ctx::new(self, rules, sign_in, directory, false);
                    ctx.subject(subject).0
                }
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
                self.evaluate_policy(p, subject, users, sign_in, directory, explain)
            })
            .collect();
        let enforced = Outcome::of(&results, State::Enabled);
        let report_only = Outcome::of(&results, State::EnabledForReportingButNotEnforced);
        Evaluation {
            results,
            enforced,
            report_only,
        }
    }

    fn evaluate_policy<'p>(
        &self,
        policy: &'p Policy,
        subject: &Subject<'_>,
        users: Option<Tri>,
        s: &SignIn,
        dir: &Directory,
        explain: bool,
    ) -> PolicyResult<'p> {
        let rules = match &policy.rules {
            Ok(r) => r,
            Err(e) => {
                return PolicyResult {
                    policy,
                    applies: Tri::Unknown,
                    checks: vec![Check {
                        condition: Condition::InvalidPolicy,
                        result: Tri::Unknown,
                        why: e.to_string(),
                    }],
                    unknown: vec![Condition::InvalidPolicy],
                };
            }
        };
        let mut ctx = Ctx::new(self, rules, s, dir, explain);
        // Who first: a policy about other people is decided by that alone. For the rest, with
        // `explain`, every condition is checked so the explanation is complete.
        match users {
            Some(known) => ctx.run(Condition::Users, |_| Some((known, String::new()))),
            None => ctx.run(Condition::Users, |c| Some(c.subject(subject))),
        }
        if ctx.applies == Tri::No {
            // The policy is about other people: nothing else about it concerns this sign-in.
            return PolicyResult {
                policy,
                applies: Tri::No,
                checks: ctx.checks,
                unknown: ctx.unknown,
            };
        }
        ctx.run(Condition::Application, |c| Some(c.target()));
        ctx.run(Condition::ClientApps, Ctx::client_apps);
        ctx.run(Condition::DevicePlatform, Ctx::platform);
        ctx.run(Condition::Location, Ctx::location);
        ctx.run(Condition::SignInRisk, |c| {
            c.risk(&c.rules.sign_in_risk, c.s.sign_in_risk, "sign-in risk")
        });
        ctx.run(Condition::UserRisk, |c| {
            c.risk(&c.rules.user_risk, c.s.user_risk, "user risk")
        });
        ctx.run(Condition::ServicePrincipalRisk, |c| {
            c.risk(
                &c.rules.service_principal_risk,
                c.s.service_principal_risk,
                "service principal risk",
            )
        });
        ctx.run(Condition::InsiderRisk, Ctx::insider_risk);
        ctx.run(Condition::Devices, Ctx::device);
        ctx.run(Condition::AuthenticationFlow, Ctx::transfer);
        PolicyResult {
            policy,
            applies: ctx.applies,
            checks: ctx.checks,
            unknown: ctx.unknown,
        }
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
                let user = dir
                    .find_user(id)
                    .ok_or_else(|| EvaluateError::UnknownUser(id.clone()))?;
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
    fn of(results: &[PolicyResult<'_>], state: State) -> Outcome {
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
                o.sessions.extend(
                    rules
                        .sessions
                        .iter()
                        .map(|s| (r.policy.id.clone(), s.clone())),
                );
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

/// The built-in strength the `mfa` control is equivalent to, built once: the lockout analysis
/// asks about it in every context.
static MFA_STRENGTH: std::sync::LazyLock<Strength> = std::sync::LazyLock::new(|| {
    Strength::built_in()
        .into_iter()
        .find(|b| b.id == strength::MFA)
        .unwrap_or_else(|| Strength {
            id: strength::MFA.to_string(),
            name: "Multifactor authentication".to_string(),
            combinations: Vec::new(),
        })
});

/// What a principal can do to meet controls: the authentication methods they registered, as
/// far as the authentication methods policy lets them use them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `authenticationMethodModes` the principal registered and may use; `None` when their
    /// methods were not captured.
    pub modes: Option<BTreeSet<String>>,
    /// Registered modes the methods policy may or may not let them use.
    pub maybe: BTreeSet<String>,
    /// Why registered modes are not (certainly) usable: mode → reason.
    pub limits: BTreeMap<String, String>,
    /// Modes the methods policy certainly enables for them that they have not registered:
    /// what they could register, or be issued, to meet a requirement.
    pub registrable: BTreeSet<String>,
}

impl Capabilities {
    /// Every registered method counted as usable (what-if without a methods policy).
    pub fn from_methods(methods: Option<&[Value]>) -> Capabilities {
        Capabilities {
            modes: methods.map(strength::modes),
            ..Capabilities::default()
        }
    }

    /// A principal's registered methods through the state's authentication methods policy.
    pub fn of(set: &PolicySet, dir: &Directory, p: &Principal<'_>) -> Capabilities {
        let policy = &set.methods;
        let mut caps = Capabilities::default();
        if let Some(methods) = dir.methods(&p.user.id) {
            let mut usable = BTreeSet::new();
            for m in methods {
                for mode in strength::modes_of_method(m) {
                    let u = policy.usable(mode, Some(m), p, dir);
                    match u.usable {
                        Tri::Yes => {
                            usable.insert(mode.to_string());
                        }
                        Tri::Unknown => {
                            caps.maybe.insert(mode.to_string());
                        }
                        Tri::No => {}
                    }
                    if let Some(why) = u.why {
                        caps.limits.entry(mode.to_string()).or_insert(why);
                    }
                }
            }
            // A mode usable through one method is usable, whatever another says.
            caps.maybe.retain(|m| !usable.contains(m));
            caps.limits.retain(|m, _| !usable.contains(m));
            caps.modes = Some(usable);
        }
        caps.registrable = REGISTRABLE
            .iter()
            .map(|(mode, _)| *mode)
            .filter(|mode| policy.usable(mode, None, p, dir).usable == Tri::Yes)
            .map(str::to_string)
            .collect();
        caps
    }

    fn strength(&self, s: &Strength) -> Tri {
        let Some(modes) = &self.modes else {
            return Tri::Unknown;
        };
        if s.satisfied_by(modes) {
            return Tri::Yes;
        }
        let perhaps: BTreeSet<String> = modes.union(&self.maybe).cloned().collect();
        if s.satisfied_by(&perhaps) {
            Tri::Unknown
        } else {
            Tri::No
        }
    }

    /// The methods the principal could register (or be issued) that would meet a requirement
    /// their usable methods do not, in words; `None` when registering would not help.
    pub fn by_registering(&self, r: &Requirement, s: &SignIn) -> Option<String> {
        let mut more = self.clone();
        let modes = more.modes.get_or_insert_with(BTreeSet::new);
        let added: Vec<&str> = self
            .registrable
            .iter()
            .filter(|m| !modes.contains(*m))
            .map(String::as_str)
            .collect();
        if added.is_empty() {
            return None;
        }
        let base = modes.clone();
        // Name the methods that help on their own; failing that, all of them together.
        let helps = |extra: &[&str]| {
            let mut with = more.clone();
            with.modes = Some(
                base.iter()
                    .cloned()
                    .chain(extra.iter().map(ToString::to_string))
                    .collect(),
            );
            with.requirement(r, s) != Tri::No
        };
        let alone: Vec<&str> = added.iter().copied().filter(|m| helps(&[*m])).collect();
        let useful = if alone.is_empty() {
            if !helps(&added) {
                return None;
            }
            added.clone()
        } else {
            alone
        };
        let labels: Vec<&str> = REGISTRABLE
            .iter()
            .filter(|(m, _)| useful.contains(m))
            .map(|(_, label)| *label)
            .collect();
        Some(labels.join(" or "))
    }

    /// Whether the principal can meet one control in a sign-in.
    pub fn control(&self, control: &Control, s: &SignIn) -> Tri {
        match control {
            Control::BuiltIn { control } => match control {
                BuiltInControl::Block => Tri::No,
                BuiltInControl::Mfa | BuiltInControl::RiskRemediation => {
                    self.strength(&MFA_STRENGTH)
                }
                BuiltInControl::CompliantDevice => s
                    .device_flag("isCompliant")
                    .map_or(Tri::Unknown, Tri::from_bool),
                BuiltInControl::DomainJoinedDevice => match s.device_property("trustType") {
                    Some(DeviceValue::Text(t)) => {
                        Tri::from_bool(t.eq_ignore_ascii_case("ServerAD"))
                    }
                    Some(_) => Tri::No,
                    None if s.device.is_some() => Tri::No,
                    None => Tri::Unknown,
                },
                BuiltInControl::PasswordChange => self
                    .modes
                    .as_ref()
                    .map_or(Tri::Unknown, |m| Tri::from_bool(m.contains("password"))),
                // Which client app signs in is not a signal Rewind is given.
                BuiltInControl::ApprovedApplication | BuiltInControl::CompliantApplication => {
                    Tri::Unknown
                }
            },
            Control::AuthenticationStrength { strength } => self.strength(strength),
            Control::TermsOfUse { .. } => Tri::Yes,
            Control::Custom { .. } => Tri::Unknown,
        }
    }

    /// Whether the principal can meet a requirement (its controls with their operator).
    pub fn requirement(&self, r: &Requirement, s: &SignIn) -> Tri {
        let each = r.controls.iter().map(|c| self.control(c, s));
        match r.operator {
            Operator::And => Tri::all(each),
            Operator::Or => Tri::any(each),
        }
    }
}

/// Evaluation of one policy's conditions.
struct Ctx<'a> {
    set: &'a PolicySet,
    rules: &'a Rules,
    s: &'a SignIn,
    dir: &'a Directory,
    explain: bool,
    checks: Vec<Check>,
    unknown: Vec<Condition>,
    applies: Tri,
}

/// A condition's result: `None` when the policy does not configure it.
type Found = Option<(Tri, String)>;

impl<'a> Ctx<'a> {
    fn new(
        set: &'a PolicySet,
        rules: &'a Rules,
        s: &'a SignIn,
        dir: &'a Directory,
        explain: bool,
    ) -> Ctx<'a> {
        Ctx {
            set,
            rules,
            s,
            dir,
            explain,
            checks: Vec::new(),
            unknown: Vec::new(),
            applies: Tri::Yes,
        }
    }

    fn run(&mut self, condition: Condition, f: impl FnOnce(&Self) -> Found) {
        if self.applies == Tri::No && !self.explain {
            return;
        }
        if let Some((result, why)) = f(self) {
            self.applies = self.applies.and(result);
            if result == Tri::Unknown {
                self.unknown.push(condition);
            }
            if self.explain {
                let condition = if condition == Condition::Users
                    && matches!(self.s.identity, Identity::ServicePrincipal(_))
                {
                    Condition::WorkloadIdentities
                } else {
                    condition
                };
                self.checks.push(Check {
                    condition,
                    result,
                    why,
                });
            }
        }
    }

    fn say(&self, f: impl FnOnce() -> String) -> String {
        if self.explain { f() } else { String::new() }
    }

    fn subject(&self, subject: &Subject<'_>) -> (Tri, String) {
        match subject {
            Subject::User(p, guest) => self.user(p, *guest),
            Subject::ServicePrincipal(id) => self.workload(id),
        }
    }

    fn user(&self, p: &Principal<'_>, guest: Option<GuestType>) -> (Tri, String) {
        if self.rules.include.is_empty() {
            return (
                Tri::No,
                self.say(|| "the policy targets workload identities, not users".into()),
            );
        }
        let guest = self.s.guest_type.or(guest);
        let (inc, inc_why) = self.who(&self.rules.include, p, guest);
        let (exc, exc_why) = self.who(&self.rules.exclude, p, guest);
        let result = inc.and(!exc);
        let why = self.say(|| match (inc, exc) {
            (_, Tri::Yes) => format!("excluded: {exc_why}"),
            (Tri::No, _) => "not included".into(),
            (Tri::Yes, Tri::No) => format!("included: {inc_why}"),
            (Tri::Unknown, _) => format!("may be included: {inc_why}"),
            (Tri::Yes, Tri::Unknown) => format!("included: {inc_why}; may be excluded: {exc_why}"),
        });
        (result, why)
    }

    fn who(&self, who: &Who, p: &Principal<'_>, guest: Option<GuestType>) -> (Tri, String) {
        if who.all {
            return (Tri::Yes, self.say(|| "all users".into()));
        }
        if who.users.contains(&p.user.id) {
            return (Tri::Yes, self.say(|| "named as a user".into()));
        }
        if let Some(g) = who.groups.iter().find(|g| p.groups.contains(g.as_str())) {
            return (
                Tri::Yes,
                self.say(|| format!("member of group '{}'", self.dir.group_name(g).unwrap_or(g))),
            );
        }
        if let Some(r) = who.roles.iter().find(|r| p.roles.contains(r.as_str())) {
            return (
                Tri::Yes,
                self.say(|| format!("holds role '{}'", self.dir.role_name(r).unwrap_or(r))),
            );
        }
        if who.guests_or_external && guest.is_some() {
            return (Tri::Yes, self.say(|| "a guest or external user".into()));
        }
        if let (Some(ext), Some(g)) = (&who.external, guest)
            && ext.types.contains(&g)
        {
            let tenant = match (&ext.tenants, &self.s.external_tenant) {
                (None, _) => Tri::Yes,
                (Some(list), Some(t)) => {
                    Tri::from_bool(list.iter().any(|x| x.eq_ignore_ascii_case(t)))
                }
                (Some(_), None) => Tri::Unknown,
            };
            if tenant != Tri::No {
                return (tenant, self.say(|| format!("a {g} from a listed tenant")));
            }
        }
        (Tri::No, String::new())
    }

    fn workload(&self, id: &str) -> (Tri, String) {
        let Some(w) = &self.rules.workloads else {
            return (
                Tri::No,
                self.say(|| "the policy targets users, not workload identities".into()),
            );
        };
        if w.exclude.iter().any(|x| x == id) {
            return (Tri::No, self.say(|| "excluded service principal".into()));
        }
        let inc = if w.all || w.include.iter().any(|x| x == id) {
            Tri::Yes
        } else {
            Tri::No
        };
        // A service principal filter reads custom security attributes Rewind does not keep.
        let inc = if w.filter { inc.or(Tri::Unknown) } else { inc };
        (
            inc,
            self.say(|| {
                format!(
                    "service principal {}",
                    if inc == Tri::Yes {
                        "included"
                    } else {
                        "not included"
                    }
                )
            }),
        )
    }

    fn target(&self) -> (Tri, String) {
        let apps = &self.rules.apps;
        match &self.s.target {
            Target::App(app) => {
                let inc = app_in(&apps.include, app);
                let exc = app_in(&apps.exclude, app);
                let mut result = inc.and(!exc);
                if apps.filter.is_some() && result == Tri::Yes {
                    // The application filter reads custom security attributes of apps.
                    result = Tri::Unknown;
                }
                let name = self
                    .dir
                    .app_name(app)
                    .or_else(|| apps::well_known_name(app))
                    .unwrap_or(app);
                let why = self.say(|| match (inc, exc) {
                    (_, Tri::Yes) => format!("'{name}' is excluded"),
                    (Tri::No, _) if !apps.actions.is_empty() => {
                        "the policy targets user actions".into()
                    }
                    (Tri::No, _) if !apps.contexts.is_empty() => {
                        "the policy targets authentication contexts".into()
                    }
                    (Tri::No, _) => format!("'{name}' is not included"),
                    _ if result == Tri::Unknown => {
                        format!("'{name}' is included; the application filter cannot be evaluated")
                    }
                    _ => format!("'{name}' is included"),
                });
                (result, why)
            }
            Target::UserAction(a) => {
                let hit = apps.actions.contains(a);
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!(
                            "user action {a} {}",
                            if hit {
                                "is included"
                            } else {
                                "is not included"
                            }
                        )
                    }),
                )
            }
            Target::AuthContext(c) => {
                let hit = apps.contexts.iter().any(|x| x.eq_ignore_ascii_case(c));
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!(
                            "authentication context {c} {}",
                            if hit {
                                "is included"
                            } else {
                                "is not included"
                            }
                        )
                    }),
                )
            }
        }
    }

    fn client_apps(&self) -> Found {
        let list = self.rules.client_apps.as_ref()?;
        let names = || list.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
        Some(match self.s.client_app {
            None => (
                Tri::Unknown,
                self.say(|| format!("applies to {}; client app not given", names())),
            ),
            Some(c) => {
                let hit = list.contains(&c)
                    || (c == ClientApp::ExchangeActiveSync
                        && list.contains(&ClientApp::EasSupported));
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!(
                            "{c} {} {}",
                            if hit { "is in" } else { "is not in" },
                            names()
                        )
                    }),
                )
            }
        })
    }

    fn platform(&self) -> Found {
        let p = self.rules.platforms.as_ref()?;
        Some(match self.s.platform {
            None => (Tri::Unknown, self.say(|| "platform not given".into())),
            Some(platform) => {
                let inc = p.all || p.include.contains(&platform);
                let exc = p.exclude.contains(&platform);
                let hit = inc && !exc;
                (
                    Tri::from_bool(hit),
                    self.say(|| match (inc, exc) {
                        (_, true) => format!("{platform} is excluded"),
                        (false, _) => format!("{platform} is not included"),
                        _ => format!("{platform} is included"),
                    }),
                )
            }
        })
    }

    fn location_in(&self, set: &LocationSet) -> (Tri, String) {
        if set.all {
            return (Tri::Yes, self.say(|| "any location".into()));
        }
        let ip = self.s.ip;
        let country = self.s.country.as_deref();
        let mut result = Tri::No;
        let mut named = String::new();
        if set.all_trusted {
            let trusted = Tri::any(
                self.set
                    .locations
                    .values()
                    .filter(|l| l.trusted)
                    .map(|l| l.contains(ip, country)),
            );
            let trusted = if ip.is_none() { Tri::Unknown } else { trusted };
            if trusted == Tri::Yes {
                return (Tri::Yes, self.say(|| "a trusted location".into()));
            }
            result = result.or(trusted);
        }
        for id in &set.ids {
            let hit = self
                .set
                .locations
                .get(id)
                .map_or(Tri::Unknown, |l| l.contains(ip, country));
            if hit == Tri::Yes {
                let name = self
                    .set
                    .locations
                    .get(id)
                    .map_or(id.as_str(), |l| l.name.as_str());
                named = self.say(|| format!("in '{name}'"));
                return (Tri::Yes, named);
            }
            result = result.or(hit);
        }
        if result == Tri::Unknown {
            named = self.say(|| "cannot tell without the IP address or country".into());
        }
        (result, named)
    }

    fn location(&self) -> Found {
        let (include, exclude) = self.rules.locations.as_ref()?;
        let (inc, inc_why) = self.location_in(include);
        let (exc, exc_why) = self.location_in(exclude);
        let result = inc.and(!exc);
        let why = self.say(|| match (inc, exc) {
            (_, Tri::Yes) => format!("excluded: {exc_why}"),
            (Tri::No, _) => "not in an included location".into(),
            (Tri::Yes, Tri::No) if exclude == &LocationSet::default() => {
                format!("included: {inc_why}")
            }
            (Tri::Yes, Tri::No) => format!("included: {inc_why}, and not in an excluded location"),
            (Tri::Unknown, _) => format!("may be included: {inc_why}"),
            (Tri::Yes, Tri::Unknown) => format!("included: {inc_why}; may be excluded: {exc_why}"),
        });
        Some((result, why))
    }

    fn risk(
        &self,
        levels: &[crate::vocab::RiskLevel],
        signal: Option<crate::vocab::RiskLevel>,
        what: &str,
    ) -> Found {
        if levels.is_empty() {
            return None;
        }
        Some(match signal {
            None => (Tri::Unknown, self.say(|| format!("{what} not given"))),
            Some(level) => {
                let hit = levels.contains(&level);
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!(
                            "{what} {level} {}",
                            if hit { "matches" } else { "does not match" }
                        )
                    }),
                )
            }
        })
    }

    fn insider_risk(&self) -> Found {
        if self.rules.insider_risk.is_empty() {
            return None;
        }
        Some(match self.s.insider_risk {
            None => (Tri::Unknown, self.say(|| "insider risk not given".into())),
            Some(level) => {
                let hit = self.rules.insider_risk.contains(&level);
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!(
                            "insider risk {level} {}",
                            if hit { "matches" } else { "does not match" }
                        )
                    }),
                )
            }
        })
    }

    fn device(&self) -> Found {
        let f = self.rules.device_filter.as_ref()?;
        let matched = f.rule.matches(self.s.device.as_ref());
        let result = if f.include { matched } else { !matched };
        let why = self.say(|| {
            let mode = if f.include { "include" } else { "exclude" };
            match matched {
                Tri::Unknown => {
                    format!("device filter ({mode}) `{}`: device not described", f.text)
                }
                Tri::Yes => format!("device matches the {mode} filter `{}`", f.text),
                Tri::No => format!("device does not match the {mode} filter `{}`", f.text),
            }
        });
        Some((result, why))
    }

    fn transfer(&self) -> Found {
        if self.rules.transfer_methods.is_empty() {
            return None;
        }
        Some(match self.s.transfer_method {
            None => (
                Tri::Unknown,
                self.say(|| "authentication flow not given".into()),
            ),
            Some(t) => {
                let hit = self.rules.transfer_methods.contains(&t);
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!(
                            "flow {t} {}",
                            if hit { "matches" } else { "does not match" }
                        )
                    }),
                )
            }
        })
    }
}

fn app_in(set: &AppSet, app: &str) -> Tri {
    Tri::from_bool(
        set.all
            || set.ids.iter().any(|a| a.eq_ignore_ascii_case(app))
            || (set.office365 && apps::is_office365(app))
            || (set.admin_portals && apps::is_admin_portal(app)),
    )
}
