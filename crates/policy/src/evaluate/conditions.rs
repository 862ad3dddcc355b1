//! One policy's conditions against one sign-in: users, applications, platforms, locations,
//! client apps, risk, devices, authentication flows — each three-valued and explained.

use super::{Check, Condition, PolicyResult, PolicySet, Subject};
use crate::apps;
use crate::directory::{Directory, Principal};
use crate::policy::{AppSet, LocationSet, Policy, Rules, Who};
use crate::signin::{Identity, SignIn, Target};
use crate::tri::Tri;
use crate::vocab::{ClientApp, GuestType};

/// Whether `subject` is among the users a policy's rules target (the part of an evaluation
/// that does not depend on the sign-in's other signals).
pub(super) fn users(
    set: &PolicySet,
    rules: &Rules,
    subject: &Subject<'_>,
    sign_in: &SignIn,
    directory: &Directory,
) -> Tri {
    Ctx::new(set, rules, sign_in, directory, false).subject(subject).0
}

/// One policy's result for one sign-in: who first — a policy about other people is decided by
/// that alone — then, with `explain`, every condition, so the explanation is complete.
pub(super) fn policy_result<'p>(
    set: &PolicySet,
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
    let mut ctx = Ctx::new(set, rules, s, dir, explain);
    // Who first: a policy about other people is decided by that alone. For the rest, with
    // `explain`, every condition is checked so the explanation is complete.
    match users {
        Some(known) => ctx.run(Condition::Users, |_| Some((known, String::new()))),
        None => ctx.run(Condition::Users, |c| Some(c.subject(subject))),
    }
    if ctx.applies == Tri::No {
        // The policy is about other people: nothing else about it concerns this sign-in.
        return PolicyResult { policy, applies: Tri::No, checks: ctx.checks, unknown: ctx.unknown };
    }
    ctx.run(Condition::Application, |c| Some(c.target()));
    ctx.run(Condition::ClientApps, Ctx::client_apps);
    ctx.run(Condition::DevicePlatform, Ctx::platform);
    ctx.run(Condition::Location, Ctx::location);
    ctx.run(Condition::SignInRisk, |c| {
        c.risk(&c.rules.sign_in_risk, c.s.sign_in_risk, "sign-in risk")
    });
    ctx.run(Condition::UserRisk, |c| c.risk(&c.rules.user_risk, c.s.user_risk, "user risk"));
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
    PolicyResult { policy, applies: ctx.applies, checks: ctx.checks, unknown: ctx.unknown }
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
                self.checks.push(Check { condition, result, why });
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
        let inc = if w.all || w.include.iter().any(|x| x == id) { Tri::Yes } else { Tri::No };
        // A service principal filter reads custom security attributes Rewind does not keep.
        let inc = if w.filter { inc.or(Tri::Unknown) } else { inc };
        (
            inc,
            self.say(|| {
                format!(
                    "service principal {}",
                    if inc == Tri::Yes { "included" } else { "not included" }
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
                let name =
                    self.dir.app_name(app).or_else(|| apps::well_known_name(app)).unwrap_or(app);
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
                            if hit { "is included" } else { "is not included" }
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
                            if hit { "is included" } else { "is not included" }
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
            None => {
                (Tri::Unknown, self.say(|| format!("applies to {}; client app not given", names())))
            }
            Some(c) => {
                let hit = list.contains(&c)
                    || (c == ClientApp::ExchangeActiveSync
                        && list.contains(&ClientApp::EasSupported));
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!("{c} {} {}", if hit { "is in" } else { "is not in" }, names())
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
                self.set.locations.values().filter(|l| l.trusted).map(|l| l.contains(ip, country)),
            );
            let trusted = if ip.is_none() { Tri::Unknown } else { trusted };
            if trusted == Tri::Yes {
                return (Tri::Yes, self.say(|| "a trusted location".into()));
            }
            result = result.or(trusted);
        }
        for id in &set.ids {
            let hit = self.set.locations.get(id).map_or(Tri::Unknown, |l| l.contains(ip, country));
            if hit == Tri::Yes {
                let name = self.set.locations.get(id).map_or(id.as_str(), |l| l.name.as_str());
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
                        format!("{what} {level} {}", if hit { "matches" } else { "does not match" })
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
            None => (Tri::Unknown, self.say(|| "authentication flow not given".into())),
            Some(t) => {
                let hit = self.rules.transfer_methods.contains(&t);
                (
                    Tri::from_bool(hit),
                    self.say(|| {
                        format!("flow {t} {}", if hit { "matches" } else { "does not match" })
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
