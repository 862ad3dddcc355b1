//! Application permissions: Microsoft Graph's app roles (ids from `docs/reference/graph-permissions.md`)
//! and what each request needs. A token's `roles` come from the calling app's app role assignments
//! on the Microsoft Graph service principal, as in a real tenant; [`required`] says which
//! combinations of roles let a request through.

use crate::resource::{Coll, Singleton};
use crate::route::{Action, LinkKind, Route};

/// Microsoft Graph's appId.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Microsoft Graph application permissions the emulator knows: `(value, appRole id)`.
pub const GRAPH_APP_ROLES: &[(&str, &str)] = &[
    ("Policy.Read.All", "246dd0d5-5bd0-4def-940b-0421030a5b68"),
    ("Policy.ReadWrite.ConditionalAccess", "01c0a623-fc9b-48e9-b794-0756f8e8f067"),
    ("Policy.ReadWrite.AuthenticationMethod", "29c18626-4985-4dcd-85c0-193eef327366"),
    ("Policy.ReadWrite.Authorization", "fb221be6-99f2-473f-bd32-01c6a0e9ca3b"),
    ("Policy.ReadWrite.CrossTenantAccess", "338163d7-f101-4c92-94ba-ca46fe52447c"),
    ("Policy.ReadWrite.SecurityDefaults", "1c6e93a6-28e2-4cbb-9f64-1a46a821124d"),
    ("Application.Read.All", "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
    ("Application.ReadWrite.All", "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"),
    ("Application.ReadWrite.OwnedBy", "18a4783c-866b-4cc7-a460-3d5e5662c884"),
    ("AppRoleAssignment.ReadWrite.All", "06b708a9-e830-4db3-a914-8e69da51d44f"),
    ("DelegatedPermissionGrant.ReadWrite.All", "8e8e4742-1d95-4f68-9d56-6ee75648c72a"),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
    ("Directory.ReadWrite.All", "19dbc75e-c2e2-444c-a770-ec69d8559fc7"),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    ("User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca"),
    ("User.DeleteRestore.All", "eccc023d-eccf-4e7b-9683-8813ab36cecc"),
    ("Group.Read.All", "5b567255-7703-4780-807c-7be8301ae99b"),
    ("Group.ReadWrite.All", "62a82d76-70ea-41e2-9197-370581804d09"),
    ("GroupMember.Read.All", "98830695-27a2-44f7-8c18-0c3ebc9698f6"),
    ("GroupMember.ReadWrite.All", "dbaae8cf-10b5-4b86-a4a1-f871c94c6695"),
    ("AdministrativeUnit.Read.All", "134fd756-38ce-4afd-ba33-e9623dbe66c2"),
    ("AdministrativeUnit.ReadWrite.All", "5eb59dd3-1da2-4329-8733-9dabdc435916"),
    ("RoleManagement.Read.Directory", "483bed4a-2ad3-4361-a73b-c83ccdbdc53c"),
    ("RoleManagement.ReadWrite.Directory", "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8"),
    ("RoleEligibilitySchedule.Read.Directory", "ff278e11-4a33-4d0c-83d2-d01dc58929a5"),
    ("RoleEligibilitySchedule.ReadWrite.Directory", "fee28b28-e1f3-4841-818e-2704dc62245f"),
    ("AuditLog.Read.All", "b0afded3-3588-46d8-8b3d-9842eff778da"),
    ("UserAuthenticationMethod.Read.All", "38d9df27-64da-44fd-b7c5-a6fbac20248f"),
    ("UserAuthenticationMethod.ReadWrite.All", "50483e42-d915-4231-9639-7fdb7fd190e5"),
];

/// The least-privilege read set of DESIGN §10, given to the emulator's read-only client.
pub const READ_PERMISSIONS: &[&str] = &[
    "Policy.Read.All",
    "Application.Read.All",
    "Directory.Read.All",
    "User.Read.All",
    "Group.Read.All",
    "GroupMember.Read.All",
    "AdministrativeUnit.Read.All",
    "RoleManagement.Read.Directory",
    "RoleEligibilitySchedule.Read.Directory",
    "AuditLog.Read.All",
    "UserAuthenticationMethod.Read.All",
];

/// The write set used by restore.
pub const WRITE_PERMISSIONS: &[&str] = &[
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.AuthenticationMethod",
    "Policy.ReadWrite.Authorization",
    "Policy.ReadWrite.CrossTenantAccess",
    "Policy.ReadWrite.SecurityDefaults",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
    "User.DeleteRestore.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "AdministrativeUnit.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "AuditLog.Read.All",
    "UserAuthenticationMethod.ReadWrite.All",
];

/// Alternatives: the request passes when the roles hold every permission of one alternative.
pub(crate) type Requirement = &'static [&'static [&'static str]];

/// True when `roles` satisfy `req`. A `X.ReadWrite.Y` role also grants `X.Read.Y`, as in Entra.
pub(crate) fn satisfied(roles: &[String], req: Requirement) -> bool {
    req.iter().any(|alt| alt.iter().all(|p| has(roles, p)))
}

fn has(roles: &[String], perm: &str) -> bool {
    roles.iter().any(|r| r == perm || r.replacen(".ReadWrite.", ".Read.", 1) == perm)
}

/// What a request needs, by route and whether it writes.
pub(crate) fn required(route: &Route, write: bool) -> Requirement {
    match route {
        Route::Collection(c, _) | Route::Item(c, _, _) | Route::Delta(c) | Route::Count(c) => {
            coll_requirement(*c, write)
        }
        Route::Links { coll, kind, .. } | Route::LinkItem { coll, kind, .. } => {
            link_requirement(*coll, *kind, write)
        }
        Route::Owned { coll, .. } => coll_requirement(*coll, write),
        Route::Action(c, _, Action::Usage) => coll_requirement(*c, false),
        Route::Action(c, _, _) => coll_requirement(*c, true),
        Route::DeletedList(c) => coll_requirement(*c, false),
        Route::DeletedItem(_) | Route::DirectoryObject(_) => {
            if write {
                &[
                    &["User.ReadWrite.All"],
                    &["Group.ReadWrite.All"],
                    &["Application.ReadWrite.All"],
                    &["Directory.ReadWrite.All"],
                ]
            } else {
                &[
                    &["Directory.Read.All"],
                    &["User.Read.All"],
                    &["Group.Read.All"],
                    &["Application.Read.All"],
                ]
            }
        }
        Route::DeletedRestore(_) => &[
            &["User.ReadWrite.All"],
            &["User.DeleteRestore.All"],
            &["Group.ReadWrite.All"],
            &["Application.ReadWrite.All"],
            &["AdministrativeUnit.ReadWrite.All"],
            &["Directory.ReadWrite.All"],
        ],
        Route::CaDeletedList(c) | Route::CaDeletedItem(c, _) => coll_requirement(*c, write),
        Route::Singleton(s) => singleton_requirement(*s, write),
        Route::EligibilityRequests => coll_requirement(Coll::RoleEligibilitySchedules, true),
        // invitation-post.md: User.Invite.All, or the broader user permissions.
        Route::Invitations => {
            &[&["User.Invite.All"], &["User.ReadWrite.All"], &["Directory.ReadWrite.All"]]
        }
        Route::AuditList | Route::AuditItem(_) => {
            &[&["AuditLog.Read.All"], &["Directory.Read.All"]]
        }
        Route::AuthMethods { .. } => &[&["UserAuthenticationMethod.Read.All"]],
        // Evaluating reads policies whatever the method.
        Route::CaEvaluate => &[&["Policy.Read.ConditionalAccess"], &["Policy.Read.All"]],
        // The batch itself needs nothing; each inner request is checked on its own.
        Route::Batch => &[&[]],
    }
}

fn coll_requirement(coll: Coll, write: bool) -> Requirement {
    match (coll, write) {
        (Coll::Users, false) => &[&["User.Read.All"], &["Directory.Read.All"]],
        (Coll::Users, true) => &[&["User.ReadWrite.All"], &["Directory.ReadWrite.All"]],
        (Coll::Groups, false) => {
            &[&["Group.Read.All"], &["GroupMember.Read.All"], &["Directory.Read.All"]]
        }
        (Coll::Groups, true) => &[&["Group.ReadWrite.All"], &["Directory.ReadWrite.All"]],
        (
            Coll::Applications
            | Coll::ServicePrincipals
            | Coll::FederatedCredentials
            | Coll::AppRoleAssignments,
            false,
        ) => &[&["Application.Read.All"], &["Directory.Read.All"]],
        (Coll::AppRoleAssignments, true) => {
            &[&["AppRoleAssignment.ReadWrite.All"], &["Application.ReadWrite.All"]]
        }
        (Coll::Applications | Coll::ServicePrincipals | Coll::FederatedCredentials, true) => {
            &[&["Application.ReadWrite.All"], &["Directory.ReadWrite.All"]]
        }
        (Coll::AdministrativeUnits, false) => {
            &[&["AdministrativeUnit.Read.All"], &["Directory.Read.All"]]
        }
        (Coll::AdministrativeUnits, true) => {
            &[&["AdministrativeUnit.ReadWrite.All"], &["Directory.ReadWrite.All"]]
        }
        (Coll::Oauth2PermissionGrants, false) => {
            &[&["Directory.Read.All"], &["DelegatedPermissionGrant.ReadWrite.All"]]
        }
        (Coll::Oauth2PermissionGrants, true) => {
            &[&["DelegatedPermissionGrant.ReadWrite.All"], &["Directory.ReadWrite.All"]]
        }
        (Coll::CaPolicies | Coll::NamedLocations, false) => &[&["Policy.Read.All"]],
        // The documented known issue: CA writes need all three.
        (Coll::CaPolicies, true) => {
            &[&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess", "Application.Read.All"]]
        }
        (Coll::NamedLocations, true) => {
            &[&["Policy.Read.All", "Policy.ReadWrite.ConditionalAccess"]]
        }
        (Coll::AuthStrengths, false) => &[
            &["Policy.Read.All"],
            &["Policy.ReadWrite.AuthenticationMethod"],
            &["Policy.ReadWrite.ConditionalAccess"],
        ],
        (Coll::AuthStrengths, true) => {
            &[&["Policy.ReadWrite.ConditionalAccess"], &["Policy.ReadWrite.AuthenticationMethod"]]
        }
        (Coll::AuthMethodConfigs, false) => {
            &[&["Policy.Read.All"], &["Policy.ReadWrite.AuthenticationMethod"]]
        }
        (Coll::AuthMethodConfigs, true) => &[&["Policy.ReadWrite.AuthenticationMethod"]],
        (Coll::RoleDefinitions | Coll::RoleAssignments, false) => {
            &[&["RoleManagement.Read.Directory"], &["Directory.Read.All"]]
        }
        (Coll::RoleDefinitions | Coll::RoleAssignments, true) => {
            &[&["RoleManagement.ReadWrite.Directory"]]
        }
        (Coll::RoleEligibilitySchedules, false) => {
            &[&["RoleEligibilitySchedule.Read.Directory"], &["RoleManagement.Read.Directory"]]
        }
        (Coll::RoleEligibilitySchedules, true) => &[
            &["RoleEligibilitySchedule.ReadWrite.Directory"],
            &["RoleManagement.ReadWrite.Directory"],
        ],
        // unifiedroleassignmentschedule-list.md / rbacapplication-list-roleassignmentschedules.md.
        (Coll::RoleAssignmentSchedules, false) => {
            &[&["RoleAssignmentSchedule.Read.Directory"], &["RoleManagement.Read.Directory"]]
        }
        (Coll::RoleAssignmentSchedules, true) => &[
            &["RoleAssignmentSchedule.ReadWrite.Directory"],
            &["RoleManagement.ReadWrite.Directory"],
        ],
        (Coll::CrossTenantPartners, false) => &[&["Policy.Read.All"]],
        (Coll::CrossTenantPartners, true) => &[&["Policy.ReadWrite.CrossTenantAccess"]],
    }
}

fn link_requirement(coll: Coll, kind: LinkKind, write: bool) -> Requirement {
    match (coll, kind, write) {
        (Coll::Groups, LinkKind::Members, false) => {
            &[&["GroupMember.Read.All"], &["Group.Read.All"], &["Directory.Read.All"]]
        }
        (Coll::Groups, _, true) => &[
            &["GroupMember.ReadWrite.All"],
            &["Group.ReadWrite.All"],
            &["Directory.ReadWrite.All"],
        ],
        (c, _, w) => coll_requirement(c, w),
    }
}

fn singleton_requirement(s: Singleton, write: bool) -> Requirement {
    match (s, write) {
        (Singleton::AuthenticationMethodsPolicy, false) => {
            &[&["Policy.Read.All"], &["Policy.ReadWrite.AuthenticationMethod"]]
        }
        (Singleton::AuthenticationMethodsPolicy, true) => {
            &[&["Policy.ReadWrite.AuthenticationMethod"]]
        }
        (Singleton::AuthorizationPolicy, false) => {
            &[&["Policy.Read.All"], &["Policy.ReadWrite.Authorization"]]
        }
        (Singleton::AuthorizationPolicy, true) => &[&["Policy.ReadWrite.Authorization"]],
        (Singleton::SecurityDefaults, false) => &[&["Policy.Read.All"]],
        (Singleton::SecurityDefaults, true) => &[&["Policy.ReadWrite.SecurityDefaults"]],
        (Singleton::CrossTenantAccessPolicy | Singleton::CrossTenantDefault, false) => {
            &[&["Policy.Read.All"], &["Policy.ReadWrite.CrossTenantAccess"]]
        }
        (Singleton::CrossTenantAccessPolicy | Singleton::CrossTenantDefault, true) => {
            &[&["Policy.ReadWrite.CrossTenantAccess"]]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn readwrite_implies_read_and_ca_writes_need_three() {
        let writer = roles(WRITE_PERMISSIONS);
        let reader = roles(READ_PERMISSIONS);
        let ca_write =
            required(&Route::Collection(Coll::CaPolicies, crate::route::Scope::All), true);
        assert!(satisfied(&writer, ca_write));
        assert!(!satisfied(&reader, ca_write));
        assert!(!satisfied(&roles(&["Policy.ReadWrite.ConditionalAccess"]), ca_write));
        assert!(satisfied(&writer, required(&Route::Delta(Coll::Users), false)));
    }

    #[test]
    fn every_known_permission_has_a_role_id() {
        for p in READ_PERMISSIONS.iter().chain(WRITE_PERMISSIONS) {
            assert!(GRAPH_APP_ROLES.iter().any(|(v, _)| v == p), "{p}");
        }
    }
}
