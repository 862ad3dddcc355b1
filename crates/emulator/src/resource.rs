//! The resources the emulator serves: one [`Coll`] per entity set and one [`Singleton`] per
//! singleton policy, each with its v1.0 type, paging limits, delta support and audit vocabulary.

/// An entity set of the emulated tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coll {
    /// `/users`
    Users,
    /// `/groups`
    Groups,
    /// `/applications`
    Applications,
    /// `/servicePrincipals`
    ServicePrincipals,
    /// `/directory/administrativeUnits`
    AdministrativeUnits,
    /// `/oauth2PermissionGrants`
    Oauth2PermissionGrants,
    /// `appRoleAssignment`s, reached through service principals, users and groups.
    AppRoleAssignments,
    /// `/applications/{id}/federatedIdentityCredentials`
    FederatedCredentials,
    /// `/identity/conditionalAccess/policies`
    CaPolicies,
    /// `/identity/conditionalAccess/namedLocations`
    NamedLocations,
    /// `/policies/authenticationStrengthPolicies`
    AuthStrengths,
    /// `/policies/authenticationMethodsPolicy/authenticationMethodConfigurations`
    AuthMethodConfigs,
    /// `/roleManagement/directory/roleDefinitions`
    RoleDefinitions,
    /// `/roleManagement/directory/roleAssignments`
    RoleAssignments,
    /// `/roleManagement/directory/roleEligibilitySchedules`
    RoleEligibilitySchedules,
    /// PIM's schedules of active role assignments: permanent, time-bound and activated ones.
    RoleAssignmentSchedules,
    /// `/policies/crossTenantAccessPolicy/partners`
    CrossTenantPartners,
}

/// Sets serialise as their `@odata.context` path, which names them unambiguously.
impl serde::Serialize for Coll {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.context_path())
    }
}

impl<'de> serde::Deserialize<'de> for Coll {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Coll::ALL
            .into_iter()
            .find(|c| c.context_path() == s)
            .ok_or_else(|| serde::de::Error::custom("unknown collection"))
    }
}

/// A singleton policy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Singleton {
    /// `/policies/authorizationPolicy`
    AuthorizationPolicy,
    /// `/policies/authenticationMethodsPolicy`
    AuthenticationMethodsPolicy,
    /// `/policies/identitySecurityDefaultsEnforcementPolicy`
    SecurityDefaults,
    /// `/policies/crossTenantAccessPolicy`
    CrossTenantAccessPolicy,
    /// `/policies/crossTenantAccessPolicy/default`
    CrossTenantDefault,
}

/// Graph's default and maximum page sizes for directory collections.
pub(crate) const DIRECTORY_PAGE: (usize, usize) = (100, 999);

