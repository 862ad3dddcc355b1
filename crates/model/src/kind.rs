//! The kinds of configuration Rewind keeps (DESIGN §3), with the facts about each that capture,
//! diff and restore share: its stable name, its Graph path, whether Graph has a delta query for
//! it, and its `@odata.type` when the set is polymorphic.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A kind of configuration object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A Conditional Access policy.
    ConditionalAccessPolicy,
    /// A named location (IP, country or compliant network).
    NamedLocation,
    /// An authentication strength.
    AuthenticationStrengthPolicy,
    /// The authentication methods policy (singleton).
    AuthenticationMethodsPolicy,
    /// One authentication method configuration of that policy.
    AuthenticationMethodConfiguration,
    /// The authorization policy (singleton).
    AuthorizationPolicy,
    /// Security defaults (singleton).
    IdentitySecurityDefaultsEnforcementPolicy,
    /// The cross-tenant access policy (singleton).
    CrossTenantAccessPolicy,
    /// Its default configuration (singleton).
    CrossTenantAccessPolicyConfigurationDefault,
    /// A partner configuration, keyed by tenant id.
    CrossTenantAccessPolicyConfigurationPartner,
    /// A user.
    User,
    /// The authentication methods a protected principal (break-glass account or privileged
    /// administrator) registered, keyed by user id: kept for lockout analysis, never restored.
    #[serde(rename = "userAuthenticationMethods")]
    UserAuthenticationMethods,
    /// A group, with its members and owners.
    Group,
    /// An administrative unit.
    AdministrativeUnit,
    /// An application registration, with owners and credential metadata.
    Application,
    /// A federated identity credential of an application.
    FederatedIdentityCredential,
    /// A service principal, with owners.
    ServicePrincipal,
    /// An app role assignment.
    AppRoleAssignment,
    /// A delegated permission grant.
    #[serde(rename = "oAuth2PermissionGrant")]
    OAuth2PermissionGrant,
    /// A role definition (custom ones are restorable).
    #[serde(rename = "unifiedRoleDefinition")]
    RoleDefinition,
    /// An active role assignment.
    #[serde(rename = "unifiedRoleAssignment")]
    RoleAssignment,
    /// A PIM eligibility.
    #[serde(rename = "unifiedRoleEligibilitySchedule")]
    RoleEligibilitySchedule,
    /// PIM's schedule of an active role assignment: permanent, time-bound, or an activation.
    /// Kept to know what an assignment was (never written: PIM manages it).
    #[serde(rename = "unifiedRoleAssignmentSchedule")]
    RoleAssignmentSchedule,
}

impl Kind {
    /// Every kind, in the order a restore creates them (what others name comes first).
    pub const ALL: [Kind; 23] = [
        Kind::AuthorizationPolicy,
        Kind::IdentitySecurityDefaultsEnforcementPolicy,
        Kind::CrossTenantAccessPolicy,
        Kind::CrossTenantAccessPolicyConfigurationDefault,
        Kind::CrossTenantAccessPolicyConfigurationPartner,
        Kind::AuthenticationMethodsPolicy,
        Kind::AuthenticationMethodConfiguration,
        Kind::AuthenticationStrengthPolicy,
        Kind::NamedLocation,
        Kind::User,
        Kind::UserAuthenticationMethods,
        Kind::Group,
        Kind::AdministrativeUnit,
        Kind::Application,
        Kind::FederatedIdentityCredential,
        Kind::ServicePrincipal,
        Kind::AppRoleAssignment,
        Kind::OAuth2PermissionGrant,
        Kind::RoleDefinition,
        Kind::RoleAssignment,
        Kind::RoleEligibilitySchedule,
        Kind::RoleAssignmentSchedule,
        Kind::ConditionalAccessPolicy,
    ];

    /// Its place in [`Kind::ALL`]: restores create (and order their steps) by it.
    pub fn rank(self) -> usize {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(usize::MAX)
    }

