//! The per-kind rules of create and update: the values the service generates and the checks it
//! makes (unique names, known references, valid ranges, Graph's constraints on CA policies).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Value, json};

use super::{DEFAULT_ACCESS_ROLE, missing, str_of};
use crate::error::GraphError;
use crate::resource::Coll;
use crate::route::Scope;
use crate::tenant::{Obj, PARENT, Tenant};

/// Graph's SID for a cloud object: `S-1-12-1-` and the GUID's bytes as four little-endian u32s.
pub(crate) fn security_identifier(id: &str) -> Value {
    let Ok(u) = uuid::Uuid::parse_str(id) else {
        return Value::Null;
    };
    let b = u.to_bytes_le();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Value::String(format!("S-1-12-1-{}-{}-{}-{}", part(0), part(4), part(8), part(12)))
}

pub(super) fn fill_user(
    t: &Tenant,
    id: &str,
    obj: &mut Obj,
    now: &Value,
) -> Result<(), GraphError> {
    check_upn(t, id, obj)?;
    // `#EXT#` sign-in names belong to guests, whom only an invitation makes (invitation-post.md;
    // user-post-users.md creates members of the organisation).
    if str_of(obj, "userPrincipalName").is_some_and(|u| u.contains("#EXT#")) {
        return Err(GraphError::bad_request(
            "Property userPrincipalName is invalid: '#EXT#' names belong to guests, who are invited (POST /invitations), not created.",
        )
        .with_detail("InvalidValue", "userPrincipalName", "userPrincipalName"));
    }
    check_password(obj)?;
    obj.remove("passwordProfile");
    let upn = str_of(obj, "userPrincipalName").unwrap_or_default().to_string();
    obj.insert("createdDateTime".into(), now.clone());
    obj.insert("lastPasswordChangeDateTime".into(), now.clone());
    obj.insert("signInSessionsValidFromDateTime".into(), now.clone());
    obj.insert("securityIdentifier".into(), security_identifier(id));
    obj.entry("userType").or_insert_with(|| Value::String("Member".into()));
    obj.entry("identities").or_insert_with(|| {
        json!([{"signInType": "userPrincipalName", "issuer": t.domain, "issuerAssignedId": upn}])
    });
    Ok(())
}

pub(super) fn check_upn(t: &Tenant, id: &str, obj: &Obj) -> Result<(), GraphError> {
    let Some(upn) = str_of(obj, "userPrincipalName") else {
        return Ok(());
    };
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !domain.eq_ignore_ascii_case(&t.domain) {
        return Err(GraphError::bad_request(format!(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization ({}).",
            t.domain
        )).with_detail("InvalidValue", "userPrincipalName", "userPrincipalName"));
    }
    if t.sign_in_name_owner(upn).is_some_and(|owner| owner != id) {
        return Err(GraphError::bad_request(
            "Another object with the same value for property userPrincipalName already exists.",
        )
        .with_detail("ObjectConflict", "userPrincipalName", "userPrincipalName"));
    }
    Ok(())
}

pub(super) fn check_password(obj: &Obj) -> Result<(), GraphError> {
    let Some(profile) = obj.get("passwordProfile") else {
        return Ok(());
    };
    let pw = profile.get("password").and_then(Value::as_str).unwrap_or_default();
    let classes = [
        pw.chars().any(|c| c.is_ascii_lowercase()),
        pw.chars().any(|c| c.is_ascii_uppercase()),
        pw.chars().any(|c| c.is_ascii_digit()),
        pw.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if pw.chars().count() < 8
        || pw.chars().count() > 256
        || classes.iter().filter(|b| **b).count() < 3
    {
        return Err(GraphError::bad_request(
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        ));
    }
    Ok(())
}

pub(super) fn fill_group(
    t: &Tenant,
    id: &str,
    obj: &mut Obj,
    now: &Value,
) -> Result<(), GraphError> {
    let unified = obj
        .get("groupTypes")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|x| x == "Unified"));
    let mail_enabled = obj.get("mailEnabled") == Some(&Value::Bool(true));
    if unified != mail_enabled {
        return Err(GraphError::bad_request(if unified {
            "A Microsoft 365 group (groupTypes 'Unified') must have mailEnabled set to true."
        } else {
            "Creating mail-enabled security groups or distribution groups is not supported; set mailEnabled to false."
        }));
    }
    obj.insert("createdDateTime".into(), now.clone());
    obj.insert("renewedDateTime".into(), now.clone());
    obj.insert("securityIdentifier".into(), security_identifier(id));
    if mail_enabled {
        let mail = format!("{}@{}", str_of(obj, "mailNickname").unwrap_or_default(), t.domain);
        obj.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
        obj.insert("mail".into(), Value::String(mail));
        obj.entry("visibility").or_insert_with(|| Value::String("Public".into()));
    }
    Ok(())
}

