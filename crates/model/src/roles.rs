//! Microsoft's built-in directory roles that Rewind names: their template ids (the same in
//! every tenant; Microsoft Entra built-in roles, `permissions-reference.md`) and which of them
//! Microsoft marks privileged. One home for these facts, shared by the lockout analysis, the
//! watch rules, the restore planner's permission check and the emulator.

/// Global Administrator.
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Privileged Role Administrator.
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
/// Privileged Authentication Administrator.
pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
/// Security Administrator.
pub const SECURITY_ADMINISTRATOR: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
/// Conditional Access Administrator.
pub const CONDITIONAL_ACCESS_ADMINISTRATOR: &str = "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9";
/// User Administrator.
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
/// Application Administrator.
pub const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
/// Cloud Application Administrator.
pub const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
/// Hybrid Identity Administrator.
pub const HYBRID_IDENTITY_ADMINISTRATOR: &str = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2";
/// Groups Administrator.
pub const GROUPS_ADMINISTRATOR: &str = "fdd7a751-b60b-444a-984c-02652fe8fa1c";
/// Authentication Administrator.
pub const AUTHENTICATION_ADMINISTRATOR: &str = "c4e39bd9-1100-46d3-8c65-fb160da0071f";
/// Helpdesk Administrator.
pub const HELPDESK_ADMINISTRATOR: &str = "729827e3-9c14-49f7-bb1b-9608f156bbb8";
/// Global Reader.
pub const GLOBAL_READER: &str = "f2ef992c-3afb-46b9-b7cf-a126ee74c451";
/// Directory Readers.
pub const DIRECTORY_READERS: &str = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b";

/// The roles that make a principal an administrator the lockout analysis protects, tenant-wide.
pub const PROTECTED_ROLES: &[(&str, &str)] = &[
    (GLOBAL_ADMINISTRATOR, "Global Administrator"),
    (PRIVILEGED_ROLE_ADMINISTRATOR, "Privileged Role Administrator"),
];

/// Exchange Administrator.
pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
/// SharePoint Administrator.
pub const SHAREPOINT_ADMINISTRATOR: &str = "f28a1f50-f6e7-4571-818b-6a12f2af6b6c";
/// Intune Administrator.
pub const INTUNE_ADMINISTRATOR: &str = "3a2c62db-5318-420d-8d74-23affee5d9d5";
/// Domain Name Administrator.
pub const DOMAIN_NAME_ADMINISTRATOR: &str = "8329153b-31d0-4727-b945-745eb3bc5f31";
/// External Identity Provider Administrator.
pub const EXTERNAL_IDENTITY_PROVIDER_ADMINISTRATOR: &str = "be2f45a1-457d-42af-a067-6ec1fa63bc45";
/// Partner Tier2 Support.
pub const PARTNER_TIER2_SUPPORT: &str = "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8";

/// Every built-in role Rewind names: `(template id, display name)`.
pub const NAMED: &[(&str, &str)] = &[
    (GLOBAL_ADMINISTRATOR, "Global Administrator"),
    (PRIVILEGED_ROLE_ADMINISTRATOR, "Privileged Role Administrator"),
    (PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, "Privileged Authentication Administrator"),
    (SECURITY_ADMINISTRATOR, "Security Administrator"),
    (CONDITIONAL_ACCESS_ADMINISTRATOR, "Conditional Access Administrator"),
    (USER_ADMINISTRATOR, "User Administrator"),
    (APPLICATION_ADMINISTRATOR, "Application Administrator"),
    (CLOUD_APPLICATION_ADMINISTRATOR, "Cloud Application Administrator"),
    (GROUPS_ADMINISTRATOR, "Groups Administrator"),
    (AUTHENTICATION_ADMINISTRATOR, "Authentication Administrator"),
    (HELPDESK_ADMINISTRATOR, "Helpdesk Administrator"),
    (GLOBAL_READER, "Global Reader"),
    (DIRECTORY_READERS, "Directory Readers"),
    (EXCHANGE_ADMINISTRATOR, "Exchange Administrator"),
    (SHAREPOINT_ADMINISTRATOR, "SharePoint Administrator"),
    (HYBRID_IDENTITY_ADMINISTRATOR, "Hybrid Identity Administrator"),
    (INTUNE_ADMINISTRATOR, "Intune Administrator"),
    (DOMAIN_NAME_ADMINISTRATOR, "Domain Name Administrator"),
    (EXTERNAL_IDENTITY_PROVIDER_ADMINISTRATOR, "External Identity Provider Administrator"),
    (PARTNER_TIER2_SUPPORT, "Partner Tier2 Support"),
];

/// The built-in roles Microsoft marks privileged.
pub const PRIVILEGED: &[&str] = &[
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    SECURITY_ADMINISTRATOR,
    CONDITIONAL_ACCESS_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    AUTHENTICATION_ADMINISTRATOR,
    EXCHANGE_ADMINISTRATOR,
    SHAREPOINT_ADMINISTRATOR,
    HYBRID_IDENTITY_ADMINISTRATOR,
    HELPDESK_ADMINISTRATOR,
    INTUNE_ADMINISTRATOR,
    DOMAIN_NAME_ADMINISTRATOR,
    EXTERNAL_IDENTITY_PROVIDER_ADMINISTRATOR,
    PARTNER_TIER2_SUPPORT,
];

/// The display name of a named built-in role, by template id (any case).
pub fn name(id: &str) -> Option<&'static str> {
    NAMED.iter().find(|(t, _)| t.eq_ignore_ascii_case(id)).map(|(_, n)| *n)
}

/// The name of a privileged built-in role, by template id (any case).
pub fn privileged_role(id: &str) -> Option<&'static str> {
    PRIVILEGED.iter().any(|t| t.eq_ignore_ascii_case(id)).then(|| name(id)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_privileged_and_protected_role_has_a_name() {
        assert!(PRIVILEGED.iter().all(|id| name(id).is_some()));
        assert!(PROTECTED_ROLES.iter().all(|(id, n)| name(id) == Some(*n)));
        assert_eq!(privileged_role(GLOBAL_READER), None);
        assert_eq!(
            privileged_role(&GLOBAL_ADMINISTRATOR.to_uppercase()),
            Some("Global Administrator")
        );
    }
}
