//! Hand-computed cases, one table per condition, then controls, combinations and bad input.
//! Each row: what the policy says, who signs in to what with which signals, and whether the
//! policy applies — computed by hand from Entra's documented semantics.

use rewind_policy::{
    Capabilities, ClientApp, Condition, Decision, DeviceValue, Identity, InsiderRisk, Platform,
    RiskLevel, SignIn, Target, TransferMethod, Tri, UserAction,
};
use serde_json::{Value, json};

use crate::tenant::{APP_X, EXCHANGE, PORTAL, device, directory, method, policy, set, sign_in};

type Tweak = fn(&mut SignIn);

fn none(_: &mut SignIn) {}

/// Runs rows of (what, policy patch, user, app, signals, expected applies).
fn run(rows: &[(&str, Value, &str, &str, Tweak, Tri)]) {
    let dir = directory();
    for (what, patch, user, app, tweak, expected) in rows {
        let set = set(&[policy("p", patch)]);
        if let Some((_, e)) = set.errors().next() {
            panic!("{what}: {e}");
        }
        let mut s = sign_in(user, app);
        tweak(&mut s);
        let e = set.evaluate(&dir, &s).unwrap();
        assert_eq!(e.results[0].applies, *expected, "{what}: {:#?}", e.results[0].checks);
    }
}

