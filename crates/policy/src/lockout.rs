//! Lockout analysis: can the accounts that must always get in still get in?
//!
//! Protected principals are the break-glass accounts (configured, or found by name when none
//! are configured — and then reported as found so) and every user with an active Global
//! Administrator or Privileged Role Administrator assignment. Each is signed in, in thought,
//! from every class of context that matters — the admin portals and Microsoft Graph
//! PowerShell (the way in when the portals are closed); each platform; a trusted location,
//! an untrusted one at home and one abroad; a browser and a desktop or mobile client; a
//! managed and an unmanaged device — and each context passes (no block, and the controls
//! asked for can be met with the authentication methods the principal registered), fails,
//! or cannot be decided.
//!
//! Break-glass accounts must pass everywhere: they exist for the day nothing else works.
//! Administrators must pass on a managed device at home (trusted or not); restrictions
//! abroad or on unmanaged devices are what good policies do. A principal is locked out when
//! every context that must pass certainly keeps them out of the admin portals, at risk when
//! some context that must pass fails or cannot be decided: a verdict that rests on an unknown
//! is never "safe" and never "locked out". The tenant is critical when every break-glass
//! account or every Global Administrator is locked out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::contexts::{Context, contexts};
use crate::directory::{Directory, User};
use crate::evaluate::{Capabilities, Decision, Evaluation, PolicySet, Requirement, Subject};
use crate::facts;
use crate::policy::{Control, Operator, PolicyError};
use crate::signin::{Identity, SignIn, Target};
use crate::strength;
use crate::tri::Tri;
use crate::vocab::{BuiltInControl, RiskLevel, UserAction};
use rewind_model::roles::PROTECTED_ROLES;

/// Words that mark an account as break-glass when none is configured.
pub const BREAK_GLASS_WORDS: &[&str] = &[
    "break glass",
    "breakglass",
    "break-glass",
    "break_glass",
    "emergency access",
    "emergency-access",
    "emergencyaccess",
];

/// What the analysis is told.
#[derive(Debug, Clone, Default)]
pub struct LockoutOptions {
    /// Break-glass accounts by object id or user principal name; empty to find them by name.
    pub break_glass: Vec<String>,
    /// The country administrators sign in from at home; by default the most common usage
    /// location of the protected principals.
    pub home_country: Option<String>,
    /// Rewind's own application (client) id: its service principal must reach Microsoft Graph,
    /// or Rewind cannot restore. `None` when Rewind signs in another way.
    pub restore_app: Option<String>,
}

/// A principal's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every context that must pass passes.
    Safe,
    /// Some context that must pass fails or cannot be decided.
    AtRisk,
    /// Every context that must pass certainly keeps them out of the admin portals.
    LockedOut,
}

/// The tenant's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lockout {
    /// Every protected principal is safe.
    Ok,
    /// Some protected principal is at risk or locked out (or no break-glass account exists).
    AtRisk,
    /// Every break-glass account, or every Global Administrator, is locked out.
    Critical,
}

/// Why a principal is protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum Protection {
    /// Configured as a break-glass account.
    BreakGlass,
    /// Found by name as a break-glass account (none configured).
    BreakGlassByName(String),
    /// Holds the role (its name) actively.
    Role(String),
    /// Is eligible for the role (its name) through PIM.
    Eligible(String),
    /// Rewind's own application: it must be able to reach Microsoft Graph to restore.
    RestoreIdentity,
}

impl Protection {
    /// Whether it makes the principal a break-glass account.
    pub fn is_break_glass(&self) -> bool {
        matches!(self, Protection::BreakGlass | Protection::BreakGlassByName(_))
    }

    /// In words.
    pub fn label(&self) -> String {
        match self {
            Protection::BreakGlass => "break-glass account (configured)".into(),
            Protection::BreakGlassByName(why) => format!("break-glass account (found by {why})"),
            Protection::Role(r) => r.clone(),
            Protection::Eligible(r) => format!("{r} (eligible, PIM)"),
            Protection::RestoreIdentity => "Rewind's restore identity".into(),
        }
    }
}

