//! Applications and their service principals: the named ones the scenarios use (a payroll app,
//! an over-privileged automation identity, a privileged provisioning app, two scripts) and
//! generated line-of-business apps with app roles, secrets, owners, app role assignments,
//! Microsoft Graph permissions and admin-consented delegated grants.

use rand::Rng;
use serde_json::{Value, json};

use super::{Apps, DEPARTMENTS, Groups, People, Seeder, obj};
use crate::resource::Coll;
use crate::route::LinkKind;
use crate::tenant::PARENT;

/// Named applications and the Microsoft Graph application permissions they hold.
pub(crate) const AUTOMATION_APP: &str = "Contoso Automation";
pub(crate) const PROVISIONING_APP: &str = "Contoso Provisioning";
pub(crate) const HR_SYNC_APP: &str = "HR Sync";
pub(crate) const CLEANUP_SCRIPT_APP: &str = "Directory Cleanup Script";

const NAMED_APPS: &[(&str, &str, &[&str])] = &[
    (
        AUTOMATION_APP,
        "Runs nightly directory jobs.",
        &[
            "Application.ReadWrite.All",
            "RoleManagement.ReadWrite.Directory",
            "Policy.Read.All",
            "Policy.ReadWrite.ConditionalAccess",
            "Directory.ReadWrite.All",
        ],
    ),
    (
        PROVISIONING_APP,
        "Provisions accounts and roles for new hires.",
        &[
            "Directory.ReadWrite.All",
            "User.ReadWrite.All",
            "Group.ReadWrite.All",
            "RoleManagement.ReadWrite.Directory",
        ],
    ),
    (
        HR_SYNC_APP,
        "Mirrors the HR system into the directory.",
        &["User.ReadWrite.All", "Group.ReadWrite.All"],
    ),
    (
        CLEANUP_SCRIPT_APP,
        "Normalises user attributes and group memberships.",
        &["User.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"],
    ),
];

const APP_WORDS: &[&str] = &[
    "Invoice",
    "Expense",
    "Timesheet",
    "Inventory",
    "Travel",
    "Recruiting",
    "Contracts",
    "Wiki",
    "Ticketing",
    "Analytics",
    "Procurement",
    "Learning",
    "Benefits",
    "Compliance",
    "Scheduler",
];

/// Graph application permissions some generated apps hold, from harmless to dangerous.
const GRAPH_PERMISSIONS: &[&str] = &[
    "User.Read.All",
    "Group.Read.All",
    "Application.Read.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
];

impl Seeder {
    pub(super) fn applications(
        &mut self,
        graph_sp: &str,
        p: &People,
        g: &Groups,
        generated: usize,
    ) -> Apps {
        let payroll_app_id = self.payroll(graph_sp, p);
        for (name, notes, perms) in NAMED_APPS {
            let secret = self.secret_metadata("automation");
            let (app, _, sp) =
                self.app_and_sp(name, &json!({"notes": notes, "passwordCredentials": [secret]}));
            self.grant(&sp, graph_sp, perms);
            self.t.add_link(Coll::Applications, LinkKind::Owners, &app, &p.ca_admin);
        }
        let generated_app_ids =
            (0..generated).map(|i| self.generated_app(i, graph_sp, p, g)).collect();
        Apps { payroll_app_id, generated_app_ids }
    }

    fn secret_metadata(&mut self, name: &str) -> Value {
        json!({"customKeyIdentifier": null, "displayName": name, "endDateTime": "2026-07-15T09:00:00Z",
            "hint": "Q~x", "keyId": self.t.new_guid(), "secretText": null, "startDateTime": self.created})
    }

