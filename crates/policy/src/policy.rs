//! A Conditional Access policy compiled from its Graph representation: every v1.0 condition and
//! control in typed form, or an error naming the property that could not be read.

use serde::Serialize;
use serde_json::Value;

use crate::filter::{self, Rule};
use crate::strength::Strength;
use crate::vocab::{
    BuiltInControl, ClientApp, GuestType, InsiderRisk, Platform, RiskLevel, TransferMethod,
    UserAction, flags,
};

/// Whether a policy enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    /// `enabled`: enforced.
    Enabled,
    /// `enabledForReportingButNotEnforced`: evaluated and reported, never enforced.
    EnabledForReportingButNotEnforced,
    /// `disabled`.
    Disabled,
}

/// A policy that could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("policy '{policy}': {property}: {message}")]
pub struct PolicyError {
    /// The policy's display name (or id).
    pub policy: String,
    /// The property path (`conditions.platforms.includePlatforms`).
    pub property: String,
    /// What is wrong and what would be right.
    pub message: String,
}

/// Users (or service principals) a condition names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Who {
    /// `All`.
    pub all: bool,
    /// `None`, named explicitly (a policy may target nobody among users, e.g. agents).
    pub none: bool,
    /// `GuestsOrExternalUsers` in the user list.
    pub guests_or_external: bool,
    /// User ids.
    pub users: Vec<String>,
    /// Group ids (membership is transitive).
    pub groups: Vec<String>,
    /// Role template ids (active assignments only).
    pub roles: Vec<String>,
    /// `include/excludeGuestsOrExternalUsers`.
    pub external: Option<External>,
}

impl Who {
    /// Names nobody.
    pub fn is_empty(&self) -> bool {
        !self.all
            && !self.guests_or_external
            && self.users.is_empty()
            && self.groups.is_empty()
            && self.roles.is_empty()
            && self.external.is_none()
    }
}

/// Guests or external users by kind and home tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct External {
    /// Kinds of guest or external user.
    pub types: Vec<GuestType>,
    /// Home tenants; `None` for all.
    pub tenants: Option<Vec<String>>,
}

/// Applications a condition names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSet {
    /// `All`.
    pub all: bool,
    /// `Office365`.
    pub office365: bool,
    /// `MicrosoftAdminPortals`.
    pub admin_portals: bool,
    /// Application ids.
    pub ids: Vec<String>,
}

/// The applications condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Apps {
    /// Included applications.
    pub include: AppSet,
    /// Excluded applications.
    pub exclude: AppSet,
    /// Included user actions.
    pub actions: Vec<UserAction>,
    /// Included authentication contexts.
    pub contexts: Vec<String>,
    /// `applicationFilter`: `Some(true)` include mode, `Some(false)` exclude mode.
    pub filter: Option<bool>,
}

/// The client applications (workload identities) condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workloads {
    /// `ServicePrincipalsInMyTenant`.
    pub all: bool,
    /// Included service principal ids.
    pub include: Vec<String>,
    /// Excluded service principal ids.
    pub exclude: Vec<String>,
    /// `servicePrincipalFilter` is set (custom security attributes Rewind cannot see).
    pub filter: bool,
}

/// Locations a condition names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationSet {
    /// `All`.
    pub all: bool,
    /// `AllTrusted`.
    pub all_trusted: bool,
    /// Named location ids.
    pub ids: Vec<String>,
}

/// The platforms condition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platforms {
    /// `all`.
    pub all: bool,
    /// Included platforms.
    pub include: Vec<Platform>,
    /// Excluded platforms.
    pub exclude: Vec<Platform>,
}

/// A device filter and its mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFilter {
    /// `include`: the policy applies to matching devices; `exclude`: to the others.
    pub include: bool,
    /// The rule as written.
    pub text: String,
    /// The rule, parsed.
    pub rule: Rule,
}

/// One grant control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Control {
    /// A built-in control.
    BuiltIn {
        /// Which.
        control: BuiltInControl,
    },
    /// An authentication strength.
    AuthenticationStrength {
        /// The strength.
        strength: Strength,
    },
    /// Accepting terms of use.
    TermsOfUse {
        /// The agreement id.
        id: String,
    },
    /// A custom control.
    Custom {
        /// Its id.
        id: String,
    },
}

