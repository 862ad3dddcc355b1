//! Create, read, update and delete for every kind, with the values Graph generates and the
//! rules it enforces.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::Harness;

#[tokio::test]
async fn users_get_server_values_and_passwords_are_write_only() {
    let h = Harness::start().await;
    let id = h.new_user("nina.new").await;
    let r = h.get(&format!("/users/{id}?$select=id,createdDateTime,securityIdentifier,passwordProfile,userType,identities,accountEnabled")).await;
    assert_eq!(r.body["passwordProfile"], Value::Null, "Graph never returns the password");
    assert_eq!(r.body["userType"], "Member");
    assert!(r.body["createdDateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r.body["identities"][0]["signInType"], "userPrincipalName");
    let domain = h.emu.with_tenant(|t| t.domain().to_string());
    let by_upn = h.get(&format!("/users/nina.new@{domain}")).await;
    assert_eq!(by_upn.body["id"], id.as_str());
    let r = h.patch(&format!("/users/{id}"), &json!({"jobTitle": "Auditor"})).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert_eq!(h.get(&format!("/users/{id}")).await.body["jobTitle"], "Auditor");
    let dup = h.post("/users", &json!({"accountEnabled": true, "displayName": "x", "mailNickname": "nina.new",
        "userPrincipalName": format!("nina.new@{domain}"), "passwordProfile": {"password": "Xq7!rewind-Test"}})).await;
    assert_eq!((dup.status, dup.code()), (400, "Request_BadRequest"));
    let weak = h.post("/users", &json!({"accountEnabled": true, "displayName": "x", "mailNickname": "weak",
        "userPrincipalName": format!("weak@{domain}"), "passwordProfile": {"password": "password"}})).await;
    assert!(weak.body["error"]["message"].as_str().unwrap().contains("complexity"));
    let wrong_domain = h
        .post(
            "/users",
            &json!({"accountEnabled": true, "displayName": "x", "mailNickname": "x",
        "userPrincipalName": "x@fabrikam.com", "passwordProfile": {"password": "Xq7!rewind-Test"}}),
        )
        .await;
    assert_eq!(wrong_domain.status, 400);
}

#[tokio::test]
async fn applications_secrets_credentials_and_service_principals() {
    let h = Harness::start().await;
    let r = h
        .post(
            "/applications",
            &json!({"displayName": "Inventory", "identifierUris": ["api://inventory"]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let (id, app_id) =
        (r.body["id"].as_str().unwrap().to_string(), r.body["appId"].as_str().unwrap().to_string());
    assert_eq!(r.body["publisherDomain"], "contoso.onmicrosoft.com");
    let clash = h
        .post(
            "/applications",
            &json!({"displayName": "Other", "identifierUris": ["api://inventory"]}),
        )
        .await;
    assert_eq!(clash.status, 400);
    let ro = h.post("/applications", &json!({"displayName": "x", "appId": app_id})).await;
    assert_eq!(ro.status, 400);
    let pw = h
        .post(
            &format!("/applications/{id}/addPassword"),
            &json!({"passwordCredential": {"displayName": "deploy"}}),
        )
        .await;
    assert_eq!(pw.status, 200, "{}", pw.text);
    let secret = pw.body["secretText"].as_str().unwrap();
    assert_eq!(pw.body["hint"].as_str().unwrap(), &secret[..3]);
    let read = h.get(&format!("/applications(appId='{app_id}')")).await;
    let cred = &read.body["passwordCredentials"][0];
    assert_eq!(cred["secretText"], Value::Null);
    assert_eq!(cred["displayName"], "deploy");
    let r = h
        .post(&format!("/applications/{id}/removePassword"), &json!({"keyId": cred["keyId"]}))
        .await;
    assert_eq!(r.status, 204);
    let fic = h.post(&format!("/applications/{id}/federatedIdentityCredentials"), &json!({"name": "gh", "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/inventory:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]})).await;
    assert_eq!(fic.status, 201, "{}", fic.text);
    assert_eq!(
        h.get_all(&format!("/applications/{id}/federatedIdentityCredentials")).await.len(),
        1
    );
    let sp = h.post("/servicePrincipals", &json!({"appId": app_id})).await;
    assert_eq!(sp.status, 201);
    assert_eq!(sp.body["appDisplayName"], "Inventory");
    assert_eq!(sp.body["servicePrincipalNames"], json!([app_id, "api://inventory"]));
    let again = h.post("/servicePrincipals", &json!({"appId": app_id})).await;
    assert_eq!(again.status, 409);
    let orphan = h
        .post("/servicePrincipals", &json!({"appId": "11111111-1111-1111-1111-111111111111"}))
        .await;
    assert_eq!(orphan.status, 400);
    assert_eq!(orphan.body["error"]["details"][0]["code"], "NoBackingApplicationObject");
}

fn minimal_policy(name: &str) -> Value {
    json!({"displayName": name, "state": "enabledForReportingButNotEnforced",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
}

#[tokio::test]
async fn conditional_access_policies_follow_graph() {
    let h = Harness::start().await;
    let r = h.post("/identity/conditionalAccess/policies", &minimal_policy("Require MFA")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["modifiedDateTime"], Value::Null);
    assert_eq!(
        r.body["conditions"]["users"]["excludeGroups"],
        json!([]),
        "server fills empty arrays"
    );
    assert_eq!(r.body["sessionControls"], Value::Null);
    let strength = "00000000-0000-0000-0000-000000000004";
    let r = h.patch(&format!("/identity/conditionalAccess/policies/{id}"), &json!({"grantControls": {"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": strength}}})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let read = h.get(&format!("/identity/conditionalAccess/policies/{id}")).await;
    assert!(read.body["modifiedDateTime"].is_string());
    assert_eq!(
        read.body["grantControls"]["authenticationStrength"]["displayName"],
        "Phishing-resistant MFA",
        "expanded on read"
    );
    assert_eq!(read.body["grantControls"]["authenticationStrength"]["policyType"], "builtIn");
    let bad = h.patch(&format!("/identity/conditionalAccess/policies/{id}"), &json!({"grantControls": {"operator": "OR", "authenticationStrength": {"id": "00000000-0000-0000-0000-00000000dead"}}})).await;
    assert_eq!(bad.status, 400);
    let both = h.post("/identity/conditionalAccess/policies", &json!({"displayName": "x", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["block", "mfa"]}})).await;
    assert_eq!(both.status, 400);
    let no_users = h
        .post(
            "/identity/conditionalAccess/policies",
            &json!({"displayName": "x", "state": "enabled",
        "conditions": {"applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}),
        )
        .await;
    assert_eq!(no_users.status, 400);
    // A condition or control is set or null: an empty shell is refused, null removes it.
    let path = format!("/identity/conditionalAccess/policies/{id}");
    for shell in [
        json!({"conditions": {"platforms": {"includePlatforms": [], "excludePlatforms": []}}}),
        json!({"conditions": {"locations": {"includeLocations": []}}}),
        json!({"sessionControls": {"signInFrequency": {"value": null, "type": null, "isEnabled": null}}}),
    ] {
        let r = h.patch(&path, &shell).await;
        assert_eq!(r.status, 400, "{shell}: {}", r.text);
        assert!(r.text.contains("to null"), "{}", r.text);
    }
    let set = json!({"conditions": {"platforms": {"includePlatforms": ["android"]}}});
    assert_eq!(h.patch(&path, &set).await.status, 204);
    let cleared = json!({"conditions": {"platforms": null}});
    assert_eq!(h.patch(&path, &cleared).await.status, 204);
    assert!(h.get(&path).await.body["conditions"]["platforms"].is_null());
}

#[tokio::test]
async fn named_locations_need_their_derived_type() {
    let h = Harness::start().await;
    let path = "/identity/conditionalAccess/namedLocations";
    let untyped = h.post(path, &json!({"displayName": "x", "isTrusted": false, "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"}]})).await;
    assert_eq!(untyped.status, 400);
    let body = json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Branch", "isTrusted": true,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]});
    let r = h.post(path, &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.ipNamedLocation");
    assert_eq!(r.body["createdDateTime"], r.body["modifiedDateTime"]);
    let id = r.body["id"].as_str().unwrap();
    let bad_cidr = h.post(path, &json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "x", "isTrusted": true,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "300.1.1.1/8"}]})).await;
    assert_eq!(bad_cidr.status, 400);
    let r = h.patch(&format!("{path}/{id}"), &json!({"displayName": "Branch office"})).await;
    assert_eq!(r.status, 400, "PATCH needs @odata.type too");
    let r = h.patch(&format!("{path}/{id}"), &json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Branch office"})).await;
    assert_eq!(r.status, 204);
    let country = h.post(path, &json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": "Blocked",
        "countriesAndRegions": ["KP", "ir"], "includeUnknownCountriesAndRegions": true})).await;
    assert_eq!(country.status, 400, "country codes are upper case ISO 3166");
}

#[tokio::test]
async fn authentication_strengths_and_methods() {
    let h = Harness::start().await;
    let path = "/policies/authenticationStrengthPolicies";
    let r = h.post(path, &json!({"displayName": "Passwordless or SMS", "allowedCombinations": ["fido2", "password, sms"]})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["allowedCombinations"],
        json!(["fido2", "password,sms"]),
        "flags are emitted without spaces"
    );
    assert_eq!(
        (r.body["policyType"].as_str(), r.body["requirementsSatisfied"].as_str()),
        (Some("custom"), Some("mfa"))
    );
    let id = r.body["id"].as_str().unwrap();
    let r = h.patch(&format!("{path}/{id}"), &json!({"allowedCombinations": ["fido2"]})).await;
    assert_eq!(r.status, 400);
    let r = h
        .post(
            &format!("{path}/{id}/updateAllowedCombinations"),
            &json!({"allowedCombinations": ["password"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["previousCombinations"], json!(["fido2", "password,sms"]));
    assert_eq!(h.get(&format!("{path}/{id}")).await.body["requirementsSatisfied"], "none");
    let r = h
        .patch(
            &format!("{path}/00000000-0000-0000-0000-000000000002"),
            &json!({"displayName": "Mine"}),
        )
        .await;
    assert_eq!(r.status, 400, "built-ins are read-only");
    let bad =
        h.post(path, &json!({"displayName": "x", "allowedCombinations": ["carrierPigeon"]})).await;
    assert_eq!(bad.status, 400);

    let m = h.get("/policies/authenticationMethodsPolicy").await;
    let configs = m.body["authenticationMethodConfigurations"].as_array().unwrap();
    assert!(
        configs
            .iter()
            .any(|c| c["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethodConfiguration")
    );
    let r = h.patch("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
        &json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": "enabled"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        h.get("/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms")
            .await
            .body["state"],
        "enabled"
    );
}

#[tokio::test]
async fn singleton_policies_read_and_update() {
    let h = Harness::start().await;
    let r = h.get("/policies/authorizationPolicy").await;
    assert_eq!(r.body["id"], "authorizationPolicy");
    assert_eq!(
        h.patch(
            "/policies/authorizationPolicy",
            &json!({"allowInvitesFrom": "adminsAndGuestInviters"})
        )
        .await
        .status,
        204
    );
    assert_eq!(
        h.get("/policies/authorizationPolicy").await.body["allowInvitesFrom"],
        "adminsAndGuestInviters"
    );
    assert_eq!(
        h.patch("/policies/authorizationPolicy", &json!({"allowInvitesFrom": "aliens"}))
            .await
            .status,
        400
    );
    assert_eq!(
        h.get("/policies/identitySecurityDefaultsEnforcementPolicy").await.body["isEnabled"],
        false
    );
    assert_eq!(
        h.get("/policies/crossTenantAccessPolicy/default").await.body["isServiceDefault"],
        true
    );
    let tid = "9f0e4a1b-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
    let r = h
        .post(
            "/policies/crossTenantAccessPolicy/partners",
            &json!({"tenantId": tid, "inboundTrust": {"isMfaAccepted": true}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        h.get(&format!("/policies/crossTenantAccessPolicy/partners/{tid}")).await.body["inboundTrust"]
            ["isMfaAccepted"],
        true
    );
    assert_eq!(
        h.post("/policies/crossTenantAccessPolicy/partners", &json!({"tenantId": tid}))
            .await
            .status,
        409
    );
    assert_eq!(
        h.delete(&format!("/policies/crossTenantAccessPolicy/partners/{tid}")).await.status,
        204
    );
}

#[tokio::test]
async fn roles_assignments_and_pim_eligibility() {
    let h = Harness::start().await;
    let user = h.new_user("role.holder").await;
    let ga = "62e90394-69f5-4237-9190-012177145e10";
    let path = "/roleManagement/directory/roleAssignments";
    let r = h
        .post(path, &json!({"principalId": user, "roleDefinitionId": ga, "directoryScopeId": "/"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_err(), "role assignment ids are not GUIDs: {id}");
    assert_eq!(
        h.post(
            path,
            &json!({"principalId": user, "roleDefinitionId": ga, "directoryScopeId": "/"})
        )
        .await
        .status,
        400
    );
    assert_eq!(
        h.patch(&format!("{path}/{id}"), &json!({"directoryScopeId": "/x"})).await.status,
        405
    );
    assert_eq!(h.delete(&format!("{path}/{id}")).await.status, 204);
    let custom = h.post("/roleManagement/directory/roleDefinitions", &json!({"displayName": "Reader of things", "isEnabled": true,
        "rolePermissions": [{"allowedResourceActions": ["microsoft.directory/users/standard/read"]}]})).await;
    assert_eq!(custom.status, 201, "{}", custom.text);
    assert_eq!(custom.body["templateId"], custom.body["id"]);
    assert_eq!(custom.body["isBuiltIn"], false);
    assert_eq!(
        h.patch(
            &format!("/roleManagement/directory/roleDefinitions/{ga}"),
            &json!({"description": "x"})
        )
        .await
        .status,
        400
    );
    let req = json!({"action": "adminAssign", "principalId": user, "roleDefinitionId": ga, "directoryScopeId": "/", "justification": "on call",
        "scheduleInfo": {"startDateTime": "2026-01-01T00:00:00Z", "expiration": {"type": "noExpiration"}}});
    let r = h.post("/roleManagement/directory/roleEligibilityScheduleRequests", &req).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["status"], "Provisioned");
    let schedules = h.get_all("/roleManagement/directory/roleEligibilitySchedules").await;
    assert!(
        schedules.iter().any(|s| s["principalId"] == user.as_str() && s["memberType"] == "Direct")
    );
    assert_eq!(
        h.post("/roleManagement/directory/roleEligibilityScheduleRequests", &req).await.status,
        400
    );
    let mut remove = req.clone();
    remove["action"] = json!("adminRemove");
    assert_eq!(
        h.post("/roleManagement/directory/roleEligibilityScheduleRequests", &remove).await.status,
        201
    );
}

#[tokio::test]
async fn app_role_assignments_and_delegated_grants() {
    let h = Harness::start().await;
    let user = h.new_user("payroll.clerk").await;
    let payroll = h.id_named("/servicePrincipals", "Contoso Payroll").await;
    let sp = h.get(&format!("/servicePrincipals/{payroll}")).await;
    let role = sp.body["appRoles"][0]["id"].as_str().unwrap().to_string();
    let r = h
        .post(
            &format!("/servicePrincipals/{payroll}/appRoleAssignedTo"),
            &json!({"principalId": user, "resourceId": payroll, "appRoleId": role}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (r.body["principalType"].as_str(), r.body["resourceDisplayName"].as_str()),
        (Some("User"), Some("Contoso Payroll"))
    );
    assert_eq!(
        h.post(
            &format!("/users/{user}/appRoleAssignments"),
            &json!({"principalId": user, "resourceId": payroll, "appRoleId": role})
        )
        .await
        .status,
        400
    );
    let listed = h.get_all(&format!("/users/{user}/appRoleAssignments")).await;
    assert_eq!(listed.len(), 1);
    let graph = h.id_named("/servicePrincipals", "Microsoft Graph").await;
    let g = h.post("/oauth2PermissionGrants", &json!({"clientId": payroll, "consentType": "Principal", "principalId": user, "resourceId": graph, "scope": "User.Read"})).await;
    assert_eq!(g.status, 201, "{}", g.text);
    let gid = g.body["id"].as_str().unwrap();
    assert_eq!(
        h.patch(&format!("/oauth2PermissionGrants/{gid}"), &json!({"scope": "User.Read openid"}))
            .await
            .status,
        204
    );
    assert_eq!(
        h.get(&format!("/oauth2PermissionGrants/{gid}")).await.body["scope"],
        "User.Read openid"
    );
    let r = h
        .send(
            &h.reader,
            Method::GET,
            &format!("/oauth2PermissionGrants?$filter=clientId eq '{payroll}'"),
            None,
            &[],
        )
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2);
}
