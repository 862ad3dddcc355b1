//! What each kind adds to create, update and delete: required properties, read-only properties,
//! server-generated values, and the checks Graph makes (unique names, known references, valid
//! ranges). Everything here follows `docs/reference/graph-api.md` §2.

use serde_json::{Map, Value};

use super::Ctx;
use crate::error::GraphError;
use crate::resource::Coll;
use crate::route::{LinkKind, Scope};
use crate::schema::{BodyError, schema};
use crate::tenant::{Deleted, Obj, PARENT, Tenant};

mod rules;

use rules::{
    check_ca_policy, check_grant, check_identifier_uris, check_named_location, check_password,
    check_role_assignment, check_upn, fill_app_role_assignment, fill_application,
    fill_federated_credential, fill_group, fill_service_principal, fill_strength, fill_user,
    unique_name,
};
pub(crate) use rules::{find_role_definition, security_identifier, strength_requirements};

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
        Coll::Groups => &["displayName", "mailEnabled", "mailNickname", "securityEnabled"],
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
        Coll::AuthMethodConfigs
        | Coll::RoleEligibilitySchedules
        | Coll::RoleAssignmentSchedules => &[],
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
        Coll::AppRoleAssignments => {
            &["principalDisplayName", "principalType", "resourceDisplayName"]
        }
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
    let code = if coll.is_directory_object() { "Request_BadRequest" } else { "BadRequest" };
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
    let refused = read_only(coll).iter().chain(if creating { &[][..] } else { immutable(coll) });
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
    for (key, kind) in
        [("members@odata.bind", LinkKind::Members), ("owners@odata.bind", LinkKind::Owners)]
    {
        let Some(v) = body.remove(key) else { continue };
        if coll != Coll::Groups {
            return Err(GraphError::bad_request(format!("Invalid property '{key}'.")));
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
                .and_then(crate::route::id_from_odata_url)
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
    coll: Coll,
    scope: &Scope,
    mut body: Map<String, Value>,
) -> Result<String, GraphError> {
    if matches!(
        coll,
        Coll::AuthMethodConfigs | Coll::RoleEligibilitySchedules | Coll::RoleAssignmentSchedules
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
    if binds.iter().any(|(k, _)| *k == LinkKind::Members) {
        super::write_rules::check_member_writes(&obj)?;
    }
    let id = new_key(t, coll, &obj);
    fill_on_create(t, coll, scope, &id, &mut obj)?;
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
        Coll::AdministrativeUnits
        | Coll::AuthMethodConfigs
        | Coll::RoleEligibilitySchedules
        | Coll::RoleAssignmentSchedules => {}
    }
    Ok(())
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
    let expanded = sid.and_then(|sid| t.get(Coll::AuthStrengths, &sid)).map_or(Value::Null, |s| {
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
    coll: Coll,
    id: &str,
    mut body: Map<String, Value>,
) -> Result<(), GraphError> {
    if matches!(
        coll,
        Coll::AppRoleAssignments
            | Coll::RoleAssignments
            | Coll::RoleEligibilitySchedules
            | Coll::RoleAssignmentSchedules
    ) {
        return Err(GraphError::method_not_allowed());
    }
    let binds = take_binds(coll, &mut body)?;
    if binds.iter().any(|(k, _)| *k == LinkKind::Owners) {
        return Err(GraphError::bad_request("Owners cannot be added with PATCH; use owners/$ref."));
    }
    prepare(coll, &mut body, false)?;
    let stored = t.get(coll, id).cloned().ok_or_else(|| GraphError::not_found(id))?;
    if !binds.is_empty() {
        super::write_rules::check_member_writes(&stored)?;
    }
    let stored_type = str_of(&stored, "@odata.type").map(str::to_string);
    check_type_unchanged(coll, &body, stored_type.as_deref())?;
    let declared = stored_type
        .as_deref()
        .map_or(coll.entity_type(), |s| s.trim_start_matches("#microsoft.graph."));
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
    // As with `$ref`, a bind naming an existing member fails the whole request.
    if binds.iter().any(|(k, other)| t.link_set(*k, id).is_some_and(|l| l.contains(other))) {
        return Err(GraphError::bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    if merged != stored {
        t.put(coll, id, merged);
    }
    apply_binds(t, coll, id, &binds)?;
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
            if !g.trim_start_matches('#').eq_ignore_ascii_case(s.trim_start_matches('#')) =>
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
            format!("Built-in {} objects cannot be changed or deleted.", coll.entity_type()),
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
    let stored = t.get(coll, id).cloned().ok_or_else(|| GraphError::not_found(id))?;
    reject_builtin(coll, &stored)?;
    if matches!(
        coll,
        Coll::AuthMethodConfigs | Coll::RoleEligibilitySchedules | Coll::RoleAssignmentSchedules
    ) {
        return Err(GraphError::method_not_allowed());
    }
    let now = t.now();
    let mut obj = t.take(coll, id).unwrap_or(stored);
    if coll.is_directory_object() {
        let links = t.detach_links(id);
        if goes_to_recycle_bin(coll, &obj) {
            obj.insert("deletedDateTime".into(), Value::String(crate::tenant::format_time(now)));
            t.recycle_bin.insert(id.to_string(), Deleted { coll, obj, deleted_at: now, links });
        }
    } else if matches!(coll, Coll::CaPolicies | Coll::NamedLocations) {
        obj.insert("deletedDateTime".into(), Value::String(crate::tenant::format_time(now)));
        t.ca_deleted.entry(coll).or_default().insert(id.to_string(), (obj, now));
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
