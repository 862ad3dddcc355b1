//! What people read: a what-if explanation and a lockout analysis, as snapshots.

use rewind_policy::{ClientApp, Platform, explain};
use serde_json::json;

use crate::tenant::{EXCHANGE, PORTAL, directory, policy, set, sign_in};

fn policies() -> Vec<serde_json::Value> {
    let bg = json!(["g-bg"]);
    vec![
        policy("CA000 MFA for everyone", &json!({"conditions": {"users": {"excludeGroups": bg}}})),
        policy(
            "CA001 Block outside allowed countries",
            &json!({"conditions": {"users": {"excludeGroups": bg}, "locations": {"includeLocations": ["All"], "excludeLocations": ["allowed"]}}, "grantControls": {"builtInControls": ["block"]}}),
        ),
        policy(
            "CA002 Block legacy authentication",
            &json!({"conditions": {"clientAppTypes": ["exchangeActiveSync", "other"]}, "grantControls": {"builtInControls": ["block"]}}),
        ),
        policy(
            "CA100 Phishing-resistant MFA for admin portals",
            &json!({"conditions": {"users": {"includeUsers": [], "includeRoles": [crate::tenant::GA]}, "applications": {"includeApplications": ["MicrosoftAdminPortals"]}},
            "grantControls": {"builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}}),
        ),
        policy(
            "CA205 Compliant Windows",
            &json!({"conditions": {"users": {"includeUsers": [], "includeGroups": ["g-staff"]}, "platforms": {"includePlatforms": ["windows"]}}, "grantControls": {"builtInControls": ["compliantDevice", "domainJoinedDevice"]}, "sessionControls": {"signInFrequency": {"isEnabled": true, "type": "hours", "value": 12}}}),
        ),
        policy(
            "CA201 Block high user risk (report-only)",
            &json!({"state": "enabledForReportingButNotEnforced", "conditions": {"userRiskLevels": ["high"]}, "grantControls": {"builtInControls": ["block"]}}),
        ),
        policy("CA900 Old policy", &json!({"state": "disabled"})),
    ]
}

#[test]
fn a_what_if_explains_every_policy() {
    let set = set(&policies());
    let dir = directory();
    let mut s = sign_in("alice", EXCHANGE);
    s.platform = Some(Platform::Windows);
    s.client_app = Some(ClientApp::Browser);
    s.country = Some("NL".into());
    insta::assert_snapshot!(
        "whatif_alice_exchange",
        explain::evaluation(&set.evaluate(&dir, &s).unwrap())
    );
    let mut s = sign_in("bob", PORTAL);
    s.country = Some("BR".into());
    insta::assert_snapshot!(
        "whatif_bob_portal_abroad",
        explain::evaluation(&set.evaluate(&dir, &s).unwrap())
    );
}

#[test]
fn a_lockout_analysis_reads_as_a_report() {
    let mut p = policies();
    p[1]["conditions"]["users"]["excludeGroups"] = json!([]);
    let options = rewind_policy::LockoutOptions {
        break_glass: vec!["bg1".into(), "bg2".into()],
        home_country: None,
        restore_app: None,
    };
    let a = rewind_policy::analyse(&set(&p), &directory(), &options);
    insta::assert_snapshot!("lockout_break_glass_exclusion_removed", explain::analysis(&a));
}
