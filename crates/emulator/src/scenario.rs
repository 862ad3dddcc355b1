//! Incident scenarios, replayed through the emulator's own Graph API by a distinct actor so that
//! the audit log attributes them exactly as it would a real incident. Each run is recorded as a
//! [`ScenarioReport`] — what changed, by whom, when — that tests compare a restore against.
//!
//! - `lockout-policy`: the Conditional Access administrator creates an enabled policy that blocks
//!   all users on all apps with no exclusions.
//! - `attacker`: a compromised automation service principal adds a secret to a privileged
//!   application, makes itself Global Administrator, removes the break-glass exclusion from the
//!   country-block policy, switches the MFA-for-all policy to report-only, and adds a federated
//!   credential to the privileged application.
//! - `mass-delete`: an HR sync script deletes a tenth of the users and groups (a group that a CA
//!   policy excludes among them); Microsoft 365 groups it deleted are then purged from the recycle
//!   bin, and security groups are gone at once, as in Entra.
//! - `script-gone-wrong`: a clean-up script overwrites the department of a fifth of the users and
//!   empties several groups, one of them included by a CA policy.

use rewind_model::roles::GLOBAL_ADMINISTRATOR;
use serde_json::{Value, json};

use crate::ops::write_rules;
use crate::report::{ScenarioActor, ScenarioReport, ScenarioStep};
use crate::resource::Coll;
use crate::route::LinkKind;
use crate::seed::{AUTOMATION_APP, CLEANUP_SCRIPT_APP, HR_SYNC_APP, PROVISIONING_APP};
use crate::tenant::Tenant;
use crate::wire::{Body, GraphRequest, Method};

/// The incident scenarios the emulator can replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// A policy that blocks everyone.
    LockoutPolicy,
    /// A compromised workload identity escalates and weakens defences.
    Attacker,
    /// A script deletes a tenth of users and groups.
    MassDelete,
    /// A script rewrites attributes and empties groups.
    ScriptGoneWrong,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 4] = [
        Scenario::LockoutPolicy,
        Scenario::Attacker,
        Scenario::MassDelete,
        Scenario::ScriptGoneWrong,
    ];

    /// The scenario's name in URLs and flags.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::LockoutPolicy => "lockout-policy",
            Scenario::Attacker => "attacker",
            Scenario::MassDelete => "mass-delete",
            Scenario::ScriptGoneWrong => "script-gone-wrong",
        }
    }

    /// One paragraph on what the scenario does.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::LockoutPolicy => {
                "The Conditional Access administrator creates an enabled policy that blocks all users on all applications, with no exclusions: every sign-in fails, break-glass accounts included."
            }
            Scenario::Attacker => {
                "A compromised automation service principal adds a client secret to a privileged application, assigns itself Global Administrator, removes the break-glass exclusion from the country-block policy, switches the MFA-for-all policy to report-only, and adds a federated identity credential to the privileged application."
            }
            Scenario::MassDelete => {
                "An HR sync script deletes a tenth of the users and a tenth of the groups, including a group that a Conditional Access policy excludes; the Microsoft 365 groups it deleted are then purged from the recycle bin, and the security groups are gone at once."
            }
            Scenario::ScriptGoneWrong => {
                "A clean-up script overwrites the department of a fifth of the users with 'Unassigned' and removes every member from several groups, one of them included by a Conditional Access policy."
            }
        }
    }
}

impl std::str::FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
            format!("unknown scenario '{s}'; use lockout-policy, attacker, mass-delete or script-gone-wrong")
        })
    }
}

/// Replays requests with one actor's token and records the steps.
struct Runner<'a> {
    t: &'a mut Tenant,
    base_url: &'a str,
    token: String,
    steps: Vec<ScenarioStep>,
}