pub(super) fn fill_application(
    t: &mut Tenant,
    id: &str,
    obj: &mut Obj,
    now: &Value,
) -> Result<(), GraphError> {
    check_identifier_uris(t, id, obj)?;
    let app_id = t.new_guid();
    obj.insert("appId".into(), Value::String(app_id));
    obj.insert("createdDateTime".into(), now.clone());
    obj.insert("publisherDomain".into(), Value::String(t.domain.clone()));
    obj.entry("signInAudience").or_insert_with(|| Value::String("AzureADMyOrg".into()));
    Ok(())
}

pub(super) fn check_identifier_uris(t: &Tenant, id: &str, obj: &Obj) -> Result<(), GraphError> {
    let uris: Vec<&str> = obj
        .get("identifierUris")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let clash =
        t.coll(Coll::Applications).iter().filter(|(other, _)| *other != id).any(|(_, o)| {
            o.get("identifierUris")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|u| uris.contains(&u))
        });
    if clash {
        return Err(GraphError::bad_request(
            "Another object with the same value for property identifierUris already exists.",
        )
        .with_detail("ObjectConflict", "identifierUris", "identifierUris"));
    }
    let own = [str_of(obj, "appId"), Some(t.tenant_id.as_str())];
    if let Some(uri) = uris.iter().find(|u| api_guid(u).is_some_and(|g| !own.contains(&Some(g)))) {
        return Err(GraphError::bad_request(format!(
            "The identifierUris value '{uri}' names another application: an api:// URI with an id must use this application's own appId (api://{{appId}}) or the tenant id."
        ))
        .with_detail("HostNameNotOnVerifiedDomain", "identifierUris", "identifierUris"));
    }
    Ok(())
}

/// The GUID an `api://{guid}[/…]` identifier URI names. Such a URI must name the application's
/// own appId or the tenant (identifier-uri-restrictions.md: the default and secure forms are
/// `api://{appId}` and `api://{tenantId}/…`), so an application re-created with its old
/// `api://{old appId}` is refused.
fn api_guid(uri: &str) -> Option<&str> {
    let authority = uri.strip_prefix("api://")?.split('/').next()?;
    let is_guid = authority.len() == 36
        && authority.chars().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() }
        });
    is_guid.then_some(authority)
}

pub(super) fn fill_service_principal(t: &Tenant, obj: &mut Obj) -> Result<(), GraphError> {
    let app_id = str_of(obj, "appId").unwrap_or_default().to_string();
    let app = t
        .coll(Coll::Applications)
        .iter()
        .find(|(_, a)| str_of(a, "appId") == Some(app_id.as_str()))
        .filter(|(id, _)| !t.refuse_lagging(id))
        .map(|(_, a)| a.clone())
        .ok_or_else(|| no_backing_application(&app_id))?;
    if t.coll(Coll::ServicePrincipals).values().any(|s| str_of(s, "appId") == Some(app_id.as_str()))
    {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!("The service principal for appId '{app_id}' already exists in this directory."),
        ));
    }
    let mut names = vec![Value::String(app_id.clone())];
    names.extend(app.get("identifierUris").and_then(Value::as_array).cloned().unwrap_or_default());
    let copy = |k: &str| app.get(k).cloned().unwrap_or(Value::Null);
    obj.insert("appDisplayName".into(), copy("displayName"));
    obj.insert("appDescription".into(), copy("description"));
    obj.insert("appOwnerOrganizationId".into(), Value::String(t.tenant_id.clone()));
    obj.insert("servicePrincipalNames".into(), Value::Array(names));
    obj.insert("servicePrincipalType".into(), Value::String("Application".into()));
    obj.insert("signInAudience".into(), copy("signInAudience"));
    obj.entry("displayName").or_insert_with(|| copy("displayName"));
    obj.entry("accountEnabled").or_insert(Value::Bool(true));
    obj.entry("appRoleAssignmentRequired").or_insert(Value::Bool(false));
    obj.entry("appRoles").or_insert_with(|| copy("appRoles"));
    let scopes = app
        .get("api")
        .and_then(|a| a.get("oauth2PermissionScopes"))
        .cloned()
        .unwrap_or(Value::Array(Vec::new()));
    obj.entry("oauth2PermissionScopes").or_insert(scopes);
    Ok(())
}