    /// The stable name, as Graph spells the type (`conditionalAccessPolicy`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::ConditionalAccessPolicy => "conditionalAccessPolicy",
            Kind::NamedLocation => "namedLocation",
            Kind::AuthenticationStrengthPolicy => "authenticationStrengthPolicy",
            Kind::AuthenticationMethodsPolicy => "authenticationMethodsPolicy",
            Kind::AuthenticationMethodConfiguration => "authenticationMethodConfiguration",
            Kind::AuthorizationPolicy => "authorizationPolicy",
            Kind::IdentitySecurityDefaultsEnforcementPolicy => {
                "identitySecurityDefaultsEnforcementPolicy"
            }
            Kind::CrossTenantAccessPolicy => "crossTenantAccessPolicy",
            Kind::CrossTenantAccessPolicyConfigurationDefault => {
                "crossTenantAccessPolicyConfigurationDefault"
            }
            Kind::CrossTenantAccessPolicyConfigurationPartner => {
                "crossTenantAccessPolicyConfigurationPartner"
            }
            Kind::User => "user",
            Kind::UserAuthenticationMethods => "userAuthenticationMethods",
            Kind::Group => "group",
            Kind::AdministrativeUnit => "administrativeUnit",
            Kind::Application => "application",
            Kind::FederatedIdentityCredential => "federatedIdentityCredential",
            Kind::ServicePrincipal => "servicePrincipal",
            Kind::AppRoleAssignment => "appRoleAssignment",
            Kind::OAuth2PermissionGrant => "oAuth2PermissionGrant",
            Kind::RoleDefinition => "unifiedRoleDefinition",
            Kind::RoleAssignment => "unifiedRoleAssignment",
            Kind::RoleEligibilitySchedule => "unifiedRoleEligibilitySchedule",
            Kind::RoleAssignmentSchedule => "unifiedRoleAssignmentSchedule",
        }
    }

    /// The kind with this stable name (case-insensitive), if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// The v1.0 path of the collection (or singleton), relative to `/v1.0`.
    pub fn graph_path(self) -> &'static str {
        match self {
            Kind::ConditionalAccessPolicy => "/identity/conditionalAccess/policies",
            Kind::NamedLocation => "/identity/conditionalAccess/namedLocations",
            Kind::AuthenticationStrengthPolicy => "/policies/authenticationStrengthPolicies",
            Kind::AuthenticationMethodsPolicy => "/policies/authenticationMethodsPolicy",
            Kind::AuthenticationMethodConfiguration => {
                "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
            }
            Kind::AuthorizationPolicy => "/policies/authorizationPolicy",
            Kind::IdentitySecurityDefaultsEnforcementPolicy => {
                "/policies/identitySecurityDefaultsEnforcementPolicy"
            }
            Kind::CrossTenantAccessPolicy => "/policies/crossTenantAccessPolicy",
            Kind::CrossTenantAccessPolicyConfigurationDefault => {
                "/policies/crossTenantAccessPolicy/default"
            }
            Kind::CrossTenantAccessPolicyConfigurationPartner => {
                "/policies/crossTenantAccessPolicy/partners"
            }
            Kind::User => "/users",
            Kind::UserAuthenticationMethods => "/users/{id}/authentication/methods",
            Kind::Group => "/groups",
            Kind::AdministrativeUnit => "/directory/administrativeUnits",
            Kind::Application => "/applications",
            Kind::FederatedIdentityCredential => "/applications/{id}/federatedIdentityCredentials",
            Kind::ServicePrincipal => "/servicePrincipals",
            Kind::AppRoleAssignment => "/servicePrincipals/{id}/appRoleAssignedTo",
            Kind::OAuth2PermissionGrant => "/oauth2PermissionGrants",
            Kind::RoleDefinition => "/roleManagement/directory/roleDefinitions",
            Kind::RoleAssignment => "/roleManagement/directory/roleAssignments",
            Kind::RoleEligibilitySchedule => "/roleManagement/directory/roleEligibilitySchedules",
            Kind::RoleAssignmentSchedule => "/roleManagement/directory/roleAssignmentSchedules",
        }
    }

    /// Graph has a v1.0 delta query for this kind.
    pub fn has_delta(self) -> bool {
        matches!(
            self,
            Kind::User
                | Kind::Group
                | Kind::Application
                | Kind::ServicePrincipal
                | Kind::AdministrativeUnit
                | Kind::OAuth2PermissionGrant
        )
    }

    /// One object per tenant, read and written at the kind's path.
    pub fn is_singleton(self) -> bool {
        matches!(
            self,
            Kind::AuthenticationMethodsPolicy
                | Kind::AuthorizationPolicy
                | Kind::IdentitySecurityDefaultsEnforcementPolicy
                | Kind::CrossTenantAccessPolicy
                | Kind::CrossTenantAccessPolicyConfigurationDefault
        )
    }

    /// The property that keys the object (`tenantId` for cross-tenant partners).
    pub fn key_property(self) -> &'static str {
        if self == Kind::CrossTenantAccessPolicyConfigurationPartner { "tenantId" } else { "id" }
    }

    /// Guesses the kind of an exported object from its `@odata.type` or, lacking one, its
    /// shape. Used by import, where files carry no kind of their own.
    pub fn detect(value: &Value) -> Option<Kind> {
        let obj = value.as_object()?;
        if let Some(t) = obj.get("@odata.type").and_then(Value::as_str) {
            let name = t.trim_start_matches('#').trim_start_matches("microsoft.graph.");
            return Kind::from_odata_type(name);
        }
        let has = |k: &str| obj.contains_key(k);
        if has("conditions") && (has("grantControls") || has("sessionControls")) {
            Some(Kind::ConditionalAccessPolicy)
        } else if has("ipRanges") || has("countriesAndRegions") || has("compliantNetworkType") {
            Some(Kind::NamedLocation)
        } else if has("allowedCombinations") {
            Some(Kind::AuthenticationStrengthPolicy)
        } else if has("groupTypes") && has("mailNickname") {
            Some(Kind::Group)
        } else if has("userPrincipalName") {
            Some(Kind::User)
        } else if has("servicePrincipalType") || has("servicePrincipalNames") {
            Some(Kind::ServicePrincipal)
        } else if has("appId") && (has("signInAudience") || has("requiredResourceAccess")) {
            Some(Kind::Application)
        } else if has("rolePermissions") {
            Some(Kind::RoleDefinition)
        } else if has("roleDefinitionId") && has("principalId") {
            Some(Kind::RoleAssignment)
        } else {
            None
        }
    }

    fn from_odata_type(name: &str) -> Option<Kind> {
        if name.ends_with("NamedLocation") {
            return Some(Kind::NamedLocation);
        }
        if name.ends_with("AuthenticationMethodConfiguration") {
            return Some(Kind::AuthenticationMethodConfiguration);
        }
        Kind::from_name(name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::from_name(s).ok_or_else(|| {
            let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown kind '{s}'; kinds are {}", names.join(", "))
        })
    }
}

