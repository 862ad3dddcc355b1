//! The Microsoft Graph application permissions each restore step needs, so that a restore
//! can name what the write app lacks before it writes anything. From
//! docs/reference/graph-permissions.md (Microsoft's permission map and the per-page tables it
//! cites); where Graph accepts several permissions for a call, a step needs any one of them.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::Kind;
use serde::Serialize;

use super::plan::{Action, Step};

/// Permissions of which any one will do.
pub type AnyOf = &'static [&'static str];

const CA_READ: AnyOf = &["Policy.Read.All"];
const CA_WRITE: AnyOf = &["Policy.ReadWrite.ConditionalAccess"];
/// Conditional Access writes also need to read the applications a policy names (a documented
/// known issue of the policy endpoints).
const APPS_READ: AnyOf = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const USERS: AnyOf = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
const USERS_DELETE: AnyOf =
    &["User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All"];
const GROUPS: AnyOf = &["Group.ReadWrite.All", "Directory.ReadWrite.All"];
const MEMBERS: AnyOf =
    &["GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"];
const UNITS: AnyOf = &["AdministrativeUnit.ReadWrite.All", "Directory.ReadWrite.All"];
const APPS: AnyOf = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const APP_ROLES: AnyOf = &["AppRoleAssignment.ReadWrite.All"];
const GRANTS: AnyOf = &["DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"];
const ROLES: AnyOf = &["RoleManagement.ReadWrite.Directory"];
const ELIGIBILITY: AnyOf =
    &["RoleEligibilitySchedule.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory"];
const METHODS_POLICY: AnyOf = &["Policy.ReadWrite.AuthenticationMethod"];
const AUTHORIZATION: AnyOf = &["Policy.ReadWrite.Authorization"];
const SECURITY_DEFAULTS: AnyOf = &["Policy.ReadWrite.SecurityDefaults"];
const CROSS_TENANT: AnyOf = &["Policy.ReadWrite.CrossTenantAccess"];
const USER_METHODS: AnyOf = &["UserAuthenticationMethod.ReadWrite.All"];

/// What a step of `action` on `kind` needs: every entry, each satisfied by any one of its
/// permissions.
pub fn needed(kind: Kind, action: Action) -> &'static [AnyOf] {
    match (kind, action) {
        (Kind::ConditionalAccessPolicy, _) => &[CA_READ, CA_WRITE, APPS_READ],
        (Kind::NamedLocation | Kind::AuthenticationStrengthPolicy, _) => &[CA_READ, CA_WRITE],
        (Kind::AuthenticationMethodsPolicy | Kind::AuthenticationMethodConfiguration, _) => {
            &[METHODS_POLICY]
        }
        (Kind::AuthorizationPolicy, _) => &[AUTHORIZATION],
        (Kind::IdentitySecurityDefaultsEnforcementPolicy, _) => &[SECURITY_DEFAULTS],
        (
            Kind::CrossTenantAccessPolicy
            | Kind::CrossTenantAccessPolicyConfigurationDefault
            | Kind::CrossTenantAccessPolicyConfigurationPartner,
            _,
        ) => &[CROSS_TENANT],
        (Kind::User, Action::Delete | Action::Restore) => &[USERS_DELETE],
        (Kind::User, _) => &[USERS],
        (Kind::Group, Action::AddLink | Action::RemoveLink) => &[MEMBERS],
        (Kind::Group, _) => &[GROUPS],
        (Kind::AdministrativeUnit, _) => &[UNITS],
        (Kind::Application | Kind::ServicePrincipal | Kind::FederatedIdentityCredential, _) => {
            &[APPS]
        }
        (Kind::AppRoleAssignment, _) => &[APP_ROLES, APPS_READ],
        (Kind::OAuth2PermissionGrant, _) => &[GRANTS],
        (Kind::RoleDefinition | Kind::RoleAssignment, _) => &[ROLES],
        (Kind::RoleEligibilitySchedule, _) => &[ELIGIBILITY],
        // Never written (PIM manages them); named for completeness.
        (Kind::RoleAssignmentSchedule, _) => &[ROLES],
        (Kind::UserAuthenticationMethods, _) => &[USER_METHODS],
    }
}

