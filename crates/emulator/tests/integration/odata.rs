//! `OData` query options and envelopes: paging with Graph's page sizes, `$select`, `$filter`,
//! `$count` with `ConsistencyLevel: eventual`, default property sets, evolvable enums.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn users_page_with_default_and_maximum_sizes() {
    let h = Harness::with_users(250).await;
    let first = h.get("/users").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body["value"].as_array().unwrap().len(), 100, "default page is 100");
    assert!(first.body["@odata.context"].as_str().unwrap().ends_with("/v1.0/$metadata#users"));
    let next = first.body["@odata.nextLink"].as_str().unwrap();
    assert!(next.contains("$skiptoken="), "{next}");
    let all = h.get_all("/users").await;
    let ids: HashSet<&str> = all.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "no duplicates across pages");
    assert_eq!(all.len(), 256, "250 staff + 2 break-glass + 3 admins + 1 guest");
    let max = h.get("/users?$top=999").await;
    assert_eq!(max.body["value"].as_array().unwrap().len(), 256);
    assert!(max.body.get("@odata.nextLink").is_none());
    let over = h.get("/users?$top=1000").await;
    assert_eq!((over.status, over.code()), (400, "Request_BadRequest"));
    let small = h.get_all("/users?$top=7&$select=id").await;
    assert_eq!(small.len(), 256);
}

#[tokio::test]
async fn select_restricts_and_validates_properties() {
    let h = Harness::start().await;
    let r = h.get("/users?$select=displayName,createdDateTime,securityIdentifier").await;
    let u = &r.body["value"][0];
    assert_eq!(u.as_object().unwrap().len(), 3, "{u}");
    assert!(u["securityIdentifier"].as_str().unwrap().starts_with("S-1-12-1-"));
    assert!(
        r.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("#users(displayName,createdDateTime,securityIdentifier)")
    );
    let r = h.get("/users?$select=shoeSize").await;
    assert_eq!((r.status, r.code()), (400, "Request_BadRequest"));
    let def = h.get("/users?$top=1").await;
    assert!(
        def.body["value"][0].get("accountEnabled").is_none(),
        "users default to the default property set"
    );
    let full = h.get("/applications?$top=1").await;
    assert!(full.body["value"][0].get("requiredResourceAccess").is_some());
}

#[tokio::test]
async fn filter_forms_clients_use() {
    let h = Harness::start().await;
    let r = h.get("/users?$filter=startswith(displayName,'Break Glass')").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 2, "{}", r.text);
    let id = r.body["value"][0]["id"].as_str().unwrap().to_string();
    let r = h.get(&format!("/users?$filter=id eq '{id}'")).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = h
        .get(&format!("/users?$filter=id in ('{id}', '00000000-0000-0000-0000-000000000000')"))
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = h.get("/identity/conditionalAccess/policies?$filter=state eq 'enabledForReportingButNotEnforced'").await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r = h.get("/users?$filter=displayName eqq 'x'").await;
    assert_eq!((r.status, r.code()), (400, "Request_UnsupportedQuery"));
}

#[tokio::test]
async fn count_needs_eventual_consistency_on_directory_objects() {
    let h = Harness::start().await;
    let r = h.get("/users?$count=true").await;
    assert_eq!(r.status, 400);
    let r = h
        .send(
            &h.reader,
            Method::GET,
            "/users?$count=true&$top=5",
            None,
            &[("ConsistencyLevel", "eventual")],
        )
        .await;
    assert_eq!(r.body["@odata.count"], 31);
    let next = r.body["@odata.nextLink"].as_str().unwrap().to_string();
    let r2 = h.send(&h.reader, Method::GET, &next, None, &[("ConsistencyLevel", "eventual")]).await;
    assert!(r2.body.get("@odata.count").is_none(), "count only on the first page");
    let r = h
        .send(&h.reader, Method::GET, "/groups/$count", None, &[("ConsistencyLevel", "eventual")])
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text.trim(), "15");
    let r = h.get("/identity/conditionalAccess/policies?$count=true").await;
    assert_eq!(r.body["@odata.count"], 7, "policies count without the header");
}

#[tokio::test]
async fn evolvable_enum_members_need_the_prefer_header() {
    let h = Harness::start().await;
    let body = json!({"displayName": "Risk remediation", "state": "disabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "AND", "builtInControls": ["mfa", "riskRemediation"]}});
    let r = h.post("/identity/conditionalAccess/policies", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    let plain = h.get(&format!("/identity/conditionalAccess/policies/{id}")).await;
    assert_eq!(
        plain.body["grantControls"]["builtInControls"],
        json!(["mfa", "unknownFutureValue"])
    );
    let opted = h
        .send(
            &h.reader,
            Method::GET,
            &format!("/identity/conditionalAccess/policies/{id}"),
            None,
            &[("Prefer", "include-unknown-enum-members")],
        )
        .await;
    assert_eq!(opted.body["grantControls"]["builtInControls"], json!(["mfa", "riskRemediation"]));
}

#[tokio::test]
async fn every_response_carries_request_ids() {
    let h = Harness::start().await;
    let r =
        h.send(&h.reader, Method::GET, "/groups", None, &[("client-request-id", "abc-123")]).await;
    assert_eq!(r.header("client-request-id"), Some("abc-123"));
    assert!(r.header("request-id").is_some());
    assert_eq!(r.header("odata-version"), Some("4.0"));
    let r = h.get("/groups/nope").await;
    assert_eq!(r.body["error"]["innerError"]["request-id"].as_str(), r.header("request-id"));
}
