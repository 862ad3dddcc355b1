//! The directory layout of exported trees: close to Microsoft's EntraExporter, so that what
//! reads its output reads Rewind's, and Rewind imports its output. An object lives at
//! `<kind dir>/<key>/<key>.json` (EntraExporter's `Identity/Conditional/AccessPolicies/<id>/<id>.json`);
//! a contained object under its parent, `Applications/<app>/FederatedIdentityCredentials/<id>/<id>.json`.
//! EntraExporter writes group and unit members and owners as children (`Groups/<id>/Members/…`);
//! Rewind keeps them inside the group, and import folds those children back in.

use crate::kind::Kind;

/// Where each kind's objects live (for contained kinds: the directory under the parent).
pub fn kind_dir(kind: Kind) -> &'static str {
    match kind {
        Kind::ConditionalAccessPolicy => "Identity/Conditional/AccessPolicies",
        Kind::NamedLocation => "Identity/Conditional/NamedLocations",
        Kind::AuthenticationStrengthPolicy => "Policies/AuthenticationStrengthPolicies",
        Kind::AuthenticationMethodsPolicy => "Policies/AuthenticationMethodsPolicy",
        Kind::AuthenticationMethodConfiguration => {
            "Policies/AuthenticationMethodsPolicy/AuthenticationMethodConfigurations"
        }
        Kind::AuthorizationPolicy => "Policies/AuthorizationPolicy",
        Kind::IdentitySecurityDefaultsEnforcementPolicy => {
            "Policies/IdentitySecurityDefaultsEnforcementPolicy"
        }
        Kind::CrossTenantAccessPolicy => "Policies/CrossTenantAccessPolicy",
        Kind::CrossTenantAccessPolicyConfigurationDefault => {
            "Policies/CrossTenantAccessPolicy/Default"
        }
        Kind::CrossTenantAccessPolicyConfigurationPartner => {
            "Policies/CrossTenantAccessPolicy/Partners"
        }
        Kind::User => "Users",
        Kind::UserAuthenticationMethods => "UserAuthenticationMethods",
        Kind::Group => "Groups",
        Kind::AdministrativeUnit => "AdministrativeUnits",
        Kind::Application => "Applications",
        Kind::FederatedIdentityCredential => "Applications/*/FederatedIdentityCredentials",
        Kind::ServicePrincipal => "ServicePrincipals",
        Kind::AppRoleAssignment => "ServicePrincipals/*/AppRoleAssignedTo",
        Kind::OAuth2PermissionGrant => "Oauth2PermissionGrants",
        Kind::RoleDefinition => "RoleManagement/Directory/RoleDefinitions",
        Kind::RoleAssignment => "RoleManagement/Directory/RoleAssignments",
        Kind::RoleEligibilitySchedule => "RoleManagement/Directory/RoleEligibilitySchedules",
        Kind::RoleAssignmentSchedule => "RoleManagement/Directory/RoleAssignmentSchedules",
    }
}

/// Why a key cannot be a path.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the key '{0}' cannot be a file name")]
pub struct BadKey(pub String);

/// The file of an object, relative to the tree's root, with `/` separators.
pub fn object_file(kind: Kind, key: &str) -> Result<String, BadKey> {
    let segments: Vec<&str> = key.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || s.contains(['\\', ':', '\0']))
    {
        return Err(BadKey(key.to_string()));
    }
    let dir = kind_dir(kind);
    match (dir.split_once("/*/"), segments.as_slice()) {
        (Some((parent_dir, child_dir)), [parent, child]) => {
            Ok(format!("{parent_dir}/{parent}/{child_dir}/{child}/{child}.json"))
        }
        (None, [one]) => Ok(format!("{dir}/{one}/{one}.json")),
        _ => Err(BadKey(key.to_string())),
    }
}

/// What a file's place in a tree says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An object of a kind Rewind keeps; `parent` for contained objects and for grant files
    /// under a service principal.
    Object {
        /// Its kind.
        kind: Kind,
        /// The parent's id, for contained kinds.
        parent: Option<String>,
    },
    /// A member or owner link written as a child of a group or unit (EntraExporter).
    Link {
        /// The group's or unit's kind.
        kind: Kind,
        /// Its id.
        parent: String,
        /// `members` or `owners`.
        property: &'static str,
    },
    /// A directory of EntraExporter's of things Rewind does not keep (organization, domains,
    /// devices…), or a child of an object Rewind does not keep (extension properties…).
    NotKept(String),
    /// Nowhere known: the kind must come from the content.
    Unknown,
}

