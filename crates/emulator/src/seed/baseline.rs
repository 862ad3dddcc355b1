//! What every tenant has before any person or app: the singleton policies, the authentication
//! method configurations, built-in and custom roles, authentication strengths, the Microsoft Graph
//! service principal with its app roles, and the emulator's two clients.

use rand::Rng;
use serde_json::{Value, json};

use super::{BUILTIN_ROLES, Seeder, obj};
use crate::client::{Access, Client};
use crate::permission::{GRAPH_APP_ID, GRAPH_APP_ROLES, READ_PERMISSIONS, WRITE_PERMISSIONS};
use crate::resource::{Coll, Singleton};

/// Custom role definitions a tenant accumulates: `(name, allowed actions)`.
const CUSTOM_ROLES: &[(&str, &[&str])] = &[
    (
        "Contoso Helpdesk Operator",
        &["microsoft.directory/users/standard/read", "microsoft.directory/users/password/update"],
    ),
    (
        "Contoso App Registration Reviewer",
        &[
            "microsoft.directory/applications/standard/read",
            "microsoft.directory/applications/owners/read",
        ],
    ),
    (
        "Contoso Group Steward",
        &["microsoft.directory/groups/members/update", "microsoft.directory/groups/owners/update"],
    ),
    (
        "Contoso Device Onboarding",
        &["microsoft.directory/devices/create", "microsoft.directory/devices/standard/read"],
    ),
];

impl Seeder {
    pub(super) fn singletons(&mut self) {
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

    pub(super) fn roles(&mut self, custom: usize) {
        for id in BUILTIN_ROLES {
            let name = rewind_model::roles::name(id).unwrap_or(id);
            let body = obj(
                json!({"description": format!("Built-in role: {name}."), "displayName": name,
                "isBuiltIn": true, "isEnabled": true, "resourceScopes": ["/"], "templateId": id, "version": "1",
                "rolePermissions": [{"allowedResourceActions": [format!("microsoft.directory/{}/allProperties/allTasks", name.to_ascii_lowercase().replace(' ', ""))], "condition": null, "excludedResourceActions": []}]}),
            );
            self.insert(Coll::RoleDefinitions, id, body);
        }
        for i in 0..custom.max(1) {
            let (name, actions) = CUSTOM_ROLES[i % CUSTOM_ROLES.len()];
            let name = if i < CUSTOM_ROLES.len() {
                name.to_string()
            } else {
                format!("{name} {}", i / CUSTOM_ROLES.len() + 1)
            };
            let id = self.t.new_guid();
            let body = obj(json!({"description": format!("{name}: a Contoso custom role."),
                "displayName": name, "isBuiltIn": false, "isEnabled": true, "resourceScopes": ["/"],
                "templateId": id, "version": null,
                "rolePermissions": [{"allowedResourceActions": actions, "condition": null, "excludedResourceActions": []}]}));
            self.insert(Coll::RoleDefinitions, &id, body);
        }
    }

    pub(super) fn strengths(&mut self) {
        // The same built-in strengths the CA engine knows, as Graph returns them.
        for (id, name, combos) in rewind_policy::BUILT_IN_STRENGTHS {
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

    pub(super) fn graph_service_principal(&mut self) -> String {
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
                {"id": "14dad69e-099b-42c9-810b-d002981feec1", "value": "profile", "type": "User", "isEnabled": true, "adminConsentDisplayName": "View users' basic profile", "adminConsentDescription": "Allows the app to see your users' basic profile.", "userConsentDisplayName": "View your basic profile", "userConsentDescription": "Allows the app to see your basic profile.", "origin": "Application"},
                {"id": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "value": "offline_access", "type": "User", "isEnabled": true, "adminConsentDisplayName": "Maintain access to data you have given it access to", "adminConsentDescription": "Allows the app to see and update the data you gave it access to, even when users are not currently using the app.", "userConsentDisplayName": "Maintain access to data you have given it access to", "userConsentDescription": "Allows the app to see and update the data you gave it access to, even when you are not currently using the app.", "origin": "Application"},
                {"id": "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "value": "User.Read", "type": "User", "isEnabled": true, "adminConsentDisplayName": "Sign in and read user profile", "adminConsentDescription": "Allows users to sign-in to the app, and allows the app to read the profile of signed-in users.", "userConsentDisplayName": "Sign you in and read your profile", "userConsentDescription": "Allows you to sign in to the app with your organizational account and let the app read your profile.", "origin": "Application"},
                {"id": "37f7f235-527c-4136-accd-4a02d197296e", "value": "openid", "type": "User", "isEnabled": true, "adminConsentDisplayName": "Sign users in", "adminConsentDescription": "Allows users to sign in to the app with their work or school accounts.", "userConsentDisplayName": "Sign in as you", "userConsentDescription": "Allows you to sign in to the app with your work or school account.", "origin": "Application"},
            ]}),
        );
        self.insert(Coll::ServicePrincipals, &id, body);
        id
    }

    pub(super) fn app_and_sp(&mut self, name: &str, extra: &Value) -> (String, String, String) {
        let app_id = self.t.new_guid();
        let app_oid = self.t.new_guid();
        let mut body =
            obj(json!({"appId": app_id, "displayName": name, "createdDateTime": self.created,
            "publisherDomain": self.t.domain, "signInAudience": "AzureADMyOrg"}));
        if let Value::Object(m) = extra {
            body.extend(m.clone());
        }
        let app_roles = body.get("appRoles").cloned().unwrap_or(json!([]));
        self.insert(Coll::Applications, &app_oid, body);
        let sp_id = self.t.new_guid();
        let sp = obj(json!({"appId": app_id, "displayName": name, "appDisplayName": name,
            "appOwnerOrganizationId": self.t.tenant_id, "servicePrincipalType": "Application",
            "servicePrincipalNames": [app_id], "signInAudience": "AzureADMyOrg", "accountEnabled": true,
            "appRoleAssignmentRequired": false, "appRoles": app_roles, "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]}));
        self.insert(Coll::ServicePrincipals, &sp_id, sp);
        (app_oid, app_id, sp_id)
    }

    pub(super) fn grant(&mut self, sp_id: &str, graph_sp: &str, perms: &[&str]) {
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

    /// The write client holds the directory roles Graph requires of an app, beyond its
    /// permissions, to restore administrators and applications (Privileged Authentication
    /// Administrator, Application Administrator) — what the README asks of a real tenant's
    /// write app. Seeded last, so the rest of the tenant is what it was before they were.
    pub(super) fn write_client_roles(&mut self) {
        let Some(sp) = self
            .t
            .clients
            .iter()
            .find(|c| c.access == Access::Write)
            .map(|c| c.service_principal_id.clone())
        else {
            return;
        };
        for role in ["7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"]
        {
            self.assign(&sp, role);
        }
    }

    pub(super) fn clients(&mut self, graph_sp: &str) {
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
}