impl Runner<'_> {
    fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let req = GraphRequest {
            method,
            path: path.to_string(),
            query: Vec::new(),
            headers: vec![("authorization".into(), format!("Bearer {}", self.token))],
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        };
        let resp = self.t.handle(self.base_url, &req);
        let value = match resp.body {
            Body::Json(v) => v,
            Body::Text(s) => Value::String(s),
            Body::Empty => Value::Null,
        };
        (resp.status, value)
    }

    #[expect(clippy::too_many_arguments, reason = "a step is one row of the report")]
    fn step(
        &mut self,
        action: &str,
        kind: Coll,
        id: &str,
        name: Option<String>,
        detail: Value,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, value) = self.call(method, path, body);
        self.steps.push(ScenarioStep {
            action: action.into(),
            kind: kind.context_path().into(),
            id: id.into(),
            display_name: name,
            detail,
            status,
            at: self.t.now_string(),
        });
        (status, value)
    }
}

fn text(o: &serde_json::Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(Value::as_str).map(str::to_string)
}

impl Tenant {
    /// What a scenario is and whether (and how) it ran here.
    pub fn scenario_report(&self, s: Scenario) -> ScenarioReport {
        self.scenarios.get(s.name()).cloned().unwrap_or_else(|| ScenarioReport {
            name: s.name().into(),
            description: s.description().into(),
            ran: false,
            actor: None,
            started_at: None,
            finished_at: None,
            steps: Vec::new(),
        })
    }

    /// Replays a scenario through the Graph API. Faults are off while it runs: the incident is
    /// the point, not the weather.
    pub fn run_scenario(&mut self, base_url: &str, s: Scenario) -> ScenarioReport {
        let saved = std::mem::take(&mut self.faults);
        let started = self.now_string();
        let (actor, token) = match s {
            Scenario::LockoutPolicy => self.user_actor(
                "nestor.wilke",
                "Policy.Read.All Policy.ReadWrite.ConditionalAccess Application.Read.All",
            ),
            Scenario::Attacker => self.app_actor(AUTOMATION_APP),
            Scenario::MassDelete => self.app_actor(HR_SYNC_APP),
            Scenario::ScriptGoneWrong => self.app_actor(CLEANUP_SCRIPT_APP),
        };
        let mut runner = Runner { t: self, base_url, token, steps: Vec::new() };
        match s {
            Scenario::LockoutPolicy => lockout_policy(&mut runner),
            Scenario::Attacker => attacker(&mut runner, &actor),
            Scenario::MassDelete => mass_delete(&mut runner),
            Scenario::ScriptGoneWrong => script_gone_wrong(&mut runner),
        }
        let steps = runner.steps;
        self.faults = saved;
        let report = ScenarioReport {
            name: s.name().into(),
            description: s.description().into(),
            ran: true,
            actor: Some(actor),
            started_at: Some(started),
            finished_at: Some(self.now_string()),
            steps,
        };
        self.scenarios.insert(s.name().into(), report.clone());
        report
    }

    fn user_actor(&self, nick: &str, scopes: &str) -> (ScenarioActor, String) {
        let upn = format!("{nick}@{}", self.domain);
        let id = self.resolve_key(Coll::Users, &upn).unwrap_or_default();
        let name =
            self.get(Coll::Users, &id).and_then(|u| text(u, "displayName")).unwrap_or_default();
        let token = self.mint_for_user(&id, scopes).unwrap_or_default();
        (ScenarioActor { kind: "user".into(), id, display_name: name, app_id: None }, token)
    }

    fn app_actor(&self, name: &str) -> (ScenarioActor, String) {
        let found = self
            .coll(Coll::ServicePrincipals)
            .iter()
            .find(|(_, sp)| text(sp, "displayName").as_deref() == Some(name));
        let (id, app_id) =
            found.map(|(id, sp)| (id.clone(), text(sp, "appId"))).unwrap_or_default();
        let token = self.mint_for_service_principal(&id).unwrap_or_default();
        (
            ScenarioActor {
                kind: "servicePrincipal".into(),
                id,
                display_name: name.into(),
                app_id,
            },
            token,
        )
    }

    fn find_named(
        &self,
        coll: Coll,
        prefix: &str,
    ) -> Option<(String, serde_json::Map<String, Value>)> {
        self.coll(coll)
            .iter()
            .find(|(_, o)| text(o, "displayName").is_some_and(|n| n.starts_with(prefix)))
            .map(|(id, o)| (id.clone(), o.clone()))
    }
}