/// A permission the write app lacks, and the steps that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingPermission {
    /// Grant this one (the least privileged of those Graph accepts)…
    pub grant: &'static str,
    /// …or any of these instead.
    pub alternatives: Vec<&'static str>,
    /// The kinds of the steps that need it.
    pub kinds: Vec<Kind>,
    /// How many steps need it.
    pub steps: usize,
}

/// What `steps` need that `granted` does not hold, in the order of the permission names.
pub fn missing<'s>(
    steps: impl IntoIterator<Item = &'s Step>,
    granted: &[String],
) -> Vec<MissingPermission> {
    let held: BTreeSet<&str> = granted.iter().map(String::as_str).collect();
    let mut wanting: BTreeMap<AnyOf, (BTreeSet<Kind>, usize)> = BTreeMap::new();
    for step in steps {
        for any in needed(step.kind, step.action) {
            if !any.iter().any(|p| held.contains(p)) {
                let entry = wanting.entry(any).or_default();
                entry.0.insert(step.kind);
                entry.1 += 1;
            }
        }
    }
    wanting
        .into_iter()
        .map(|(any, (kinds, steps))| MissingPermission {
            grant: any[0],
            alternatives: any[1..].to_vec(),
            kinds: kinds.into_iter().collect(),
            steps,
        })
        .collect()
}

/// A directory role Graph requires of an app-only caller for some writes, beyond its
/// permissions (directory-deleteditems-restore.md, user-update.md, user-delete.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum DirectoryRole {
    /// Changing, deleting or restoring a user who holds a directory role.
    PrivilegedAuthenticationAdministrator,
    /// Restoring an application or service principal.
    ApplicationAdministrator,
}

impl DirectoryRole {
    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            DirectoryRole::PrivilegedAuthenticationAdministrator => {
                "Privileged Authentication Administrator"
            }
            DirectoryRole::ApplicationAdministrator => "Application Administrator",
        }
    }

    /// Every one of them.
    pub const ALL: [DirectoryRole; 2] = [
        DirectoryRole::PrivilegedAuthenticationAdministrator,
        DirectoryRole::ApplicationAdministrator,
    ];

    /// What Graph requires it for.
    pub fn purpose(self) -> &'static str {
        match self {
            DirectoryRole::PrivilegedAuthenticationAdministrator => {
                "to restore, change or re-enable users who hold directory roles (break-glass accounts included)"
            }
            DirectoryRole::ApplicationAdministrator => {
                "to restore deleted applications and service principals"
            }
        }
    }

    /// The template ids of the roles that will do, the role itself first (Global Administrator
    /// does everything; Cloud Application and Hybrid Identity Administrator restore apps too).
    pub fn satisfied_by(self) -> &'static [&'static str] {
        use rewind_model::roles::{
            APPLICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR, GLOBAL_ADMINISTRATOR,
            HYBRID_IDENTITY_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
        };
        match self {
            DirectoryRole::PrivilegedAuthenticationAdministrator => {
                &[PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, GLOBAL_ADMINISTRATOR]
            }
            DirectoryRole::ApplicationAdministrator => &[
                APPLICATION_ADMINISTRATOR,
                CLOUD_APPLICATION_ADMINISTRATOR,
                HYBRID_IDENTITY_ADMINISTRATOR,
                GLOBAL_ADMINISTRATOR,
            ],
        }
    }
}

/// The directory role a step needs, if any: a write to a user among `role_holders` (who holds
/// a directory role now or in the desired state), or bringing an application or service
/// principal back from the recycle bin. Creating an object anew needs none: it holds no role
/// yet.
pub fn role_needed(step: &Step, role_holders: &BTreeSet<String>) -> Option<DirectoryRole> {
    match (step.kind, step.action) {
        (Kind::User, Action::Update | Action::Delete | Action::Restore)
            if role_holders.contains(&step.id) =>
        {
            Some(DirectoryRole::PrivilegedAuthenticationAdministrator)
        }
        (Kind::Application | Kind::ServicePrincipal, Action::Restore) => {
            Some(DirectoryRole::ApplicationAdministrator)
        }
        _ => None,
    }
}