#[test]
fn users_groups_roles_and_guests() {
    let users = |v: Value| json!({"conditions": {"users": v}});
    run(&[
        ("all users", users(json!({"includeUsers": ["All"]})), "alice", EXCHANGE, none, Tri::Yes),
        (
            "named user",
            users(json!({"includeUsers": ["alice"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        ("another user", users(json!({"includeUsers": ["alice"]})), "bob", EXCHANGE, none, Tri::No),
        (
            "nested group",
            users(json!({"includeUsers": [], "includeGroups": ["g-all"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "exclusion beats inclusion",
            users(json!({"includeUsers": ["All"], "excludeGroups": ["g-staff"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "excluded user",
            users(json!({"includeUsers": ["All"], "excludeUsers": ["bob"]})),
            "bob",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "role, direct",
            users(json!({"includeUsers": [], "includeRoles": [crate::tenant::GA]})),
            "bob",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "role, not held",
            users(json!({"includeUsers": [], "includeRoles": [crate::tenant::GA]})),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "role through a group",
            users(json!({"includeUsers": [], "includeRoles": [crate::tenant::PRA]})),
            "carol",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "eligible is not active",
            users(json!({"includeUsers": [], "includeRoles": [crate::tenant::GA]})),
            "dave",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "excluded role",
            users(json!({"includeUsers": ["All"], "excludeRoles": [crate::tenant::GA]})),
            "bob",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "guests keyword, guest",
            users(json!({"includeUsers": ["GuestsOrExternalUsers"]})),
            "pat",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "guests keyword, member",
            users(json!({"includeUsers": ["GuestsOrExternalUsers"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "guest types, all tenants",
            users(
                json!({"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest,internalGuest", "externalTenants": {"membershipKind": "all"}}}),
            ),
            "pat",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "guest type not listed",
            users(
                json!({"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "serviceProvider"}}),
            ),
            "pat",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "enumerated tenants, tenant not given",
            users(
                json!({"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "enumerated", "members": ["t-fabrikam"]}}}),
            ),
            "pat",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "enumerated tenants, listed",
            users(
                json!({"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "enumerated", "members": ["t-fabrikam"]}}}),
            ),
            "pat",
            EXCHANGE,
            |s| s.external_tenant = Some("t-fabrikam".into()),
            Tri::Yes,
        ),
        (
            "enumerated tenants, other",
            users(
                json!({"includeUsers": [], "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest", "externalTenants": {"membershipKind": "enumerated", "members": ["t-fabrikam"]}}}),
            ),
            "pat",
            EXCHANGE,
            |s| s.external_tenant = Some("t-other".into()),
            Tri::No,
        ),
        (
            "excluded guests",
            users(
                json!({"includeUsers": ["All"], "excludeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}}),
            ),
            "pat",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "None targets nobody",
            users(json!({"includeUsers": ["None"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
    ]);
}

#[test]
fn applications_user_actions_and_contexts() {
    let apps = |v: Value| json!({"conditions": {"applications": v}});
    run(&[
        (
            "named app",
            apps(json!({"includeApplications": [APP_X]})),
            "alice",
            APP_X,
            none,
            Tri::Yes,
        ),
        (
            "another app",
            apps(json!({"includeApplications": [APP_X]})),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "Office365 keyword",
            apps(json!({"includeApplications": ["Office365"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "Office365 keyword, not an Office app",
            apps(json!({"includeApplications": ["Office365"]})),
            "alice",
            APP_X,
            none,
            Tri::No,
        ),
        (
            "admin portals keyword",
            apps(json!({"includeApplications": ["MicrosoftAdminPortals"]})),
            "alice",
            PORTAL,
            none,
            Tri::Yes,
        ),
        (
            "excluded app",
            apps(json!({"includeApplications": ["All"], "excludeApplications": [APP_X]})),
            "alice",
            APP_X,
            none,
            Tri::No,
        ),
        (
            "excluded keyword",
            apps(json!({"includeApplications": ["All"], "excludeApplications": ["Office365"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "app filter cannot be read",
            apps(
                json!({"includeApplications": ["All"], "applicationFilter": {"mode": "exclude", "rule": "CustomSecurityAttribute.x -eq \"y\""}}),
            ),
            "alice",
            APP_X,
            none,
            Tri::Unknown,
        ),
        (
            "user action",
            apps(
                json!({"includeApplications": [], "includeUserActions": ["urn:user:registerdevice"]}),
            ),
            "alice",
            EXCHANGE,
            |s| s.target = Target::UserAction(UserAction::RegisterOrJoinDevices),
            Tri::Yes,
        ),
        (
            "user action policy, app sign-in",
            apps(
                json!({"includeApplications": [], "includeUserActions": ["urn:user:registerdevice"]}),
            ),
            "alice",
            EXCHANGE,
            none,
            Tri::No,
        ),
        (
            "app policy, user action",
            apps(json!({"includeApplications": ["All"]})),
            "alice",
            EXCHANGE,
            |s| s.target = Target::UserAction(UserAction::RegisterSecurityInformation),
            Tri::No,
        ),
        (
            "authentication context",
            apps(
                json!({"includeApplications": [], "includeAuthenticationContextClassReferences": ["c1"]}),
            ),
            "alice",
            EXCHANGE,
            |s| s.target = Target::AuthContext("c1".into()),
            Tri::Yes,
        ),
        (
            "other authentication context",
            apps(
                json!({"includeApplications": [], "includeAuthenticationContextClassReferences": ["c1"]}),
            ),
            "alice",
            EXCHANGE,
            |s| s.target = Target::AuthContext("c2".into()),
            Tri::No,
        ),
    ]);
}

#[test]
fn client_apps_platforms_and_devices() {
    let c = |v: Value| json!({"conditions": v});
    run(&[
        (
            "legacy client",
            c(json!({"clientAppTypes": ["exchangeActiveSync", "other"]})),
            "alice",
            EXCHANGE,
            |s| s.client_app = Some(ClientApp::Other),
            Tri::Yes,
        ),
        (
            "modern client",
            c(json!({"clientAppTypes": ["exchangeActiveSync", "other"]})),
            "alice",
            EXCHANGE,
            |s| s.client_app = Some(ClientApp::Browser),
            Tri::No,
        ),
        (
            "client not given",
            c(json!({"clientAppTypes": ["exchangeActiveSync", "other"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "all clients need no signal",
            c(json!({"clientAppTypes": ["all"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::Yes,
        ),
        (
            "EAS on supported platforms",
            c(json!({"clientAppTypes": ["easSupported"]})),
            "alice",
            EXCHANGE,
            |s| s.client_app = Some(ClientApp::ExchangeActiveSync),
            Tri::Yes,
        ),
        (
            "mobile platform",
            c(json!({"platforms": {"includePlatforms": ["iOS", "android"]}})),
            "alice",
            EXCHANGE,
            |s| s.platform = Some(Platform::Ios),
            Tri::Yes,
        ),
        (
            "desktop platform",
            c(json!({"platforms": {"includePlatforms": ["iOS", "android"]}})),
            "alice",
            EXCHANGE,
            |s| s.platform = Some(Platform::Windows),
            Tri::No,
        ),
        (
            "platform not given",
            c(json!({"platforms": {"includePlatforms": ["iOS"]}})),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "all but windows, windows",
            c(json!({"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["windows"]}})),
            "alice",
            EXCHANGE,
            |s| s.platform = Some(Platform::Windows),
            Tri::No,
        ),
        (
            "all but windows, macOS",
            c(json!({"platforms": {"includePlatforms": ["all"], "excludePlatforms": ["windows"]}})),
            "alice",
            EXCHANGE,
            |s| s.platform = Some(Platform::MacOs),
            Tri::Yes,
        ),
        (
            "include filter, compliant",
            c(
                json!({"devices": {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq True"}}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.device = device(&[("isCompliant", DeviceValue::Bool(true))]),
            Tri::Yes,
        ),
        (
            "include filter, not compliant",
            c(
                json!({"devices": {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq True"}}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.device = device(&[("isCompliant", DeviceValue::Bool(false))]),
            Tri::No,
        ),
        (
            "include filter, device unknown",
            c(
                json!({"devices": {"deviceFilter": {"mode": "include", "rule": "device.isCompliant -eq True"}}}),
            ),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "exclude filter, hybrid joined",
            c(
                json!({"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\""}}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.device = device(&[("trustType", DeviceValue::Text("ServerAD".into()))]),
            Tri::No,
        ),
        (
            "exclude filter, unregistered",
            c(
                json!({"devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\""}}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.device = device(&[]),
            Tri::Yes,
        ),
    ]);
}

#[test]
fn locations_risks_and_flows() {
    let c = |v: Value| json!({"conditions": v});
    run(&[
        (
            "untrusted only, office",
            c(
                json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.ip = "203.0.113.7".parse().ok(),
            Tri::No,
        ),
        (
            "untrusted only, branch",
            c(
                json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.ip = "198.51.100.7".parse().ok(),
            Tri::Yes,
        ),
        (
            "untrusted only, no address",
            c(
                json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}),
            ),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "named IP location",
            c(json!({"locations": {"includeLocations": ["branch"]}})),
            "alice",
            EXCHANGE,
            |s| s.ip = "198.51.100.7".parse().ok(),
            Tri::Yes,
        ),
        (
            "blocked country",
            c(json!({"locations": {"includeLocations": ["blocked"]}})),
            "alice",
            EXCHANGE,
            |s| s.country = Some("KP".into()),
            Tri::Yes,
        ),
        (
            "not a blocked country",
            c(json!({"locations": {"includeLocations": ["blocked"]}})),
            "alice",
            EXCHANGE,
            |s| s.country = Some("US".into()),
            Tri::No,
        ),
        (
            "unknown country counts",
            c(json!({"locations": {"includeLocations": ["blocked"]}})),
            "alice",
            EXCHANGE,
            |s| s.country = Some("unknown".into()),
            Tri::Yes,
        ),
        (
            "outside allowed countries",
            c(json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["allowed"]}})),
            "alice",
            EXCHANGE,
            |s| s.country = Some("BR".into()),
            Tri::Yes,
        ),
        (
            "inside allowed countries",
            c(json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["allowed"]}})),
            "alice",
            EXCHANGE,
            |s| s.country = Some("NL".into()),
            Tri::No,
        ),
        (
            "country not given",
            c(json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["allowed"]}})),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "deleted location",
            c(json!({"locations": {"includeLocations": ["gone"]}})),
            "alice",
            EXCHANGE,
            |s| s.country = Some("US".into()),
            Tri::Unknown,
        ),
        (
            "high sign-in risk",
            c(json!({"signInRiskLevels": ["high"]})),
            "alice",
            EXCHANGE,
            |s| s.sign_in_risk = Some(RiskLevel::High),
            Tri::Yes,
        ),
        (
            "low sign-in risk",
            c(json!({"signInRiskLevels": ["high"]})),
            "alice",
            EXCHANGE,
            |s| s.sign_in_risk = Some(RiskLevel::Low),
            Tri::No,
        ),
        (
            "no sign-in risk",
            c(json!({"signInRiskLevels": ["high"]})),
            "alice",
            EXCHANGE,
            |s| s.sign_in_risk = Some(RiskLevel::None),
            Tri::No,
        ),
        (
            "sign-in risk not given",
            c(json!({"signInRiskLevels": ["high"]})),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "user risk",
            c(json!({"userRiskLevels": ["high", "medium"]})),
            "alice",
            EXCHANGE,
            |s| s.user_risk = Some(RiskLevel::Medium),
            Tri::Yes,
        ),
        (
            "insider risk",
            c(json!({"insiderRiskLevels": "moderate,elevated"})),
            "alice",
            EXCHANGE,
            |s| s.insider_risk = Some(InsiderRisk::Elevated),
            Tri::Yes,
        ),
        (
            "minor insider risk",
            c(json!({"insiderRiskLevels": "moderate,elevated"})),
            "alice",
            EXCHANGE,
            |s| s.insider_risk = Some(InsiderRisk::Minor),
            Tri::No,
        ),
        (
            "device code flow",
            c(
                json!({"authenticationFlows": {"transferMethods": "deviceCodeFlow,authenticationTransfer"}}),
            ),
            "alice",
            EXCHANGE,
            |s| s.transfer_method = Some(TransferMethod::DeviceCodeFlow),
            Tri::Yes,
        ),
        (
            "no transfer",
            c(json!({"authenticationFlows": {"transferMethods": "deviceCodeFlow"}})),
            "alice",
            EXCHANGE,
            |s| s.transfer_method = Some(TransferMethod::None),
            Tri::No,
        ),
        (
            "flow not given",
            c(json!({"authenticationFlows": {"transferMethods": "deviceCodeFlow"}})),
            "alice",
            EXCHANGE,
            none,
            Tri::Unknown,
        ),
        (
            "every condition at once",
            c(
                json!({"clientAppTypes": ["browser"], "platforms": {"includePlatforms": ["windows"]}, "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}, "signInRiskLevels": ["medium"]}),
            ),
            "alice",
            EXCHANGE,
            |s| {
                s.client_app = Some(ClientApp::Browser);
                s.platform = Some(Platform::Windows);
                s.ip = "198.51.100.1".parse().ok();
                s.sign_in_risk = Some(RiskLevel::Medium);
            },
            Tri::Yes,
        ),
        (
            "one condition off decides",
            c(
                json!({"clientAppTypes": ["browser"], "platforms": {"includePlatforms": ["windows"]}}),
            ),
            "alice",
            EXCHANGE,
            |s| {
                s.platform = Some(Platform::Ios);
            },
            Tri::No,
        ),
    ]);
}

#[test]
fn workload_identities() {
    let dir = directory();
    let set = set(&[
        policy("users", &json!({})),
        policy(
            "workloads",
            &json!({"conditions": {"users": {"includeUsers": []}, "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"], "excludeServicePrincipals": []}}, "grantControls": {"builtInControls": ["block"]}}),
        ),
    ]);
    let s = SignIn::new(Identity::ServicePrincipal("sp-x".into()), Target::App(EXCHANGE.into()));
    let e = set.evaluate(&dir, &s).unwrap();
    assert_eq!(e.results[0].applies, Tri::No);
    assert_eq!(e.results[1].applies, Tri::Yes);
    assert_eq!(e.results[1].checks[0].condition, Condition::WorkloadIdentities);
    assert_eq!(e.enforced.decision, Decision::Blocked);
    let alice = set.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
    assert_eq!(alice.results[1].applies, Tri::No);
}

#[test]
fn states_and_combination() {
    let dir = directory();
    let block = json!({"grantControls": {"builtInControls": ["block"]}});
    // Report-only policies are evaluated and reported apart; disabled ones not at all.
    let e = set(&[
        policy(
            "report",
            &json!({"state": "enabledForReportingButNotEnforced", "grantControls": {"builtInControls": ["block"]}}),
        ),
        policy(
            "off",
            &json!({"state": "disabled", "grantControls": {"builtInControls": ["block"]}}),
        ),
    ]);
    let r = e.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
    assert_eq!(r.enforced.decision, Decision::NoPolicy);
    assert_eq!(r.report_only.decision, Decision::Blocked);
    assert_eq!(r.results[1].analysis_reasons(), "policyNotEnabled");
    // Any block wins over grants.
    let both = set(&[policy("mfa", &json!({})), policy("block", &block)]);
    let r = both.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
    assert_eq!(r.enforced.decision, Decision::Blocked);
    assert_eq!(r.enforced.blocked_by, ["block"]);
    // Every applicable policy's controls are required.
    let grants = set(&[
        policy("mfa", &json!({})),
        policy("device", &json!({"grantControls": {"builtInControls": ["compliantDevice"]}})),
        policy(
            "elsewhere",
            &json!({"conditions": {"applications": {"includeApplications": [APP_X]}}}),
        ),
    ]);
    let r = grants.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
    assert_eq!(r.enforced.decision, Decision::Grant);
    let ids: Vec<&str> = r.enforced.requirements.iter().map(|q| q.policy_id.as_str()).collect();
    assert_eq!(ids, ["mfa", "device"]);
    assert_eq!(r.results[2].analysis_reasons(), "application");
    // A block that may apply leaves the outcome open.
    let maybe = set(&[policy(
        "legacy",
        &json!({"conditions": {"clientAppTypes": ["other"]}, "grantControls": {"builtInControls": ["block"]}}),
    )]);
    let r = maybe.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
    assert_eq!(r.enforced.decision, Decision::MaybeBlocked);
    assert_eq!(r.results[0].analysis_reasons(), "notEnoughInformation");
    // A policy that cannot be read may block: its effect is unknown, never harmless.
    let broken = set(&[policy(
        "broken",
        &json!({"conditions": {"platforms": {"includePlatforms": ["beos"]}}}),
    )]);
    let r = broken.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
    assert_eq!(r.enforced.decision, Decision::MaybeBlocked);
    assert_eq!(r.results[0].analysis_reasons(), "invalidPolicy");
}

#[test]
fn controls_against_registered_methods_and_devices() {
    let dir = directory();
    let caps = |user: &str| Capabilities::from_methods(dir.methods(user));
    let requirement = |grant: Value| {
        let s = set(&[policy("p", &json!({"grantControls": grant}))]);
        let r = s.evaluate(&dir, &sign_in("alice", EXCHANGE)).unwrap();
        r.enforced.requirements[0].clone()
    };
    let compliant = {
        let mut s = sign_in("alice", EXCHANGE);
        s.device = device(&[
            ("isCompliant", DeviceValue::Bool(true)),
            ("trustType", DeviceValue::Text("AzureAD".into())),
        ]);
        s
    };
    let hybrid = {
        let mut s = sign_in("alice", EXCHANGE);
        s.device = device(&[
            ("isCompliant", DeviceValue::Bool(false)),
            ("trustType", DeviceValue::Text("ServerAD".into())),
        ]);
        s
    };
    let unknown = sign_in("alice", EXCHANGE);
    let phishing_resistant = json!({"builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}});
    for (what, grant, who, s, expected) in [
        (
            "mfa with Authenticator",
            json!({"builtInControls": ["mfa"]}),
            "alice",
            &unknown,
            Tri::Yes,
        ),
        (
            "mfa with a password only",
            json!({"builtInControls": ["mfa"]}),
            "dave",
            &unknown,
            Tri::No,
        ),
        (
            "mfa, methods not captured",
            json!({"builtInControls": ["mfa"]}),
            "pat",
            &unknown,
            Tri::Unknown,
        ),
        ("phishing-resistant with FIDO2", phishing_resistant.clone(), "bob", &unknown, Tri::Yes),
        ("phishing-resistant with Authenticator", phishing_resistant, "alice", &unknown, Tri::No),
        (
            "custom strength",
            json!({"builtInControls": [], "authenticationStrength": {"id": "keys-only"}}),
            "bob",
            &unknown,
            Tri::Yes,
        ),
        (
            "expanded strength on read",
            json!({"builtInControls": [], "authenticationStrength": {"id": "inline", "displayName": "SMS", "allowedCombinations": ["password,sms"]}}),
            "alice",
            &unknown,
            Tri::No,
        ),
        (
            "mfa and compliant, compliant",
            json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
            "alice",
            &compliant,
            Tri::Yes,
        ),
        (
            "mfa and compliant, hybrid only",
            json!({"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]}),
            "alice",
            &hybrid,
            Tri::No,
        ),
        (
            "compliant or hybrid, hybrid",
            json!({"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"]}),
            "alice",
            &hybrid,
            Tri::Yes,
        ),
        (
            "compliant, device unknown",
            json!({"builtInControls": ["compliantDevice"]}),
            "alice",
            &unknown,
            Tri::Unknown,
        ),
        (
            "approved client app",
            json!({"builtInControls": ["approvedApplication"]}),
            "alice",
            &unknown,
            Tri::Unknown,
        ),
        (
            "approved app or mfa",
            json!({"operator": "OR", "builtInControls": ["approvedApplication", "mfa"]}),
            "alice",
            &unknown,
            Tri::Yes,
        ),
        (
            "password change",
            json!({"operator": "AND", "builtInControls": ["mfa", "passwordChange"]}),
            "alice",
            &unknown,
            Tri::Yes,
        ),
        (
            "terms of use",
            json!({"builtInControls": [], "termsOfUse": ["tou-1"]}),
            "dave",
            &unknown,
            Tri::Yes,
        ),
        (
            "custom control",
            json!({"builtInControls": [], "customAuthenticationFactors": ["duo"]}),
            "alice",
            &unknown,
            Tri::Unknown,
        ),
    ] {
        let r = requirement(grant);
        assert_eq!(caps(who).requirement(&r, s), expected, "{what}");
    }
    assert_eq!(
        Capabilities::from_methods(Some(&[method("phone"), method("password")]))
            .modes
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        ["password", "sms", "voice"]
    );
}

#[test]
fn bad_input_names_the_policy_and_the_property() {
    for (patch, property, message) in [
        (
            json!({"conditions": {"platforms": {"includePlatforms": ["beos"]}}}),
            "conditions.platforms.includePlatforms",
            "'beos' is not one of all, android",
        ),
        (
            json!({"conditions": {"devices": {"deviceFilter": {"mode": "include", "rule": "device.trustType -like \"x\""}}}}),
            "conditions.devices.deviceFilter.rule",
            "'-like' is not a device filter operator",
        ),
        (
            json!({"conditions": {"devices": {"deviceFilter": {"mode": "sometimes", "rule": "device.isCompliant -eq True"}}}}),
            "conditions.devices.deviceFilter.mode",
            "is not include or exclude",
        ),
        (
            json!({"grantControls": {"builtInControls": ["block", "mfa"]}}),
            "grantControls.builtInControls",
            "block cannot be combined",
        ),
        (
            json!({"grantControls": {"builtInControls": ["unknownFutureValue"]}}),
            "grantControls.builtInControls",
            "'unknownFutureValue' is not one of block",
        ),
        (
            json!({"grantControls": {"operator": "XOR"}}),
            "grantControls.operator",
            "'XOR' is not AND or OR",
        ),
        (
            json!({"grantControls": {"authenticationStrength": {"id": "nope"}}}),
            "grantControls.authenticationStrength.id",
            "no authentication strength 'nope'",
        ),
        (
            json!({"conditions": {"signInRiskLevels": ["severe"]}}),
            "conditions.signInRiskLevels",
            "'severe' is not one of low",
        ),
        (
            json!({"conditions": {"clientAppTypes": "browser"}}),
            "conditions.clientAppTypes",
            "expected a list of strings",
        ),
        (
            json!({"conditions": {"users": {"includeUsers": [], "includeGroups": []}}}),
            "conditions.users.includeUsers",
            "includes nobody",
        ),
        (
            json!({"conditions": {"users": {"includeUsers": ["All"], "excludeUsers": ["All"]}}}),
            "conditions.users.excludeUsers",
            "'All' cannot be excluded",
        ),
        (
            json!({"conditions": {"locations": {"includeLocations": [], "excludeLocations": ["AllTrusted"]}}}),
            "conditions.locations.includeLocations",
            "empty while locations are configured",
        ),
        (
            json!({"conditions": {"authenticationFlows": {"transferMethods": "carrierPigeon"}}}),
            "conditions.authenticationFlows.transferMethods",
            "'carrierPigeon' is not one of none",
        ),
        (
            json!({"conditions": {"users": {"includeGuestsOrExternalUsers": {"externalTenants": {"membershipKind": "all"}}}}}),
            "conditions.users.includeGuestsOrExternalUsers.guestOrExternalUserTypes",
            "missing",
        ),
        (json!({"state": "on"}), "state", "'on' is not a state"),
        (json!({"conditions": null}), "conditions", "missing"),
    ] {
        let s = set(&[policy("Bad policy", &patch)]);
        let (p, e) = s.errors().next().unwrap_or_else(|| panic!("{patch} compiled"));
        assert_eq!(p.name, "Bad policy");
        assert_eq!(e.policy, "Bad policy");
        assert_eq!(e.property, property, "{patch}");
        assert!(e.message.contains(message), "{patch}: {}", e.message);
        assert!(e.to_string().starts_with("policy 'Bad policy': "), "{e}");
    }
}
