//! A deterministic, realistic starting tenant: the same seed gives the same tenant, ids included.
//!
//! Every tenant has the Microsoft Graph service principal with its app roles, the emulator's two
//! clients (read and write) with their permissions granted as app role assignments, two
//! cloud-only break-glass accounts excluded from every CA policy through a group, Global
//! Administrators and other privileged roles (active and PIM-eligible), named locations, the
//! built-in authentication strengths and a custom one, the authentication methods policy, and CA
//! policies modelled on common baselines that name the tenant's real groups, roles, apps and
//! locations.

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::auth::{Access, Client};
use crate::ops::{PARENT, security_identifier as kinds_security_identifier};
use crate::permission::{GRAPH_APP_ID, GRAPH_APP_ROLES, READ_PERMISSIONS, WRITE_PERMISSIONS};
use crate::resource::{Coll, Singleton};
use crate::route::LinkKind;
use crate::tenant::Tenant;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Seed of the random generator: same seed, same tenant.
    pub seed: u64,
    /// Number of ordinary member users besides the named administrators.
    pub users: usize,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions { seed: 1, users: 25 }
    }
}

/// Built-in directory roles: `(template id, display name)`.
pub const BUILTIN_ROLES: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "fdd7a751-b60b-444a-984c-02652fe8fa1c",
        "Groups Administrator",
    ),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
    ("88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers"),
];

const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const PRIV_ROLE_ADMIN: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
const SECURITY_ADMIN: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
const CA_ADMIN: &str = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9";

/// Built-in authentication strengths: `(id, name, combinations)`.
const BUILTIN_STRENGTHS: &[(&str, &str, &[&str])] = &[
    (
        "00000000-0000-0000-0000-000000000002",
        "Multifactor authentication",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        "Passwordless MFA",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        "Phishing-resistant MFA",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
        ],
    ),
];

const FIRST_NAMES: &[&str] = &[
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Ravi",
    "Sofia",
    "Tomas",
    "Yuki",
];
const LAST_NAMES: &[&str] = &[
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Cantrell",
    "Bell",
    "Lorenz",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Caldwell",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Nair",
    "Costa",
    "Novak",
    "Tanaka",
];
const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Engineering",
    "Sales",
    "Marketing",
    "Operations",
    "Legal",
    "HR",
];

struct Seeder {
    t: Tenant,
    created: String,
}

/// Builds a tenant from the options.
pub fn build(opts: &SeedOptions) -> Tenant {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64_compat(opts.seed);
    let tenant_id = uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string();
    let t = Tenant::empty(opts.seed, tenant_id, "contoso.onmicrosoft.com".into());
    let created = "2024-01-15T09:00:00Z".to_string();
    let mut s = Seeder { t, created };
    s.seed_all(opts);
    s.t
}

trait SeedCompat {
    fn seed_from_u64_compat(seed: u64) -> Self;
}