fn lockout_policy(r: &mut Runner<'_>) {
    let body = json!({"displayName": "Block all access (temporary)", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}});
    let (status, created) =
        r.call(Method::Post, "/identity/conditionalAccess/policies", Some(body.clone()));
    let id = created["id"].as_str().unwrap_or_default().to_string();
    let at = r.t.now_string();
    r.steps.push(ScenarioStep {
        action: "create".into(),
        kind: Coll::CaPolicies.context_path().into(),
        id,
        display_name: Some("Block all access (temporary)".into()),
        detail: body,
        status,
        at,
    });
}

fn attacker(r: &mut Runner<'_>, actor: &ScenarioActor) {
    let Some((app, app_obj)) = r.t.find_named(Coll::Applications, PROVISIONING_APP) else {
        return;
    };
    let app_name = text(&app_obj, "displayName");
    let (_, secret) = r.step(
        "addPassword",
        Coll::Applications,
        &app,
        app_name.clone(),
        json!({"passwordCredential": {"displayName": "sync-backup"}}),
        Method::Post,
        &format!("/applications/{app}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "sync-backup"}})),
    );
    if let Some(last) = r.steps.last_mut() {
        last.detail = json!({"keyId": secret["keyId"], "displayName": "sync-backup"});
    }
    let assignment = json!({"principalId": actor.id, "roleDefinitionId": GLOBAL_ADMINISTRATOR, "directoryScopeId": "/"});
    let (status, created) =
        r.call(Method::Post, "/roleManagement/directory/roleAssignments", Some(assignment.clone()));
    let at = r.t.now_string();
    r.steps.push(ScenarioStep {
        action: "create".into(),
        kind: Coll::RoleAssignments.context_path().into(),
        id: created["id"].as_str().unwrap_or_default().into(),
        display_name: Some("Global Administrator".into()),
        detail: assignment,
        status,
        at,
    });
    let break_glass =
        r.t.find_named(Coll::Groups, "CA - Break Glass").map(|(id, _)| id).unwrap_or_default();
    if let Some((policy, p)) = r.t.find_named(Coll::CaPolicies, "CA001-") {
        let before: Vec<Value> = p
            .get("conditions")
            .and_then(|c| c.pointer("/users/excludeGroups"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let after: Vec<Value> =
            before.iter().filter(|g| g.as_str() != Some(break_glass.as_str())).cloned().collect();
        let body = json!({"conditions": {"users": {"excludeGroups": after}}});
        r.step(
            "update",
            Coll::CaPolicies,
            &policy,
            text(&p, "displayName"),
            json!({"conditions.users.excludeGroups": {"old": before, "new": after}}),
            Method::Patch,
            &format!("/identity/conditionalAccess/policies/{policy}"),
            Some(body),
        );
    }
    if let Some((policy, p)) = r.t.find_named(Coll::CaPolicies, "CA000-") {
        r.step(
            "update",
            Coll::CaPolicies,
            &policy,
            text(&p, "displayName"),
            json!({"state": {"old": p.get("state"), "new": "enabledForReportingButNotEnforced"}}),
            Method::Patch,
            &format!("/identity/conditionalAccess/policies/{policy}"),
            Some(json!({"state": "enabledForReportingButNotEnforced"})),
        );
    }
    let fic = json!({"name": "deploy-prod", "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso-devops/release-tools:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]});
    r.step(
        "addFederatedCredential",
        Coll::Applications,
        &app,
        app_name,
        fic.clone(),
        Method::Post,
        &format!("/applications/{app}/federatedIdentityCredentials"),
        Some(fic),
    );
}

/// Every n-th object of a set, by id, so the same tenant always loses the same objects.
fn every_nth(
    t: &Tenant,
    coll: Coll,
    n: usize,
    keep: impl Fn(&str, &serde_json::Map<String, Value>) -> bool,
) -> Vec<(String, Option<String>)> {
    t.coll(coll)
        .iter()
        .filter(|(id, o)| keep(id, o))
        .enumerate()
        .filter(|(i, _)| i % n == n - 1)
        .map(|(_, (id, o))| (id.clone(), text(o, "displayName")))
        .collect()
}

/// Whether an app with `User.ReadWrite.All` and no directory role may change or delete the user:
/// not synchronised, holding no role.
fn cloud_writable(t: &Tenant, id: &str, user: &serde_json::Map<String, Value>) -> bool {
    !write_rules::is_synced(user) && !write_rules::holds_a_role(t, id)
}

fn mass_delete(r: &mut Runner<'_>) {
    // A cloud script cannot delete accounts synchronised from on-premises AD, nor, with
    // User.ReadWrite.All alone, users who hold a directory role: Graph refuses both
    // (ops::write_rules), so the script leaves them.
    let t: &Tenant = r.t;
    let spared = |id: &str, o: &serde_json::Map<String, Value>| {
        cloud_writable(t, id, o)
            && !text(o, "userPrincipalName").is_some_and(|u| {
                u.starts_with("bg-admin")
                    || u.starts_with("adele.")
                    || u.starts_with("megan.")
                    || u.starts_with("nestor.")
            })
    };
    for (id, name) in every_nth(r.t, Coll::Users, 10, spared) {
        r.step(
            "delete",
            Coll::Users,
            &id,
            name,
            Value::Null,
            Method::Delete,
            &format!("/users/{id}"),
            None,
        );
    }
    let break_glass = |_: &str, o: &serde_json::Map<String, Value>| {
        !write_rules::is_synced(o)
            && !text(o, "displayName").is_some_and(|n| n.starts_with("CA - Break Glass"))
    };
    let mut groups = every_nth(r.t, Coll::Groups, 10, break_glass);
    if let Some((id, o)) = r.t.find_named(Coll::Groups, "CA - Service Accounts")
        && !groups.iter().any(|(g, _)| *g == id)
    {
        groups.push((id, text(&o, "displayName")));
    }
    for (id, name) in &groups {
        r.step(
            "delete",
            Coll::Groups,
            id,
            name.clone(),
            Value::Null,
            Method::Delete,
            &format!("/groups/{id}"),
            None,
        );
    }
    let recoverable: Vec<(String, Option<String>)> =
        groups.into_iter().filter(|(id, _)| r.t.recycle_bin.contains_key(id)).collect();
    for (id, name) in recoverable.into_iter().step_by(2) {
        r.step(
            "purge",
            Coll::Groups,
            &id,
            name,
            Value::Null,
            Method::Delete,
            &format!("/directory/deletedItems/{id}"),
            None,
        );
    }
}

fn script_gone_wrong(r: &mut Runner<'_>) {
    let t: &Tenant = r.t;
    let staff = |id: &str, o: &serde_json::Map<String, Value>| {
        o.get("employeeId").is_some() && cloud_writable(t, id, o)
    };
    for (id, name) in every_nth(r.t, Coll::Users, 5, staff) {
        let old =
            r.t.get(Coll::Users, &id)
                .and_then(|u| u.get("department"))
                .cloned()
                .unwrap_or(Value::Null);
        r.step(
            "update",
            Coll::Users,
            &id,
            name,
            json!({"department": {"old": old, "new": "Unassigned"}}),
            Method::Patch,
            &format!("/users/{id}"),
            Some(json!({"department": "Unassigned"})),
        );
    }
    for prefix in ["Privileged Admins", "Finance", "Engineering"] {
        let Some((group, o)) = r.t.find_named(Coll::Groups, prefix) else {
            continue;
        };
        let members: Vec<String> =
            r.t.link_set(LinkKind::Members, &group)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
        for m in members {
            r.step(
                "removeMember",
                Coll::Groups,
                &group,
                text(&o, "displayName"),
                json!({"member": m}),
                Method::Delete,
                &format!("/groups/{group}/members/{m}/$ref"),
                None,
            );
        }
    }
}
