//! Lockout analysis over the hand-made tenant: a well-run baseline is OK, and each way of
//! locking people out is found and blamed on the right policy.

use rewind_policy::{Analysis, Directory, Lockout, LockoutOptions, Tri, Verdict, analyse};
use serde_json::{Value, json};

use crate::tenant::{GA, directory, method, policy, set};

/// The baseline: MFA for everyone, phishing-resistant MFA for administrators on the admin
/// portals, legacy authentication blocked, sign-ins outside allowed countries blocked — all
/// excluding the break-glass group.
fn baseline() -> Vec<Value> {
    let bg = json!(["g-bg"]);
    vec![
        policy("CA000 MFA", &json!({"conditions": {"users": {"excludeGroups": bg}}})),
        policy(
            "CA001 Countries",
            &json!({"conditions": {"users": {"excludeGroups": bg}, "locations": {"includeLocations": ["All"], "excludeLocations": ["allowed"]}}, "grantControls": {"builtInControls": ["block"]}}),
        ),
        policy(
            "CA002 Legacy",
            &json!({"conditions": {"users": {"excludeGroups": bg}, "clientAppTypes": ["exchangeActiveSync", "other"]}, "grantControls": {"builtInControls": ["block"]}}),
        ),
        policy(
            "CA100 Admins",
            &json!({"conditions": {"users": {"includeUsers": [], "includeRoles": [GA, crate::tenant::PRA], "excludeGroups": bg}, "applications": {"includeApplications": ["MicrosoftAdminPortals"]}},
            "grantControls": {"builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}}),
        ),
        policy(
            "CA205 Compliant",
            &json!({"conditions": {"users": {"includeGroups": ["g-staff"], "includeUsers": []}, "platforms": {"includePlatforms": ["windows"]}}, "grantControls": {"builtInControls": ["compliantDevice", "domainJoinedDevice"]}}),
        ),
    ]
}

fn options() -> LockoutOptions {
    LockoutOptions {
        break_glass: vec!["bg1".into(), "emergency2@contoso.com".into()],
        home_country: None,
        restore_app: None,
    }
}

fn run(policies: &[Value], dir: &Directory) -> Analysis {
    analyse(&set(policies), dir, &options())
}

fn verdict_of<'a>(a: &'a Analysis, upn: &str) -> &'a rewind_policy::PrincipalReport {
    a.principals.iter().find(|p| p.user_principal_name == upn).unwrap()
}

#[test]
fn a_well_run_baseline_is_ok() {
    let a = run(&baseline(), &directory());
    assert_eq!(a.verdict, Lockout::Ok, "{}", rewind_policy::explain::analysis(&a));
    let upns: Vec<&str> = a.principals.iter().map(|p| p.user_principal_name.as_str()).collect();
    // Break-glass accounts first, then administrators; dave is only eligible.
    assert_eq!(
        upns,
        [
            "emergency1@contoso.com",
            "emergency2@contoso.com",
            "bob@contoso.com",
            "carol@contoso.com"
        ]
    );
    assert_eq!(a.home_country.as_deref(), Some("US"));
    assert!(a.principals.iter().all(|p| p.verdict == Verdict::Safe && p.contexts == 120));
}

#[test]
fn a_block_for_everyone_is_critical() {
    let mut policies = baseline();
    policies.push(policy("Block all", &json!({"grantControls": {"builtInControls": ["block"]}})));
    let a = run(&policies, &directory());
    assert_eq!(a.verdict, Lockout::Critical);
    for p in &a.principals {
        assert_eq!(p.verdict, Verdict::LockedOut, "{}", p.user_principal_name);
        assert_eq!(p.policies, ["Block all"]);
    }
}

#[test]
fn removing_the_break_glass_exclusion_puts_them_at_risk_abroad() {
    let mut policies = baseline();
    policies[1]["conditions"]["users"]["excludeGroups"] = json!([]);
    let a = run(&policies, &directory());
    assert_eq!(a.verdict, Lockout::AtRisk);
    let bg = verdict_of(&a, "emergency1@contoso.com");
    assert_eq!(bg.verdict, Verdict::AtRisk);
    assert_eq!(bg.policies, ["CA001 Countries"]);
    assert!(bg.findings.iter().all(|f| f.context.contains("abroad") && f.result == Tri::No));
    // Administrators are expected to be kept out abroad.
    assert_eq!(verdict_of(&a, "bob@contoso.com").verdict, Verdict::Safe);
}

#[test]
fn an_administrator_without_the_required_methods_is_locked_out() {
    let mut dir = directory();
    dir.add_methods("bob", vec![method("password"), method("microsoftAuthenticator")]);
    dir.add_methods("bg1", vec![method("password"), method("microsoftAuthenticator")]);
    dir.add_methods("bg2", vec![method("password"), method("microsoftAuthenticator")]);
    // Nor can they register a security key: FIDO2 is off (registering is covered by the cases).
    let no_keys = crate::tenant::methods_policy(&[json!({"id": "Fido2", "state": "disabled"})]);
    let mut policies = baseline();
    // Phishing-resistant MFA for the break-glass accounts too, which they cannot do.
    policies[3]["conditions"]["users"]["excludeGroups"] = json!([]);
    let a = analyse(&set(&policies).with_methods(no_keys), &dir, &options());
    let bob = verdict_of(&a, "bob@contoso.com");
    assert_eq!(bob.verdict, Verdict::LockedOut);
    assert_eq!(bob.policies, ["CA100 Admins"]);
    assert!(
        bob.findings[0].why.contains("which the usable methods cannot meet"),
        "{}",
        bob.findings[0].why
    );
    // Every Global Administrator (break-glass accounts included) is locked out.
    assert_eq!(a.verdict, Lockout::Critical);
}

#[test]
fn disabled_break_glass_accounts_are_locked_out() {
    let mut dir = directory();
    for id in ["bg1", "bg2"] {
        dir.add_user(&json!({"id": id, "userPrincipalName": format!("{id}@contoso.com"), "accountEnabled": false}));
    }
    let a = run(&baseline(), &dir);
    assert_eq!(a.verdict, Lockout::Critical);
    assert_eq!(a.principals[0].findings[0].why, "the account is disabled");
}

#[test]
fn an_unreadable_policy_is_never_safe() {
    let mut policies = baseline();
    policies.push(policy("Broken", &json!({"conditions": {"devices": {"deviceFilter": {"mode": "include", "rule": "device.trustType -eq"}}}, "grantControls": {"builtInControls": ["block"]}})));
    let a = run(&policies, &directory());
    assert_eq!(a.verdict, Lockout::AtRisk);
    assert_eq!(a.policy_errors.len(), 1);
    assert!(a.principals.iter().all(|p| p.verdict == Verdict::AtRisk));
    assert!(a.principals[0].findings.iter().all(|f| f.result == Tri::Unknown));
}

#[test]
fn break_glass_accounts_are_found_by_name_when_none_are_configured() {
    let mut dir = directory();
    dir.add_user(&json!({"id": "bg1", "userPrincipalName": "bg-admin-01@contoso.com", "displayName": "Break Glass 01"}));
    let a = analyse(&set(&baseline()), &dir, &LockoutOptions::default());
    let found = &a.principals[0];
    assert_eq!(found.user_principal_name, "bg-admin-01@contoso.com");
    assert_eq!(
        found.why_protected,
        ["break-glass account (found by name)", "Global Administrator"]
    );
    let none = analyse(&set(&baseline()), &directory(), &LockoutOptions::default());
    assert_eq!(none.verdict, Lockout::AtRisk);
    assert!(none.notes.iter().any(|n| n.contains("no break-glass account")));
    let missing = analyse(
        &set(&baseline()),
        &directory(),
        &LockoutOptions {
            break_glass: vec!["ghost@contoso.com".into()],
            home_country: None,
            restore_app: None,
        },
    );
    assert!(missing.notes.iter().any(|n| n.contains("'ghost@contoso.com' is not in this state")));
}