/// One context's result for one principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextResult {
    /// The context in words: `admin portals · windows · untrusted (US) · browser · managed`.
    pub context: String,
    /// Whether the principal gets in.
    pub result: Tri,
    /// Whether this context must pass for this principal.
    pub must_pass: bool,
    /// Policies that block, may block, or ask for what the principal cannot do.
    pub policies: Vec<String>,
    /// Why, in words.
    pub why: String,
}

/// One protected principal's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalReport {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Why protected, in words (DESIGN §8.1).
    pub why_protected: Vec<String>,
    /// Why protected, typed.
    pub protection: Vec<Protection>,
    /// The verdict.
    pub verdict: Verdict,
    /// Policies responsible for every failing or undecided context that must pass.
    pub policies: Vec<String>,
    /// Method modes the principal registered; `None` when they were not captured.
    pub methods: Option<Vec<String>>,
    /// Registered modes the authentication methods policy certainly lets them use.
    pub usable_methods: Option<Vec<String>>,
    /// Registered modes that do not (certainly) count, with why.
    pub unusable_methods: Vec<String>,
    /// Policies whose requirements the usable methods cannot meet in a must-pass context.
    pub unmet: Vec<String>,
    /// Contexts that must pass and do not, first the failing ones.
    pub findings: Vec<ContextResult>,
    /// Contexts evaluated.
    pub contexts: usize,
}

impl PrincipalReport {
    /// A report that starts safe, with nothing found yet.
    fn safe(
        id: String,
        user_principal_name: String,
        display_name: String,
        protection: Vec<Protection>,
        contexts: usize,
    ) -> PrincipalReport {
        PrincipalReport {
            id,
            user_principal_name,
            display_name,
            why_protected: protection.iter().map(Protection::label).collect(),
            protection,
            verdict: Verdict::Safe,
            policies: Vec::new(),
            methods: None,
            usable_methods: None,
            unusable_methods: Vec::new(),
            unmet: Vec::new(),
            findings: Vec::new(),
            contexts,
        }
    }
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The tenant's verdict.
    pub verdict: Lockout,
    /// Protected principals, break-glass accounts first.
    pub principals: Vec<PrincipalReport>,
    /// Rewind's own service principal, when its application id is known: a policy that blocks
    /// it leaves nobody able to restore with Rewind.
    pub restore_identity: Option<PrincipalReport>,
    /// Things the reader must know (no break-glass account, assumptions made).
    pub notes: Vec<String>,
    /// Policies that could not be read (their effect counts as unknown).
    pub policy_errors: Vec<PolicyError>,
    /// The country taken as home.
    pub home_country: Option<String>,
}

