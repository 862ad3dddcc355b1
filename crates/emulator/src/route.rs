//! Turns a Graph v1.0 path (after `/v1.0`) into a [`Route`]. One parser serves both HTTP requests
//! and the inner requests of `$batch`, so they cannot disagree.

use percent_encoding::percent_decode_str;

use crate::error::GraphError;
use crate::resource::{Coll, Singleton};

/// Which link collection of an object.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LinkKind {
    /// `members` of a group or administrative unit.
    Members,
    /// `owners` of a group, application or service principal.
    Owners,
}

/// Which objects of a collection a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole entity set.
    All,
    /// App role assignments granted to this principal (`…/{id}/appRoleAssignments`).
    PrincipalOf(String),
    /// App role assignments on this resource service principal (`…/{id}/appRoleAssignedTo`).
    ResourceOf(String),
    /// Federated identity credentials of this application.
    ParentApp(String),
}

/// A bound action on one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `addPassword` on an application or service principal.
    AddPassword,
    /// `removePassword`.
    RemovePassword,
    /// `restore` of a CA policy or named location in `deletedItems`.
    Restore,
    /// `updateAllowedCombinations` on an authentication strength.
    UpdateAllowedCombinations,
    /// `usage` of an authentication strength.
    Usage,
}

/// A parsed request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET` list or `POST` create.
    Collection(Coll, Scope),
    /// `GET`, `PATCH` or `DELETE` one object.
    Item(Coll, Scope, String),
    /// `GET …/delta`.
    Delta(Coll),
    /// `GET …/$count`.
    Count(Coll),
    /// `GET` the links, or `POST …/$ref` to add one.
    Links {
        /// The holder's set.
        coll: Coll,
        /// The holder's key.
        id: String,
        /// Members or owners.
        kind: LinkKind,
        /// The path ends in `$ref`.
        is_ref: bool,
    },
    /// `GET /users/{id}/ownedObjects` or `/servicePrincipals/{id}/ownedObjects`.
    Owned {
        /// The owner's set.
        coll: Coll,
        /// The owner's key.
        id: String,
    },
    /// `DELETE …/{linked}/$ref`.
    LinkItem {
        /// The holder's set.
        coll: Coll,
        /// The holder's key.
        id: String,
        /// Members or owners.
        kind: LinkKind,
        /// The linked object's id.
        linked: String,
    },
    /// A bound action.
    Action(Coll, String, Action),
    /// `GET /directory/deletedItems/microsoft.graph.{type}`.
    DeletedList(Coll),
    /// `GET` or `DELETE /directory/deletedItems/{id}`.
    DeletedItem(String),
    /// `POST /directory/deletedItems/{id}/restore`.
    DeletedRestore(String),
    /// `GET /identity/conditionalAccess/deletedItems/{policies|namedLocations}`.
    CaDeletedList(Coll),
    /// `GET` or `DELETE` one CA deleted item.
    CaDeletedItem(Coll, String),
    /// `GET` or `PATCH` a singleton.
    Singleton(Singleton),
    /// `POST /roleManagement/directory/roleEligibilityScheduleRequests`.
    EligibilityRequests,
    /// `POST /invitations`.
    Invitations,
    /// `GET /auditLogs/directoryAudits`.
    AuditList,
    /// `GET /auditLogs/directoryAudits/{id}`.
    AuditItem(String),
    /// `GET /directoryObjects/{id}`.
    DirectoryObject(String),
    /// `GET /users/{id}/authentication/methods[/{methodId}]`.
    AuthMethods {
        /// The user's key.
        user: String,
        /// One method, or all of them.
        method: Option<String>,
    },
    /// `POST /identity/conditionalAccess/evaluate` (What If).
    CaEvaluate,
    /// `POST /$batch`.
    Batch,
}

/// Parses `path` (with or without a leading `/`, without `/v1.0`).
pub fn parse(path: &str) -> Result<Route, GraphError> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    route(&segs).ok_or_else(|| GraphError::no_route(path))
}

