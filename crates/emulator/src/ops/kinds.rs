//! What each kind adds to create, update and delete: required properties, read-only properties,
//! server-generated values, and the checks Graph makes (unique names, known references, valid
//! ranges). Everything here follows `reference/graph-api.md` §2.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value, json};

use crate::dispatch::Ctx;
use crate::error::GraphError;
use crate::resource::Coll;
use crate::route::{LinkKind, Scope};
use crate::schema::{BodyError, schema};
use crate::tenant::{Deleted, Obj, Tenant};

/// Hidden key holding the parent application of a federated identity credential.
pub(crate) const PARENT: &str = "_parent";

/// Server-managed values that exported JSON carries; Graph ignores them on write.
const IGNORED_ON_WRITE: &[&str] = &[
    "id",
    "createdDateTime",
    "modifiedDateTime",
    "lastModifiedDateTime",
    "deletedDateTime",
    "templateId",
];

/// Largest number of `@odata.bind` links one request may carry.
const MAX_BINDS: usize = 20;

const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

fn required(coll: Coll) -> &'static [&'static str] {
    match coll {
        Coll::Users => &[
            "accountEnabled",
            "displayName",
            "mailNickname",
            "userPrincipalName",
            "passwordProfile",
        ],
        Coll::Groups => &[
            "displayName",
            "mailEnabled",
            "mailNickname",
            "securityEnabled",
        ],
        Coll::Applications | Coll::AdministrativeUnits | Coll::NamedLocations => &["displayName"],
        Coll::ServicePrincipals => &["appId"],
        Coll::Oauth2PermissionGrants => &["clientId", "consentType", "resourceId"],
        Coll::AppRoleAssignments => &["principalId", "resourceId", "appRoleId"],
        Coll::FederatedCredentials => &["name", "issuer", "audiences"],
        Coll::CaPolicies => &["displayName", "state", "conditions"],
        Coll::AuthStrengths => &["displayName", "allowedCombinations"],
        Coll::RoleDefinitions => &["displayName", "rolePermissions", "isEnabled"],
        Coll::RoleAssignments => &["principalId", "roleDefinitionId"],
        Coll::CrossTenantPartners => &["tenantId"],
        Coll::AuthMethodConfigs | Coll::RoleEligibilitySchedules => &[],
    }
}

fn read_only(coll: Coll) -> &'static [&'static str] {
    match coll {
        Coll::Users => &[
            "creationType",
            "securityIdentifier",
            "signInActivity",
            "assignedPlans",
            "provisionedPlans",
            "proxyAddresses",
            "imAddresses",
            "licenseAssignmentStates",
            "assignedLicenses",
            "onPremisesSyncEnabled",
            "onPremisesSecurityIdentifier",
            "onPremisesLastSyncDateTime",
            "onPremisesDomainName",
            "onPremisesSamAccountName",
            "onPremisesUserPrincipalName",
            "onPremisesDistinguishedName",
            "onPremisesProvisioningErrors",
            "externalUserStateChangeDateTime",
            "lastPasswordChangeDateTime",
            "signInSessionsValidFromDateTime",
            "isManagementRestricted",
        ],
        Coll::Groups => &[
            "securityIdentifier",
            "mail",
            "proxyAddresses",
            "renewedDateTime",
            "expirationDateTime",
            "onPremisesSyncEnabled",
            "onPremisesSecurityIdentifier",
            "onPremisesLastSyncDateTime",
            "onPremisesDomainName",
            "onPremisesSamAccountName",
            "onPremisesNetBiosName",
            "onPremisesProvisioningErrors",
            "hasMembersWithLicenseErrors",
            "licenseProcessingState",
            "isManagementRestricted",
            "serviceProvisioningErrors",
        ],
        Coll::Applications => &[
            "appId",
            "publisherDomain",
            "passwordCredentials",
            "createdByAppId",
            "disabledByMicrosoftStatus",
            "verifiedPublisher",
            "certification",
        ],
        Coll::ServicePrincipals => &[
            "appDisplayName",
            "appDescription",
            "appOwnerOrganizationId",
            "servicePrincipalType",
            "signInAudience",
            "passwordCredentials",
            "createdByAppId",
            "disabledByMicrosoftStatus",
            "verifiedPublisher",
        ],
        Coll::AppRoleAssignments => &[
            "principalDisplayName",
            "principalType",
            "resourceDisplayName",
        ],
        Coll::AuthStrengths => &["policyType", "requirementsSatisfied"],
        Coll::RoleDefinitions => &["isBuiltIn", "version"],
        Coll::CrossTenantPartners => &["isInMultiTenantOrganization"],
        _ => &[],
    }
}