/// Users whose default property set Graph returns without `$select`.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// Groups: Graph's default set leaves out the Exchange and licensing properties.
const GROUP_DEFAULT: &[&str] = &[
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "uniqueName",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

impl Coll {
    /// Every entity set, in a stable order.
    pub const ALL: [Coll; 17] = [
        Coll::Users,
        Coll::Groups,
        Coll::Applications,
        Coll::ServicePrincipals,
        Coll::AdministrativeUnits,
        Coll::Oauth2PermissionGrants,
        Coll::AppRoleAssignments,
        Coll::FederatedCredentials,
        Coll::CaPolicies,
        Coll::NamedLocations,
        Coll::AuthStrengths,
        Coll::AuthMethodConfigs,
        Coll::RoleDefinitions,
        Coll::RoleAssignments,
        Coll::RoleEligibilitySchedules,
        Coll::RoleAssignmentSchedules,
        Coll::CrossTenantPartners,
    ];

    /// The v1.0 entity type of the set's members (abstract for named locations and methods).
    pub fn entity_type(self) -> &'static str {
        match self {
            Coll::Users => "user",
            Coll::Groups => "group",
            Coll::Applications => "application",
            Coll::ServicePrincipals => "servicePrincipal",
            Coll::AdministrativeUnits => "administrativeUnit",
            Coll::Oauth2PermissionGrants => "oAuth2PermissionGrant",
            Coll::AppRoleAssignments => "appRoleAssignment",
            Coll::FederatedCredentials => "federatedIdentityCredential",
            Coll::CaPolicies => "conditionalAccessPolicy",
            Coll::NamedLocations => "namedLocation",
            Coll::AuthStrengths => "authenticationStrengthPolicy",
            Coll::AuthMethodConfigs => "authenticationMethodConfiguration",
            Coll::RoleDefinitions => "unifiedRoleDefinition",
            Coll::RoleAssignments => "unifiedRoleAssignment",
            Coll::RoleEligibilitySchedules => "unifiedRoleEligibilitySchedule",
            Coll::RoleAssignmentSchedules => "unifiedRoleAssignmentSchedule",
            Coll::CrossTenantPartners => "crossTenantAccessPolicyConfigurationPartner",
        }
    }

    /// The path used in `@odata.context` for this set.
    pub fn context_path(self) -> &'static str {
        match self {
            Coll::Users => "users",
            Coll::Groups => "groups",
            Coll::Applications => "applications",
            Coll::ServicePrincipals => "servicePrincipals",
            Coll::AdministrativeUnits => "directory/administrativeUnits",
            Coll::Oauth2PermissionGrants => "oauth2PermissionGrants",
            Coll::AppRoleAssignments => "appRoleAssignments",
            Coll::FederatedCredentials => "applications/federatedIdentityCredentials",
            Coll::CaPolicies => "identity/conditionalAccess/policies",
            Coll::NamedLocations => "identity/conditionalAccess/namedLocations",
            Coll::AuthStrengths => "policies/authenticationStrengthPolicies",
            Coll::AuthMethodConfigs => {
                "policies/authenticationMethodsPolicy/authenticationMethodConfigurations"
            }
            Coll::RoleDefinitions => "roleManagement/directory/roleDefinitions",
            Coll::RoleAssignments => "roleManagement/directory/roleAssignments",
            Coll::RoleEligibilitySchedules => "roleManagement/directory/roleEligibilitySchedules",
            Coll::RoleAssignmentSchedules => "roleManagement/directory/roleAssignmentSchedules",
            Coll::CrossTenantPartners => "policies/crossTenantAccessPolicy/partners",
        }
    }

    /// Privileged Identity Management's sets, which need Entra ID P2 or ID Governance
    /// (privilegedidentitymanagementv3-overview.md, "License requirements").
    pub(crate) fn is_pim(self) -> bool {
        matches!(self, Coll::RoleEligibilitySchedules | Coll::RoleAssignmentSchedules)
    }

    /// Directory objects share one id space, the recycle bin and the legacy error codes.
    pub fn is_directory_object(self) -> bool {
        matches!(
            self,
            Coll::Users
                | Coll::Groups
                | Coll::Applications
                | Coll::ServicePrincipals
                | Coll::AdministrativeUnits
        )
    }

    /// Sets with a v1.0 `delta()` function.
    pub fn has_delta(self) -> bool {
        matches!(
            self,
            Coll::Users
                | Coll::Groups
                | Coll::Applications
                | Coll::ServicePrincipals
                | Coll::AdministrativeUnits
                | Coll::Oauth2PermissionGrants
        )
    }

    /// Properties returned when the client sends no `$select`; `None` means all of them.
    pub(crate) fn default_select(self) -> Option<&'static [&'static str]> {
        match self {
            Coll::Users => Some(USER_DEFAULT),
            Coll::Groups => Some(GROUP_DEFAULT),
            _ => None,
        }
    }

    /// The `$select` Graph applies without one: `id` and the default set, or `None` for all.
    pub(crate) fn default_selection(self) -> Option<Vec<String>> {
        self.default_select()
            .map(|d| std::iter::once("id").chain(d.iter().copied()).map(String::from).collect())
    }

    /// Navigation properties Graph returns inline with this type.
    pub(crate) fn inline_navs(self) -> &'static [&'static str] {
        match self {
            Coll::AuthMethodConfigs => &["includeTargets"],
            Coll::AuthStrengths => &["combinationConfigurations"],
            _ => &[],
        }
    }

    /// Navigation properties a create or update body may carry.
    pub(crate) fn writable_navs(self) -> &'static [&'static str] {
        match self {
            Coll::AuthMethodConfigs => &["includeTargets"],
            _ => &[],
        }
    }

    /// The audit log's category and the noun used in activity names ("Add user").
    pub(crate) fn audit_vocabulary(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Coll::Users => ("UserManagement", "user", "Core Directory"),
            Coll::Groups => ("GroupManagement", "group", "Core Directory"),
            Coll::Applications => ("ApplicationManagement", "application", "Core Directory"),
            Coll::ServicePrincipals => {
                ("ApplicationManagement", "service principal", "Core Directory")
            }
            Coll::AdministrativeUnits => {
                ("AdministrativeUnit", "administrative unit", "Core Directory")
            }
            Coll::Oauth2PermissionGrants => {
                ("ApplicationManagement", "delegated permission grant", "Core Directory")
            }
            Coll::AppRoleAssignments => {
                ("ApplicationManagement", "app role assignment", "Core Directory")
            }
            Coll::FederatedCredentials => {
                ("ApplicationManagement", "federated identity credential", "Core Directory")
            }
            Coll::CaPolicies => ("Policy", "conditional access policy", "Conditional Access"),
            Coll::NamedLocations => ("Policy", "named location", "Conditional Access"),
            Coll::AuthStrengths => ("Policy", "authentication strength", "Conditional Access"),
            Coll::AuthMethodConfigs => {
                ("Policy", "authentication method configuration", "Authentication Methods")
            }
            Coll::RoleDefinitions => ("RoleManagement", "role definition", "Core Directory"),
            Coll::RoleAssignments => ("RoleManagement", "member to role", "Core Directory"),
            Coll::RoleEligibilitySchedules => ("RoleManagement", "eligible member to role", "PIM"),
            Coll::RoleAssignmentSchedules => ("RoleManagement", "member to role", "PIM"),
            Coll::CrossTenantPartners => (
                "CrossTenantAccessSettings",
                "partner to cross-tenant access setting",
                "Core Directory",
            ),
        }
    }

    /// The audit `targetResources[].type` of this set.
    pub(crate) fn audit_type(self) -> &'static str {
        match self {
            Coll::Users => "User",
            Coll::Groups => "Group",
            Coll::Applications => "Application",
            Coll::ServicePrincipals => "ServicePrincipal",
            Coll::AdministrativeUnits => "AdministrativeUnit",
            Coll::RoleDefinitions
            | Coll::RoleAssignments
            | Coll::RoleEligibilitySchedules
            | Coll::RoleAssignmentSchedules => "Role",
            _ => "Policy",
        }
    }
}