    fn payroll(&mut self, graph_sp: &str, p: &People) -> String {
        let role_id = self.t.new_guid();
        let secret = self.secret_metadata("ci-deploy");
        let (payroll_app, app_id, payroll_sp) = self.app_and_sp("Contoso Payroll", &json!({
            "identifierUris": ["api://contoso-payroll"],
            "web": {"redirectUris": ["https://payroll.contoso.com/signin-oidc"], "homePageUrl": "https://payroll.contoso.com", "logoutUrl": null,
                    "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": true}, "redirectUriSettings": []},
            "appRoles": [{"allowedMemberTypes": ["User"], "description": "Approves payroll runs.", "displayName": "Payroll Approver", "id": role_id, "isEnabled": true, "origin": "Application", "value": "Payroll.Approve"}],
            "passwordCredentials": [secret],
        }));
        let id = self.t.new_opaque_id();
        self.insert(Coll::AppRoleAssignments, &id, obj(json!({"appRoleId": role_id, "createdDateTime": self.created,
            "principalDisplayName": "Adele Vance", "principalId": p.global_admin, "principalType": "User",
            "resourceDisplayName": "Contoso Payroll", "resourceId": payroll_sp})));
        let grant_id = self.t.new_opaque_id();
        self.insert(
            Coll::Oauth2PermissionGrants,
            &grant_id,
            obj(json!({"clientId": payroll_sp, "consentType": "AllPrincipals",
            "principalId": null, "resourceId": graph_sp, "scope": "openid User.Read"})),
        );
        let fic = self.t.new_guid();
        let mut body = obj(
            json!({"name": "github-deploy", "issuer": "https://token.actions.githubusercontent.com",
            "subject": "repo:contoso/payroll:environment:production", "audiences": ["api://AzureADTokenExchange"], "description": "Deploys from GitHub Actions."}),
        );
        body.insert(PARENT.into(), Value::String(payroll_app.clone()));
        self.insert(Coll::FederatedCredentials, &fic, body);
        self.t.add_link(Coll::Applications, LinkKind::Owners, &payroll_app, &p.global_admin);
        app_id
    }

    /// A line-of-business app: redirect URIs, for one in five app roles assigned to groups, for
    /// two in five a secret, for one in ten a Graph permission, for two in five admin consent.
    fn generated_app(&mut self, i: usize, graph_sp: &str, p: &People, g: &Groups) -> String {
        let word = APP_WORDS[i % APP_WORDS.len()];
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        let name = format!("Contoso {word} {dept} {i}");
        let slug = format!("{}-{}-{i}", word.to_lowercase(), dept.to_lowercase());
        let roles: Vec<Value> = if i.is_multiple_of(5) {
            (0..self.t.rng.random_range(1..=3)).map(|r| json!({"allowedMemberTypes": ["User"], "description": format!("{word} role {r}."),
                "displayName": format!("{word} {}", ["Reader", "Contributor", "Approver"][r]), "id": self.t.new_guid(), "isEnabled": true,
                "origin": "Application", "value": format!("{word}.{}", ["Read", "Write", "Approve"][r])})).collect()
        } else {
            Vec::new()
        };
        let mut extra = obj(json!({
            "identifierUris": if i.is_multiple_of(3) { json!([format!("api://contoso-{slug}")]) } else { json!([]) },
            "web": {"redirectUris": [format!("https://{slug}.contoso.com/signin-oidc")], "homePageUrl": format!("https://{slug}.contoso.com"),
                    "logoutUrl": null, "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false}, "redirectUriSettings": []},
            "appRoles": roles,
            "tags": [dept],
        }));
        if i % 5 == 1 || i % 5 == 3 {
            extra.insert("passwordCredentials".into(), json!([self.secret_metadata("app secret")]));
        }
        let (app, app_id, sp) = self.app_and_sp(&name, &Value::Object(extra));
        if !p.staff.is_empty() && i.is_multiple_of(2) {
            let owner = p.staff[self.t.rng.random_range(0..p.staff.len())].clone();
            self.t.add_link(Coll::Applications, LinkKind::Owners, &app, &owner);
        }
        for role in &roles {
            self.assign_app_role_to_group(&sp, &name, role, g);
        }
        if i % 10 == 7 {
            self.grant(&sp, graph_sp, &[GRAPH_PERMISSIONS[(i / 10) % GRAPH_PERMISSIONS.len()]]);
        }
        if i % 5 < 2 {
            let id = self.t.new_opaque_id();
            self.insert(
                Coll::Oauth2PermissionGrants,
                &id,
                obj(json!({"clientId": sp, "consentType": "AllPrincipals",
                "principalId": null, "resourceId": graph_sp, "scope": "openid profile User.Read"})),
            );
        }
        app_id
    }

    fn assign_app_role_to_group(&mut self, sp: &str, app_name: &str, role: &Value, g: &Groups) {
        let group = if g.generated.is_empty() {
            g.all_staff.clone()
        } else {
            g.generated[self.t.rng.random_range(0..g.generated.len())].clone()
        };
        let group_name = self
            .t
            .get(Coll::Groups, &group)
            .and_then(|o| o.get("displayName"))
            .cloned()
            .unwrap_or(Value::Null);
        let id = self.t.new_opaque_id();
        self.insert(
            Coll::AppRoleAssignments,
            &id,
            obj(json!({"appRoleId": role["id"], "createdDateTime": self.created,
            "principalDisplayName": group_name, "principalId": group, "principalType": "Group",
            "resourceDisplayName": app_name, "resourceId": sp})),
        );
    }
}
