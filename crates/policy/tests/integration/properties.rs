//! Invariants over generated policies and sign-ins: knowing more never flips a definite
//! answer, and excluding someone never restricts them more.

use proptest::prelude::*;
use rewind_policy::{
    ClientApp, Decision, DeviceValue, Platform, RiskLevel, SignIn, TransferMethod, Tri,
};
use serde_json::{Value, json};

use crate::tenant::{EXCHANGE, PORTAL, device, directory, policy, set, sign_in};

fn conditions() -> impl Strategy<Value = Value> {
    let clients = prop::sample::subsequence(
        vec!["browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"],
        1..3,
    );
    let platforms =
        prop::sample::subsequence(vec!["android", "iOS", "windows", "macOS", "linux"], 1..3);
    let locations = prop::sample::select(vec![
        json!({"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
        json!({"includeLocations": ["blocked"]}),
        json!({"includeLocations": ["All"], "excludeLocations": ["allowed"]}),
        json!({"includeLocations": ["office", "branch"]}),
    ]);
    let risks = prop::sample::subsequence(vec!["low", "medium", "high", "none"], 1..3);
    let filters = prop::sample::select(vec![
        json!({"mode": "include", "rule": "device.isCompliant -eq True"}),
        json!({"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True"}),
    ]);
    (
        prop::option::of(clients),
        prop::option::of(platforms),
        prop::option::of(locations),
        prop::option::of(risks),
        prop::option::of(filters),
        any::<bool>(),
        prop::sample::select(vec!["All", "Office365", "MicrosoftAdminPortals"]),
        prop::sample::select(vec!["block", "mfa", "compliantDevice"]),
    )
        .prop_map(|(clients, platforms, locations, risks, filter, flows, app, control)| {
            let mut c = json!({"applications": {"includeApplications": [app]}});
            if let Some(x) = clients {
                c["clientAppTypes"] = json!(x);
            }
            if let Some(x) = platforms {
                c["platforms"] = json!({"includePlatforms": x});
            }
            if let Some(x) = locations {
                c["locations"] = x;
            }
            if let Some(x) = risks {
                c["signInRiskLevels"] = json!(x);
            }
            if let Some(x) = filter {
                c["devices"] = json!({"deviceFilter": x});
            }
            if flows {
                c["authenticationFlows"] = json!({"transferMethods": "deviceCodeFlow"});
            }
            json!({"conditions": c, "grantControls": {"operator": "OR", "builtInControls": [control]}})
        })
}

/// A sign-in with every signal given.
fn full_sign_in() -> impl Strategy<Value = SignIn> {
    (
        prop::sample::select(vec!["alice", "bob", "carol", "pat"]),
        prop::sample::select(vec![EXCHANGE, PORTAL, "aaaaaaaa-0000-0000-0000-00000000000a"]),
        prop::sample::select(ClientApp::ALL.to_vec()),
        prop::sample::select(Platform::ALL.to_vec()),
        prop::sample::select(vec!["203.0.113.5", "198.51.100.5", "192.0.2.5"]),
        prop::sample::select(vec!["US", "NL", "KP", "BR", "unknown"]),
        prop::sample::select(RiskLevel::ALL.to_vec()),
        prop::sample::select(TransferMethod::ALL.to_vec()),
        any::<bool>(),
        prop::sample::select(vec!["ServerAD", "AzureAD", "Workplace"]),
    )
        .prop_map(
            |(user, app, client, platform, ip, country, risk, flow, compliant, trust)| {
                let mut s = sign_in(user, app);
                s.client_app = Some(client);
                s.platform = Some(platform);
                s.ip = ip.parse().ok();
                s.country = Some(country.into());
                s.sign_in_risk = Some(risk);
                s.transfer_method = Some(flow);
                s.device = device(&[
                    ("isCompliant", DeviceValue::Bool(compliant)),
                    ("trustType", DeviceValue::Text(trust.into())),
                ]);
                s
            },
        )
}

/// Forgets the signals whose bit is set.
fn forget(full: &SignIn, mask: u8) -> SignIn {
    let mut s = full.clone();
    if mask & 1 != 0 {
        s.client_app = None;
    }
    if mask & 2 != 0 {
        s.platform = None;
    }
    if mask & 4 != 0 {
        s.ip = None;
    }
    if mask & 8 != 0 {
        s.country = None;
    }
    if mask & 16 != 0 {
        s.sign_in_risk = None;
    }
    if mask & 32 != 0 {
        s.transfer_method = None;
    }
    if mask & 64 != 0 {
        s.device = None;
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn giving_a_signal_never_flips_a_definite_result(
        patches in prop::collection::vec(conditions(), 1..6),
        full in full_sign_in(),
        mask in any::<u8>(),
    ) {
        let policies: Vec<Value> = patches.iter().enumerate().map(|(i, p)| policy(&format!("p{i}"), p)).collect();
        let set = set(&policies);
        prop_assert!(set.errors().next().is_none());
        let dir = directory();
        let partial = set.evaluate(&dir, &forget(&full, mask)).unwrap();
        let known = set.evaluate(&dir, &full).unwrap();
        for (p, k) in partial.results.iter().zip(&known.results) {
            if p.applies.known() {
                prop_assert_eq!(p.applies, k.applies, "{}", p.policy.id);
            }
        }
        match partial.enforced.decision {
            Decision::Blocked => prop_assert_eq!(known.enforced.decision, Decision::Blocked),
            Decision::NoPolicy => prop_assert_eq!(known.enforced.decision, Decision::NoPolicy),
            Decision::Grant if partial.enforced.requirements.iter().all(|r| r.certain) => {
                prop_assert_eq!(&known.enforced.requirements, &partial.enforced.requirements);
            }
            _ => {}
        }
    }

    #[test]
    fn excluding_a_user_never_restricts_them_more(
        patches in prop::collection::vec(conditions(), 1..6),
        excluded in prop::collection::vec(any::<bool>(), 6),
        full in full_sign_in(),
        mask in any::<u8>(),
    ) {
        let s = forget(&full, mask);
        let user = match &s.identity { rewind_policy::Identity::User(u) => u.clone(), rewind_policy::Identity::ServicePrincipal(_) => unreachable!() };
        let before: Vec<Value> = patches.iter().enumerate().map(|(i, p)| policy(&format!("p{i}"), p)).collect();
        let after: Vec<Value> = before.iter().zip(&excluded).map(|(p, x)| {
            let mut p = p.clone();
            if *x {
                p["conditions"]["users"]["excludeUsers"] = json!([user]);
            }
            p
        }).collect();
        let dir = directory();
        let (b, a) = (set(&before), set(&after));
        let (b, a) = (b.evaluate(&dir, &s).unwrap(), a.evaluate(&dir, &s).unwrap());
        for (pb, pa) in b.results.iter().zip(&a.results) {
            // Applies can only go down: yes → unknown/no, unknown → no.
            let rank = |t: Tri| match t { Tri::No => 0, Tri::Unknown => 1, Tri::Yes => 2 };
            prop_assert!(rank(pa.applies) <= rank(pb.applies));
        }
        if a.enforced.decision == Decision::Blocked {
            prop_assert_eq!(b.enforced.decision, Decision::Blocked);
        }
        for r in &a.enforced.requirements {
            prop_assert!(b.enforced.requirements.iter().any(|x| x.policy_id == r.policy_id));
        }
    }
}

/// A verdict as a rank, best last.
fn verdict_rank(v: rewind_policy::Verdict) -> u8 {
    match v {
        rewind_policy::Verdict::LockedOut => 0,
        rewind_policy::Verdict::AtRisk => 1,
        rewind_policy::Verdict::Safe => 2,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Taking methods away in the authentication methods policy (disabling a configuration,
    /// or excluding everyone from it) never makes anyone better off; usable methods are always
    /// among the registered ones.
    #[test]
    fn narrowing_the_methods_policy_never_helps_anyone(
        patches in prop::collection::vec(conditions(), 1..4),
        narrowed in prop::sample::subsequence(
            vec!["Fido2", "MicrosoftAuthenticator", "Sms", "Voice", "SoftwareOath", "TemporaryAccessPass"], 1..4),
        exclude in any::<bool>(),
    ) {
        let policies: Vec<Value> = patches.iter().enumerate().map(|(i, p)| policy(&format!("p{i}"), p)).collect();
        let set = set(&policies);
        let options = rewind_policy::LockoutOptions {
            break_glass: vec!["bg1".into(), "bg2".into()],
            ..rewind_policy::LockoutOptions::default()
        };
        let wide = rewind_policy::analyse(&set, &directory(), &options);
        let changed: Vec<Value> = narrowed.iter().map(|id| if exclude {
            json!({"id": id, "state": "enabled", "includeTargets": [{"id": "all_users", "targetType": "group"}],
                "excludeTargets": [{"id": "all_users", "targetType": "group"}]})
        } else {
            json!({"id": id, "state": "disabled", "includeTargets": [], "excludeTargets": []})
        }).collect();
        let narrowed = set.clone().with_methods(crate::tenant::methods_policy(&changed));
        let narrow = rewind_policy::analyse(&narrowed, &directory(), &options);
        for (w, n) in wide.principals.iter().zip(&narrow.principals) {
            prop_assert_eq!(&w.id, &n.id);
            prop_assert!(verdict_rank(n.verdict) <= verdict_rank(w.verdict), "{}: {:?} → {:?}", w.id, w.verdict, n.verdict);
            if let (Some(usable), Some(registered)) = (&n.usable_methods, &n.methods) {
                prop_assert!(usable.iter().all(|m| registered.contains(m)));
            }
        }
    }
}