/// Runs the analysis over a state.
pub fn analyse(set: &PolicySet, dir: &Directory, options: &LockoutOptions) -> Analysis {
    let mut notes = Vec::new();
    let protected = protected_principals(dir, options, &mut notes);
    let home = options.home_country.clone().or_else(|| {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (u, _) in &protected {
            if let Some(c) = u.usage_location.as_deref() {
                *counts.entry(c).or_default() += 1;
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c.to_string())
    });
    if home.is_none() {
        notes.push(
            "no home country is configured or known from usage locations; contexts at home have no country"
                .into(),
        );
    }
    let templates = contexts(set, home.as_deref());
    let mut principals: Vec<PrincipalReport> = protected
        .iter()
        .map(|(user, why)| principal(set, dir, user, why.clone(), &templates))
        .collect();
    principals.sort_by(|a, b| {
        let bg = |p: &PrincipalReport| !p.protection.iter().any(Protection::is_break_glass);
        bg(a).cmp(&bg(b)).then(a.user_principal_name.cmp(&b.user_principal_name))
    });
    let break_glass: Vec<&PrincipalReport> =
        principals.iter().filter(|p| p.protection.iter().any(Protection::is_break_glass)).collect();
    let global_admins: Vec<&PrincipalReport> = principals
        .iter()
        .filter(|p| {
            p.protection
                .iter()
                .any(|w| matches!(w, Protection::Role(r) if r == "Global Administrator"))
        })
        .collect();
    let restore = options.restore_app.as_deref().map(|app| restore_identity(set, dir, app));
    let all_locked = |ps: &[&PrincipalReport]| {
        !ps.is_empty() && ps.iter().all(|p| p.verdict == Verdict::LockedOut)
    };
    let verdict = if all_locked(&break_glass) || all_locked(&global_admins) {
        Lockout::Critical
    } else if break_glass.is_empty()
        || principals.iter().any(|p| p.verdict != Verdict::Safe)
        || restore.as_ref().is_some_and(|r| r.verdict != Verdict::Safe)
    {
        Lockout::AtRisk
    } else {
        Lockout::Ok
    };
    if break_glass.is_empty() {
        notes.push("no break-glass account is configured or recognised by name; configure break_glass (REWIND_BREAK_GLASS) so they are checked first".into());
    }
    Analysis {
        verdict,
        principals,
        restore_identity: restore,
        notes,
        policy_errors: set.errors().map(|(_, e)| e.clone()).collect(),
        home_country: home,
    }
}

fn protected_principals<'d>(
    dir: &'d Directory,
    options: &LockoutOptions,
    notes: &mut Vec<String>,
) -> Vec<(&'d User, Vec<Protection>)> {
    let mut found: BTreeMap<&str, (&User, Vec<Protection>)> = BTreeMap::new();
    if options.break_glass.is_empty() {
        for u in dir.users() {
            if let Some(field) = break_glass_by_name(u) {
                found
                    .entry(u.id.as_str())
                    .or_insert((u, Vec::new()))
                    .1
                    .push(Protection::BreakGlassByName(field.to_string()));
            }
        }
    } else {
        for wanted in &options.break_glass {
            match dir.find_user(wanted) {
                Some(u) => found
                    .entry(u.id.as_str())
                    .or_insert((u, Vec::new()))
                    .1
                    .push(Protection::BreakGlass),
                None => notes.push(format!(
                    "configured break-glass account '{wanted}' is not in this state: it was deleted or never existed"
                )),
            }
        }
    }
    for &(role, name) in PROTECTED_ROLES {
        for u in dir.holders_of(role) {
            found
                .entry(u.id.as_str())
                .or_insert((u, Vec::new()))
                .1
                .push(Protection::Role(name.to_string()));
        }
        for u in dir.eligible_holders_of(role) {
            let why = &mut found.entry(u.id.as_str()).or_insert((u, Vec::new())).1;
            if !why.contains(&Protection::Role(name.to_string())) {
                why.push(Protection::Eligible(name.to_string()));
            }
        }
    }
    found.into_values().collect()
}

/// Whether a user's name, user principal name or job title marks them as a break-glass
/// account, and which of them does.
pub fn break_glass_by_name(u: &User) -> Option<&'static str> {
    [
        ("name", u.display_name.as_str()),
        ("user principal name", u.user_principal_name.as_str()),
        ("job title", u.job_title.as_deref().unwrap_or_default()),
    ]
    .into_iter()
    .find(|(_, h)| {
        let h = h.to_lowercase();
        BREAK_GLASS_WORDS.iter().any(|w| h.contains(w))
    })
    .map(|(field, _)| field)
}

/// Microsoft Graph, which Rewind's restore calls.
const MICROSOFT_GRAPH: &str = "00000003-0000-0000-c000-000000000000";