/// An object's address within a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectKey {
    /// Its kind.
    pub kind: Kind,
    /// Its key (`id`, or `tenantId` for cross-tenant partners).
    pub key: String,
}

impl ObjectKey {
    /// An object key.
    pub fn new(kind: Kind, key: impl Into<String>) -> ObjectKey {
        ObjectKey { kind, key: key.into() }
    }
}

/// The name people know an object by: its display name, else its sign-in name or the name of
/// the principal it assigns.
pub fn display_name(object: &Value) -> Option<&str> {
    ["displayName", "userPrincipalName", "principalDisplayName", "name"]
        .iter()
        .find_map(|k| object.get(*k).and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.name()));
        }
    }

    #[test]
    fn detection_by_type_and_by_shape() {
        assert_eq!(
            Kind::detect(&json!({"@odata.type": "#microsoft.graph.countryNamedLocation"})),
            Some(Kind::NamedLocation)
        );
        assert_eq!(
            Kind::detect(&json!({"conditions": {}, "grantControls": null, "state": "enabled"})),
            Some(Kind::ConditionalAccessPolicy)
        );
        assert_eq!(
            Kind::detect(&json!({"groupTypes": [], "mailNickname": "x"})),
            Some(Kind::Group)
        );
        assert_eq!(Kind::detect(&json!({"colour": "red"})), None);
    }
}
