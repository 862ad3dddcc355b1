//! Bad input gets Graph's status and error code, never a panic or a 500: malformed JSON, unknown
//! properties, wrong types, missing required fields, unknown ids, oversized bodies, unknown
//! paths and methods. A property test throws arbitrary requests at the dispatcher.

use proptest::prelude::*;
use reqwest::Method;
use rewind_emulator::{GraphRequest, Method as GMethod, SeedOptions, Tenant};
use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn bad_bodies_get_graph_errors_naming_the_problem() {
    let h = Harness::start().await;
    let raw = h
        .http
        .post(h.url("/groups"))
        .bearer_auth(&h.writer)
        .header("Content-Type", "application/json")
        .body("{\"displayName\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let v: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(v["error"]["code"], "Request_BadRequest");
    let r = h.post("/groups", &json!({"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true, "colour": "red"})).await;
    assert_eq!(
        (r.status, r.body["error"]["message"].as_str()),
        (400, Some("Invalid property 'colour'."))
    );
    let r = h.post("/groups", &json!({"displayName": "x", "mailEnabled": "no", "mailNickname": "x", "securityEnabled": true})).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("'mailEnabled'"), "{}", r.text);
    let r = h
        .post("/groups", &json!({"displayName": "x", "mailNickname": "x", "securityEnabled": true}))
        .await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("mailEnabled"), "{}", r.text);
    let r = h.post("/identity/conditionalAccess/policies", &json!({"displayName": "x", "state": "sometimes",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})).await;
    assert_eq!(r.status, 400);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("'state'"));
    let r = h.post("/groups", &json!([1, 2])).await;
    assert_eq!(r.status, 400);
    let empty = h.http.post(h.url("/groups")).bearer_auth(&h.writer).send().await.unwrap();
    assert_eq!(empty.status(), 400);
}

#[tokio::test]
async fn unknown_ids_paths_and_methods() {
    let h = Harness::start().await;
    for path in [
        "/users/00000000-0000-0000-0000-000000000001",
        "/groups/nope",
        "/identity/conditionalAccess/policies/nope",
        "/roleManagement/directory/roleDefinitions/nope",
        "/applications(appId='nope')",
    ] {
        let r = h.get(path).await;
        assert_eq!((r.status, r.code()), (404, "Request_ResourceNotFound"), "{path}");
    }
    let r = h.get("/widgets").await;
    assert_eq!(r.status, 400);
    let r = h.send(&h.writer, Method::PUT, "/users", Some(&json!({})), &[]).await;
    assert_eq!(r.status, 405);
    let r = h.send(&h.reader, Method::GET, "/users?$orderby=displayName", None, &[]).await;
    assert_eq!(r.code(), "Request_UnsupportedQuery");
    let r = h.send(&h.reader, Method::GET, "/users?$skiptoken=garbage", None, &[]).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let h = Harness::start().await;
    let big = format!("{{\"displayName\": \"{}\"}}", "x".repeat(5 * 1024 * 1024));
    let r = h
        .http
        .post(h.url("/groups"))
        .bearer_auth(&h.writer)
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "Request_EntityTooLarge");
}

fn writer_tenant() -> (Tenant, String) {
    let t =
        rewind_emulator::seed_tenant(&SeedOptions { seed: 3, users: 3, ..SeedOptions::default() });
    let token = t.access_token(rewind_emulator::Access::Write).unwrap();
    (t, token)
}

fn path_strategy() -> impl Strategy<Value = String> {
    let seg = prop_oneof![
        Just("users".to_string()),
        Just("groups".to_string()),
        Just("identity".to_string()),
        Just("conditionalAccess".to_string()),
        Just("policies".to_string()),
        Just("members".to_string()),
        Just("$ref".to_string()),
        Just("delta".to_string()),
        Just("$batch".to_string()),
        Just("directory".to_string()),
        Just("deletedItems".to_string()),
        Just("restore".to_string()),
        Just("namedLocations".to_string()),
        Just("applications(appId='x')".to_string()),
        Just("$count".to_string()),
        "[a-zA-Z0-9%'()=._-]{0,12}",
    ];
    prop::collection::vec(seg, 0..6).prop_map(|s| format!("/{}", s.join("/")))
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        Just(b"{}".to_vec()),
        Just(br#"{"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true}"#.to_vec()),
        Just(br#"{"requests": [{"id": "1", "method": "GET", "url": "/users"}]}"#.to_vec()),
        Just(br#"{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/x"}"#.to_vec()),
        "[{}\\[\\]\":,a-z0-9 ]{0,80}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Whatever arrives, the dispatcher answers with a Graph status below 500 (or a 503/504 it
    /// chose to send), never panics, and always with a request id.
    #[test]
    fn any_request_gets_a_graph_answer(
        method in prop_oneof![Just(GMethod::Get), Just(GMethod::Post), Just(GMethod::Patch), Just(GMethod::Delete), Just(GMethod::Put)],
        path in path_strategy(),
        query in prop::collection::vec(("\\$?(select|filter|top|count|skiptoken|deltatoken|x)", "[ -~]{0,20}"), 0..3),
        body in body_strategy(),
    ) {
        let (mut t, token) = writer_tenant();
        let req = GraphRequest { method, path, query, headers: vec![("authorization".into(), format!("Bearer {token}"))], body };
        let resp = t.handle("http://127.0.0.1:1", &req);
        prop_assert!(resp.status < 500, "status {} for {:?}", resp.status, req);
        prop_assert!(resp.headers.iter().any(|(k, _)| k == "request-id"));
    }
}