/// Rewind's own service principal, signing in app-only to Microsoft Graph from wherever Rewind
/// runs (its address is not known: a location condition is undecided). Conditional Access for
/// workload identities can only block, so the question is whether any enabled policy does.
fn restore_identity(set: &PolicySet, dir: &Directory, app_id: &str) -> PrincipalReport {
    let name = dir.app_name(app_id).unwrap_or("Rewind").to_string();
    let mut report = PrincipalReport::safe(
        app_id.to_string(),
        name,
        format!("app {app_id}"),
        vec![Protection::RestoreIdentity],
        1,
    );
    let targets_workloads =
        set.policies.iter().any(|p| p.rules.as_ref().map_or(true, |r| r.workloads.is_some()));
    if !targets_workloads {
        return report;
    }
    let Some(sp) = dir.service_principal_of_app(app_id) else {
        report.verdict = Verdict::AtRisk;
        report.findings.push(ContextResult {
            context: "app-only sign-in to Microsoft Graph".into(),
            result: Tri::Unknown,
            must_pass: true,
            policies: Vec::new(),
            why: "Rewind's service principal is not in this state, and policies target workload identities".into(),
        });
        return report;
    };
    let mut s = SignIn::new(
        Identity::ServicePrincipal(sp.to_string()),
        Target::App(MICROSOFT_GRAPH.into()),
    );
    s.service_principal_risk = Some(RiskLevel::None);
    let Ok(subject) = Subject::resolve(dir, &s.identity) else {
        return report;
    };
    let e = set.evaluate_subject(&subject, &s, dir, None, false);
    let caps = Capabilities::default();
    let judged = judge(&e, &caps, &s, &report.user_principal_name);
    if judged.result != Tri::Yes {
        report.verdict =
            if judged.result == Tri::No { Verdict::LockedOut } else { Verdict::AtRisk };
        report.policies.clone_from(&judged.policies);
        report.findings.push(ContextResult {
            context: "app-only sign-in to Microsoft Graph".into(),
            result: judged.result,
            must_pass: true,
            policies: judged.policies,
            why: judged.why.join("; "),
        });
    }
    report
}

fn principal(
    set: &PolicySet,
    dir: &Directory,
    user: &User,
    protection: Vec<Protection>,
    templates: &[Context],
) -> PrincipalReport {
    let break_glass = protection.iter().any(Protection::is_break_glass);
    let eligible = eligible_roles(&protection);
    let (id, upn, name) = (&user.id, &user.user_principal_name, &user.display_name);
    let mut report =
        PrincipalReport::safe(id.clone(), upn.clone(), name.clone(), protection, templates.len());
    if !user.account_enabled {
        return disabled(report);
    }
    let subject = Subject::resolve(dir, &Identity::User(id.clone())).ok();
    let Some(sign_ins) =
        subject.and_then(|s| SignIns::of(set, dir, user, s, &eligible, &templates[0]))
    else {
        return report;
    };
    sign_ins.describe_methods(&mut report);
    let mut admin = AdminAccess::new();
    for t in templates.iter().filter(|t| break_glass || t.must_pass_admin) {
        report.findings.extend(admin.record(t, sign_ins.judge(t)));
    }
    if !eligible.is_empty() {
        report.findings.extend(admin.activate(activation(&sign_ins.caps, &eligible)));
    }
    admin.conclude(report)
}

/// The roles a principal is protected for by being eligible for them.
fn eligible_roles(protection: &[Protection]) -> Vec<String> {
    let eligible = protection.iter().filter_map(|p| match p {
        Protection::Eligible(r) => Some(r.clone()),
        _ => None,
    });
    eligible.collect()
}

/// A disabled account is locked out of every context.
fn disabled(mut report: PrincipalReport) -> PrincipalReport {
    report.verdict = Verdict::LockedOut;
    report.findings.push(ContextResult {
        context: "every context".into(),
        result: Tri::No,
        must_pass: true,
        policies: Vec::new(),
        why: "the account is disabled".into(),
    });
    report
}

/// One user's sign-ins: as they are and, when eligible for roles, with the roles active.
struct SignIns<'a> {
    set: &'a PolicySet,
    dir: &'a Directory,
    user: &'a User,
    caps: Capabilities,
    subjects: Vec<Subject<'a>>,
    /// Which policies apply to each subject (the same in every context).
    scopes: Vec<Vec<Tri>>,
}