/// Properties that may be set on create but never changed.
fn immutable(coll: Coll) -> &'static [&'static str] {
    match coll {
        Coll::ServicePrincipals => &["appId"],
        Coll::Groups => &["isAssignableToRole"],
        Coll::AuthStrengths => &["allowedCombinations"],
        Coll::CrossTenantPartners => &["tenantId"],
        Coll::Oauth2PermissionGrants => &["clientId", "consentType", "principalId", "resourceId"],
        _ => &[],
    }
}

pub(crate) fn body_error(coll: Coll, e: &BodyError) -> GraphError {
    let code = if coll.is_directory_object() {
        "Request_BadRequest"
    } else {
        "BadRequest"
    };
    GraphError::new(400, code, e.to_string())
}

fn missing(coll: Coll, prop: &str) -> GraphError {
    GraphError::bad_request(format!(
        "Invalid value specified for property '{prop}' of resource '{}'.",
        coll.entity_type()
    ))
}

fn str_of<'a>(obj: &'a Obj, k: &str) -> Option<&'a str> {
    obj.get(k).and_then(Value::as_str)
}

/// Drops ignored server values and refuses read-only ones.
fn prepare(coll: Coll, body: &mut Map<String, Value>, creating: bool) -> Result<(), GraphError> {
    for k in IGNORED_ON_WRITE {
        if *k != "id" || coll != Coll::CrossTenantPartners {
            body.remove(*k);
        }
    }
    let refused = read_only(coll)
        .iter()
        .chain(if creating { &[][..] } else { immutable(coll) });
    for k in refused {
        if body.contains_key(*k) {
            return Err(GraphError::bad_request(format!(
                "Property '{k}' is read-only and cannot be set."
            )));
        }
    }
    Ok(())
}

/// Takes `members@odata.bind` and `owners@odata.bind` out of a group body.
fn take_binds(
    coll: Coll,
    body: &mut Map<String, Value>,
) -> Result<Vec<(LinkKind, String)>, GraphError> {
    let mut out = Vec::new();
    for (key, kind) in [
        ("members@odata.bind", LinkKind::Members),
        ("owners@odata.bind", LinkKind::Owners),
    ] {
        let Some(v) = body.remove(key) else { continue };
        if coll != Coll::Groups {
            return Err(GraphError::bad_request(format!(
                "Invalid property '{key}'."
            )));
        }
        let urls = v
            .as_array()
            .ok_or_else(|| GraphError::bad_request(format!("'{key}' must be an array of URLs.")))?;
        if urls.len() > MAX_BINDS {
            return Err(GraphError::bad_request(format!(
                "A maximum of {MAX_BINDS} links can be added in one request with '{key}'."
            )));
        }
        for u in urls {
            let id = u
                .as_str()
                .and_then(crate::ops::links::id_from_odata_url)
                .ok_or_else(|| GraphError::bad_request(format!("Invalid URL in '{key}': {u}")))?;
            out.push((kind, id));
        }
    }
    Ok(out)
}

fn apply_binds(
    t: &mut Tenant,
    coll: Coll,
    id: &str,
    binds: &[(LinkKind, String)],
) -> Result<(), GraphError> {
    for (_, other) in binds {
        if t.directory_object(other).is_none() {
            return Err(GraphError::not_found(other));
        }
    }
    for (kind, other) in binds {
        t.add_link(coll, *kind, id, other);
    }
    Ok(())
}

