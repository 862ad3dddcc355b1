//! Where each kind is written in Graph, and how to find an object a crashed restore may already
//! have created.

use rewind_model::{Kind, key};
use rewind_msgraph::{ClientError, GraphClient};
use serde_json::Value;

/// The URL path of an existing object.
pub(super) fn item_path(kind: Kind, key: &str) -> String {
    let (parent, id) = key::split(key);
    match (kind, parent) {
        (k, _) if k.is_singleton() => k.graph_path().to_string(),
        (Kind::FederatedIdentityCredential, Some(app)) => {
            format!("/applications/{app}/federatedIdentityCredentials/{id}")
        }
        (Kind::AppRoleAssignment, Some(sp)) => {
            format!("/servicePrincipals/{sp}/appRoleAssignedTo/{id}")
        }
        (k, _) => format!("{}/{id}", k.graph_path()),
    }
}

/// The URL path objects of `kind` are created at; `parent` is the (remapped) container of a
/// contained kind, `body` the body about to be sent.
pub(super) fn create_path(kind: Kind, parent: Option<&str>, body: &Value) -> Option<String> {
    match kind {
        Kind::FederatedIdentityCredential => {
            Some(format!("/applications/{}/federatedIdentityCredentials", parent?))
        }
        Kind::AppRoleAssignment => Some(format!(
            "/servicePrincipals/{}/appRoleAssignedTo",
            body.get("resourceId")?.as_str()?
        )),
        Kind::RoleEligibilitySchedule => Some(ELIGIBILITY_REQUESTS.to_string()),
        Kind::User if is_invitation(body) => Some("/invitations".to_string()),
        k => Some(k.graph_path().to_string()),
    }
}

/// Whether a user's create body is an invitation (a guest invited again): Graph answers it
/// with the guest as `invitedUser`, and inviting an address again answers with the same one,
/// so it is safe to repeat.
pub(super) fn is_invitation(body: &Value) -> bool {
    body.get("invitedUserEmailAddress").is_some()
}

/// Where PIM eligibilities are granted and revoked: a schedule request each
/// (rbacapplication-post-roleeligibilityschedulerequests.md).
pub(super) const ELIGIBILITY_REQUESTS: &str =
    "/roleManagement/directory/roleEligibilityScheduleRequests";

/// The request that grants (`adminAssign`) or revokes (`adminRemove`) the eligibility `body`
/// describes.
pub(super) fn eligibility_request(action: &str, body: &Value) -> Value {
    let mut request = body.clone();
    if let Some(o) = request.as_object_mut() {
        o.insert("action".into(), Value::String(action.into()));
        o.insert(
            "justification".into(),
            Value::String("Restored by Rewind to its state at the restore's target time".into()),
        );
        if action == "adminRemove" {
            o.shift_remove("scheduleInfo");
        }
    }
    request
}

/// The key a created object is known by: contained objects keep their container's id before
/// the `/`.
pub(super) fn created_key(
    kind: Kind,
    parent: Option<&str>,
    body: &Value,
    created: &Value,
) -> Option<String> {
    // A schedule request answers with the schedule it made as `targetScheduleId`.
    let id = created
        .get("targetScheduleId")
        .filter(|_| kind == Kind::RoleEligibilitySchedule)
        .or_else(|| created.pointer("/invitedUser/id").filter(|_| is_invitation(body)))
        .or_else(|| created.get(kind.key_property()))
        .and_then(Value::as_str)?
        .to_string();
    Some(match kind {
        Kind::FederatedIdentityCredential => format!("{}/{id}", parent?),
        Kind::AppRoleAssignment => format!("{}/{id}", body.get("resourceId")?.as_str()?),
        _ => id,
    })
}

/// Where a deleted object is restored from.
pub(super) fn restore_path(kind: Kind, id: &str) -> Option<String> {
    match kind {
        Kind::ConditionalAccessPolicy => {
            Some(format!("/identity/conditionalAccess/deletedItems/policies/{id}/restore"))
        }
        Kind::NamedLocation => {
            Some(format!("/identity/conditionalAccess/deletedItems/namedLocations/{id}/restore"))
        }
        Kind::User
        | Kind::Group
        | Kind::Application
        | Kind::ServicePrincipal
        | Kind::AdministrativeUnit => Some(format!("/directory/deletedItems/{id}/restore")),
        _ => None,
    }
}

/// Whether writes to `kind` go to the Conditional Access service (one request per second per
/// tenant).
pub(super) fn is_conditional_access(kind: Kind) -> bool {
    matches!(kind, Kind::ConditionalAccessPolicy | Kind::NamedLocation)
}

/// The properties that identify an object of `kind` among its kin when its id is unknown: how
/// a create that may have happened before a crash is found instead of repeated.
fn identity(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::User => &["userPrincipalName"],
        Kind::Group => &["mailNickname", "displayName"],
        Kind::ServicePrincipal => &["appId"],
        Kind::RoleAssignment | Kind::RoleEligibilitySchedule => {
            &["principalId", "roleDefinitionId", "directoryScopeId"]
        }
        Kind::AppRoleAssignment => &["principalId", "appRoleId"],
        Kind::FederatedIdentityCredential => &["name"],
        Kind::OAuth2PermissionGrant => &["clientId", "consentType", "principalId", "resourceId"],
        Kind::CrossTenantAccessPolicyConfigurationPartner => &["tenantId"],
        _ => &["displayName"],
    }
}

/// Finds an object of `kind` under `collection` matching `body` on its identifying properties.
pub(super) async fn find_existing(
    client: &GraphClient,
    kind: Kind,
    collection: &str,
    body: &Value,
) -> Result<Option<Value>, ClientError> {
    let props = identity(kind);
    let Some(first) = props.first() else {
        return Ok(None);
    };
    let Some(first_value) = body.get(*first).and_then(Value::as_str) else {
        return Ok(None);
    };
    // Eligibilities are created by requests but listed as schedules.
    let collection =
        if kind == Kind::RoleEligibilitySchedule { kind.graph_path() } else { collection };
    // Directory collections filter on the server; the small policy collections are listed.
    let path = if matches!(
        kind,
        Kind::User
            | Kind::Group
            | Kind::Application
            | Kind::ServicePrincipal
            | Kind::AdministrativeUnit
    ) {
        format!("{collection}?$filter={first} eq '{}'", first_value.replace('\'', "''"))
    } else {
        collection.to_string()
    };
    let found = client.list(&path).await?;
    Ok(found.into_iter().find(|o| props.iter().all(|p| o.get(*p) == body.get(*p))))
}