impl<'a> SignIns<'a> {
    /// An eligible administrator signs in without the role, activates it, and then works with
    /// it: both sign-ins must pass (policies may target or exclude the role).
    fn of(
        set: &'a PolicySet,
        dir: &'a Directory,
        user: &'a User,
        subject: Subject<'a>,
        eligible: &[String],
        template: &Context,
    ) -> Option<Self> {
        let Subject::User(principal, guest) = subject else { return None };
        let caps = Capabilities::of(set, dir, &principal);
        let active = (!eligible.is_empty()).then(|| {
            let mut active = principal.clone();
            active.roles.extend(dir.eligible_roles(&user.id));
            Subject::User(active, guest)
        });
        let subjects: Vec<Subject<'a>> =
            std::iter::once(Subject::User(principal, guest)).chain(active).collect();
        let scopes = subjects.iter().map(|s| set.scope(s, &template.sign_in, dir)).collect();
        Some(SignIns { set, dir, user, caps, subjects, scopes })
    }

    /// The user's registered methods, those the methods policy lets them use, and why not
    /// the others.
    fn describe_methods(&self, report: &mut PrincipalReport) {
        let methods = self.dir.methods(&self.user.id);
        report.methods = methods.map(|m| strength::modes(m).into_iter().collect());
        report.usable_methods = self.caps.modes.as_ref().map(|m| m.iter().cloned().collect());
        let limits = self.caps.limits.iter();
        report.unusable_methods = limits.map(|(mode, why)| format!("{mode}: {why}")).collect();
    }

    /// Every sign-in of the user in context `t`, judged together.
    fn judge(&self, t: &Context) -> Judged {
        let (set, dir, caps, upn) =
            (self.set, self.dir, &self.caps, &self.user.user_principal_name);
        let mut verdict = Judged::yes();
        for (subject, scope) in self.subjects.iter().zip(&self.scopes) {
            let evaluation = set.evaluate_subject(subject, &t.sign_in, dir, Some(scope), false);
            let mut judged = judge(&evaluation, caps, &t.sign_in, upn);
            if !judged.unmet.is_empty() {
                judged = register_instead(set, dir, subject, caps, t, judged, upn);
            }
            verdict = verdict.and(judged);
        }
        verdict
    }
}

/// Whether a user gets into the admin portals, from the must-pass contexts judged so far.
struct AdminAccess {
    /// Some must-pass context lets them in (`Yes`), none does but some cannot be decided
    /// (`Unknown`), or every one fails (`No`).
    admin_portal: Tri,
    /// Policies behind the contexts that did not pass.
    responsible: BTreeSet<String>,
    /// Requirements the user cannot meet.
    unmet: BTreeSet<String>,
}

impl AdminAccess {
    fn new() -> Self {
        AdminAccess { admin_portal: Tri::No, responsible: BTreeSet::new(), unmet: BTreeSet::new() }
    }

    /// Takes in the verdict of a must-pass context; the finding when it did not pass.
    fn record(&mut self, t: &Context, verdict: Judged) -> Option<ContextResult> {
        self.unmet.extend(verdict.unmet.iter().cloned());
        if t.admin_portal {
            self.admin_portal = self.admin_portal.or(verdict.result);
        }
        if verdict.result == Tri::Yes {
            return None;
        }
        self.responsible.extend(verdict.policies.iter().cloned());
        Some(ContextResult {
            context: t.label.clone(),
            result: verdict.result,
            must_pass: true,
            policies: verdict.policies,
            why: verdict.why.join("; "),
        })
    }

    /// Takes in activating the eligible roles, which the admin portals then also need.
    fn activate(&mut self, activation: ContextResult) -> Option<ContextResult> {
        self.admin_portal = self.admin_portal.and(activation.result);
        (activation.result != Tri::Yes).then_some(activation)
    }