/// The error Graph gives when a service principal names an application it cannot see.
pub(super) fn no_backing_application(app_id: &str) -> GraphError {
    GraphError::bad_request(format!(
        "The appId '{app_id}' of the service principal does not reference a valid application object."
    ))
    .with_detail("NoBackingApplicationObject", "The service principal cannot be created because the application does not exist.", "appId")
}

pub(super) fn check_grant(t: &Tenant, obj: &Obj) -> Result<(), GraphError> {
    let consent = str_of(obj, "consentType").unwrap_or_default();
    let principal = obj.get("principalId").and_then(Value::as_str);
    match (consent, principal) {
        ("AllPrincipals", None) => {}
        ("Principal", Some(p)) if t.get(Coll::Users, p).is_some() => {}
        ("Principal", Some(p)) => return Err(GraphError::not_found(p)),
        ("Principal", None) => return Err(missing(Coll::Oauth2PermissionGrants, "principalId")),
        _ => return Err(missing(Coll::Oauth2PermissionGrants, "consentType")),
    }
    for k in ["clientId", "resourceId"] {
        let id = str_of(obj, k).unwrap_or_default();
        if t.get(Coll::ServicePrincipals, id).is_none() {
            return Err(GraphError::not_found(id));
        }
    }
    let same = |o: &Obj| {
        ["clientId", "resourceId", "consentType", "principalId"]
            .iter()
            .all(|k| o.get(*k) == obj.get(*k))
    };
    if t.coll(Coll::Oauth2PermissionGrants).values().any(same) {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Permission entry already exists.",
        ));
    }
    Ok(())
}

