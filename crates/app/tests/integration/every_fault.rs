//! The capture conformance issue's property: whatever the service does that Graph documents —
//! throttling, server errors, replication lag, audit records minutes late and out of order,
//! next links that expire, delta tokens past their lifetime, all at once — a timeline captured
//! through it equals a fault-free full read of the same tenant.

use proptest::prelude::*;
use reqwest::Method;
use rewind_emulator::SeedOptions;
use serde_json::json;

use crate::env::Env;

/// One generated combination of faults, and what happened to the tenant meanwhile.
#[derive(Debug, Clone)]
struct Weather {
    throttle: bool,
    error_rate: f64,
    replication_lag_ms: u64,
    audit_latency_s: u64,
    expire_page_tokens: u64,
    delta_tokens_expire: bool,
    scenario: &'static str,
}

fn weather() -> impl Strategy<Value = Weather> {
    (
        any::<bool>(),
        prop::sample::select(vec![0.0, 0.02, 0.05]),
        prop::sample::select(vec![0_u64, 300]),
        prop::sample::select(vec![0_u64, 120, 300]),
        0_u64..4,
        any::<bool>(),
        prop::sample::select(vec!["attacker", "mass-delete", "script-gone-wrong"]),
    )
        .prop_map(|(throttle, error_rate, lag, audit, pages, expire, scenario)| Weather {
            throttle,
            error_rate,
            replication_lag_ms: lag,
            audit_latency_s: audit,
            expire_page_tokens: pages,
            delta_tokens_expire: expire,
            scenario,
        })
}

async fn advance(env: &Env, seconds: u64) {
    env.admin(Method::POST, "/_emulator/clock", &json!({ "advanceSeconds": seconds })).await;
}

/// Captures, lets the weather happen with an incident, captures through it (twice: once the
/// replication lag has passed the second must see everything), then compares with a fault-free
/// full read.
async fn timeline_equals_a_fault_free_read(w: Weather) {
    let env =
        Env::start(SeedOptions { users: 150, groups: 20, apps: 12, ..SeedOptions::default() })
            .await;
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    if w.delta_tokens_expire {
        advance(&env, 8 * 86_400).await;
    }
    let faults = json!({
        "throttle": w.throttle,
        "error_rate": w.error_rate,
        "replication_lag_ms": w.replication_lag_ms,
        "audit_latency_s": w.audit_latency_s,
        "expire_page_tokens": w.expire_page_tokens,
    });
    env.admin(Method::PUT, "/_emulator/faults", &faults).await;
    env.admin(Method::POST, &format!("/_emulator/scenarios/{}", w.scenario), &json!({})).await;
    env.capture(&client, &store, false).await;
    advance(&env, 1).await;
    let report = env.capture(&client, &store, false).await;
    assert!(report.snapshot.complete, "{w:?}");
    env.admin(
        Method::PUT,
        "/_emulator/faults",
        &json!({"throttle": false, "error_rate": 0.0, "replication_lag_ms": 0,
                "audit_latency_s": 0, "expire_page_tokens": 0}),
    )
    .await;
    let fresh = env.sqlite("fault-free").await;
    env.capture(&client, &fresh, true).await;
    let (got, want) = (env.manifest(&store).await, env.manifest(&fresh).await);
    let differing = Env::differing(&got, &want);
    assert!(differing.is_empty(), "{w:?}: differ on {differing:?}");
}

proptest! {
    // Each case starts an emulator and captures four times: a handful of cases covers the
    // combinations that matter (every fault is on in some case, several in most).
    #![proptest_config(ProptestConfig { cases: 8, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_capture_through_every_documented_fault_equals_a_fault_free_one(w in weather()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(timeline_equals_a_fault_free_read(w));
    }
}