    /// The report's verdict, failing findings first.
    fn conclude(self, mut report: PrincipalReport) -> PrincipalReport {
        report.findings.sort_by_key(|f| f.result != Tri::No);
        report.policies = self.responsible.into_iter().collect();
        report.unmet = self.unmet.into_iter().collect();
        report.verdict = if self.admin_portal == Tri::No {
            Verdict::LockedOut
        } else if report.findings.is_empty() {
            Verdict::Safe
        } else {
            Verdict::AtRisk
        };
        report
    }
}

/// Activating an eligible role: PIM's role settings decide what activation asks for. Rewind
/// does not capture role settings, so it checks Microsoft's default for every Entra role —
/// multifactor authentication on activation — and says so.
fn activation(caps: &Capabilities, roles: &[String]) -> ContextResult {
    let mfa = Requirement {
        policy_id: String::new(),
        policy: "PIM activation".into(),
        certain: true,
        operator: Operator::And,
        controls: vec![Control::BuiltIn { control: BuiltInControl::Mfa }],
    };
    let s = SignIn::new(Identity::User(String::new()), Target::App(String::new()));
    let asks = "activation asks for multifactor authentication (PIM's default role setting; role settings are not captured)";
    let (result, why) = match (caps.requirement(&mfa, &s), caps.by_registering(&mfa, &s)) {
        (Tri::Yes, _) => (Tri::Yes, String::new()),
        (Tri::No, None) => (Tri::No, format!("{asks}, which the usable methods cannot meet")),
        (Tri::No, Some(option)) => {
            (Tri::Unknown, format!("{asks}, which only registering {option} first would meet"))
        }
        (Tri::Unknown, _) => {
            (Tri::Unknown, format!("{asks}, which cannot be decided from the captured methods"))
        }
    };
    ContextResult {
        context: format!("PIM activation of {}", roles.join(", ")),
        result,
        must_pass: true,
        policies: Vec::new(),
        why,
    }
}

/// One context judged: the result, the policies responsible, the reasons, and the policies
/// whose requirements the usable methods cannot meet.
struct Judged {
    result: Tri,
    policies: Vec<String>,
    why: Vec<String>,
    unmet: Vec<String>,
    /// The requirements behind `unmet`.
    needs: Vec<Requirement>,
}

impl Judged {
    fn yes() -> Judged {
        Judged {
            result: Tri::Yes,
            policies: Vec::new(),
            why: Vec::new(),
            unmet: Vec::new(),
            needs: Vec::new(),
        }
    }

    fn and(mut self, other: Judged) -> Judged {
        self.result = self.result.and(other.result);
        for p in other.policies {
            if !self.policies.contains(&p) {
                self.policies.push(p);
            }
        }
        for w in other.why {
            if !self.why.contains(&w) {
                self.why.push(w);
            }
        }
        self.unmet.extend(other.unmet);
        self.needs.extend(other.needs);
        self
    }
}

