//! What Graph lets a client write, per kind (docs/reference/graph-api.md §3): which properties are
//! read-only and must be left out of a body, which are links written through `$ref`, which
//! objects are built in and never written, and how each kind can be changed (in place, or only
//! by deleting and creating again).

use rewind_model::Kind;
use serde_json::{Map, Value};

/// Properties Graph computes or refuses in a body, per kind. Canonical versions already lack
/// ids and timestamps.
fn read_only(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::User => &[
            "creationType",
            "externalUserState",
            "externalUserStateChangeDateTime",
            "securityIdentifier",
            "assignedPlans",
            "provisionedPlans",
            "proxyAddresses",
            "imAddresses",
            "licenseAssignmentStates",
            "assignedLicenses",
            "onPremisesSyncEnabled",
            "onPremisesSecurityIdentifier",
            "onPremisesDomainName",
            "onPremisesSamAccountName",
            "onPremisesUserPrincipalName",
            "onPremisesDistinguishedName",
            "onPremisesProvisioningErrors",
            "onPremisesImmutableId",
            "isManagementRestricted",
            "mail",
        ],
        Kind::Group => &[
            "securityIdentifier",
            "mail",
            "proxyAddresses",
            "onPremisesSyncEnabled",
            "onPremisesSecurityIdentifier",
            "onPremisesDomainName",
            "onPremisesSamAccountName",
            "onPremisesNetBiosName",
            "onPremisesProvisioningErrors",
            "hasMembersWithLicenseErrors",
            "licenseProcessingState",
            "isManagementRestricted",
            "serviceProvisioningErrors",
        ],
        Kind::Application => &[
            "appId",
            "publisherDomain",
            "passwordCredentials",
            "keyCredentials",
            "createdByAppId",
            "disabledByMicrosoftStatus",
            "verifiedPublisher",
            "certification",
            "applicationTemplateId",
        ],
        Kind::ServicePrincipal => &[
            "appDisplayName",
            "appDescription",
            "appOwnerOrganizationId",
            "servicePrincipalType",
            "signInAudience",
            "passwordCredentials",
            "keyCredentials",
            "createdByAppId",
            "disabledByMicrosoftStatus",
            "verifiedPublisher",
            "appRoles",
            "oauth2PermissionScopes",
            "publisherName",
            "info",
            "applicationTemplateId",
        ],
        Kind::AppRoleAssignment => {
            &["principalDisplayName", "principalType", "resourceDisplayName"]
        }
        Kind::FederatedIdentityCredential => &["application"],
        Kind::ConditionalAccessPolicy => &["templateId"],
        Kind::AuthenticationStrengthPolicy => &["policyType", "requirementsSatisfied"],
        Kind::RoleDefinition => &["isBuiltIn", "version", "templateId", "inheritsPermissionsFrom"],
        Kind::RoleAssignment => &["principalOrganizationId", "resourceScope", "createdUsing"],
        Kind::CrossTenantAccessPolicyConfigurationPartner => &["isInMultiTenantOrganization"],
        Kind::AuthenticationMethodsPolicy => &["policyMigrationState", "policyVersion"],
        _ => &[],
    }
}

/// Properties set only when creating (Graph refuses to change them).
fn immutable(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::ServicePrincipal => &["appId"],
        Kind::Group => &["isAssignableToRole"],
        Kind::CrossTenantAccessPolicyConfigurationPartner => &["tenantId"],
        Kind::OAuth2PermissionGrant => &["clientId", "consentType", "principalId", "resourceId"],
        _ => &[],
    }
}

/// The links of a kind: properties holding ids written one by one through `$ref`.
pub fn links(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Group => &["members", "owners"],
        Kind::Application | Kind::ServicePrincipal => &["owners"],
        Kind::AdministrativeUnit => &["members"],
        _ => &[],
    }
}

/// Whether a property is a credential list Graph never returns secrets of.
pub fn is_credentials(kind: Kind, property: &str) -> bool {
    matches!(kind, Kind::Application | Kind::ServicePrincipal)
        && matches!(property, "passwordCredentials" | "keyCredentials")
}

