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
use std::net::IpAddr;

use serde::Serialize;

use crate::apps::AZURE_PORTAL;
use crate::directory::{Directory, GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR, User};
use crate::evaluate::{Capabilities, Decision, Evaluation, PolicySet, Subject};
use crate::locations::Area;
use crate::policy::PolicyError;
use crate::signin::{DeviceValue, Identity, SignIn, Target};
use crate::tri::Tri;
use crate::vocab::{ClientApp, Platform, RiskLevel, TransferMethod};

/// Microsoft Graph PowerShell: how an administrator repairs a tenant from a terminal.
const GRAPH_POWERSHELL: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Countries tried, in order, for "abroad": the first no country location of the tenant names.
const ABROAD: &[&str] = &["BR", "JP", "AU", "ZA", "IN", "MX", "SG", "AR", "NZ", "KE"];

/// Addresses tried, in order, for "an untrusted network": the first no IP location covers.
const UNTRUSTED: &[&str] = &[
    "192.0.2.10",
    "100.64.0.10",
    "198.18.0.10",
    "172.16.0.10",
    "10.0.0.10",
];

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
}

impl Protection {
    /// Whether it makes the principal a break-glass account.
    pub fn is_break_glass(&self) -> bool {
        !matches!(self, Protection::Role(_))
    }

