//! Microsoft's application groups that policies name by keyword.

/// The Azure portal (and Microsoft Entra admin center): the application a sign-in "to the
/// admin portals" stands for.
pub const AZURE_PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";

/// Application ids in `MicrosoftAdminPortals`: the Azure portal (which also serves the
/// Microsoft Entra admin center) and the Microsoft 365 admin center.
const ADMIN_PORTALS: &[&str] = &[AZURE_PORTAL, "00000006-0000-0ff1-ce00-000000000000"];

/// Application ids in `Office365`: Exchange Online, SharePoint Online, Skype for Business
/// Online, Yammer, the Office 365 portal, Teams, Office.com, Forms, Planner, Stream, Sway,
/// OneDrive, Power Automate and Power Apps.
const OFFICE_365: &[&str] = &[
    "00000002-0000-0ff1-ce00-000000000000",
    "00000003-0000-0ff1-ce00-000000000000",
    "00000004-0000-0ff1-ce00-000000000000",
    "00000005-0000-0ff1-ce00-000000000000",
    "00000006-0000-0ff1-ce00-000000000000",
    "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
    "4765445b-32c6-49b0-83e6-1d93765276ca",
    "c9a559d2-7aab-4f13-a6ed-e7e9c52aec87",
    "09abbdfd-ed23-44ee-a2d9-a627aa1c90f3",
    "cf53fce8-def6-4aeb-8d30-b158e7b1cf83",
    "905fcf26-4eb7-48a0-9ff0-8dcc7194b5ba",
    "ab9b8c07-8f02-4f72-87fa-80105867a763",
    "7df0a125-d3be-4c96-aa54-591f83ff541c",
    "475226c6-020e-4fb2-8a90-7a972cbfc1d4",
];

/// Whether an application belongs to `MicrosoftAdminPortals`.
pub fn is_admin_portal(app_id: &str) -> bool {
    ADMIN_PORTALS.iter().any(|a| a.eq_ignore_ascii_case(app_id))
}

/// Whether an application belongs to `Office365`.
pub fn is_office365(app_id: &str) -> bool {
    OFFICE_365.iter().any(|a| a.eq_ignore_ascii_case(app_id))
}

/// The application a keyword given for `--app` stands for: `MicrosoftAdminPortals` (or
/// `AdminPortals`) is the Azure portal; `Office365` is Exchange Online.
pub fn keyword(app: &str) -> Option<&'static str> {
    match app.to_ascii_lowercase().as_str() {
        "microsoftadminportals" | "adminportals" | "admin-portals" => Some(AZURE_PORTAL),
        "office365" => Some(OFFICE_365[0]),
        _ => None,
    }
}

/// Names of first-party applications people pass to what-if, for explanations when the
/// tenant's own service principal is not at hand.
pub fn well_known_name(app_id: &str) -> Option<&'static str> {
    const NAMES: &[(&str, &str)] = &[
        (AZURE_PORTAL, "Azure portal"),
        ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online"),
        ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online"),
        ("00000006-0000-0ff1-ce00-000000000000", "Microsoft Office 365 Portal"),
        ("cc15fd57-2c6c-4117-a88c-83b1d56b4bbe", "Microsoft Teams Services"),
        ("14d82eec-204b-4c2f-b7e8-296a70dab67e", "Microsoft Graph Command Line Tools"),
        ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
    ];
    NAMES.iter().find(|(id, _)| id.eq_ignore_ascii_case(app_id)).map(|(_, n)| *n)
}