/// How a kind can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// Created, changed in place and deleted.
    Full,
    /// One per tenant: only changed in place.
    Singleton,
    /// Created and deleted, never changed: a change is a delete and a create.
    Replace,
    /// Not written at all.
    Never,
}

/// How objects of `kind` are written.
pub fn writable(kind: Kind) -> Writable {
    match kind {
        k if k.is_singleton() => Writable::Singleton,
        Kind::AuthenticationMethodConfiguration => Writable::Singleton,
        // Eligibilities are granted and revoked through schedule requests (adminAssign,
        // adminRemove; rbacapplication-post-roleeligibilityschedulerequests.md), never changed.
        Kind::RoleAssignment | Kind::AppRoleAssignment | Kind::RoleEligibilitySchedule => {
            Writable::Replace
        }
        Kind::UserAuthenticationMethods | Kind::RoleAssignmentSchedule => Writable::Never,
        _ => Writable::Full,
    }
}

/// Whether the object is built in (Microsoft's): never created, changed or deleted.
pub fn is_built_in(kind: Kind, object: &Value) -> bool {
    match kind {
        Kind::RoleDefinition => object.get("isBuiltIn").and_then(Value::as_bool) == Some(true),
        Kind::AuthenticationStrengthPolicy => {
            object.get("policyType").and_then(Value::as_str) == Some("builtIn")
        }
        _ => false,
    }
}

/// Whether a group is managed in Exchange Online — a mail-enabled security group or a
/// distribution list (mail-enabled and not a Microsoft 365 group): Graph creates neither and
/// changes neither's members (group-post-groups.md, "mailEnabled"; group-post-members.md).
pub fn is_exchange_managed(kind: Kind, object: &Value) -> bool {
    kind == Kind::Group
        && object.get("mailEnabled").and_then(Value::as_bool) == Some(true)
        && !group_types(object).contains(&"Unified")
}

/// Whether a user is a B2B guest: such an account is made by an invitation (its `#EXT#` sign-in
/// name belongs to the inviting tenant's redemption), never by `POST /users`
/// (invitation-post.md; user.md, `creationType` "Invitation", `userType` "Guest").
pub fn is_guest(kind: Kind, object: &Value) -> bool {
    kind == Kind::User
        && (object.get("userType").and_then(Value::as_str) == Some("Guest")
            || object.get("creationType").and_then(Value::as_str) == Some("Invitation")
            || object
                .get("userPrincipalName")
                .and_then(Value::as_str)
                .is_some_and(|upn| upn.contains("#EXT#")))
}

/// Whether a group's members come from its membership rule: Graph refuses member writes.
pub fn has_dynamic_members(kind: Kind, object: &Value) -> bool {
    kind == Kind::Group && group_types(object).contains(&"DynamicMembership")
}

