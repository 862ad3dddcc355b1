//! The timeline stays true: after every incident scenario, after hand-made changes to
//! relationships and properties, the incremental timeline equals
//! a full read; an unchanged tenant yields no changes; changes carry their actors.

use reqwest::Method;
use rewind_emulator::SeedOptions;
use rewind_model::Kind;
use rewind_store::{Change, ObjectKey, Store};
use serde_json::json;

use crate::env::Env;

/// Captures incrementally into `timeline` and in full into a fresh store; both must agree.
async fn assert_incremental_matches_full(env: &Env, timeline: &Store, label: &str) {
    let client = env.reader();
    let report = env.capture(&client, timeline, false).await;
    assert!(!report.full, "{label}: incremental");
    let fresh = env.sqlite(&format!("full-{}", uuid::Uuid::new_v4())).await;
    env.capture(&client, &fresh, true).await;
    let (inc, full) = (env.manifest(timeline).await, env.manifest(&fresh).await);
    let differing = Env::differing(&inc, &full);
    assert!(differing.is_empty(), "{label}: incremental and full differ on {differing:?}");
}

async fn scenarios_on(env: &Env, store: &Store) {
    let client = env.reader();
    let first = env.capture(&client, store, false).await;
    assert!(first.full && first.snapshot.objects > 100, "{first:?}");
    let again = env.capture(&client, store, false).await;
    let t = again.snapshot.totals();
    assert_eq!((t.created, t.updated, t.deleted), (0, 0, 0), "an unchanged tenant has no changes");
    assert!(again.requests < first.requests, "{} < {}", again.requests, first.requests);
    for scenario in ["attacker", "script-gone-wrong", "mass-delete", "lockout-policy"] {
        env.admin(Method::POST, &format!("/_emulator/scenarios/{scenario}"), &json!({})).await;
        assert_incremental_matches_full(env, store, scenario).await;
    }
    assert!(store.verify().await.unwrap().ok());
}

#[tokio::test]
async fn incremental_equals_full_after_every_scenario_sqlite() {
    let env = Env::start(SeedOptions::default()).await;
    let store = env.sqlite("timeline").await;
    scenarios_on(&env, &store).await;
}

#[tokio::test]
async fn incremental_equals_full_after_every_scenario_postgres() {
    let env = Env::start(SeedOptions::default()).await;
    let (store, name) = env.postgres().await;
    scenarios_on(&env, &store).await;
    env.drop_postgres(store, &name).await;
}

#[tokio::test]
async fn relationships_and_cleared_properties_follow_hand_made_changes() {
    let env = Env::start(SeedOptions::default()).await;
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    let (_, users) = env.graph(Method::GET, "/users?$select=id,jobTitle&$top=999", None).await;
    let users = users["value"].as_array().unwrap().clone();
    let with_title = users.iter().find(|u| u["jobTitle"].is_string()).unwrap();
    let uid = with_title["id"].as_str().unwrap();
    let (s, _) =
        env.graph(Method::PATCH, &format!("/users/{uid}"), Some(&json!({"jobTitle": null}))).await;
    assert_eq!(s, 204);
    let (_, groups) = env.graph(Method::GET, "/groups?$select=id", None).await;
    let gid = groups["value"][0]["id"].as_str().unwrap().to_string();
    let owner = users.last().unwrap()["id"].as_str().unwrap();
    let bind = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{owner}")});
    let (s, body) =
        env.graph(Method::POST, &format!("/groups/{gid}/owners/$ref"), Some(&bind)).await;
    assert_eq!(s, 204, "{body}");
    let (_, apps) = env.graph(Method::GET, "/applications?$select=id", None).await;
    let app = apps["value"][0]["id"].as_str().unwrap().to_string();
    let fic = json!({"name": "rewind-test-deploy", "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:contoso/app:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]});
    let (s, body) = env
        .graph(
            Method::POST,
            &format!("/applications/{app}/federatedIdentityCredentials"),
            Some(&fic),
        )
        .await;
    assert_eq!(s, 201, "{body}");

    let report = env.capture(&client, &store, false).await;
    let counts = &report.snapshot.counts;
    assert_eq!(counts[&Kind::User].updated, 1);
    assert_eq!(counts[&Kind::Group].updated, 1, "{counts:?}");
    assert_eq!(counts[&Kind::FederatedIdentityCredential].created, 1);
    let m = env.manifest(&store).await;
    let user = store.version(&m[&ObjectKey::new(Kind::User, uid)]).await.unwrap();
    assert!(user.get("jobTitle").is_none(), "a cleared property is gone: {user}");
    let group = store.version(&m[&ObjectKey::new(Kind::Group, gid.as_str())]).await.unwrap();
    assert!(group["owners"].as_array().unwrap().iter().any(|o| o == owner), "{group}");
    assert_incremental_matches_full(&env, &store, "hand-made changes").await;

    // Changes carry who made them, from the audit log.
    let tenant = env.tenant(&store).await;
    let history = store.history(&tenant, &ObjectKey::new(Kind::Group, gid.as_str())).await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.change, Change::Updated);
    assert_eq!(last.actors.len(), 1, "{last:?}");
}

#[tokio::test]
async fn throttling_errors_and_replication_lag_leave_the_snapshot_unchanged() {
    let env =
        Env::start(SeedOptions { users: 300, groups: 40, apps: 10, ..SeedOptions::default() })
            .await;
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    env.admin(
        Method::PUT,
        "/_emulator/faults",
        &json!({"throttle": true, "error_rate": 0.02, "replication_lag_ms": 300}),
    )
    .await;
    env.admin(Method::POST, "/_emulator/scenarios/attacker", &json!({})).await;
    env.admin(Method::POST, "/_emulator/scenarios/mass-delete", &json!({})).await;
    // Under lag the first capture may not see the newest objects yet; once the lag has passed
    // (the emulator's clock moved on), the next one must.
    env.capture(&client, &store, false).await;
    env.admin(Method::POST, "/_emulator/clock", &json!({"advanceSeconds": 1})).await;
    let report = env.capture(&client, &store, false).await;
    let faults = env.admin(Method::GET, "/_emulator/stats", &json!({})).await;
    env.admin(
        Method::PUT,
        "/_emulator/faults",
        &json!({"throttle": false, "error_rate": 0.0, "replication_lag_ms": 0}),
    )
    .await;
    let fresh = env.sqlite("fault-free").await;
    env.capture(&client, &fresh, true).await;
    let (got, want) = (env.manifest(&store).await, env.manifest(&fresh).await);
    let differing = Env::differing(&got, &want);
    for k in &differing {
        let a = match got.get(k) {
            Some(h) => store.version(h).await.unwrap().to_string(),
            None => "-".into(),
        };
        let b = match want.get(k) {
            Some(h) => fresh.version(h).await.unwrap().to_string(),
            None => "-".into(),
        };
        eprintln!("DIFF {k:?}\n  got  {a}\n  want {b}");
    }
    assert!(differing.is_empty(), "differ on {differing:?}; stats {faults}");
    assert!(report.snapshot.complete);
}
