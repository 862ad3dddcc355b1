//! One what-if evaluation over 500 policies for a user in 2,000 groups (target ≤ 1 ms), with
//! and without the explanation `rewind whatif` prints, and the directory work alone.
//!
//! Run: `cargo bench -p rewind-policy --bench whatif` (figures go to docs/benchmarks.md).

#![expect(clippy::unwrap_used, reason = "a benchmark stops at the first failure")]

use std::hint::black_box;

use criterion::{Criterion, criterion_main};
use rewind_policy::{
    ClientApp, DeviceValue, Directory, Identity, Platform, PolicySet, RiskLevel, SignIn, Subject,
    Target,
};
use serde_json::{Value, json};

const GROUPS: usize = 5_000;
const POLICIES: usize = 500;

fn gid(i: usize) -> String {
    format!("00000000-0000-0000-0001-{i:012}")
}

/// A directory of 5,000 groups; the user is directly in 1,500 of them and, through nesting,
/// in 500 more (2,000 in all).
fn directory() -> Directory {
    let mut d = Directory::new();
    d.add_user(&json!({"id": "u", "userPrincipalName": "u@contoso.com", "userType": "Member"}));
    for i in 0..GROUPS {
        let members: Vec<String> = if i < 1_500 {
            vec!["u".into()]
        } else if i < 2_000 {
            vec![gid(i - 1_500)]
        } else {
            vec![format!("someone-{i}")]
        };
        d.add_group(
            &json!({"id": gid(i), "displayName": format!("Group {i}"), "members": members}),
        );
    }
    d.add_role_assignment(&json!({"principalId": "u", "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "directoryScopeId": "/"}));
    d
}

/// 500 policies in the ten shapes the emulator seeds (groups, apps, platforms, locations,
/// risk, device filters, strengths, report-only, disabled), each naming a few groups.
fn policies() -> Vec<Value> {
    (0..POLICIES)
        .map(|i| {
            let include = gid((i * 7) % GROUPS);
            let exclude = gid((i * 13 + 3) % GROUPS);
            let users = json!({"includeGroups": [include, gid((i * 11) % GROUPS)], "excludeGroups": [exclude]});
            let (conditions, grant) = match i % 10 {
                0 => (json!({"applications": {"includeApplications": [format!("app-{i}")]}}), json!(["mfa"])),
                1 => (json!({"platforms": {"includePlatforms": ["iOS", "android"]}}), json!(["compliantDevice", "approvedApplication"])),
                2 => (json!({"locations": {"includeLocations": ["blocked"]}}), json!(["block"])),
                3 => (json!({"applications": {"includeApplications": ["MicrosoftAdminPortals"]}}), json!(["mfa"])),
                4 => (json!({"clientAppTypes": ["exchangeActiveSync", "other"]}), json!(["block"])),
                5 => (json!({"signInRiskLevels": ["high"]}), json!(["block"])),
                6 => (json!({"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}), json!(["mfa"])),
                7 => (json!({"userRiskLevels": ["high"]}), json!(["passwordChange", "mfa"])),
                8 => (json!({"platforms": {"includePlatforms": ["windows"]}, "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True"}}}), json!(["compliantDevice"])),
                _ => (json!({}), json!([])),
            };
            let mut c = json!({"users": users, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]});
            for (k, v) in conditions.as_object().unwrap() {
                c[k] = v.clone();
            }
            let mut grant = json!({"operator": "OR", "builtInControls": grant});
            if i % 10 == 9 {
                grant["authenticationStrength"] = json!({"id": "00000000-0000-0000-0000-000000000004"});
            }
            let state = match i % 17 {
                0 => "enabledForReportingButNotEnforced",
                1 => "disabled",
                _ => "enabled",
            };
            json!({"id": format!("p{i}"), "displayName": format!("CA{i:03}"), "state": state, "conditions": c, "grantControls": grant})
        })
        .collect()
}

fn locations() -> Vec<Value> {
    vec![
        json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "office", "displayName": "Office", "isTrusted": true,
            "ipRanges": [{"cidrAddress": "203.0.113.0/24"}, {"cidrAddress": "2001:db8::/48"}]}),
        json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "blocked", "displayName": "Blocked",
            "countriesAndRegions": ["KP", "IR"], "includeUnknownCountriesAndRegions": true}),
    ]
}

fn sign_in() -> SignIn {
    let mut s = SignIn::new(Identity::User("u".into()), Target::App("app-10".into()));
    s.ip = "198.51.100.7".parse().ok();
    s.country = Some("US".into());
    s.platform = Some(Platform::Windows);
    s.client_app = Some(ClientApp::Browser);
    s.sign_in_risk = Some(RiskLevel::Low);
    s.user_risk = Some(RiskLevel::None);
    s.device = Some([("isCompliant".to_string(), DeviceValue::Bool(true))].into_iter().collect());
    s
}

fn bench(c: &mut Criterion) {
    let dir = directory();
    let set = PolicySet::compile(&policies(), &locations(), &[]);
    assert!(set.errors().next().is_none());
    let s = sign_in();
    let subject = Subject::resolve(&dir, &s.identity).unwrap();
    if let Subject::User(p, _) = &subject {
        assert_eq!(p.groups.len(), 2_000);
    }
    let e = set.evaluate(&dir, &s).unwrap();
    let applying = e.results.iter().filter(|r| r.applies == rewind_policy::Tri::Yes).count();
    eprintln!(
        "{POLICIES} policies, user in 2,000 of {GROUPS} groups: {applying} apply, decision {:?}",
        e.enforced.decision
    );
    c.bench_function("whatif: 500 policies, user in 2,000 groups, explained", |b| {
        b.iter(|| black_box(set.evaluate(black_box(&dir), black_box(&s)).unwrap()));
    });
    c.bench_function("whatif: same, without explanations", |b| {
        b.iter(|| {
            let subject = Subject::resolve(&dir, &s.identity).unwrap();
            black_box(set.evaluate_subject(&subject, black_box(&s), &dir, None, false))
        });
    });
    c.bench_function("resolving the user's 2,000 groups alone", |b| {
        b.iter(|| black_box(Subject::resolve(black_box(&dir), &s.identity).unwrap()));
    });
    c.bench_function("compiling 500 policies", |b| {
        let raw = policies();
        let locs = locations();
        b.iter(|| black_box(PolicySet::compile(black_box(&raw), &locs, &[])));
    });
}

/// Criterion's macro declares a public, undocumented function; kept out of reach here.
mod group {
    criterion::criterion_group!(benches, super::bench);
}

criterion_main!(group::benches);