pub(super) fn fill_app_role_assignment(
    t: &Tenant,
    scope: &Scope,
    obj: &mut Obj,
    now: &Value,
) -> Result<(), GraphError> {
    let principal_id = str_of(obj, "principalId").unwrap_or_default().to_string();
    let resource_id = str_of(obj, "resourceId").unwrap_or_default().to_string();
    let role_id = str_of(obj, "appRoleId").unwrap_or_default().to_string();
    match scope {
        Scope::PrincipalOf(p) if *p != principal_id => {
            return Err(GraphError::bad_request(
                "principalId must be the object in the request path.",
            ));
        }
        Scope::ResourceOf(r) if *r != resource_id => {
            return Err(GraphError::bad_request(
                "resourceId must be the service principal in the request path.",
            ));
        }
        _ => {}
    }
    let (pcoll, principal) =
        t.directory_object(&principal_id).ok_or_else(|| GraphError::not_found(&principal_id))?;
    check_replicated(t, &principal_id)?;
    let principal_type = match pcoll {
        Coll::Users => "User",
        Coll::Groups => "Group",
        Coll::ServicePrincipals => "ServicePrincipal",
        _ => {
            return Err(GraphError::bad_request(
                "App roles can be assigned to users, groups and service principals only.",
            ));
        }
    };
    let resource = t
        .get(Coll::ServicePrincipals, &resource_id)
        .ok_or_else(|| GraphError::not_found(&resource_id))?;
    let role_exists = role_id == DEFAULT_ACCESS_ROLE
        || resource
            .get("appRoles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|r| r.get("id").and_then(Value::as_str) == Some(role_id.as_str()));
    if !role_exists {
        return Err(GraphError::bad_request(
            "Permission being assigned was not found on application.",
        )
        .with_detail(
            "InvalidAppRoleId",
            "The appRoleId does not exist on the resource service principal.",
            "appRoleId",
        ));
    }
    let dup = t.coll(Coll::AppRoleAssignments).values().any(|a| {
        str_of(a, "principalId") == Some(principal_id.as_str())
            && str_of(a, "resourceId") == Some(resource_id.as_str())
            && str_of(a, "appRoleId") == Some(role_id.as_str())
    });
    if dup {
        return Err(GraphError::bad_request(
            "Permission being assigned already exists on the object",
        ));
    }
    obj.insert("principalType".into(), Value::String(principal_type.into()));
    obj.insert(
        "principalDisplayName".into(),
        principal.get("displayName").cloned().unwrap_or(Value::Null),
    );
    obj.insert(
        "resourceDisplayName".into(),
        resource.get("displayName").cloned().unwrap_or(Value::Null),
    );
    obj.insert("createdDateTime".into(), now.clone());
    Ok(())
}

pub(super) fn fill_federated_credential(
    t: &Tenant,
    scope: &Scope,
    obj: &mut Obj,
) -> Result<(), GraphError> {
    let Scope::ParentApp(app) = scope else {
        return Err(GraphError::method_not_allowed());
    };
    let name = str_of(obj, "name").unwrap_or_default();
    let siblings: Vec<&Obj> = t
        .coll(Coll::FederatedCredentials)
        .values()
        .filter(|f| str_of(f, PARENT) == Some(app.as_str()))
        .collect();
    if siblings.iter().any(|f| str_of(f, "name") == Some(name)) {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!("FederatedIdentityCredential with name {name} already exists."),
        ));
    }
    if siblings.len() >= 20 {
        return Err(GraphError::bad_request(
            "An application can have at most 20 federated identity credentials.",
        ));
    }
    if obj.get("audiences").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        return Err(missing(Coll::FederatedCredentials, "audiences"));
    }
    obj.insert(PARENT.into(), Value::String(app.clone()));
    Ok(())
}

pub(super) fn non_empty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    }
}