/// Creates an object from a request body; returns its key.
pub(crate) fn create(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
    mut body: Map<String, Value>,
) -> Result<String, GraphError> {
    if matches!(
        coll,
        Coll::AuthMethodConfigs | Coll::RoleEligibilitySchedules
    ) {
        return Err(GraphError::method_not_allowed());
    }
    let binds = take_binds(coll, &mut body)?;
    prepare(coll, &mut body, true)?;
    let mut obj = schema()
        .validate_body(coll.entity_type(), &body, coll.writable_navs())
        .map_err(|e| body_error(coll, &e))?;
    for p in required(coll) {
        if obj.get(*p).is_none_or(Value::is_null) {
            return Err(missing(coll, p));
        }
    }
    let id = new_key(t, coll, &obj);
    fill_on_create(t, ctx, coll, scope, &id, &mut obj)?;
    check_binds_exist(t, &binds)?;
    let mut stored = Map::new();
    if let Some(ty) = obj.remove("@odata.type") {
        stored.insert("@odata.type".into(), ty);
    }
    if coll != Coll::CrossTenantPartners {
        stored.insert("id".into(), Value::String(id.clone()));
    }
    stored.extend(obj);
    t.put(coll, &id, stored);
    apply_binds(t, coll, &id, &binds)?;
    Ok(id)
}

fn check_binds_exist(t: &Tenant, binds: &[(LinkKind, String)]) -> Result<(), GraphError> {
    match binds.iter().find(|(_, o)| t.directory_object(o).is_none()) {
        Some((_, o)) => Err(GraphError::not_found(o)),
        None => Ok(()),
    }
}

fn new_key(t: &mut Tenant, coll: Coll, obj: &Obj) -> String {
    match coll {
        Coll::CrossTenantPartners => str_of(obj, "tenantId").unwrap_or_default().to_string(),
        Coll::RoleAssignments => format!("{}-1", t.new_opaque_id()),
        Coll::AppRoleAssignments | Coll::Oauth2PermissionGrants => t.new_opaque_id(),
        _ => t.new_guid(),
    }
}

fn fill_on_create(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
    id: &str,
    obj: &mut Obj,
) -> Result<(), GraphError> {
    let now = Value::String(t.now_string());
    match coll {
        Coll::Users => fill_user(t, id, obj, &now)?,
        Coll::Groups => fill_group(t, id, obj, &now)?,
        Coll::Applications => fill_application(t, id, obj, &now)?,
        Coll::ServicePrincipals => fill_service_principal(t, obj)?,
        Coll::Oauth2PermissionGrants => check_grant(t, obj)?,
        Coll::AppRoleAssignments => fill_app_role_assignment(t, scope, obj, &now)?,
        Coll::FederatedCredentials => fill_federated_credential(t, scope, obj)?,
        Coll::CaPolicies => {
            check_ca_policy(t, obj)?;
            obj.insert("createdDateTime".into(), now);
        }
        Coll::NamedLocations => {
            check_named_location(obj)?;
            obj.insert("createdDateTime".into(), now.clone());
            obj.insert("modifiedDateTime".into(), now);
        }
        Coll::AuthStrengths => fill_strength(t, id, obj, &now)?,
        Coll::RoleDefinitions => {
            unique_name(t, coll, id, obj)?;
            obj.insert("isBuiltIn".into(), Value::Bool(false));
            obj.insert("templateId".into(), Value::String(id.to_string()));
        }
        Coll::RoleAssignments => check_role_assignment(t, obj)?,
        Coll::CrossTenantPartners => {
            let tid = str_of(obj, "tenantId").unwrap_or_default();
            if uuid::Uuid::parse_str(tid).is_err() {
                return Err(missing(coll, "tenantId"));
            }
            if t.get(coll, tid).is_some() {
                return Err(GraphError::new(
                    409,
                    "Request_MultipleObjectsWithSameKeyValue",
                    format!("A partner configuration for tenant '{tid}' already exists."),
                ));
            }
        }
        Coll::AdministrativeUnits | Coll::AuthMethodConfigs | Coll::RoleEligibilitySchedules => {}
    }
    let _ = ctx;
    Ok(())
}

/// Graph's SID for a cloud object: `S-1-12-1-` and the GUID's bytes as four little-endian u32s.
pub(crate) fn security_identifier(id: &str) -> Value {
    let Ok(u) = uuid::Uuid::parse_str(id) else {
        return Value::Null;
    };
    let b = u.to_bytes_le();
    let part = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Value::String(format!(
        "S-1-12-1-{}-{}-{}-{}",
        part(0),
        part(4),
        part(8),
        part(12)
    ))
}