impl SeedCompat for rand_chacha::ChaCha8Rng {
    fn seed_from_u64_compat(seed: u64) -> Self {
        <Self as rand::SeedableRng>::seed_from_u64(seed ^ 0x005e_ed7e_4aa7)
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Seeder {
    fn insert(&mut self, coll: Coll, id: &str, mut body: Map<String, Value>) {
        let mut stored = Map::new();
        if let Some(t) = body.remove("@odata.type") {
            stored.insert("@odata.type".into(), t);
        }
        stored.insert("id".into(), Value::String(id.to_string()));
        stored.extend(body);
        self.t.put(coll, id, stored);
    }

    fn seed_all(&mut self, opts: &SeedOptions) {
        self.singletons();
        self.roles();
        self.strengths();
        let graph_sp = self.graph_service_principal();
        self.clients(&graph_sp);
        let people = self.users(opts.users);
        let groups = self.groups(&people);
        self.role_assignments(&people, &groups);
        let locations = self.named_locations();
        let apps = self.applications(&graph_sp, &people);
        self.ca_policies(&groups, &locations, &apps);
        self.t.audit.clear();
    }

    fn singletons(&mut self) {
        let t = &mut self.t;
        t.singletons.insert(Singleton::AuthorizationPolicy, obj(json!({
            "id": "authorizationPolicy", "displayName": "Authorization Policy",
            "description": "Used to manage authorization related settings across the company.",
            "allowInvitesFrom": "everyone", "allowedToSignUpEmailBasedSubscriptions": true,
            "allowedToUseSSPR": true, "allowEmailVerifiedUsersToJoinOrganization": false,
            "allowUserConsentForRiskyApps": false, "blockMsolPowerShell": false,
            "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
            "defaultUserRolePermissions": {"allowedToCreateApps": true, "allowedToCreateSecurityGroups": true,
                "allowedToCreateTenants": true, "allowedToReadBitlockerKeysForOwnedDevice": true,
                "allowedToReadOtherUsers": true, "permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"]},
        })));
        t.singletons.insert(Singleton::SecurityDefaults, obj(json!({
            "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms recommended by Microsoft.",
            "isEnabled": false,
        })));
        t.singletons.insert(Singleton::AuthenticationMethodsPolicy, obj(json!({
            "id": "authenticationMethodsPolicy", "displayName": "Authentication Methods Policy",
            "description": "The tenant-wide policy that controls which authentication methods are allowed in the tenant.",
            "lastModifiedDateTime": "2024-01-15T09:00:00Z", "policyVersion": "1.5",
            "policyMigrationState": "migrationComplete", "reconfirmationInDays": 0,
            "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {"snoozeDurationInDays": 1,
                "state": "default", "excludeTargets": [], "includeTargets": [{"id": "all_users", "targetType": "group", "targetedAuthenticationMethod": "microsoftAuthenticator"}]}},
        })));
        t.singletons.insert(Singleton::CrossTenantAccessPolicy, obj(json!({
            "id": "crossTenantAccessPolicy", "displayName": "CrossTenantAccessPolicy", "allowedCloudEndpoints": [],
        })));
        let allowed = json!({"usersAndGroups": {"accessType": "allowed", "targets": [{"target": "AllUsers", "targetType": "user"}]},
            "applications": {"accessType": "allowed", "targets": [{"target": "AllApplications", "targetType": "application"}]}});
        let blocked = json!({"usersAndGroups": {"accessType": "blocked", "targets": [{"target": "AllUsers", "targetType": "user"}]},
            "applications": {"accessType": "blocked", "targets": [{"target": "AllApplications", "targetType": "application"}]}});
        t.singletons.insert(Singleton::CrossTenantDefault, obj(json!({
            "id": "crossTenantAccessPolicyConfigurationDefault", "isServiceDefault": true,
            "b2bCollaborationInbound": allowed, "b2bCollaborationOutbound": allowed,
            "b2bDirectConnectInbound": blocked, "b2bDirectConnectOutbound": blocked,
            "inboundTrust": {"isMfaAccepted": false, "isCompliantDeviceAccepted": false, "isHybridAzureADJoinedDeviceAccepted": false},
            "automaticUserConsentSettings": {"inboundAllowed": false, "outboundAllowed": false},
        })));
        self.method_configurations();
    }

    fn method_configurations(&mut self) {
        let all =
            json!([{"id": "all_users", "targetType": "group", "isRegistrationRequired": false}]);
        let configs = [
            (
                "Fido2",
                json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": "enabled",
                "isAttestationEnforced": true, "isSelfServiceRegistrationAllowed": true,
                "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []}, "excludeTargets": [], "includeTargets": all}),
            ),
            (
                "MicrosoftAuthenticator",
                json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethodConfiguration",
                "state": "enabled", "isSoftwareOathEnabled": false, "excludeTargets": [],
                "includeTargets": [{"id": "all_users", "targetType": "group", "isRegistrationRequired": false, "authenticationMode": "any"}]}),
            ),
            (
                "Sms",
                json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "disabled", "excludeTargets": [],
                "includeTargets": [{"id": "all_users", "targetType": "group", "isRegistrationRequired": false, "isUsableForSignIn": false}]}),
            ),
            (
                "TemporaryAccessPass",
                json!({"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
                "state": "enabled", "defaultLifetimeInMinutes": 60, "defaultLength": 8, "minimumLifetimeInMinutes": 60,
                "maximumLifetimeInMinutes": 480, "isUsableOnce": false, "excludeTargets": [], "includeTargets": all}),
            ),
            (
                "SoftwareOath",
                json!({"@odata.type": "#microsoft.graph.softwareOathAuthenticationMethodConfiguration", "state": "disabled", "excludeTargets": [], "includeTargets": all}),
            ),
            (
                "Voice",
                json!({"@odata.type": "#microsoft.graph.voiceAuthenticationMethodConfiguration", "state": "disabled", "isOfficePhoneAllowed": false, "excludeTargets": [], "includeTargets": all}),
            ),
            (
                "Email",
                json!({"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration", "state": "enabled", "allowExternalIdToUseEmailOtp": "default", "excludeTargets": [], "includeTargets": all}),
            ),
        ];
        for (id, body) in configs {
            self.insert(Coll::AuthMethodConfigs, id, obj(body));
        }
    }

    fn roles(&mut self) {
        for (id, name) in BUILTIN_ROLES {
            let body = obj(
                json!({"description": format!("Built-in role: {name}."), "displayName": name,
                "isBuiltIn": true, "isEnabled": true, "resourceScopes": ["/"], "templateId": id, "version": "1",
                "rolePermissions": [{"allowedResourceActions": [format!("microsoft.directory/{}/allProperties/allTasks", name.to_ascii_lowercase().replace(' ', ""))], "condition": null, "excludedResourceActions": []}]}),
            );
            self.insert(Coll::RoleDefinitions, id, body);
        }
        let id = self.t.new_guid();
        let body = obj(
            json!({"description": "Reads and resets passwords of users in the helpdesk scope.",
            "displayName": "Contoso Helpdesk Operator", "isBuiltIn": false, "isEnabled": true, "resourceScopes": ["/"],
            "templateId": id, "version": null,
            "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/users/standard/read", "microsoft.directory/users/password/update"], "condition": null, "excludedResourceActions": []}]}),
        );
        self.insert(Coll::RoleDefinitions, &id, body);
    }

    fn strengths(&mut self) {
        for (id, name, combos) in BUILTIN_STRENGTHS {
            let body = obj(
                json!({"displayName": name, "description": format!("Built-in: {name}."), "policyType": "builtIn",
                "requirementsSatisfied": "mfa", "allowedCombinations": combos,
                "createdDateTime": "2021-12-01T08:00:00Z", "modifiedDateTime": "2021-12-01T08:00:00Z"}),
            );
            self.insert(Coll::AuthStrengths, id, body);
        }
        let id = self.t.new_guid();
        let body = obj(
            json!({"displayName": "Contoso admin strength", "description": "FIDO2 or Windows Hello for administrators.",
            "policyType": "custom", "requirementsSatisfied": "mfa", "allowedCombinations": ["fido2", "windowsHelloForBusiness"],
            "createdDateTime": self.created, "modifiedDateTime": self.created}),
        );
        self.insert(Coll::AuthStrengths, &id, body);
    }

    fn graph_service_principal(&mut self) -> String {
        let roles: Vec<Value> = GRAPH_APP_ROLES.iter().map(|(value, id)| json!({
            "allowedMemberTypes": ["Application"], "description": format!("Allows the app to {value} without a signed-in user."),
            "displayName": value, "id": id, "isEnabled": true, "origin": "Application", "value": value,
        })).collect();
        let id = self.t.new_guid();
        let body = obj(
            json!({"appId": GRAPH_APP_ID, "displayName": "Microsoft Graph", "appDisplayName": "Microsoft Graph",
            "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a", "servicePrincipalType": "Application",
            "servicePrincipalNames": [GRAPH_APP_ID, "https://graph.microsoft.com"], "signInAudience": "AzureADMultipleOrgs",
            "accountEnabled": true, "appRoleAssignmentRequired": false, "appRoles": roles, "tags": [],
            "oauth2PermissionScopes": [
                {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "value": "User.Read", "type": "User", "isEnabled": true, "adminConsentDisplayName": "Sign in and read user profile", "adminConsentDescription": "Allows users to sign-in to the app, and allows the app to read the profile of signed-in users.", "userConsentDisplayName": "Sign you in and read your profile", "userConsentDescription": "Allows you to sign in to the app with your organizational account and let the app read your profile.", "origin": "Application"},
                {"id": "37f7f235-527c-4136-accd-4a02d197296e", "value": "openid", "type": "User", "isEnabled": true, "adminConsentDisplayName": "Sign users in", "adminConsentDescription": "Allows users to sign in to the app with their work or school accounts.", "userConsentDisplayName": "Sign in as you", "userConsentDescription": "Allows you to sign in to the app with your work or school account.", "origin": "Application"},
            ]}),
        );
        self.insert(Coll::ServicePrincipals, &id, body);
        id
    }

    fn app_and_sp(&mut self, name: &str, extra: &Value) -> (String, String, String) {
        let app_id = self.t.new_guid();
        let app_oid = self.t.new_guid();
        let mut body = obj(
            json!({"appId": app_id, "displayName": name, "createdDateTime": self.created,
            "publisherDomain": self.t.domain, "signInAudience": "AzureADMyOrg"}),
        );
        if let Value::Object(m) = extra {
            body.extend(m.clone());
        }
        let app_roles = body.get("appRoles").cloned().unwrap_or(json!([]));
        self.insert(Coll::Applications, &app_oid, body);
        let sp_id = self.t.new_guid();
        let sp = obj(
            json!({"appId": app_id, "displayName": name, "appDisplayName": name,
            "appOwnerOrganizationId": self.t.tenant_id, "servicePrincipalType": "Application",
            "servicePrincipalNames": [app_id], "signInAudience": "AzureADMyOrg", "accountEnabled": true,
            "appRoleAssignmentRequired": false, "appRoles": app_roles, "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]}),
        );
        self.insert(Coll::ServicePrincipals, &sp_id, sp);
        (app_oid, app_id, sp_id)
    }

    fn grant(&mut self, sp_id: &str, graph_sp: &str, perms: &[&str]) {
        for perm in perms {
            let Some((_, role_id)) = GRAPH_APP_ROLES.iter().find(|(v, _)| v == perm) else {
                continue;
            };
            let id = self.t.new_opaque_id();
            let name = self
                .t
                .get(Coll::ServicePrincipals, sp_id)
                .and_then(|s| s.get("displayName"))
                .cloned();
            let body = obj(
                json!({"appRoleId": role_id, "createdDateTime": self.created, "principalDisplayName": name,
                "principalId": sp_id, "principalType": "ServicePrincipal", "resourceDisplayName": "Microsoft Graph", "resourceId": graph_sp}),
            );
            self.insert(Coll::AppRoleAssignments, &id, body);
        }
    }

    fn clients(&mut self, graph_sp: &str) {
        for (name, access, perms) in [
            ("Rewind Reader", Access::Read, READ_PERMISSIONS),
            ("Rewind Writer", Access::Write, WRITE_PERMISSIONS),
        ] {
            let (_, app_id, sp_id) = self.app_and_sp(name, &json!({"requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID,
                "resourceAccess": perms.iter().filter_map(|p| GRAPH_APP_ROLES.iter().find(|(v, _)| v == p)).map(|(_, id)| json!({"id": id, "type": "Role"})).collect::<Vec<_>>()}]}));
            self.grant(&sp_id, graph_sp, perms);
            let secret: String = (0..40)
                .map(|_| {
                    let alphabet =
                        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-";
                    alphabet[self.t.rng.random_range(0..alphabet.len())] as char
                })
                .collect();
            self.t.clients.push(Client {
                client_id: app_id,
                client_secret: secret,
                access,
                display_name: name.into(),
                service_principal_id: sp_id,
            });
        }
    }

    fn user(&mut self, given: &str, surname: &str, nick: &str, extra: &Value) -> String {
        let id = self.t.new_guid();
        let upn = format!("{nick}@{}", self.t.domain);
        let mut body = obj(
            json!({"accountEnabled": true, "displayName": format!("{given} {surname}").trim(),
            "givenName": given, "surname": surname, "mailNickname": nick, "userPrincipalName": upn, "mail": upn,
            "userType": "Member", "createdDateTime": self.created, "usageLocation": "US",
            "securityIdentifier": kinds_security_identifier(&id),
            "identities": [{"signInType": "userPrincipalName", "issuer": self.t.domain, "issuerAssignedId": upn}],
            "businessPhones": []}),
        );
        if let Value::Object(m) = extra {
            body.extend(m.clone());
        }
        self.insert(Coll::Users, &id, body);
        id
    }

    fn users(&mut self, count: usize) -> People {
        let bg1 = self.user(
            "Break Glass",
            "01",
            "bg-admin-01",
            &json!({"displayName": "Break Glass 01", "jobTitle": "Emergency access", "mail": null}),
        );
        let bg2 = self.user(
            "Break Glass",
            "02",
            "bg-admin-02",
            &json!({"displayName": "Break Glass 02", "jobTitle": "Emergency access", "mail": null}),
        );
        let global_admin = self.user(
            "Adele",
            "Vance",
            "adele.vance",
            &json!({"jobTitle": "IT Director", "department": "IT"}),
        );
        let security_admin = self.user(
            "Megan",
            "Bowen",
            "megan.bowen",
            &json!({"jobTitle": "Security Lead", "department": "IT"}),
        );
        let ca_admin = self.user(
            "Nestor",
            "Wilke",
            "nestor.wilke",
            &json!({"jobTitle": "Identity Engineer", "department": "IT"}),
        );
        let guest = self.user("Pat", "Partner", "pat_fabrikam.com#EXT#", &json!({"userType": "Guest", "mail": "pat@fabrikam.com",
            "displayName": "Pat Partner (Fabrikam)", "externalUserState": "Accepted", "creationType": "Invitation"}));
        let mut staff = Vec::new();
        for i in 0..count {
            let (first, last) = (
                FIRST_NAMES[i % FIRST_NAMES.len()],
                LAST_NAMES[(i * 7 + i / FIRST_NAMES.len()) % LAST_NAMES.len()],
            );
            let nick = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i);
            let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
            staff.push(self.user(first, last, &nick, &json!({"department": dept, "jobTitle": format!("{dept} Specialist"), "officeLocation": format!("Building {}", i % 5 + 1)})));
        }
        People {
            bg: vec![bg1, bg2],
            global_admin,
            security_admin,
            ca_admin,
            guest,
            staff,
        }
    }

    fn group(&mut self, name: &str, nick: &str, unified: bool, extra: &Value) -> String {
        let id = self.t.new_guid();
        let mut body = obj(
            json!({"displayName": name, "description": format!("{name}."), "mailNickname": nick,
            "mailEnabled": unified, "securityEnabled": !unified, "groupTypes": if unified { json!(["Unified"]) } else { json!([]) },
            "createdDateTime": self.created, "renewedDateTime": self.created, "securityIdentifier": kinds_security_identifier(&id)}),
        );
        if unified {
            let mail = format!("{nick}@{}", self.t.domain);
            body.insert("mail".into(), json!(mail));
            body.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
            body.insert("visibility".into(), json!("Private"));
        }
        if let Value::Object(m) = extra {
            body.extend(m.clone());
        }
        self.insert(Coll::Groups, &id, body);
        id
    }

    fn members(&mut self, group: &str, members: &[String]) {
        for m in members {
            self.t.add_link(Coll::Groups, LinkKind::Members, group, m);
        }
    }

    fn groups(&mut self, p: &People) -> Groups {
        let break_glass = self.group(
            "CA - Break Glass Accounts - Exclude",
            "ca-breakglass-exclude",
            false,
            &json!({"isAssignableToRole": true}),
        );
        self.members(&break_glass, &p.bg);
        let admins = self.group(
            "Privileged Admins",
            "privileged-admins",
            false,
            &json!({"isAssignableToRole": true}),
        );
        self.members(
            &admins,
            &[
                p.global_admin.clone(),
                p.security_admin.clone(),
                p.ca_admin.clone(),
            ],
        );
        let all_staff = self.group("All Staff", "allstaff", true, &Value::Null);
        self.members(&all_staff, &p.staff);
        let mut departments = Vec::new();
        for dept in DEPARTMENTS {
            let g = self.group(dept, &dept.to_lowercase(), false, &Value::Null);
            let members: Vec<String> = p
                .staff
                .iter()
                .enumerate()
                .filter(|(i, _)| DEPARTMENTS[i % DEPARTMENTS.len()] == *dept)
                .map(|(_, id)| id.clone())
                .collect();
            self.members(&g, &members);
            departments.push(g);
        }
        let service_accounts = self.group(
            "CA - Service Accounts",
            "ca-service-accounts",
            false,
            &Value::Null,
        );
        if let Some(last) = p.staff.last() {
            self.members(&service_accounts, std::slice::from_ref(last));
        }
        self.members(&all_staff, &[departments[0].clone()]);
        for g in [&break_glass, &admins, &all_staff] {
            self.t
                .add_link(Coll::Groups, LinkKind::Owners, g, &p.global_admin);
        }
        Groups {
            break_glass,
            admins,
            all_staff,
            service_accounts,
        }
    }

    fn role_assignments(&mut self, p: &People, _g: &Groups) {
        let assign = |s: &mut Seeder, principal: &str, role: &str| {
            let id = format!("{}-1", s.t.new_opaque_id());
            let body = obj(
                json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/", "appScopeId": null, "condition": null,
                "principalOrganizationId": s.t.tenant_id}),
            );
            s.insert(Coll::RoleAssignments, &id, body);
        };
        for bg in &p.bg {
            assign(self, bg, GLOBAL_ADMIN);
        }
        assign(self, &p.global_admin, GLOBAL_ADMIN);
        assign(self, &p.security_admin, SECURITY_ADMIN);
        assign(self, &p.ca_admin, CA_ADMIN);
        assign(self, &p.global_admin, PRIV_ROLE_ADMIN);
        for (principal, role) in [
            (&p.security_admin, GLOBAL_ADMIN),
            (&p.ca_admin, PRIV_ROLE_ADMIN),
        ] {
            let id = self.t.new_guid();
            let body = obj(
                json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/", "appScopeId": null,
                "createdUsing": id, "createdDateTime": self.created, "modifiedDateTime": null, "status": "Provisioned", "memberType": "Direct",
                "scheduleInfo": {"startDateTime": self.created, "recurrence": null, "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}}}),
            );
            self.insert(Coll::RoleEligibilitySchedules, &id, body);
        }
    }

    fn named_locations(&mut self) -> Locations {
        let office = self.t.new_guid();
        self.insert(Coll::NamedLocations, &office, obj(json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "Contoso head office", "isTrusted": true, "createdDateTime": self.created, "modifiedDateTime": self.created,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
                         {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8:1234::/48"}]})));
        let allowed = self.t.new_guid();
        self.insert(Coll::NamedLocations, &allowed, obj(json!({"@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "ALLOWED COUNTRIES", "countriesAndRegions": ["US", "CA", "GB", "NL", "DE"], "includeUnknownCountriesAndRegions": false,
            "countryLookupMethod": "clientIpAddress", "createdDateTime": self.created, "modifiedDateTime": self.created})));
        Locations { office, allowed }
    }

    fn applications(&mut self, graph_sp: &str, p: &People) -> Apps {
        let role_id = self.t.new_guid();
        let (payroll_app, _, payroll_sp) = self.app_and_sp("Contoso Payroll", &json!({
            "identifierUris": ["api://contoso-payroll"], "web": {"redirectUris": ["https://payroll.contoso.com/signin-oidc"], "homePageUrl": "https://payroll.contoso.com", "logoutUrl": null, "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": true}, "redirectUriSettings": []},
            "appRoles": [{"allowedMemberTypes": ["User"], "description": "Approves payroll runs.", "displayName": "Payroll Approver", "id": role_id, "isEnabled": true, "origin": "Application", "value": "Payroll.Approve"}],
            "passwordCredentials": [{"customKeyIdentifier": null, "displayName": "ci-deploy", "endDateTime": "2026-01-15T09:00:00Z", "hint": "Q~x", "keyId": "4a1d8c2e-6f3b-4c5d-9e7f-8a9b0c1d2e3f", "secretText": null, "startDateTime": "2024-01-15T09:00:00Z"}],
        }));
        let (automation_app, _, automation_sp) = self.app_and_sp(
            "Contoso Automation",
            &json!({"notes": "Runs nightly directory jobs."}),
        );
        self.grant(
            &automation_sp,
            graph_sp,
            &[
                "User.ReadWrite.All",
                "Group.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
        );
        let id = self.t.new_opaque_id();
        self.insert(Coll::AppRoleAssignments, &id, obj(json!({"appRoleId": role_id, "createdDateTime": self.created,
            "principalDisplayName": "Adele Vance", "principalId": p.global_admin, "principalType": "User",
            "resourceDisplayName": "Contoso Payroll", "resourceId": payroll_sp})));
        let grant_id = self.t.new_opaque_id();
        self.insert(
            Coll::Oauth2PermissionGrants,
            &grant_id,
            obj(
                json!({"clientId": payroll_sp, "consentType": "AllPrincipals",
            "principalId": null, "resourceId": graph_sp, "scope": "openid User.Read"}),
            ),
        );
        let fic = self.t.new_guid();
        let mut body = obj(
            json!({"name": "github-deploy", "issuer": "https://token.actions.githubusercontent.com",
            "subject": "repo:contoso/payroll:environment:production", "audiences": ["api://AzureADTokenExchange"], "description": "Deploys from GitHub Actions."}),
        );
        body.insert(PARENT.into(), Value::String(payroll_app.clone()));
        self.insert(Coll::FederatedCredentials, &fic, body);
        self.t.add_link(
            Coll::Applications,
            LinkKind::Owners,
            &payroll_app,
            &p.global_admin,
        );
        self.t.add_link(
            Coll::Applications,
            LinkKind::Owners,
            &automation_app,
            &p.ca_admin,
        );
        Apps {
            payroll_app_id: self
                .t
                .get(Coll::Applications, &payroll_app)
                .and_then(|a| a.get("appId"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }

    fn policy(&mut self, name: &str, state: &str, users: &Value, apps: &Value, extra: &Value) {
        let id = self.t.new_guid();
        let mut conditions = obj(
            json!({"users": users, "applications": apps, "clientAppTypes": ["all"],
            "signInRiskLevels": [], "userRiskLevels": [], "servicePrincipalRiskLevels": []}),
        );
        if let Some(Value::Object(c)) = extra.get("conditions") {
            conditions.extend(c.clone());
        }
        let mut body = obj(
            json!({"displayName": name, "state": state, "createdDateTime": self.created, "conditions": conditions}),
        );
        for k in ["grantControls", "sessionControls"] {
            if let Some(v) = extra.get(k) {
                body.insert(k.into(), v.clone());
            }
        }
        self.insert(Coll::CaPolicies, &id, body);
    }

    fn ca_policies(&mut self, g: &Groups, l: &Locations, apps: &Apps) {
        let all_users = json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": []});
        let all_apps = json!({"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []});
        let mfa = json!({"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []});
        let block = json!({"operator": "OR", "builtInControls": ["block"], "customAuthenticationFactors": [], "termsOfUse": []});
        self.policy(
            "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
            "enabled",
            &all_users,
            &all_apps,
            &json!({"grantControls": mfa}),
        );
        self.policy("CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist", "enabled",
            &json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass, g.service_accounts], "includeRoles": [], "excludeRoles": []}),
            &all_apps, &json!({"grantControls": block, "conditions": {"locations": {"includeLocations": ["All"], "excludeLocations": [l.allowed]}}}));
        self.policy("CA002-Global-IdentityProtection-AnyApp-AnyPlatform-Block-LegacyAuthentication", "enabled", &all_users, &all_apps,
            &json!({"grantControls": block, "conditions": {"clientAppTypes": ["exchangeActiveSync", "other"]}}));
        let admin_roles: Vec<&str> = BUILTIN_ROLES.iter().take(7).map(|(id, _)| *id).collect();
        self.policy("CA100-Admins-IdentityProtection-AdminPortals-AnyPlatform-PhishingResistantMFA", "enabled",
            &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [g.admins], "excludeGroups": [g.break_glass], "includeRoles": admin_roles, "excludeRoles": []}),
            &json!({"includeApplications": ["MicrosoftAdminPortals"], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []}),
            &json!({"grantControls": {"operator": "OR", "builtInControls": [], "customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}}));
        self.policy(
            "CA201-Internals-IdentityProtection-AnyApp-AnyPlatform-BLOCK-HighRiskUser",
            "enabledForReportingButNotEnforced",
            &all_users,
            &all_apps,
            &json!({"grantControls": block, "conditions": {"userRiskLevels": ["high"]}}),
        );
        self.policy("CA205-Internals-BaseProtection-AnyApp-Windows-CompliantorAADHJ", "enabled",
            &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [g.all_staff], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": []}),
            &json!({"includeApplications": ["All"], "excludeApplications": [apps.payroll_app_id], "includeUserActions": [], "includeAuthenticationContextClassReferences": []}),
            &json!({"grantControls": {"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"], "customAuthenticationFactors": [], "termsOfUse": []},
                    "conditions": {"platforms": {"includePlatforms": ["windows"], "excludePlatforms": []}}}));
        self.policy("CA400-GuestUsers-IdentityProtection-AnyApp-AnyPlatform-MFA", "enabled",
            &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": [],
                   "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser,serviceProvider",
                   "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}}}),
            &all_apps, &json!({"grantControls": mfa, "sessionControls": {"signInFrequency": {"isEnabled": true, "type": "hours", "value": 12, "frequencyInterval": "timeBased", "authenticationType": "primaryAndSecondaryAuthentication"}}}));
    }
}

struct People {
    bg: Vec<String>,
    global_admin: String,
    security_admin: String,
    ca_admin: String,
    #[expect(dead_code, reason = "kept for the scenarios of the next issue")]
    guest: String,
    staff: Vec<String>,
}

struct Groups {
    break_glass: String,
    admins: String,
    all_staff: String,
    service_accounts: String,
}

struct Locations {
    #[expect(dead_code, reason = "kept for the scenarios of the next issue")]
    office: String,
    allowed: String,
}

struct Apps {
    payroll_app_id: String,
}