fn route(s: &[&str]) -> Option<Route> {
    let (head, rest) = s.split_first()?;
    let (head_name, alt_key) = split_alternate_key(head);
    match head_name.to_ascii_lowercase().as_str() {
        "$batch" if rest.is_empty() => Some(Route::Batch),
        "invitations" if rest.is_empty() => Some(Route::Invitations),
        "users" => directory_route(Coll::Users, alt_key, rest),
        "groups" => directory_route(Coll::Groups, alt_key, rest),
        "applications" => directory_route(Coll::Applications, alt_key, rest),
        "serviceprincipals" => directory_route(Coll::ServicePrincipals, alt_key, rest),
        "oauth2permissiongrants" => plain_route(Coll::Oauth2PermissionGrants, rest),
        "directory" => directory_root(rest),
        "directoryobjects" => match rest {
            [id] => Some(Route::DirectoryObject((*id).to_string())),
            _ => None,
        },
        "identity" => identity_route(rest),
        "policies" => policies_route(rest),
        "rolemanagement" => role_route(rest),
        "auditlogs" => audit_route(rest),
        _ => None,
    }
}

/// Splits `applications(appId='x')` into `("applications", Some("x"))`.
fn split_alternate_key(seg: &str) -> (&str, Option<String>) {
    match seg.split_once('(') {
        Some((name, rest)) => {
            let inner = rest.trim_end_matches(')');
            let value = inner
                .strip_prefix("appId=")
                .map(|v| v.trim_matches('\'').to_string())
                .filter(|v| !v.is_empty());
            (name, value.map(|v| format!("appId={v}")))
        }
        None => (seg, None),
    }
}

fn is_delta(seg: &str) -> bool {
    seg == "delta" || seg == "delta()" || seg == "microsoft.graph.delta()"
}

fn directory_route(coll: Coll, alt_key: Option<String>, rest: &[&str]) -> Option<Route> {
    if let Some(key) = alt_key {
        return item_route(coll, key, rest);
    }
    match rest {
        [] => Some(Route::Collection(coll, Scope::All)),
        [d] if is_delta(d) => Some(Route::Delta(coll)),
        ["$count"] => Some(Route::Count(coll)),
        [id, tail @ ..] => item_route(coll, (*id).to_string(), tail),
    }
}

fn item_route(coll: Coll, id: String, tail: &[&str]) -> Option<Route> {
    let link = |kind| match tail.get(1) {
        None => Some(Route::Links { coll, id: id.clone(), kind, is_ref: false }),
        Some(&"$ref") if tail.len() == 2 => {
            Some(Route::Links { coll, id: id.clone(), kind, is_ref: true })
        }
        Some(linked) if tail.get(2) == Some(&"$ref") && tail.len() == 3 => {
            Some(Route::LinkItem { coll, id: id.clone(), kind, linked: (*linked).to_string() })
        }
        _ => None,
    };
    let Some(first) = tail.first() else {
        return Some(Route::Item(coll, Scope::All, id));
    };
    match (coll, first.to_ascii_lowercase().as_str()) {
        (Coll::Groups | Coll::AdministrativeUnits, "members") => link(LinkKind::Members),
        (Coll::Groups | Coll::Applications | Coll::ServicePrincipals, "owners") => {
            link(LinkKind::Owners)
        }
        (Coll::Users | Coll::ServicePrincipals, "ownedobjects") if tail.len() == 1 => {
            Some(Route::Owned { coll, id })
        }
        (Coll::Applications | Coll::ServicePrincipals, "addpassword") if tail.len() == 1 => {
            Some(Route::Action(coll, id, Action::AddPassword))
        }
        (Coll::Applications | Coll::ServicePrincipals, "removepassword") if tail.len() == 1 => {
            Some(Route::Action(coll, id, Action::RemovePassword))
        }
        (Coll::Applications, "federatedidentitycredentials") => {
            sub_route(Coll::FederatedCredentials, Scope::ParentApp(id), &tail[1..])
        }
        (Coll::ServicePrincipals | Coll::Users | Coll::Groups, "approleassignments") => {
            sub_route(Coll::AppRoleAssignments, Scope::PrincipalOf(id), &tail[1..])
        }
        (Coll::Users, "authentication") => match tail {
            [_, "methods"] => Some(Route::AuthMethods { user: id, method: None }),
            [_, "methods", m] => {
                Some(Route::AuthMethods { user: id, method: Some((*m).to_string()) })
            }
            _ => None,
        },
        (Coll::ServicePrincipals, "approleassignedto") => {
            sub_route(Coll::AppRoleAssignments, Scope::ResourceOf(id), &tail[1..])
        }
        _ => None,
    }
}