pub(super) fn check_ca_policy(t: &Tenant, obj: &mut Obj) -> Result<(), GraphError> {
    let bad = |m: &str| GraphError::new(400, "BadRequest", m.to_string());
    let cond = obj.get("conditions").cloned().unwrap_or(Value::Null);
    let apps = &cond["applications"];
    if !["includeApplications", "includeUserActions", "includeAuthenticationContextClassReferences"]
        .iter()
        .any(|k| non_empty(apps.get(*k)))
    {
        return Err(bad(
            "conditions.applications must include applications, user actions or authentication contexts.",
        ));
    }
    let users = &cond["users"];
    if !["includeUsers", "includeGroups", "includeRoles", "includeGuestsOrExternalUsers"]
        .iter()
        .any(|k| non_empty(users.get(*k)))
    {
        return Err(bad("conditions.users must include users, groups, roles or guests."));
    }
    check_no_empty_shells(&cond, obj.get("sessionControls"))?;
    let grant = obj.get("grantControls").cloned().unwrap_or(Value::Null);
    let session = obj.get("sessionControls").cloned().unwrap_or(Value::Null);
    let controls: Vec<&str> = grant["builtInControls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let has_grant = !controls.is_empty()
        || non_empty(grant.get("authenticationStrength"))
        || non_empty(grant.get("termsOfUse"))
        || non_empty(grant.get("customAuthenticationFactors"));
    let has_session = session.as_object().is_some_and(|s| s.values().any(|v| !v.is_null()));
    if !has_grant && !has_session {
        return Err(bad("A policy needs grantControls or sessionControls."));
    }
    if has_grant && !matches!(grant["operator"].as_str(), Some("AND" | "OR")) {
        return Err(bad("grantControls.operator must be 'AND' or 'OR'."));
    }
    if controls.contains(&"block")
        && (controls.len() > 1 || non_empty(grant.get("authenticationStrength")))
    {
        return Err(bad("grantControls: 'block' cannot be combined with other controls."));
    }
    if let Some(strength) = grant.get("authenticationStrength").filter(|v| !v.is_null()) {
        let sid = strength.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        if t.get(Coll::AuthStrengths, &sid).is_none() {
            return Err(bad(&format!(
                "grantControls.authenticationStrength: no authentication strength with id '{sid}'."
            )));
        }
        if let Some(g) = obj.get_mut("grantControls").and_then(Value::as_object_mut) {
            g.insert("authenticationStrength".into(), json!({ "id": sid }));
        }
    }
    Ok(())
}

/// A condition or session control is either set or `null`: Graph returns unset ones as `null`
/// (conditionalaccessconditionset.md, conditionalaccesssessioncontrols.md; every exported
/// policy in the corpus shows them so), and one set with nothing in it is refused here — the
/// strictest reading of a shape the docs do not define, which on the real service is refused
/// or kept as a condition that matches nothing (the restore-side conformance review).
fn check_no_empty_shells(cond: &Value, session: Option<&Value>) -> Result<(), GraphError> {
    let bad = |m: String| GraphError::new(400, "BadRequest", m);
    for (name, include) in [("platforms", "includePlatforms"), ("locations", "includeLocations")] {
        if cond.get(name).is_some_and(|c| !c.is_null()) && !non_empty(cond[name].get(include)) {
            return Err(bad(format!(
                "conditions.{name}.{include} must name at least one value; set conditions.{name} to null to remove the condition."
            )));
        }
    }
    // signinfrequencysessioncontrol.md: a value with its type (hours, days), or
    // frequencyInterval everyTime.
    if let Some(f) = session.and_then(|s| s.get("signInFrequency")).filter(|f| !f.is_null()) {
        let every_time = f["frequencyInterval"] == "everyTime";
        let timed = f["value"].is_number() && f["type"].is_string();
        if f["isEnabled"] != true || !(every_time || timed) {
            return Err(bad("sessionControls.signInFrequency must be enabled with a value and type, or frequencyInterval everyTime; set it to null to remove the control.".into()));
        }
    }
    Ok(())
}

pub(super) fn check_named_location(obj: &Obj) -> Result<(), GraphError> {
    let bad = |m: String| GraphError::new(400, "BadRequest", m);
    for (i, range) in
        obj.get("ipRanges").and_then(Value::as_array).into_iter().flatten().enumerate()
    {
        let cidr = range.get("cidrAddress").and_then(Value::as_str);
        let v6 =
            range.get("@odata.type").and_then(Value::as_str).is_some_and(|t| t.contains("iPv6"));
        if let Some(c) = cidr
            && !valid_cidr(c, v6)
        {
            return Err(bad(format!(
                "ipRanges[{i}].cidrAddress '{c}' is not a valid {} CIDR range.",
                if v6 { "IPv6" } else { "IPv4" }
            )));
        }
    }
    if str_of(obj, "@odata.type").is_some_and(|t| t.ends_with("ipNamedLocation"))
        && obj.get("ipRanges").and_then(Value::as_array).is_none_or(Vec::is_empty)
    {
        return Err(bad("An IP named location needs at least one range in ipRanges.".into()));
    }
    for (i, c) in
        obj.get("countriesAndRegions").and_then(Value::as_array).into_iter().flatten().enumerate()
    {
        if !c.as_str().is_some_and(|s| s.len() == 2 && s.chars().all(|ch| ch.is_ascii_uppercase()))
        {
            return Err(bad(format!(
                "countriesAndRegions[{i}] must be a two-letter ISO 3166 code in upper case."
            )));
        }
    }
    Ok(())
}

pub(super) fn valid_cidr(c: &str, v6: bool) -> bool {
    let Some((addr, prefix)) = c.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    if v6 {
        addr.parse::<Ipv6Addr>().is_ok() && prefix <= 128
    } else {
        addr.parse::<Ipv4Addr>().is_ok() && prefix <= 32
    }
}

/// Methods that count as a second factor, or as strong on their own.
pub(super) fn combination_is_mfa(combo: &str) -> bool {
    let parts: Vec<&str> = combo.split(',').collect();
    let strong_alone = [
        "fido2",
        "windowsHelloForBusiness",
        "x509CertificateMultiFactor",
        "deviceBasedPush",
        "temporaryAccessPassOneTime",
        "temporaryAccessPassMultiUse",
        "federatedMultiFactor",
    ];
    parts.len() >= 2 || parts.iter().any(|p| strong_alone.contains(p))
}

pub(super) fn fill_strength(
    t: &Tenant,
    id: &str,
    obj: &mut Obj,
    now: &Value,
) -> Result<(), GraphError> {
    unique_name(t, Coll::AuthStrengths, id, obj)?;
    let combos: Vec<&str> = obj
        .get("allowedCombinations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if combos.is_empty() {
        return Err(missing(Coll::AuthStrengths, "allowedCombinations"));
    }
    let mfa = combos.iter().all(|c| combination_is_mfa(c));
    obj.insert("policyType".into(), Value::String("custom".into()));
    obj.insert(
        "requirementsSatisfied".into(),
        Value::String(if mfa { "mfa" } else { "none" }.into()),
    );
    obj.insert("createdDateTime".into(), now.clone());
    obj.insert("modifiedDateTime".into(), now.clone());
    Ok(())
}

pub(crate) fn strength_requirements(combos: &[&str]) -> &'static str {
    if combos.iter().all(|c| combination_is_mfa(c)) { "mfa" } else { "none" }
}