/// A directory role the write app lacks, and the steps that need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingRole {
    /// The role to assign to the write app's service principal.
    pub role: DirectoryRole,
    /// The steps that need it, by number.
    pub steps: Vec<usize>,
}

/// The roles `steps` need that none of `held` (role template ids) satisfies.
pub fn missing_roles<'s>(
    steps: impl IntoIterator<Item = &'s Step>,
    role_holders: &BTreeSet<String>,
    held: &BTreeSet<String>,
) -> Vec<MissingRole> {
    let mut wanting: BTreeMap<DirectoryRole, Vec<usize>> = BTreeMap::new();
    for step in steps {
        if let Some(role) = role_needed(step, role_holders)
            && !role.satisfied_by().iter().any(|r| held.contains(*r))
        {
            wanting.entry(role).or_default().push(step.n);
        }
    }
    wanting.into_iter().map(|(role, steps)| MissingRole { role, steps }).collect()
}

/// Whether `granted` holds any permission that writes (a read-only app holds none).
pub fn can_write_anything(granted: &[String]) -> bool {
    granted.iter().any(|p| p.contains(".ReadWrite."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(kind: Kind, action: Action) -> Step {
        Step {
            n: 1,
            action,
            kind,
            id: "x".into(),
            display_name: None,
            reason: String::new(),
            depends_on: Vec::new(),
            body: None,
            changes: Vec::new(),
            link: None,
            key_id: None,
            remaps: Vec::new(),
        }
    }

    #[test]
    fn every_kind_and_action_needs_something() {
        for kind in Kind::ALL {
            assert!(!needed(kind, Action::Update).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn a_read_only_app_misses_each_write_once_with_the_steps_counted() {
        let read = vec!["Policy.Read.All".to_string(), "Group.Read.All".to_string()];
        assert!(!can_write_anything(&read));
        let steps = [
            step(Kind::ConditionalAccessPolicy, Action::Update),
            step(Kind::ConditionalAccessPolicy, Action::SwitchState),
            step(Kind::Group, Action::AddLink),
        ];
        let missing = missing(&steps, &read);
        let grants: Vec<&str> = missing.iter().map(|m| m.grant).collect();
        assert_eq!(
            grants,
            [
                "Application.Read.All",
                "GroupMember.ReadWrite.All",
                "Policy.ReadWrite.ConditionalAccess"
            ]
        );
        assert_eq!(missing[2].steps, 2);
        assert_eq!(missing[2].kinds, [Kind::ConditionalAccessPolicy]);
    }

    #[test]
    fn writes_to_role_holders_and_app_restores_need_a_directory_role() {
        let admin = Step { id: "admin".into(), ..step(Kind::User, Action::Update) };
        let staff = Step { n: 2, id: "staff".into(), ..step(Kind::User, Action::Delete) };
        let app = Step { n: 3, ..step(Kind::Application, Action::Restore) };
        let new_admin = Step { n: 4, id: "admin".into(), ..step(Kind::User, Action::Create) };
        let holders = BTreeSet::from(["admin".to_string()]);
        let steps = [admin, staff, app, new_admin];
        let missing = missing_roles(&steps, &holders, &BTreeSet::new());
        assert_eq!(
            missing,
            [
                MissingRole {
                    role: DirectoryRole::PrivilegedAuthenticationAdministrator,
                    steps: vec![1]
                },
                MissingRole { role: DirectoryRole::ApplicationAdministrator, steps: vec![3] }
            ]
        );
        let global = BTreeSet::from(["62e90394-69f5-4237-9190-012177145e10".to_string()]);
        assert!(missing_roles(&steps, &holders, &global).is_empty());
    }

    #[test]
    fn a_broader_permission_satisfies_a_step() {
        let granted = vec!["Directory.ReadWrite.All".to_string()];
        assert!(missing(&[step(Kind::Group, Action::AddLink)], &granted).is_empty());
        assert!(!missing(&[step(Kind::RoleAssignment, Action::Delete)], &granted).is_empty());
    }
}
