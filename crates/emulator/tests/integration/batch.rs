//! `$batch`: the 20-request cap, unique ids, `dependsOn` with 424, per-request statuses.

use serde_json::{Value, json};

use crate::harness::Harness;

#[tokio::test]
async fn batches_run_in_dependency_order_and_fail_dependents() {
    let h = Harness::start().await;
    let body = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"},
         "body": {"displayName": "Batch group", "mailEnabled": false, "mailNickname": "batch", "securityEnabled": true}},
        {"id": "2", "method": "GET", "url": "/groups?$filter=displayName eq 'Batch group'", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/users/00000000-0000-0000-0000-00000000dead"},
        {"id": "4", "method": "GET", "url": "/groups", "dependsOn": ["3"]},
    ]});
    let r = h.post("/$batch", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let responses = r.body["responses"].as_array().unwrap();
    let status =
        |id: &str| responses.iter().find(|x| x["id"] == id).unwrap()["status"].as_u64().unwrap();
    assert_eq!((status("1"), status("2"), status("3"), status("4")), (201, 200, 404, 424));
    let two = responses.iter().find(|x| x["id"] == "2").unwrap();
    assert_eq!(two["body"]["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_batches_are_rejected_whole() {
    let h = Harness::start().await;
    let req = |id: usize| json!({"id": id.to_string(), "method": "GET", "url": "/users"});
    let too_many = json!({"requests": (0..21).map(req).collect::<Vec<Value>>()});
    assert_eq!(h.post("/$batch", &too_many).await.status, 400);
    let dup = json!({"requests": [req(1), req(1)]});
    assert_eq!(h.post("/$batch", &dup).await.status, 400);
    let no_type =
        json!({"requests": [{"id": "1", "method": "POST", "url": "/groups", "body": {}}]});
    assert_eq!(h.post("/$batch", &no_type).await.status, 400);
    let dangling =
        json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]});
    assert_eq!(h.post("/$batch", &dangling).await.status, 400);
    let reader_write = json!({"requests": [{"id": "1", "method": "DELETE", "url": "/identity/conditionalAccess/policies/x"}]});
    let r = h.send(&h.reader, reqwest::Method::POST, "/$batch", Some(&reader_write), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["responses"][0]["status"], 403, "permissions apply per request");
}