pub(super) fn unique_name(t: &Tenant, coll: Coll, id: &str, obj: &Obj) -> Result<(), GraphError> {
    let name = str_of(obj, "displayName").unwrap_or_default();
    if t.coll(coll).iter().any(|(other, o)| {
        other != id && str_of(o, "displayName").is_some_and(|n| n.eq_ignore_ascii_case(name))
    }) {
        return Err(GraphError::bad_request(format!(
            "A {} named '{name}' already exists.",
            coll.entity_type()
        )));
    }
    Ok(())
}

pub(super) fn check_role_assignment(t: &Tenant, obj: &Obj) -> Result<(), GraphError> {
    let principal = str_of(obj, "principalId").unwrap_or_default();
    if t.directory_object(principal).is_none() {
        return Err(GraphError::not_found(principal));
    }
    check_replicated(t, principal)?;
    let role = str_of(obj, "roleDefinitionId").unwrap_or_default();
    if find_role_definition(t, role).is_none() {
        return Err(GraphError::not_found(role));
    }
    if obj.get("directoryScopeId").is_none_or(Value::is_null)
        && obj.get("appScopeId").is_none_or(Value::is_null)
    {
        return Err(GraphError::bad_request("Either directoryScopeId or appScopeId must be set."));
    }
    let dup = t.coll(Coll::RoleAssignments).values().any(|a| {
        ["principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"]
            .iter()
            .all(|k| a.get(*k) == obj.get(*k))
    });
    if dup {
        return Err(GraphError::bad_request(
            "A conflicting object with one or more of the specified property values is present in the directory.",
        ));
    }
    Ok(())
}

/// A body naming a principal created moments ago, before it replicated, is refused with a
/// 400 that names it (graph-api.md §6.5; the capture conformance review: replication lag shows
/// as 400s naming a just-created principal, not only as 404s).
fn check_replicated(t: &Tenant, principal: &str) -> Result<(), GraphError> {
    if t.refuse_lagging(principal) {
        return Err(GraphError::bad_request(format!(
            "Resource '{principal}' does not exist or one of its queried reference-property objects are not present."
        )));
    }
    Ok(())
}

/// A role definition by id or template id.
pub(crate) fn find_role_definition<'a>(t: &'a Tenant, key: &str) -> Option<&'a Obj> {
    t.get(Coll::RoleDefinitions, key).or_else(|| {
        t.coll(Coll::RoleDefinitions).values().find(|d| str_of(d, "templateId") == Some(key))
    })
}
