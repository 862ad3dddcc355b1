//! Faults as Graph shows them: throttling with its budgets (on a frozen clock, so windows are
//! exact), injected 503/504, replication lag after a create, the counters, and the admin API's
//! checks.

use jiff::SignedDuration;
use rewind_emulator::Method;
use serde_json::{Value, json};

use crate::harness::Harness;

fn header<'a>(r: &'a rewind_emulator::GraphResponse, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub async fn stats(h: &Harness) -> Value {
    h.http
        .get(format!("{}/_emulator/stats", h.emu.info.graph_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn throttling_follows_graph_budgets() {
    let h = Harness::start().await;
    h.emu.with_tenant(|t| t.freeze_clock(true));
    assert_eq!(h.set_faults(&json!({"throttle": true})).await.status, 200);

    let ca = "/identity/conditionalAccess/policies";
    assert_eq!(h.direct(&h.reader, Method::Get, ca).status, 200);
    let second = h.direct(&h.reader, Method::Get, ca);
    assert_eq!(second.status, 429, "CA allows one request per second per tenant");
    assert!(header(&second, "Retry-After").is_none(), "CA 429s carry no Retry-After");
    h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_secs(1)));
    assert_eq!(h.direct(&h.reader, Method::Get, ca).status, 200);

    let first = h.direct(&h.reader, Method::Get, "/users");
    assert_eq!(header(&first, "x-ms-resource-unit"), Some("2"));
    let mut served = 1;
    let throttled = loop {
        let r = h.direct(&h.reader, Method::Get, "/users");
        if r.status == 429 {
            break r;
        }
        served += 1;
        assert!(served < 5_000, "never throttled");
    };
    assert_eq!(
        served, 1_750,
        "3,500 resource units per 10 s for a tenant under 50 users, 2 per list of users"
    );
    assert_eq!(header(&throttled, "Retry-After"), Some("10"));
    assert!(header(&throttled, "x-ms-throttle-information").is_some());
    assert_eq!(h.direct(&h.writer, Method::Get, "/users").status, 200, "budgets are per app");
    h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_secs(10)));
    assert_eq!(h.direct(&h.reader, Method::Get, "/users").status, 200);

    for _ in 0..5 {
        assert_eq!(h.direct(&h.reader, Method::Get, "/auditLogs/directoryAudits").status, 200);
    }
    let sixth = h.direct(&h.reader, Method::Get, "/auditLogs/directoryAudits");
    assert_eq!(sixth.status, 429, "audit logs: 5 requests per 10 s");
    assert!(header(&sixth, "Retry-After").is_some());
    let s = stats(&h).await;
    assert_eq!(s["throttled"], 3);
    assert!(s["resource_units"].as_u64().unwrap() >= 3_500);
}

#[tokio::test]
async fn injected_errors_are_503_or_504_with_retry_after() {
    let h = Harness::start().await;
    h.set_faults(&json!({"error_rate": 1.0})).await;
    for _ in 0..10 {
        let r = h.get("/groups").await;
        assert!(r.status == 503 || r.status == 504, "{}", r.status);
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    assert_eq!(stats(&h).await["injected_errors"], 10);
    h.set_faults(&json!({"error_rate": 0.0})).await;
    assert_eq!(h.get("/groups").await.status, 200);
}

#[tokio::test]
async fn replication_lag_hides_new_objects_for_a_while() {
    let h = Harness::start().await;
    h.emu.with_tenant(|t| t.freeze_clock(true));
    h.set_faults(&json!({"replication_lag_ms": 30_000})).await;
    let delta = h.get("/groups/delta?$deltatoken=latest").await;
    let link = delta.body["@odata.deltaLink"].as_str().unwrap().to_string();
    let r = h.post("/groups", &json!({"displayName": "Lagging", "mailEnabled": false, "mailNickname": "lagging", "securityEnabled": true})).await;
    assert_eq!(r.status, 201);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(h.get(&format!("/groups/{id}")).await.code(), "Request_ResourceNotFound");
    assert!(
        !h.get_all("/groups?$select=displayName")
            .await
            .iter()
            .any(|g| g["displayName"] == "Lagging")
    );
    let early = h.send(&h.reader, reqwest::Method::GET, &link, None, &[]).await;
    assert!(early.body["value"].as_array().unwrap().is_empty(), "not yet visible to delta");
    let app = h.post("/applications", &json!({"displayName": "Fresh app"})).await;
    let sp = h.post("/servicePrincipals", &json!({"appId": app.body["appId"]})).await;
    assert_eq!(sp.status, 400);
    assert_eq!(sp.body["error"]["details"][0]["code"], "NoBackingApplicationObject");
    assert!(stats(&h).await["lagged"].as_u64().unwrap() >= 2);

    h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_secs(31)));
    let token = h.token(rewind_emulator::Access::Read).await;
    assert_eq!(
        h.send(&token, reqwest::Method::GET, &format!("/groups/{id}"), None, &[]).await.status,
        200
    );
    let late = h
        .send(
            &token,
            reqwest::Method::GET,
            early.body["@odata.deltaLink"].as_str().unwrap(),
            None,
            &[],
        )
        .await;
    assert!(
        late.body["value"].as_array().unwrap().iter().any(|g| g["id"] == id.as_str()),
        "the change was kept for a later round"
    );
    let writer = h.token(rewind_emulator::Access::Write).await;
    let sp = h
        .send(
            &writer,
            reqwest::Method::POST,
            "/servicePrincipals",
            Some(&json!({"appId": app.body["appId"]})),
            &[],
        )
        .await;
    assert_eq!(sp.status, 201);
}

#[tokio::test]
async fn the_faults_api_checks_what_it_is_given() {
    let h = Harness::start().await;
    let get: Value = h
        .http
        .get(format!("{}/_emulator/faults", h.emu.info.graph_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for k in
        ["preset", "seed", "latency_ms", "error_rate", "replication_lag_ms", "throttle", "scenario"]
    {
        assert!(get.get(k).is_some(), "{k} in {get}");
    }
    assert_eq!(h.set_faults(&json!({"error_rate": 2})).await.status, 400);
    assert_eq!(h.set_faults(&json!({"seed": 999})).await.status, 400);
    assert_eq!(h.set_faults(&json!({"lightning": true})).await.status, 400);
    let mut round_trip = get.clone();
    round_trip["latency_ms"] = json!(5);
    let r = h.set_faults(&round_trip).await;
    assert_eq!((r.status, &r.body["latency_ms"]), (200, &json!(5)), "GET, change, PUT works");
    assert_eq!(h.get("/groups").await.status, 200);
}
