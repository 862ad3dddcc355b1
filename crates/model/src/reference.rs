//! References: typed edges from a property of one object to another object. A CA policy's
//! `conditions.users.excludeGroups[]` names groups; a role assignment names a principal and a
//! role definition. Restore follows them to bring back what a restored object needs and to remap
//! ids of re-created objects; `refs` and `check --refs` show them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::kind::Kind;

/// What a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// An object of one kind, by id.
    Id(Kind),
    /// A user, group or service principal, by id (role assignments, app role assignments).
    Principal,
    /// An application by its `appId`, not its object id (CA app conditions, service principals).
    AppId,
    /// A role definition by id or template id.
    RoleTemplate,
}

/// One reference of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reference {
    /// Where in the object, e.g. `conditions.users.excludeGroups[2]`.
    pub path: String,
    /// What is referenced.
    pub target: Target,
    /// The referenced id (or appId).
    pub id: String,
}

/// Values of CA condition lists that are keywords, not ids.
const KEYWORDS: &[&str] = &[
    "All",
    "None",
    "GuestsOrExternalUsers",
    "Office365",
    "MicrosoftAdminPortals",
    "AllTrusted",
    "00000000-0000-0000-0000-000000000000",
    "all_users",
];

/// The properties of each kind that hold references, as `(path, target)`; `[]` marks an array.
fn rules(kind: Kind) -> &'static [(&'static str, Target)] {
    use Target::{AppId, Id, Principal, RoleTemplate};
    match kind {
        Kind::ConditionalAccessPolicy => &[
            ("conditions.users.includeUsers[]", Id(Kind::User)),
            ("conditions.users.excludeUsers[]", Id(Kind::User)),
            ("conditions.users.includeGroups[]", Id(Kind::Group)),
            ("conditions.users.excludeGroups[]", Id(Kind::Group)),
            ("conditions.users.includeRoles[]", RoleTemplate),
            ("conditions.users.excludeRoles[]", RoleTemplate),
            ("conditions.applications.includeApplications[]", AppId),
            ("conditions.applications.excludeApplications[]", AppId),
            (
                "conditions.clientApplications.includeServicePrincipals[]",
                Id(Kind::ServicePrincipal),
            ),
            (
                "conditions.clientApplications.excludeServicePrincipals[]",
                Id(Kind::ServicePrincipal),
            ),
            ("conditions.locations.includeLocations[]", Id(Kind::NamedLocation)),
            ("conditions.locations.excludeLocations[]", Id(Kind::NamedLocation)),
            ("grantControls.authenticationStrength.id", Id(Kind::AuthenticationStrengthPolicy)),
        ],
        Kind::RoleAssignment | Kind::RoleEligibilitySchedule | Kind::RoleAssignmentSchedule => {
            &[("principalId", Principal), ("roleDefinitionId", RoleTemplate)]
        }
        Kind::AppRoleAssignment => {
            &[("principalId", Principal), ("resourceId", Id(Kind::ServicePrincipal))]
        }
        Kind::OAuth2PermissionGrant => &[
            ("clientId", Id(Kind::ServicePrincipal)),
            ("resourceId", Id(Kind::ServicePrincipal)),
            ("principalId", Id(Kind::User)),
        ],
        Kind::Group => &[("members[]", Principal), ("owners[]", Principal)],
        Kind::Application => &[("owners[]", Principal)],
        Kind::ServicePrincipal => &[("appId", AppId), ("owners[]", Principal)],
        Kind::FederatedIdentityCredential => &[("application", Id(Kind::Application))],
        Kind::AdministrativeUnit => &[("members[]", Principal)],
        Kind::AuthenticationMethodConfiguration => {
            &[("includeTargets[].id", Principal), ("excludeTargets[].id", Principal)]
        }
        _ => &[],
    }
}

/// Whether objects of `kind` can reference others.
pub fn refers(kind: Kind) -> bool {
    !rules(kind).is_empty()
}

/// The references of an object of `kind` (canonical or as read).
pub fn references(kind: Kind, object: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    for (path, target) in rules(kind) {
        collect(object, path, "", *target, &mut out);
    }
    out
}

fn collect(v: &Value, rest: &str, at: &str, target: Target, out: &mut Vec<Reference>) {
    if rest.is_empty() {
        if let Some(id) = v.as_str().filter(|s| !s.is_empty() && !KEYWORDS.contains(s)) {
            out.push(Reference { path: at.to_string(), target, id: id.to_string() });
        }
        return;
    }
    let (segment, tail) = rest.split_once('.').unwrap_or((rest, ""));
    let (name, each) = match segment.strip_suffix("[]") {
        Some(n) => (n, true),
        None => (segment, false),
    };
    let Some(child) = v.get(name) else { return };
    let here = if at.is_empty() { name.to_string() } else { format!("{at}.{name}") };
    if each {
        for (i, item) in child.as_array().into_iter().flatten().enumerate() {
            collect(item, tail, &format!("{here}[{i}]"), target, out);
        }
    } else {
        collect(child, tail, &here, target, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ca_policies_name_groups_roles_apps_locations_and_strengths() {
        let p = json!({"conditions": {
            "users": {"includeUsers": ["All"], "excludeGroups": ["g1", "g2"], "includeRoles": ["r1"]},
            "applications": {"includeApplications": ["Office365", "app-1"]},
            "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted", "loc-1"]}},
            "grantControls": {"authenticationStrength": {"id": "s1"}}});
        let refs = references(Kind::ConditionalAccessPolicy, &p);
        let got: Vec<(&str, &str)> =
            refs.iter().map(|r| (r.path.as_str(), r.id.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("conditions.users.excludeGroups[0]", "g1"),
                ("conditions.users.excludeGroups[1]", "g2"),
                ("conditions.users.includeRoles[0]", "r1"),
                ("conditions.applications.includeApplications[1]", "app-1"),
                ("conditions.locations.excludeLocations[1]", "loc-1"),
                ("grantControls.authenticationStrength.id", "s1"),
            ]
        );
        assert_eq!(refs[0].target, Target::Id(Kind::Group));
        assert_eq!(refs[3].target, Target::AppId);
    }

    #[test]
    fn assignments_name_principals_and_definitions() {
        let a = json!({"principalId": "u1", "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10"});
        let refs = references(Kind::RoleAssignment, &a);
        assert_eq!(refs.len(), 2);
        assert_eq!((refs[0].target, refs[1].target), (Target::Principal, Target::RoleTemplate));
    }
}
