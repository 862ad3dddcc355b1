//! What counts as privileged: directory roles and Microsoft Graph permissions that let their
//! holder take over the tenant or its data. Roles by template id (Microsoft's "privileged"
//! built-in roles, whose home is `rewind_model::roles`); permissions by name, since their ids
//! are the resource's app roles.

pub use rewind_model::roles::{GLOBAL_ADMINISTRATOR, privileged_role};

/// Application permissions (and delegated scopes) that reach the whole tenant or its data.
pub const PRIVILEGED_PERMISSIONS: &[&str] = &[
    "RoleManagement.ReadWrite.Directory",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "Application.ReadWrite.OwnedBy",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.AuthenticationMethod",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "PrivilegedAccess.ReadWrite.AzureADGroup",
    "Domain.ReadWrite.All",
    "Mail.ReadWrite",
    "Mail.Send",
    "Files.ReadWrite.All",
    "Sites.ReadWrite.All",
    "Sites.FullControl.All",
    "full_access_as_app",
];

/// Whether a permission (or delegated scope) name is privileged.
pub fn privileged_permission(name: &str) -> bool {
    PRIVILEGED_PERMISSIONS.iter().any(|p| p.eq_ignore_ascii_case(name))
}

/// Authentication methods whose enabling weakens sign-in (phishable one-time codes).
pub const WEAK_METHODS: &[&str] = &["sms", "voice", "email"];

/// Authentication methods whose disabling weakens sign-in (phishing-resistant or app-based).
pub const STRONG_METHODS: &[&str] =
    &["fido2", "microsoftauthenticator", "x509certificate", "windowshelloforbusiness"];