fn sub_route(coll: Coll, scope: Scope, rest: &[&str]) -> Option<Route> {
    match rest {
        [] => Some(Route::Collection(coll, scope)),
        [id] => Some(Route::Item(coll, scope, (*id).to_string())),
        _ => None,
    }
}

fn plain_route(coll: Coll, rest: &[&str]) -> Option<Route> {
    match rest {
        [] => Some(Route::Collection(coll, Scope::All)),
        [d] if is_delta(d) && coll.has_delta() => Some(Route::Delta(coll)),
        [id] => Some(Route::Item(coll, Scope::All, (*id).to_string())),
        _ => None,
    }
}

fn directory_root(rest: &[&str]) -> Option<Route> {
    let (first, tail) = rest.split_first()?;
    match first.to_ascii_lowercase().as_str() {
        "administrativeunits" => directory_route(Coll::AdministrativeUnits, None, tail),
        "deleteditems" => match tail {
            [cast] if cast.starts_with("microsoft.graph.") => {
                deleted_cast(cast.trim_start_matches("microsoft.graph.")).map(Route::DeletedList)
            }
            [id] => Some(Route::DeletedItem((*id).to_string())),
            [id, "restore" | "microsoft.graph.restore"] => {
                Some(Route::DeletedRestore((*id).to_string()))
            }
            _ => None,
        },
        _ => None,
    }
}

fn deleted_cast(name: &str) -> Option<Coll> {
    match name {
        "user" => Some(Coll::Users),
        "group" => Some(Coll::Groups),
        "application" => Some(Coll::Applications),
        "servicePrincipal" => Some(Coll::ServicePrincipals),
        "administrativeUnit" => Some(Coll::AdministrativeUnits),
        _ => None,
    }
}