impl Control {
    /// Whether the principal's authentication methods decide it (MFA, a strength, a password
    /// change), rather than the device, the client app or another provider.
    pub fn is_method(&self) -> bool {
        matches!(
            self,
            Control::AuthenticationStrength { .. }
                | Control::BuiltIn {
                    control: BuiltInControl::Mfa
                        | BuiltInControl::RiskRemediation
                        | BuiltInControl::PasswordChange
                }
        )
    }

    /// How people call it.
    pub fn label(&self) -> String {
        match self {
            Control::BuiltIn { control } => control.name().to_string(),
            Control::AuthenticationStrength { strength } => {
                format!("authentication strength '{}'", strength.name)
            }
            Control::TermsOfUse { id } => format!("terms of use {id}"),
            Control::Custom { id } => format!("custom control {id}"),
        }
    }
}

/// `AND` or `OR` between a policy's controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Operator {
    /// Every control.
    #[serde(rename = "AND")]
    And,
    /// One of them.
    #[serde(rename = "OR")]
    Or,
}

/// The grant controls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// How the controls combine.
    pub operator: Operator,
    /// The controls.
    pub controls: Vec<Control>,
}

impl Grant {
    /// Whether this grant blocks access.
    pub fn blocks(&self) -> bool {
        self.controls
            .iter()
            .any(|c| matches!(c, Control::BuiltIn { control: BuiltInControl::Block }))
    }
}

/// A session control that is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// Its property name (`signInFrequency`).
    pub name: String,
    /// Its settings, as configured.
    pub settings: Value,
}

/// Every condition and control of a policy, typed. Absent conditions are `None` or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Included users.
    pub include: Who,
    /// Excluded users.
    pub exclude: Who,
    /// Workload identities.
    pub workloads: Option<Workloads>,
    /// Applications, user actions, authentication contexts.
    pub apps: Apps,
    /// Client app types; `None` for all.
    pub client_apps: Option<Vec<ClientApp>>,
    /// Platforms.
    pub platforms: Option<Platforms>,
    /// Included and excluded locations.
    pub locations: Option<(LocationSet, LocationSet)>,
    /// Sign-in risk levels (empty: any).
    pub sign_in_risk: Vec<RiskLevel>,
    /// User risk levels (empty: any).
    pub user_risk: Vec<RiskLevel>,
    /// Service principal risk levels (empty: any).
    pub service_principal_risk: Vec<RiskLevel>,
    /// Insider risk levels (empty: any).
    pub insider_risk: Vec<InsiderRisk>,
    /// Device filter.
    pub device_filter: Option<DeviceFilter>,
    /// Authentication flows (empty: any).
    pub transfer_methods: Vec<TransferMethod>,
    /// Grant controls.
    pub grant: Option<Grant>,
    /// Session controls that are set.
    pub sessions: Vec<Session>,
}

/// A compiled policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Enforced, report-only or disabled.
    pub state: State,
    /// Its rules, or why they could not be read (its effect is then unknown).
    pub rules: Result<Rules, PolicyError>,
}

/// Reads one policy. An unreadable state is treated as enabled: a policy Rewind cannot read
/// must never be taken for harmless.
pub fn compile(object: &Value, strengths: &[Strength]) -> Policy {
    let id = object.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    let name = object
        .get("displayName")
        .and_then(Value::as_str)
        .map_or_else(|| id.clone(), str::to_string);
    let mut reader = Reader { policy: &name };
    let state = reader.state(object);
    let rules = state.clone().and_then(|_| reader.rules(object, strengths));
    Policy { state: state.unwrap_or(State::Enabled), id, name, rules }
}

struct Reader<'a> {
    policy: &'a str,
}