fn fill_user(t: &Tenant, id: &str, obj: &mut Obj, now: &Value) -> Result<(), GraphError> {
    check_upn(t, id, obj)?;
    check_password(obj)?;
    obj.remove("passwordProfile");
    let upn = str_of(obj, "userPrincipalName")
        .unwrap_or_default()
        .to_string();
    obj.insert("createdDateTime".into(), now.clone());
    obj.insert("lastPasswordChangeDateTime".into(), now.clone());
    obj.insert("signInSessionsValidFromDateTime".into(), now.clone());
    obj.insert("securityIdentifier".into(), security_identifier(id));
    obj.entry("userType")
        .or_insert_with(|| Value::String("Member".into()));
    obj.entry("identities").or_insert_with(|| {
        json!([{"signInType": "userPrincipalName", "issuer": t.domain, "issuerAssignedId": upn}])
    });
    Ok(())
}

fn check_upn(t: &Tenant, id: &str, obj: &Obj) -> Result<(), GraphError> {
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

fn check_password(obj: &Obj) -> Result<(), GraphError> {
    let Some(profile) = obj.get("passwordProfile") else {
        return Ok(());
    };
    let pw = profile
        .get("password")
        .and_then(Value::as_str)
        .unwrap_or_default();
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

fn fill_group(t: &Tenant, id: &str, obj: &mut Obj, now: &Value) -> Result<(), GraphError> {
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
        let mail = format!(
            "{}@{}",
            str_of(obj, "mailNickname").unwrap_or_default(),
            t.domain
        );
        obj.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
        obj.insert("mail".into(), Value::String(mail));
        obj.entry("visibility")
            .or_insert_with(|| Value::String("Public".into()));
    }
    Ok(())
}

fn fill_application(
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
    obj.entry("signInAudience")
        .or_insert_with(|| Value::String("AzureADMyOrg".into()));
    Ok(())
}

fn check_identifier_uris(t: &Tenant, id: &str, obj: &Obj) -> Result<(), GraphError> {
    let uris: Vec<&str> = obj
        .get("identifierUris")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let clash = t
        .coll(Coll::Applications)
        .iter()
        .filter(|(other, _)| *other != id)
        .any(|(_, o)| {
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
    Ok(())
}

fn fill_service_principal(t: &Tenant, obj: &mut Obj) -> Result<(), GraphError> {
    let app_id = str_of(obj, "appId").unwrap_or_default().to_string();
    let app = t
        .coll(Coll::Applications)
        .iter()
        .find(|(_, a)| str_of(a, "appId") == Some(app_id.as_str()))
        .filter(|(id, _)| !t.refuse_lagging(id))
        .map(|(_, a)| a.clone())
        .ok_or_else(|| no_backing_application(&app_id))?;
    if t.coll(Coll::ServicePrincipals)
        .values()
        .any(|s| str_of(s, "appId") == Some(app_id.as_str()))
    {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!("The service principal for appId '{app_id}' already exists in this directory."),
        ));
    }
    let mut names = vec![Value::String(app_id.clone())];
    names.extend(
        app.get("identifierUris")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    );
    let copy = |k: &str| app.get(k).cloned().unwrap_or(Value::Null);
    obj.insert("appDisplayName".into(), copy("displayName"));
    obj.insert("appDescription".into(), copy("description"));
    obj.insert(
        "appOwnerOrganizationId".into(),
        Value::String(t.tenant_id.clone()),
    );
    obj.insert("servicePrincipalNames".into(), Value::Array(names));
    obj.insert(
        "servicePrincipalType".into(),
        Value::String("Application".into()),
    );
    obj.insert("signInAudience".into(), copy("signInAudience"));
    obj.entry("displayName")
        .or_insert_with(|| copy("displayName"));
    obj.entry("accountEnabled").or_insert(Value::Bool(true));
    obj.entry("appRoleAssignmentRequired")
        .or_insert(Value::Bool(false));
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
pub(crate) fn no_backing_application(app_id: &str) -> GraphError {
    GraphError::bad_request(format!(
        "The appId '{app_id}' of the service principal does not reference a valid application object."
    ))
    .with_detail("NoBackingApplicationObject", "The service principal cannot be created because the application does not exist.", "appId")
}

fn check_grant(t: &Tenant, obj: &Obj) -> Result<(), GraphError> {
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

fn fill_app_role_assignment(
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
    let (pcoll, principal) = t
        .directory_object(&principal_id)
        .ok_or_else(|| GraphError::not_found(&principal_id))?;
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

fn fill_federated_credential(t: &Tenant, scope: &Scope, obj: &mut Obj) -> Result<(), GraphError> {
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
    if obj
        .get("audiences")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        return Err(missing(Coll::FederatedCredentials, "audiences"));
    }
    obj.insert(PARENT.into(), Value::String(app.clone()));
    Ok(())
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Null) | None => false,
        Some(_) => true,
    }
}

fn check_ca_policy(t: &Tenant, obj: &mut Obj) -> Result<(), GraphError> {
    let bad = |m: &str| GraphError::new(400, "BadRequest", m.to_string());
    let cond = obj.get("conditions").cloned().unwrap_or(Value::Null);
    let apps = &cond["applications"];
    if ![
        "includeApplications",
        "includeUserActions",
        "includeAuthenticationContextClassReferences",
    ]
    .iter()
    .any(|k| non_empty(apps.get(*k)))
    {
        return Err(bad(
            "conditions.applications must include applications, user actions or authentication contexts.",
        ));
    }
    let users = &cond["users"];
    if ![
        "includeUsers",
        "includeGroups",
        "includeRoles",
        "includeGuestsOrExternalUsers",
    ]
    .iter()
    .any(|k| non_empty(users.get(*k)))
    {
        return Err(bad(
            "conditions.users must include users, groups, roles or guests.",
        ));
    }
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
    let has_session = session
        .as_object()
        .is_some_and(|s| s.values().any(|v| !v.is_null()));
    if !has_grant && !has_session {
        return Err(bad("A policy needs grantControls or sessionControls."));
    }
    if has_grant && !matches!(grant["operator"].as_str(), Some("AND" | "OR")) {
        return Err(bad("grantControls.operator must be 'AND' or 'OR'."));
    }
    if controls.contains(&"block")
        && (controls.len() > 1 || non_empty(grant.get("authenticationStrength")))
    {
        return Err(bad(
            "grantControls: 'block' cannot be combined with other controls.",
        ));
    }
    if let Some(strength) = grant.get("authenticationStrength").filter(|v| !v.is_null()) {
        let sid = strength
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
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

fn check_named_location(obj: &Obj) -> Result<(), GraphError> {
    let bad = |m: String| GraphError::new(400, "BadRequest", m);
    for (i, range) in obj
        .get("ipRanges")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let cidr = range.get("cidrAddress").and_then(Value::as_str);
        let v6 = range
            .get("@odata.type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.contains("iPv6"));
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
        && obj
            .get("ipRanges")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        return Err(bad(
            "An IP named location needs at least one range in ipRanges.".into(),
        ));
    }
    for (i, c) in obj
        .get("countriesAndRegions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !c
            .as_str()
            .is_some_and(|s| s.len() == 2 && s.chars().all(|ch| ch.is_ascii_uppercase()))
        {
            return Err(bad(format!(
                "countriesAndRegions[{i}] must be a two-letter ISO 3166 code in upper case."
            )));
        }
    }
    Ok(())
}

fn valid_cidr(c: &str, v6: bool) -> bool {
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
fn combination_is_mfa(combo: &str) -> bool {
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

fn fill_strength(t: &Tenant, id: &str, obj: &mut Obj, now: &Value) -> Result<(), GraphError> {
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
    if combos.iter().all(|c| combination_is_mfa(c)) {
        "mfa"
    } else {
        "none"
    }
}

fn unique_name(t: &Tenant, coll: Coll, id: &str, obj: &Obj) -> Result<(), GraphError> {
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

fn check_role_assignment(t: &Tenant, obj: &Obj) -> Result<(), GraphError> {
    let principal = str_of(obj, "principalId").unwrap_or_default();
    if t.directory_object(principal).is_none() {
        return Err(GraphError::not_found(principal));
    }
    let role = str_of(obj, "roleDefinitionId").unwrap_or_default();
    if find_role_definition(t, role).is_none() {
        return Err(GraphError::not_found(role));
    }
    if obj.get("directoryScopeId").is_none_or(Value::is_null)
        && obj.get("appScopeId").is_none_or(Value::is_null)
    {
        return Err(GraphError::bad_request(
            "Either directoryScopeId or appScopeId must be set.",
        ));
    }
    let dup = t.coll(Coll::RoleAssignments).values().any(|a| {
        [
            "principalId",
            "roleDefinitionId",
            "directoryScopeId",
            "appScopeId",
        ]
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

/// A role definition by id or template id.
pub(crate) fn find_role_definition<'a>(t: &'a Tenant, key: &str) -> Option<&'a Obj> {
    t.get(Coll::RoleDefinitions, key).or_else(|| {
        t.coll(Coll::RoleDefinitions)
            .values()
            .find(|d| str_of(d, "templateId") == Some(key))
    })
}

/// Adds what a stored object does not hold but Graph returns: the expanded authentication
/// strength inside CA grant controls.
pub(crate) fn decorate(t: &Tenant, ctx: &Ctx<'_>, coll: Coll, out: &mut Map<String, Value>) {
    if coll != Coll::CaPolicies {
        return;
    }
    let Some(grant) = out.get_mut("grantControls").and_then(Value::as_object_mut) else {
        return;
    };
    let sid = grant
        .get("authenticationStrength")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let expanded = sid
        .and_then(|sid| t.get(Coll::AuthStrengths, &sid))
        .map_or(Value::Null, |s| {
            Value::Object(schema().render(
                "authenticationStrengthPolicy",
                s,
                &["combinationConfigurations"],
                ctx.render,
            ))
        });
    grant.insert("authenticationStrength".into(), expanded);
}

/// Applies a PATCH body to a stored object.
pub(crate) fn update(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
    mut body: Map<String, Value>,
) -> Result<(), GraphError> {
    if matches!(
        coll,
        Coll::AppRoleAssignments | Coll::RoleAssignments | Coll::RoleEligibilitySchedules
    ) {
        return Err(GraphError::method_not_allowed());
    }
    let binds = take_binds(coll, &mut body)?;
    if binds.iter().any(|(k, _)| *k == LinkKind::Owners) {
        return Err(GraphError::bad_request(
            "Owners cannot be added with PATCH; use owners/$ref.",
        ));
    }
    prepare(coll, &mut body, false)?;
    let stored = t
        .get(coll, id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(id))?;
    let stored_type = str_of(&stored, "@odata.type").map(str::to_string);
    check_type_unchanged(coll, &body, stored_type.as_deref())?;
    let declared = stored_type.as_deref().map_or(coll.entity_type(), |s| {
        s.trim_start_matches("#microsoft.graph.")
    });
    let patch = schema()
        .validate_body(declared, &body, coll.writable_navs())
        .map_err(|e| body_error(coll, &e))?;
    reject_builtin(coll, &stored)?;
    if coll == Coll::AuthStrengths
        && patch
            .keys()
            .any(|k| !matches!(k.as_str(), "displayName" | "description" | "@odata.type"))
    {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Only displayName and description can be updated; use updateAllowedCombinations to change combinations.",
        ));
    }
    let mut merged = stored.clone();
    merge(&mut merged, patch);
    let now = Value::String(t.now_string());
    match coll {
        Coll::Users => {
            check_upn(t, id, &merged)?;
            check_password(&merged)?;
            if merged.remove("passwordProfile").is_some() {
                merged.insert("lastPasswordChangeDateTime".into(), now);
            }
        }
        Coll::Applications => check_identifier_uris(t, id, &merged)?,
        Coll::CaPolicies => {
            check_ca_policy(t, &mut merged)?;
            merged.insert("modifiedDateTime".into(), now);
        }
        Coll::NamedLocations => {
            check_named_location(&merged)?;
            merged.insert("modifiedDateTime".into(), now);
        }
        Coll::AuthStrengths => {
            unique_name(t, coll, id, &merged)?;
            merged.insert("modifiedDateTime".into(), now);
        }
        Coll::RoleDefinitions => unique_name(t, coll, id, &merged)?,
        _ => {}
    }
    check_binds_exist(t, &binds)?;
    if merged != stored {
        t.put(coll, id, merged);
    }
    apply_binds(t, coll, id, &binds)?;
    let _ = ctx;
    Ok(())
}

fn check_type_unchanged(
    coll: Coll,
    body: &Map<String, Value>,
    stored: Option<&str>,
) -> Result<(), GraphError> {
    let given = body.get("@odata.type").and_then(Value::as_str);
    match (coll, given, stored) {
        (Coll::NamedLocations | Coll::AuthMethodConfigs, None, _) => Err(GraphError::new(
            400,
            "BadRequest",
            "The request body must name the derived type in '@odata.type'.",
        )),
        (_, Some(g), Some(s))
            if !g
                .trim_start_matches('#')
                .eq_ignore_ascii_case(s.trim_start_matches('#')) =>
        {
            Err(GraphError::new(
                400,
                "BadRequest",
                format!("'@odata.type' {g} does not match the object's type {s}."),
            ))
        }
        _ => Ok(()),
    }
}

fn reject_builtin(coll: Coll, stored: &Obj) -> Result<(), GraphError> {
    let builtin = match coll {
        Coll::AuthStrengths => str_of(stored, "policyType") == Some("builtIn"),
        Coll::RoleDefinitions => stored.get("isBuiltIn") == Some(&Value::Bool(true)),
        _ => false,
    };
    if builtin {
        return Err(GraphError::new(
            400,
            "BadRequest",
            format!(
                "Built-in {} objects cannot be changed or deleted.",
                coll.entity_type()
            ),
        ));
    }
    Ok(())
}

/// `OData` PATCH: complex values merge property by property; everything else is replaced.
fn merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        match (target.get_mut(&k), v) {
            (Some(Value::Object(t)), Value::Object(p)) if !p.contains_key("@odata.type") => {
                merge(t, p);
            }
            (_, Value::Null) => {
                target.remove(&k);
            }
            (_, v) => {
                target.insert(k, v);
            }
        }
    }
}

/// Deletes an object: directory objects that Entra keeps go to the recycle bin, CA policies and
/// named locations to CA deleted items, everything else is gone.
pub(crate) fn delete(t: &mut Tenant, coll: Coll, id: &str) -> Result<(), GraphError> {
    let stored = t
        .get(coll, id)
        .cloned()
        .ok_or_else(|| GraphError::not_found(id))?;
    reject_builtin(coll, &stored)?;
    if matches!(
        coll,
        Coll::AuthMethodConfigs | Coll::RoleEligibilitySchedules
    ) {
        return Err(GraphError::method_not_allowed());
    }
    let now = t.now();
    let mut obj = t.take(coll, id).unwrap_or(stored);
    if coll.is_directory_object() {
        let links = t.detach_links(id);
        if goes_to_recycle_bin(coll, &obj) {
            obj.insert(
                "deletedDateTime".into(),
                Value::String(crate::tenant::format_time(now)),
            );
            t.recycle_bin.insert(
                id.to_string(),
                Deleted {
                    coll,
                    obj,
                    deleted_at: now,
                    links,
                },
            );
        }
    } else if matches!(coll, Coll::CaPolicies | Coll::NamedLocations) {
        obj.insert(
            "deletedDateTime".into(),
            Value::String(crate::tenant::format_time(now)),
        );
        t.ca_deleted
            .entry(coll)
            .or_default()
            .insert(id.to_string(), (obj, now));
    }
    if coll == Coll::Applications && !t.recycle_bin.contains_key(id) {
        remove_federated_credentials(t, id);
    }
    Ok(())
}

/// Removes the federated identity credentials of an application that is gone for good. While
/// the application is in the recycle bin they stay, hidden, and come back with it.
pub(crate) fn remove_federated_credentials(t: &mut Tenant, app_id: &str) {
    let creds: Vec<String> = t
        .coll(Coll::FederatedCredentials)
        .iter()
        .filter(|(_, f)| str_of(f, PARENT) == Some(app_id))
        .map(|(k, _)| k.clone())
        .collect();
    for c in creds {
        t.take(Coll::FederatedCredentials, &c);
    }
}

/// Security groups are deleted permanently; everything else in the directory is recoverable.
fn goes_to_recycle_bin(coll: Coll, obj: &Obj) -> bool {
    match coll {
        Coll::Groups => obj
            .get("groupTypes")
            .and_then(Value::as_array)
            .is_some_and(|g| g.iter().any(|x| x == "Unified")),
        _ => true,
    }
}