fn group_types(object: &Value) -> Vec<&str> {
    object
        .get("groupTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether the object is synchronised from an on-premises directory.
pub fn is_synced(object: &Value) -> bool {
    object.get("onPremisesSyncEnabled").and_then(Value::as_bool) == Some(true)
}

/// The body that creates `object`: every writable property, links and credentials left out.
pub fn create_body(kind: Kind, object: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in object.as_object().into_iter().flatten() {
        if read_only(kind).contains(&k.as_str()) || links(kind).contains(&k.as_str()) {
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    if kind == Kind::CrossTenantAccessPolicyConfigurationPartner
        && let Some(t) = object.get("tenantId")
    {
        out.insert("tenantId".into(), t.clone());
    }
    Value::Object(out)
}

/// The `PATCH` body that turns `live` into `desired`: the top-level properties that differ,
/// whole, with what `desired` no longer sets written as `null` or `[]` at every depth (a
/// `PATCH` merges complex values, so an omitted property would be kept).
pub fn update_body(kind: Kind, live: &Value, desired: &Value) -> Option<Value> {
    let (Some(l), Some(d)) = (live.as_object(), desired.as_object()) else {
        return None;
    };
    let skip = |k: &str| {
        read_only(kind).contains(&k)
            || immutable(kind).contains(&k)
            || links(kind).contains(&k)
            || is_credentials(kind, k)
    };
    let mut out = Map::new();
    for key in l.keys().chain(d.keys()) {
        if skip(key) || out.contains_key(key) || l.get(key) == d.get(key) {
            continue;
        }
        let value = match (l.get(key), d.get(key)) {
            (Some(old), Some(new)) => cleared(old, new),
            (Some(old), None) => unset(old),
            (None, Some(new)) => new.clone(),
            (None, None) => continue,
        };
        out.insert(key.clone(), value);
    }
    // Derived types are named on every write, updates included (namedlocation-update.md:
    // "@odata.type … required"; the methods policy's configurations and singletons alike).
    if (kind.is_singleton()
        || matches!(kind, Kind::AuthenticationMethodConfiguration | Kind::NamedLocation))
        && let Some(t) = d.get("@odata.type").filter(|_| !out.is_empty())
    {
        out.insert("@odata.type".into(), t.clone());
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// `new`, with every property of `old` it lacks written as unset.
fn cleared(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut out = n.clone();
            for (k, v) in o {
                match n.get(k) {
                    Some(nv) => {
                        out.insert(k.clone(), cleared(v, nv));
                    }
                    None if k != "@odata.type" => {
                        out.insert(k.clone(), unset(v));
                    }
                    None => {}
                }
            }
            Value::Object(out)
        }
        _ => new.clone(),
    }
}

/// How "no value" is written for a property that holds `old`: an empty collection, and `null`
/// for anything else — a complex value included. A shell of empty members (`"platforms":
/// {"includePlatforms": []}`) is not "no condition": Graph refuses it or keeps a condition that
/// matches nothing, and a policy meant for everyone silently stops applying; `null` removes the
/// condition (conditionalaccessconditionset.md: conditions not set are `null`).
fn unset(old: &Value) -> Value {
    match old {
        Value::Array(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn creates_leave_out_read_only_links_and_credentials() {
        let g = json!({"displayName": "G", "mail": "g@x", "members": ["u1"], "owners": ["u2"],
                       "mailNickname": "g", "securityEnabled": true});
        assert_eq!(
            create_body(Kind::Group, &g),
            json!({"displayName": "G", "mailNickname": "g", "securityEnabled": true})
        );
        let app =
            json!({"displayName": "A", "appId": "x", "passwordCredentials": [{"keyId": "k"}]});
        assert_eq!(create_body(Kind::Application, &app), json!({"displayName": "A"}));
    }

    #[test]
    fn a_condition_or_control_removed_is_written_null_not_as_an_empty_shell() {
        let live = json!({"conditions": {"users": {"includeUsers": ["All"]},
                "platforms": {"includePlatforms": ["android"], "excludePlatforms": []}},
            "sessionControls": {"signInFrequency": {"value": 4, "type": "hours", "isEnabled": true}}});
        let desired = json!({"conditions": {"users": {"includeUsers": ["All"]}}});
        assert_eq!(
            update_body(Kind::ConditionalAccessPolicy, &live, &desired),
            Some(json!({"conditions": {"users": {"includeUsers": ["All"]}, "platforms": null},
                        "sessionControls": null}))
        );
    }

    #[test]
    fn updates_write_what_differs_and_clear_what_is_gone_at_every_depth() {
        let live = json!({"displayName": "P", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["g1"]}},
            "members": ["u1"]});
        let desired = json!({"displayName": "P", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "platforms": {"includePlatforms": ["all"]}}});
        assert_eq!(
            update_body(Kind::Group, &live, &desired),
            Some(json!({"conditions": {"users": {"includeUsers": ["All"], "excludeGroups": []},
                                       "platforms": {"includePlatforms": ["all"]}}}))
        );
        assert_eq!(update_body(Kind::User, &live, &live), None);
        assert_eq!(
            update_body(Kind::User, &json!({"jobTitle": "A"}), &json!({})),
            Some(json!({"jobTitle": null}))
        );
    }
}