impl Reader<'_> {
    fn error<T>(&self, property: &str, message: impl Into<String>) -> Result<T, PolicyError> {
        Err(PolicyError {
            policy: self.policy.to_string(),
            property: property.to_string(),
            message: message.into(),
        })
    }

    fn state(&mut self, object: &Value) -> Result<State, PolicyError> {
        match object.get("state").and_then(Value::as_str) {
            Some(s) if s.eq_ignore_ascii_case("enabled") => Ok(State::Enabled),
            Some(s) if s.eq_ignore_ascii_case("enabledForReportingButNotEnforced") => {
                Ok(State::EnabledForReportingButNotEnforced)
            }
            Some(s) if s.eq_ignore_ascii_case("disabled") => Ok(State::Disabled),
            Some(s) => self.error(
                "state",
                format!("'{s}' is not a state; use enabled, enabledForReportingButNotEnforced or disabled"),
            ),
            None => self.error("state", "missing; a policy is enabled, enabledForReportingButNotEnforced or disabled"),
        }
    }

    /// A list of strings at `path`; absent or null is empty.
    fn strings(&self, object: &Value, path: &str) -> Result<Vec<String>, PolicyError> {
        let pointer = format!("/{}", path.replace('.', "/"));
        match object.pointer(&pointer) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => self.error(path, format!("expected strings, found {other}")),
                })
                .collect(),
            Some(other) => self.error(path, format!("expected a list of strings, found {other}")),
        }
    }

    fn members<T>(
        &self,
        object: &Value,
        path: &str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Vec<T>, PolicyError> {
        self.strings(object, path)?
            .iter()
            .map(|s| {
                parse(s)
                    .map_or_else(|| self.error(path, format!("'{s}' is not one of {expected}")), Ok)
            })
            .collect()
    }

    fn rules(&mut self, object: &Value, strengths: &[Strength]) -> Result<Rules, PolicyError> {
        let Some(conditions) = object.get("conditions").filter(|c| c.is_object()) else {
            return self.error("conditions", "missing; every policy has conditions");
        };
        let (include, exclude) = self.users(conditions)?;
        let workloads = self.workloads(conditions)?;
        if include.is_empty() && !include.none && workloads.is_none() {
            return self.error(
                "conditions.users.includeUsers",
                "the policy includes nobody (no users, groups, roles or guests)",
            );
        }
        let rules = Rules {
            include,
            exclude,
            workloads,
            apps: self.apps(conditions)?,
            client_apps: self.client_apps(conditions)?,
            platforms: self.platforms(conditions)?,
            locations: self.locations(conditions)?,
            sign_in_risk: self
                .members(conditions, "signInRiskLevels", RiskLevel::parse, &RiskLevel::expected())
                .map_err(|e| prefix(e, "conditions."))?,
            user_risk: self
                .members(conditions, "userRiskLevels", RiskLevel::parse, &RiskLevel::expected())
                .map_err(|e| prefix(e, "conditions."))?,
            service_principal_risk: self
                .members(
                    conditions,
                    "servicePrincipalRiskLevels",
                    RiskLevel::parse,
                    &RiskLevel::expected(),
                )
                .map_err(|e| prefix(e, "conditions."))?,
            insider_risk: self.flag_list(
                conditions,
                "insiderRiskLevels",
                InsiderRisk::parse,
                &InsiderRisk::expected(),
            )?,
            device_filter: self.device_filter(conditions)?,
            transfer_methods: self.flag_list(
                conditions,
                "authenticationFlows.transferMethods",
                TransferMethod::parse,
                &TransferMethod::expected(),
            )?,
            grant: self.grant(object, strengths)?,
            sessions: sessions(object),
        };
        Ok(rules)
    }

    fn flag_list<T>(
        &self,
        conditions: &Value,
        path: &str,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Vec<T>, PolicyError> {
        let pointer = format!("/{}", path.replace('.', "/"));
        match conditions.pointer(&pointer) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => flags(s, parse).or_else(|bad| {
                self.error(
                    &format!("conditions.{path}"),
                    format!("'{bad}' is not one of {expected}"),
                )
            }),
            Some(other) => self.error(
                &format!("conditions.{path}"),
                format!("expected a comma-separated string, found {other}"),
            ),
        }
    }

    fn who(&self, users: &Value, side: &str) -> Result<Who, PolicyError> {
        let path = |p: &str| format!("conditions.users.{side}{p}");
        let mut who = Who::default();
        for u in self
            .strings(users, &format!("{side}Users"))
            .map_err(|e| prefix(e, "conditions.users."))?
        {
            match u.as_str() {
                "All" if side == "include" => who.all = true,
                "None" => who.none = true,
                "GuestsOrExternalUsers" => who.guests_or_external = true,
                "All" => {
                    return self.error(&path("Users"), "'All' cannot be excluded");
                }
                _ => who.users.push(u),
            }
        }
        who.groups = self
            .strings(users, &format!("{side}Groups"))
            .map_err(|e| prefix(e, "conditions.users."))?;
        who.roles = self
            .strings(users, &format!("{side}Roles"))
            .map_err(|e| prefix(e, "conditions.users."))?;
        let key = format!("{side}GuestsOrExternalUsers");
        who.external = match users.get(&key) {
            None | Some(Value::Null) => None,
            Some(g) => Some(self.external(g, &format!("conditions.users.{key}"))?),
        };
        Ok(who)
    }

    fn external(&self, g: &Value, path: &str) -> Result<External, PolicyError> {
        let types = match g.get("guestOrExternalUserTypes") {
            Some(Value::String(s)) => flags(s, GuestType::parse).or_else(|bad| {
                self.error(
                    &format!("{path}.guestOrExternalUserTypes"),
                    format!("'{bad}' is not one of {}", GuestType::expected()),
                )
            })?,
            _ => {
                return self.error(
                    &format!("{path}.guestOrExternalUserTypes"),
                    "missing; name the kinds of guest or external user",
                );
            }
        };
        let tenants = match g.get("externalTenants") {
            None | Some(Value::Null) => None,
            Some(t) => match t.get("membershipKind").and_then(Value::as_str) {
                Some("all") => None,
                Some("enumerated") => Some(
                    self.strings(t, "members")
                        .map_err(|e| prefix(e, &format!("{path}.externalTenants.")))?,
                ),
                other => {
                    return self.error(
                        &format!("{path}.externalTenants.membershipKind"),
                        format!("{other:?} is not all or enumerated"),
                    );
                }
            },
        };
        Ok(External { types, tenants })
    }

    fn users(&self, conditions: &Value) -> Result<(Who, Who), PolicyError> {
        let users = conditions.get("users").cloned().unwrap_or(Value::Null);
        Ok((self.who(&users, "include")?, self.who(&users, "exclude")?))
    }

    fn workloads(&self, conditions: &Value) -> Result<Option<Workloads>, PolicyError> {
        let Some(c) = conditions.get("clientApplications").filter(|c| !c.is_null()) else {
            return Ok(None);
        };
        let p = |e| prefix(e, "conditions.clientApplications.");
        let mut w = Workloads {
            exclude: self.strings(c, "excludeServicePrincipals").map_err(p)?,
            filter: c.get("servicePrincipalFilter").is_some_and(|f| !f.is_null()),
            ..Workloads::default()
        };
        for sp in self.strings(c, "includeServicePrincipals").map_err(p)? {
            if sp == "ServicePrincipalsInMyTenant" {
                w.all = true;
            } else {
                w.include.push(sp);
            }
        }
        Ok((w.all || !w.include.is_empty() || w.filter).then_some(w))
    }

    fn app_set(&self, apps: &Value, key: &str) -> Result<AppSet, PolicyError> {
        let mut set = AppSet::default();
        for a in self.strings(apps, key).map_err(|e| prefix(e, "conditions.applications."))? {
            match a.as_str() {
                "All" => set.all = true,
                "None" => {}
                "Office365" => set.office365 = true,
                "MicrosoftAdminPortals" => set.admin_portals = true,
                _ => set.ids.push(a),
            }
        }
        Ok(set)
    }

    fn apps(&self, conditions: &Value) -> Result<Apps, PolicyError> {
        let apps = conditions.get("applications").cloned().unwrap_or(Value::Null);
        let actions = self
            .strings(&apps, "includeUserActions")
            .map_err(|e| prefix(e, "conditions.applications."))?
            .iter()
            .map(|a| {
                UserAction::from_urn(a).map_or_else(
                    || {
                        self.error(
                            "conditions.applications.includeUserActions",
                            format!("'{a}' is not urn:user:registersecurityinfo or urn:user:registerdevice"),
                        )
                    },
                    Ok,
                )
            })
            .collect::<Result<_, _>>()?;
        let filter = match apps.get("applicationFilter") {
            None | Some(Value::Null) => None,
            Some(f) => Some(self.filter_mode(f, "conditions.applications.applicationFilter")?),
        };
        Ok(Apps {
            include: self.app_set(&apps, "includeApplications")?,
            exclude: self.app_set(&apps, "excludeApplications")?,
            actions,
            contexts: self
                .strings(&apps, "includeAuthenticationContextClassReferences")
                .map_err(|e| prefix(e, "conditions.applications."))?,
            filter,
        })
    }

    fn filter_mode(&self, f: &Value, path: &str) -> Result<bool, PolicyError> {
        match f.get("mode").and_then(Value::as_str) {
            Some(m) if m.eq_ignore_ascii_case("include") => Ok(true),
            Some(m) if m.eq_ignore_ascii_case("exclude") => Ok(false),
            other => {
                self.error(&format!("{path}.mode"), format!("{other:?} is not include or exclude"))
            }
        }
    }

    fn client_apps(&self, conditions: &Value) -> Result<Option<Vec<ClientApp>>, PolicyError> {
        let types =
            self.strings(conditions, "clientAppTypes").map_err(|e| prefix(e, "conditions."))?;
        if types.is_empty() || types.iter().any(|t| t.eq_ignore_ascii_case("all")) {
            return Ok(None);
        }
        let expected = format!("all, {}", ClientApp::expected());
        self.members(conditions, "clientAppTypes", ClientApp::parse, &expected)
            .map(Some)
            .map_err(|e| prefix(e, "conditions."))
    }

    fn platforms(&self, conditions: &Value) -> Result<Option<Platforms>, PolicyError> {
        let Some(p) = conditions.get("platforms").filter(|p| !p.is_null()) else {
            return Ok(None);
        };
        let expected = format!("all, {}", Platform::expected());
        let read = |key: &str| -> Result<(bool, Vec<Platform>), PolicyError> {
            let mut all = false;
            let mut list = Vec::new();
            for s in self.strings(p, key).map_err(|e| prefix(e, "conditions.platforms."))? {
                if s.eq_ignore_ascii_case("all") {
                    all = true;
                } else if let Some(platform) = Platform::parse(&s) {
                    list.push(platform);
                } else {
                    return self.error(
                        &format!("conditions.platforms.{key}"),
                        format!("'{s}' is not one of {expected}"),
                    );
                }
            }
            Ok((all, list))
        };
        let (all, include) = read("includePlatforms")?;
        let (_, exclude) = read("excludePlatforms")?;
        if !all && include.is_empty() && exclude.is_empty() {
            return Ok(None);
        }
        if !all && include.is_empty() {
            return self.error(
                "conditions.platforms.includePlatforms",
                "empty while platforms are configured; include all or some platforms",
            );
        }
        Ok(Some(Platforms { all, include, exclude }))
    }

    fn locations(
        &self,
        conditions: &Value,
    ) -> Result<Option<(LocationSet, LocationSet)>, PolicyError> {
        let Some(l) = conditions.get("locations").filter(|l| !l.is_null()) else {
            return Ok(None);
        };
        let read = |key: &str| -> Result<LocationSet, PolicyError> {
            let mut set = LocationSet::default();
            for s in self.strings(l, key).map_err(|e| prefix(e, "conditions.locations."))? {
                match s.as_str() {
                    "All" => set.all = true,
                    "AllTrusted" => set.all_trusted = true,
                    _ => set.ids.push(s),
                }
            }
            Ok(set)
        };
        let include = read("includeLocations")?;
        let exclude = read("excludeLocations")?;
        if include == LocationSet::default() && exclude == LocationSet::default() {
            // `"locations": []` or `{}`, as some exports write an unset condition.
            return Ok(None);
        }
        if include == LocationSet::default() {
            return self.error(
                "conditions.locations.includeLocations",
                "empty while locations are configured; include All, AllTrusted or named locations",
            );
        }
        Ok(Some((include, exclude)))
    }

    fn device_filter(&self, conditions: &Value) -> Result<Option<DeviceFilter>, PolicyError> {
        let Some(f) = conditions.pointer("/devices/deviceFilter").filter(|f| !f.is_null()) else {
            return Ok(None);
        };
        let path = "conditions.devices.deviceFilter";
        let include = self.filter_mode(f, path)?;
        let Some(text) = f.get("rule").and_then(Value::as_str) else {
            return self.error(&format!("{path}.rule"), "missing; a device filter needs a rule");
        };
        let rule =
            filter::parse(text).or_else(|e| self.error(&format!("{path}.rule"), e.to_string()))?;
        Ok(Some(DeviceFilter { include, text: text.to_string(), rule }))
    }

    fn grant(&self, object: &Value, strengths: &[Strength]) -> Result<Option<Grant>, PolicyError> {
        let Some(g) = object.get("grantControls").filter(|g| !g.is_null()) else {
            return Ok(None);
        };
        let operator = match g.get("operator").and_then(Value::as_str) {
            Some(o) if o.eq_ignore_ascii_case("and") => Operator::And,
            Some(o) if o.eq_ignore_ascii_case("or") => Operator::Or,
            None => Operator::Or,
            Some(o) => {
                return self.error("grantControls.operator", format!("'{o}' is not AND or OR"));
            }
        };
        let mut controls: Vec<Control> = self
            .members(g, "builtInControls", BuiltInControl::parse, &BuiltInControl::expected())
            .map_err(|e| prefix(e, "grantControls."))?
            .into_iter()
            .map(|control| Control::BuiltIn { control })
            .collect();
        for id in self.strings(g, "termsOfUse").map_err(|e| prefix(e, "grantControls."))? {
            controls.push(Control::TermsOfUse { id });
        }
        for id in self
            .strings(g, "customAuthenticationFactors")
            .map_err(|e| prefix(e, "grantControls."))?
        {
            controls.push(Control::Custom { id });
        }
        if let Some(s) = g.get("authenticationStrength").filter(|s| !s.is_null()) {
            let strength = self.strength(s, strengths)?;
            controls.push(Control::AuthenticationStrength { strength });
        }
        let grant = Grant { operator, controls };
        if grant.blocks() && grant.controls.len() > 1 {
            return self.error(
                "grantControls.builtInControls",
                "block cannot be combined with other controls",
            );
        }
        if grant.controls.is_empty() {
            return Ok(None);
        }
        Ok(Some(grant))
    }

    fn strength(&self, s: &Value, strengths: &[Strength]) -> Result<Strength, PolicyError> {
        let path = "grantControls.authenticationStrength";
        let Some(id) = s.get("id").and_then(Value::as_str) else {
            return self.error(&format!("{path}.id"), "missing");
        };
        if let Some(known) = strengths.iter().find(|k| k.id == id) {
            return Ok(known.clone());
        }
        // Graph expands the strength on read; an export carries its combinations inline.
        if s.get("allowedCombinations").is_some() {
            return Strength::from_graph(s).map_or_else(
                || {
                    self.error(
                        &format!("{path}.allowedCombinations"),
                        "expected a list of method combinations",
                    )
                },
                Ok,
            );
        }
        self.error(
            &format!("{path}.id"),
            format!("no authentication strength '{id}' in this state"),
        )
    }
}

fn prefix(mut e: PolicyError, p: &str) -> PolicyError {
    e.property = format!("{p}{}", e.property);
    e
}

fn sessions(object: &Value) -> Vec<Session> {
    let Some(Value::Object(s)) = object.get("sessionControls") else {
        return Vec::new();
    };
    s.iter()
        .filter(|(k, v)| !k.contains('@') && !v.is_null())
        .filter(|(_, v)| v.get("isEnabled").and_then(Value::as_bool) != Some(false))
        .map(|(k, v)| Session { name: k.clone(), settings: v.clone() })
        .collect()
}