/// Whether one evaluated sign-in lets the principal in.
fn judge(e: &Evaluation<'_>, caps: &Capabilities, s: &SignIn, upn: &str) -> Judged {
    let o = &e.enforced;
    let name = |id: &str| {
        e.results
            .iter()
            .find(|r| r.policy.id == id)
            .map_or_else(|| id.to_string(), |r| r.policy.name.clone())
    };
    let mut judged = Judged::yes();
    match o.decision {
        Decision::Blocked => {
            let names: Vec<String> = o.blocked_by.iter().map(|id| name(id)).collect();
            judged.result = Tri::No;
            judged.policies.clone_from(&o.blocked_by);
            judged.why.push(format!("blocked by {}", names.join(", ")));
            return judged;
        }
        Decision::MaybeBlocked => {
            judged.result = Tri::Unknown;
            judged.policies.clone_from(&o.maybe_blocked_by);
            for id in &o.maybe_blocked_by {
                judged.why.push(format!(
                    "may be blocked by {}, depending on {}",
                    name(id),
                    unseen_conditions(e, id)
                ));
            }
            return judged;
        }
        Decision::Grant | Decision::NoPolicy => {}
    }
    for r in &o.requirements {
        let can = caps.requirement(r, s);
        let effect = if r.certain { can } else { can.or(Tri::Unknown) };
        if effect == Tri::Yes {
            continue;
        }
        judged.result = judged.result.and(effect);
        judged.policies.push(r.policy_id.clone());
        let joined = joined(r);
        judged.why.push(match can {
            Tri::No if r.controls.iter().any(Control::is_method) => {
                judged.unmet.push(r.policy_id.clone());
                judged.needs.push(r.clone());
                let limits = unusable(caps);
                format!(
                    "'{}' requires {joined}, which the usable methods cannot meet{limits}",
                    r.policy
                )
            }
            Tri::No => format!("'{}' requires {joined}, which this device does not meet", r.policy),
            Tri::Unknown => {
                let facts: Vec<String> = r
                    .controls
                    .iter()
                    .filter(|c| caps.control(c, s) == Tri::Unknown)
                    .map(|c| facts::control(c, caps, upn))
                    .collect();
                format!(
                    "'{}' requires {joined}; Rewind cannot tell: {}",
                    r.policy,
                    facts.join("; ")
                )
            }
            Tri::Yes => format!(
                "'{}' may apply, depending on {}, and requires {joined}",
                r.policy,
                unseen_conditions(e, &r.policy_id)
            ),
        });
    }
    judged
}

/// A requirement's controls in words.
fn joined(r: &Requirement) -> String {
    let controls: Vec<String> = r.controls.iter().map(Control::label).collect();
    controls.join(if r.operator == Operator::And { " and " } else { " or " })
}

/// Why registered methods do not count, as a suffix.
fn unusable(caps: &Capabilities) -> String {
    if caps.limits.is_empty() {
        return String::new();
    }
    let reasons: Vec<&str> = caps.limits.values().map(String::as_str).collect();
    format!(" ({})", reasons.join("; "))
}

/// The conditions of a policy that could not be decided, in words.
fn unseen_conditions(e: &Evaluation<'_>, policy_id: &str) -> String {
    let mut facts: Vec<&str> = e
        .results
        .iter()
        .filter(|r| r.policy.id == policy_id)
        .flat_map(|r| r.unknown.iter().map(|c| facts::condition(*c)))
        .collect();
    facts.dedup();
    if facts.is_empty() { "a signal of the sign-in".into() } else { facts.join(" and ") }
}

/// A requirement the usable methods cannot meet may still be met by registering a method the
/// methods policy enables (or being issued a Temporary Access Pass) — if registering security
/// information is itself allowed from this context. That is not "safe" (the account needs a new
/// device or another administrator first), so at best the context becomes undecided.
fn register_instead(
    set: &PolicySet,
    dir: &Directory,
    subject: &Subject<'_>,
    caps: &Capabilities,
    t: &Context,
    judged: Judged,
    upn: &str,
) -> Judged {
    if judged.result != Tri::No || judged.why.iter().any(|w| w.starts_with("blocked by")) {
        return judged;
    }
    let mut registering = t.sign_in.clone();
    registering.target = Target::UserAction(UserAction::RegisterSecurityInformation);
    let e = set.evaluate_subject(subject, &registering, dir, None, false);
    let registration = judge(&e, caps, &registering, upn);
    if registration.result == Tri::No {
        return judged;
    }
    let s = &t.sign_in;
    let options: Option<Vec<String>> =
        judged.needs.iter().map(|r| caps.by_registering(r, s)).collect();
    let Some(option) = options.map(|o| o.join("; ")) else {
        return judged;
    };
    let mut judged = judged;
    judged.result = Tri::Unknown;
    judged.why.push(format!(
        "it could be met by registering {option} first, which the methods policy allows and the 'register security information' policies do not block"
    ));
    judged
}