fn identity_route(rest: &[&str]) -> Option<Route> {
    let ["conditionalAccess", tail @ ..] = rest else {
        return None;
    };
    match tail {
        ["policies", more @ ..] => plain_route(Coll::CaPolicies, more),
        ["namedLocations", more @ ..] => plain_route(Coll::NamedLocations, more),
        ["authenticationStrength", "policies", more @ ..] => strength_route(more),
        ["evaluate" | "microsoft.graph.evaluate"] => Some(Route::CaEvaluate),
        ["deletedItems", kind, more @ ..] => {
            let coll = match *kind {
                "policies" => Coll::CaPolicies,
                "namedLocations" => Coll::NamedLocations,
                _ => return None,
            };
            match more {
                [] => Some(Route::CaDeletedList(coll)),
                [id] => Some(Route::CaDeletedItem(coll, (*id).to_string())),
                [id, "restore" | "microsoft.graph.restore"] => {
                    Some(Route::Action(coll, (*id).to_string(), Action::Restore))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn strength_route(rest: &[&str]) -> Option<Route> {
    match rest {
        [id, action] => {
            let action = match *action {
                "updateAllowedCombinations" => Action::UpdateAllowedCombinations,
                "usage" | "usage()" => Action::Usage,
                _ => return None,
            };
            Some(Route::Action(Coll::AuthStrengths, (*id).to_string(), action))
        }
        other => plain_route(Coll::AuthStrengths, other),
    }
}

fn policies_route(rest: &[&str]) -> Option<Route> {
    let (first, tail) = rest.split_first()?;
    match (*first, tail) {
        ("authorizationPolicy", [] | ["authorizationPolicy"]) => {
            Some(Route::Singleton(Singleton::AuthorizationPolicy))
        }
        ("identitySecurityDefaultsEnforcementPolicy", []) => {
            Some(Route::Singleton(Singleton::SecurityDefaults))
        }
        ("authenticationMethodsPolicy", []) => {
            Some(Route::Singleton(Singleton::AuthenticationMethodsPolicy))
        }
        // v1.0 documents each method configuration by id and the policy carrying them all
        // inline, but no list of them (authenticationmethodspolicy-get.md; the
        // authenticationMethodConfiguration pages document get and update only): the bare
        // collection is not served.
        ("authenticationMethodsPolicy", ["authenticationMethodConfigurations", more @ ..])
            if !more.is_empty() =>
        {
            plain_route(Coll::AuthMethodConfigs, more)
        }
        ("authenticationStrengthPolicies", more) => strength_route(more),
        ("conditionalAccessPolicies", more) => plain_route(Coll::CaPolicies, more),
        ("crossTenantAccessPolicy", []) => {
            Some(Route::Singleton(Singleton::CrossTenantAccessPolicy))
        }
        ("crossTenantAccessPolicy", ["default"]) => {
            Some(Route::Singleton(Singleton::CrossTenantDefault))
        }
        ("crossTenantAccessPolicy", ["partners", more @ ..]) => {
            plain_route(Coll::CrossTenantPartners, more)
        }
        _ => None,
    }
}

fn role_route(rest: &[&str]) -> Option<Route> {
    let ["directory", kind, more @ ..] = rest else {
        return None;
    };
    match *kind {
        "roleDefinitions" => plain_route(Coll::RoleDefinitions, more),
        "roleAssignments" => plain_route(Coll::RoleAssignments, more),
        "roleEligibilitySchedules" => plain_route(Coll::RoleEligibilitySchedules, more),
        "roleAssignmentSchedules" => plain_route(Coll::RoleAssignmentSchedules, more),
        "roleEligibilityScheduleRequests" if more.is_empty() => Some(Route::EligibilityRequests),
        _ => None,
    }
}

fn audit_route(rest: &[&str]) -> Option<Route> {
    match rest {
        ["directoryAudits"] => Some(Route::AuditList),
        ["directoryAudits", id] => Some(Route::AuditItem((*id).to_string())),
        _ => None,
    }
}

/// The object id at the end of an `@odata.id` URL such as
/// `https://graph.microsoft.com/v1.0/directoryObjects/{id}`.
pub(crate) fn id_from_odata_url(url: &str) -> Option<String> {
    let last = url.trim_end_matches('/').rsplit('/').next()?;
    (!last.is_empty() && !last.contains(':')).then(|| last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_paths_route() {
        let cases = [
            ("/users", Route::Collection(Coll::Users, Scope::All)),
            ("users/delta()", Route::Delta(Coll::Users)),
            (
                "/groups/g1/members/$ref",
                Route::Links {
                    coll: Coll::Groups,
                    id: "g1".into(),
                    kind: LinkKind::Members,
                    is_ref: true,
                },
            ),
            (
                "/groups/g1/members/u1/$ref",
                Route::LinkItem {
                    coll: Coll::Groups,
                    id: "g1".into(),
                    kind: LinkKind::Members,
                    linked: "u1".into(),
                },
            ),
            (
                "/applications(appId='abc')",
                Route::Item(Coll::Applications, Scope::All, "appId=abc".into()),
            ),
            (
                "/servicePrincipals/s1/appRoleAssignedTo",
                Route::Collection(Coll::AppRoleAssignments, Scope::ResourceOf("s1".into())),
            ),
            ("/directory/deletedItems/microsoft.graph.user", Route::DeletedList(Coll::Users)),
            ("/directory/deletedItems/x/restore", Route::DeletedRestore("x".into())),
            (
                "/identity/conditionalAccess/deletedItems/policies/p/restore",
                Route::Action(Coll::CaPolicies, "p".into(), Action::Restore),
            ),
            (
                "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2",
                Route::Item(Coll::AuthMethodConfigs, Scope::All, "Fido2".into()),
            ),
            ("/auditLogs/directoryAudits", Route::AuditList),
            ("/$batch", Route::Batch),
        ];
        for (path, want) in cases {
            assert_eq!(parse(path).unwrap(), want, "{path}");
        }
    }

    #[test]
    fn unknown_paths_are_graph_errors() {
        for path in [
            "/",
            "/nope",
            "/users/a/b/c/d",
            "/identity/conditionalAccess/x",
            "/directory/deletedItems",
        ] {
            let err = parse(path).unwrap_err();
            assert_eq!(err.status, 400, "{path}");
        }
    }
}