impl Singleton {
    /// Every singleton.
    pub const ALL: [Singleton; 5] = [
        Singleton::AuthorizationPolicy,
        Singleton::AuthenticationMethodsPolicy,
        Singleton::SecurityDefaults,
        Singleton::CrossTenantAccessPolicy,
        Singleton::CrossTenantDefault,
    ];

    /// The v1.0 type.
    pub fn entity_type(self) -> &'static str {
        match self {
            Singleton::AuthorizationPolicy => "authorizationPolicy",
            Singleton::AuthenticationMethodsPolicy => "authenticationMethodsPolicy",
            Singleton::SecurityDefaults => "identitySecurityDefaultsEnforcementPolicy",
            Singleton::CrossTenantAccessPolicy => "crossTenantAccessPolicy",
            Singleton::CrossTenantDefault => "crossTenantAccessPolicyConfigurationDefault",
        }
    }

    /// The path used in `@odata.context`.
    pub fn context_path(self) -> &'static str {
        match self {
            Singleton::AuthorizationPolicy => "policies/authorizationPolicy",
            Singleton::AuthenticationMethodsPolicy => "policies/authenticationMethodsPolicy",
            Singleton::SecurityDefaults => "policies/identitySecurityDefaultsEnforcementPolicy",
            Singleton::CrossTenantAccessPolicy => "policies/crossTenantAccessPolicy",
            Singleton::CrossTenantDefault => "policies/crossTenantAccessPolicy/default",
        }
    }

    /// Properties the service manages; a PATCH that sets them is refused.
    pub(crate) fn read_only(self) -> &'static [&'static str] {
        match self {
            Singleton::AuthenticationMethodsPolicy => {
                &["displayName", "description", "lastModifiedDateTime", "policyVersion"]
            }
            Singleton::CrossTenantDefault => &["isServiceDefault"],
            _ => &[],
        }
    }
}