/// Top directories of EntraExporter output Rewind does not keep.
const NOT_KEPT: &[&str] = &[
    "Organization",
    "Directory",
    "Domains",
    "DirectoryRoles",
    "SubscribedSkus",
    "IdentityProviders",
    "GroupSettings",
    "Devices",
    "Admin",
    "Reports",
    "IdentityGovernance",
    "PIM",
    "IAM",
    "AccessPolicies",
    "OnPremisesPublishingProfiles",
    "Identity",
    "Policies",
    "RoleManagement",
];

/// Where `path` (relative, `/`-separated) places a file.
pub fn place(path: &str) -> Place {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let starts = |dir: &str| -> Option<usize> {
        let d: Vec<&str> = dir.split('/').collect();
        (parts.len() > d.len()
            && d.iter().zip(&parts).all(|(a, b)| *a == "*" || a.eq_ignore_ascii_case(b)))
        .then_some(d.len())
    };
    // The longest matching kind directory wins (`…/Default` over `…/CrossTenantAccessPolicy`).
    let best = Kind::ALL
        .into_iter()
        .filter_map(|k| starts(kind_dir(k)).map(|n| (n, k)))
        .max_by_key(|(n, _)| *n);
    if let Some((n, kind)) = best {
        let rest = &parts[n..];
        let parent = kind_dir(kind).contains("/*/").then(|| parts[1].to_string());
        return match rest {
            [_file] | [_, _file] => Place::Object { kind, parent },
            [id, child, _, _] | [id, child, _] => child_place(kind, id, child),
            _ => Place::Unknown,
        };
    }
    match parts.first() {
        Some(top) if parts.len() > 1 && NOT_KEPT.iter().any(|n| n.eq_ignore_ascii_case(top)) => {
            Place::NotKept((*top).to_string())
        }
        _ => Place::Unknown,
    }
}

/// A child directory of an object (EntraExporter's `Children`).
fn child_place(kind: Kind, id: &str, child: &str) -> Place {
    let link = |property| Place::Link { kind, parent: id.to_string(), property };
    match (kind, child.to_ascii_lowercase().as_str()) {
        (Kind::Group | Kind::AdministrativeUnit, "members") => link("members"),
        (Kind::Group | Kind::Application | Kind::ServicePrincipal, "owners") => link("owners"),
        (Kind::ServicePrincipal, "oauth2permissiongrants") => {
            Place::Object { kind: Kind::OAuth2PermissionGrant, parent: None }
        }
        _ => Place::NotKept(format!("{}/{child}", kind_dir(kind))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_object_file_is_placed_back_as_its_kind() {
        for kind in Kind::ALL {
            let key = if kind_dir(kind).contains("/*/") { "p1/c1" } else { "k1" };
            let file = object_file(kind, key).unwrap();
            let parent = kind_dir(kind).contains("/*/").then(|| "p1".to_string());
            assert_eq!(place(&file), Place::Object { kind, parent }, "{file}");
        }
    }

    #[test]
    fn entra_exporter_paths_are_understood() {
        assert_eq!(
            place("Identity/Conditional/AccessPolicies/abc/abc.json"),
            Place::Object { kind: Kind::ConditionalAccessPolicy, parent: None }
        );
        assert_eq!(
            place(
                "Policies/AuthenticationMethodsPolicy/AuthenticationMethodConfigurations/FIDO2.json"
            ),
            Place::Object { kind: Kind::AuthenticationMethodConfiguration, parent: None }
        );
        assert_eq!(
            place("Groups/g1/Members/u1/u1.json"),
            Place::Link { kind: Kind::Group, parent: "g1".into(), property: "members" }
        );
        assert_eq!(
            place("ServicePrincipals/s1/Oauth2PermissionGrants/x/x.json"),
            Place::Object { kind: Kind::OAuth2PermissionGrant, parent: None }
        );
        assert!(matches!(place("Applications/a1/ExtensionProperties/e/e.json"), Place::NotKept(_)));
        assert!(matches!(place("Domains/contoso.com/contoso.com.json"), Place::NotKept(_)));
        assert_eq!(place("CA000-Global.json"), Place::Unknown);
    }

    #[test]
    fn keys_that_would_leave_the_tree_are_refused() {
        for bad in ["..", "a/../b", "", "a\\b", "a/b/c"] {
            assert!(object_file(Kind::Group, bad).is_err(), "{bad}");
        }
    }
}
