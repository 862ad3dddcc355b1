//! What counts as privileged: directory roles and Microsoft Graph permissions that let their
//! holder take over the tenant or its data. Roles by template id (Microsoft's "privileged"
//! built-in roles); permissions by name, since their ids are the resource's app roles.

/// Global Administrator's template id.
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Built-in roles Microsoft marks privileged: `(template id, name)`.
pub const PRIVILEGED_ROLES: &[(&str, &str)] = &[
    (GLOBAL_ADMINISTRATOR, "Global Administrator"),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        "Privileged Authentication Administrator",
    ),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    (
        "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",
        "Conditional Access Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
    (
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
        "Authentication Administrator",
    ),
    (
        "29232cdf-9323-42fd-ade2-1d097af3e4de",
        "Exchange Administrator",
    ),
    (
        "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
        "SharePoint Administrator",
    ),
    (
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
        "Hybrid Identity Administrator",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "3a2c62db-5318-420d-8d74-23affee5d9d5",
        "Intune Administrator",
    ),
    (
        "8329153b-31d0-4727-b945-745eb3bc5f31",
        "Domain Name Administrator",
    ),
    (
        "be2f45a1-457d-42af-a067-6ec1fa63bc45",
        "External Identity Provider Administrator",
    ),
    (
        "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8",
        "Partner Tier2 Support",
    ),
];

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

/// The name of a privileged role, by its template id.
pub fn privileged_role(id: &str) -> Option<&'static str> {
    PRIVILEGED_ROLES
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(id))
        .map(|(_, n)| *n)
}

/// Whether a permission (or delegated scope) name is privileged.
pub fn privileged_permission(name: &str) -> bool {
    PRIVILEGED_PERMISSIONS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}

/// Authentication methods whose enabling weakens sign-in (phishable one-time codes).
pub const WEAK_METHODS: &[&str] = &["sms", "voice", "email"];

/// Authentication methods whose disabling weakens sign-in (phishing-resistant or app-based).
pub const STRONG_METHODS: &[&str] = &[
    "fido2",
    "microsoftauthenticator",
    "x509certificate",
    "windowshelloforbusiness",
];