    /// In words.
    pub fn label(&self) -> String {
        match self {
            Protection::BreakGlass => "break-glass account (configured)".into(),
            Protection::BreakGlassByName(why) => format!("break-glass account (found by {why})"),
            Protection::Role(r) => r.clone(),
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
    /// Contexts that must pass and do not, first the failing ones.
    pub findings: Vec<ContextResult>,
    /// Contexts evaluated.
    pub contexts: usize,
}

/// The whole analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The tenant's verdict.
    pub verdict: Lockout,
    /// Protected principals, break-glass accounts first.
    pub principals: Vec<PrincipalReport>,
    /// Things the reader must know (no break-glass account, assumptions made).
    pub notes: Vec<String>,
    /// Policies that could not be read (their effect counts as unknown).
    pub policy_errors: Vec<PolicyError>,
    /// The country taken as home.
    pub home_country: Option<String>,
}

/// One class of sign-in context.
struct Context {
    label: String,
    admin_portal: bool,
    must_pass_admin: bool,
    sign_in: SignIn,
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
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(c, _)| c.to_string())
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
        bg(a)
            .cmp(&bg(b))
            .then(a.user_principal_name.cmp(&b.user_principal_name))
    });
    let break_glass: Vec<&PrincipalReport> = principals
        .iter()
        .filter(|p| p.protection.iter().any(Protection::is_break_glass))
        .collect();
    let global_admins: Vec<&PrincipalReport> = principals
        .iter()
        .filter(|p| {
            p.protection
                .iter()
                .any(|w| matches!(w, Protection::Role(r) if r == "Global Administrator"))
        })
        .collect();
    let all_locked = |ps: &[&PrincipalReport]| {
        !ps.is_empty() && ps.iter().all(|p| p.verdict == Verdict::LockedOut)
    };
    let verdict = if all_locked(&break_glass) || all_locked(&global_admins) {
        Lockout::Critical
    } else if break_glass.is_empty() || principals.iter().any(|p| p.verdict != Verdict::Safe) {
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
    for (role, name) in [
        (GLOBAL_ADMINISTRATOR, "Global Administrator"),
        (
            PRIVILEGED_ROLE_ADMINISTRATOR,
            "Privileged Role Administrator",
        ),
    ] {
        for u in dir.holders_of(role) {
            found
                .entry(u.id.as_str())
                .or_insert((u, Vec::new()))
                .1
                .push(Protection::Role(name.to_string()));
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

fn contexts(set: &PolicySet, home: Option<&str>) -> Vec<Context> {
    let ranges: Vec<_> = set
        .locations
        .values()
        .filter_map(|l| match &l.area {
            Area::Ip(r) => Some(r.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let untrusted: Option<IpAddr> = UNTRUSTED
        .iter()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| !ranges.iter().any(|r| r.contains(a)));
    let named_countries: BTreeSet<String> = set
        .locations
        .values()
        .filter_map(|l| match &l.area {
            Area::Countries { countries, .. } => Some(countries.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let abroad = ABROAD
        .iter()
        .find(|c| !named_countries.contains(**c) && Some(**c) != home)
        .copied();
    let mut trusted: Vec<_> = set
        .locations
        .values()
        .filter(|l| l.trusted)
        .filter_map(|l| l.sample_address().map(|a| (l.name.clone(), a)))
        .collect();
    trusted.sort();
    let mut places: Vec<(String, Option<IpAddr>, Option<String>, bool)> = Vec::new();
    if let Some((name, address)) = trusted.first() {
        places.push((
            format!("trusted '{name}'"),
            Some(*address),
            home.map(str::to_string),
            true,
        ));
    }
    let home_label = home.unwrap_or("home");
    places.push((
        format!("untrusted ({home_label})"),
        untrusted,
        home.map(str::to_string),
        true,
    ));
    if let Some(country) = abroad {
        places.push((
            format!("abroad ({country})"),
            untrusted,
            Some(country.to_string()),
            false,
        ));
    }
    let apps = [
        ("admin portals", AZURE_PORTAL, true),
        ("Graph PowerShell", GRAPH_POWERSHELL, false),
    ];
    let platforms = [
        Platform::Windows,
        Platform::MacOs,
        Platform::Linux,
        Platform::Ios,
        Platform::Android,
    ];
    let clients = [ClientApp::Browser, ClientApp::MobileAppsAndDesktopClients];
    let mut out = Vec::new();
    for (app_label, app, admin_portal) in apps {
        for platform in platforms {
            for (place, ip, country, at_home) in &places {
                for client in clients {
                    for managed in [true, false] {
                        let mut s =
                            SignIn::new(Identity::User(String::new()), Target::App(app.into()));
                        s.platform = Some(platform);
                        s.ip = *ip;
                        s.country.clone_from(country);
                        s.client_app = Some(client);
                        s.sign_in_risk = Some(RiskLevel::None);
                        s.user_risk = Some(RiskLevel::None);
                        s.transfer_method = Some(TransferMethod::None);
                        s.device = Some(device(platform, managed));
                        out.push(Context {
                            label: format!(
                                "{app_label} · {platform} · {place} · {client} · {}",
                                if managed {
                                    "managed device"
                                } else {
                                    "unmanaged device"
                                }
                            ),
                            admin_portal,
                            must_pass_admin: managed && *at_home,
                            sign_in: s,
                        });
                    }
                }
            }
        }
    }
    out
}

/// A managed device is compliant and joined (hybrid on Windows); an unmanaged one is a
/// personal device Entra does not know.
fn device(platform: Platform, managed: bool) -> BTreeMap<String, DeviceValue> {
    let mut d = BTreeMap::new();
    d.insert("isCompliant".to_string(), DeviceValue::Bool(managed));
    if managed {
        let trust = if platform == Platform::Windows {
            "ServerAD"
        } else {
            "AzureAD"
        };
        d.insert("trustType".into(), DeviceValue::Text(trust.into()));
        d.insert(
            "deviceOwnership".into(),
            DeviceValue::Text("Company".into()),
        );
    }
    d
}

fn principal(
    set: &PolicySet,
    dir: &Directory,
    user: &User,
    protection: Vec<Protection>,
    templates: &[Context],
) -> PrincipalReport {
    let break_glass = protection.iter().any(Protection::is_break_glass);
    let methods = dir.methods(&user.id);
    let caps = Capabilities::from_methods(methods);
    let mut report = PrincipalReport {
        id: user.id.clone(),
        user_principal_name: user.user_principal_name.clone(),
        display_name: user.display_name.clone(),
        why_protected: protection.iter().map(Protection::label).collect(),
        protection,
        verdict: Verdict::Safe,
        policies: Vec::new(),
        methods: caps.modes.as_ref().map(|m| m.iter().cloned().collect()),
        findings: Vec::new(),
        contexts: templates.len(),
    };
    if !user.account_enabled {
        report.verdict = Verdict::LockedOut;
        report.findings.push(ContextResult {
            context: "every context".into(),
            result: Tri::No,
            must_pass: true,
            policies: Vec::new(),
            why: "the account is disabled".into(),
        });
        return report;
    }
    let Ok(subject) = Subject::resolve(dir, &Identity::User(user.id.clone())) else {
        return report;
    };
    let scope = set.scope(&subject, &templates[0].sign_in, dir);
    // Into the admin portals: some must-pass context lets them in (`Yes`), none does but some
    // cannot be decided (`Unknown`), or every one fails (`No`).
    let mut admin_portal = Tri::No;
    let mut responsible: BTreeSet<String> = BTreeSet::new();
    for t in templates {
        let must_pass = break_glass || t.must_pass_admin;
        if !must_pass {
            continue;
        }
        let evaluation = set.evaluate_subject(&subject, &t.sign_in, dir, Some(&scope), false);
        let (result, policies, why) = judge(&evaluation, &caps, &t.sign_in);
        if t.admin_portal {
            admin_portal = admin_portal.or(result);
        }
        if result == Tri::Yes {
            continue;
        }
        responsible.extend(policies.iter().cloned());
        report.findings.push(ContextResult {
            context: t.label.clone(),
            result,
            must_pass,
            policies,
            why,
        });
    }
    report.findings.sort_by_key(|f| f.result != Tri::No);
    report.policies = responsible.into_iter().collect();
    report.verdict = if admin_portal == Tri::No {
        Verdict::LockedOut
    } else if report.findings.is_empty() {
        Verdict::Safe
    } else {
        Verdict::AtRisk
    };
    report
}

/// Whether one evaluated sign-in lets the principal in.
fn judge(e: &Evaluation<'_>, caps: &Capabilities, s: &SignIn) -> (Tri, Vec<String>, String) {
    let o = &e.enforced;
    let name = |id: &str| {
        e.results
            .iter()
            .find(|r| r.policy.id == id)
            .map_or_else(|| id.to_string(), |r| r.policy.name.clone())
    };
    match o.decision {
        Decision::Blocked => {
            let names: Vec<String> = o.blocked_by.iter().map(|id| name(id)).collect();
            return (
                Tri::No,
                o.blocked_by.clone(),
                format!("blocked by {}", names.join(", ")),
            );
        }
        Decision::MaybeBlocked => {
            let names: Vec<String> = o.maybe_blocked_by.iter().map(|id| name(id)).collect();
            return (
                Tri::Unknown,
                o.maybe_blocked_by.clone(),
                format!("may be blocked by {}", names.join(", ")),
            );
        }
        Decision::Grant | Decision::NoPolicy => {}
    }
    let mut result = Tri::Yes;
    let mut policies = Vec::new();
    let mut why = Vec::new();
    for r in &o.requirements {
        let can = caps.requirement(r, s);
        let effect = if r.certain { can } else { can.or(Tri::Unknown) };
        if effect == Tri::Yes {
            continue;
        }
        result = result.and(effect);
        policies.push(r.policy_id.clone());
        let controls: Vec<String> = r
            .controls
            .iter()
            .map(crate::policy::Control::label)
            .collect();
        let joined = controls.join(if r.operator == crate::policy::Operator::And {
            " and "
        } else {
            " or "
        });
        why.push(match (can, caps.modes.is_some()) {
            (Tri::No, _) => format!(
                "'{}' requires {joined}, which the registered methods cannot meet",
                r.policy
            ),
            (_, false) => format!(
                "'{}' requires {joined}; the account's methods were not captured",
                r.policy
            ),
            _ => format!("'{}' requires {joined}, which cannot be decided", r.policy),
        });
    }
    (result, policies, why.join("; "))
}
