//! Members and owners through `$ref` and `@odata.bind`, with Graph's errors.

use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn members_by_ref_and_bind() {
    let h = Harness::start().await;
    let a = h.new_user("member.a").await;
    let b = h.new_user("member.b").await;
    let url = |id: &str| format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}");
    let r = h.post("/groups", &json!({"displayName": "Auditors", "mailEnabled": false, "mailNickname": "auditors", "securityEnabled": true,
        "members@odata.bind": [url(&a)], "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/users/{b}")]})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let g = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["securityIdentifier"].as_str().map(|s| s.starts_with("S-1-12-1-")),
        Some(true)
    );
    let members = h.get_all(&format!("/groups/{g}/members")).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["@odata.type"], "#microsoft.graph.user");
    assert_eq!(h.get_all(&format!("/groups/{g}/owners")).await[0]["id"], b.as_str());
    let r = h.post(&format!("/groups/{g}/members/$ref"), &json!({"@odata.id": url(&b)})).await;
    assert_eq!(r.status, 204);
    let dup = h.post(&format!("/groups/{g}/members/$ref"), &json!({"@odata.id": url(&b)})).await;
    assert_eq!((dup.status, dup.code()), (400, "Request_BadRequest"));
    assert_eq!(
        dup.body["error"]["message"],
        "One or more added object references already exist for the following modified properties: 'members'."
    );
    // A PATCH binding several members, one of them already there, fails as a whole.
    let c = h.new_user("member.c").await;
    let both = json!({"members@odata.bind": [url(&c), url(&b)]});
    let r = h.patch(&format!("/groups/{g}"), &both).await;
    assert_eq!((r.status, r.code()), (400, "Request_BadRequest"), "{}", r.text);
    assert_eq!(h.get_all(&format!("/groups/{g}/members")).await.len(), 2);
    let r = h.patch(&format!("/groups/{g}"), &json!({"members@odata.bind": [url(&c)]})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(h.get_all(&format!("/groups/{g}/members")).await.len(), 3);
    assert_eq!(h.delete(&format!("/groups/{g}/members/{c}/$ref")).await.status, 204);
    let unknown = h
        .post(
            &format!("/groups/{g}/members/$ref"),
            &json!({"@odata.id": url("00000000-0000-0000-0000-0000000000aa")}),
        )
        .await;
    assert_eq!((unknown.status, unknown.code()), (404, "Request_ResourceNotFound"));
    assert_eq!(h.delete(&format!("/groups/{g}/members/{b}/$ref")).await.status, 204);
    assert_eq!(h.delete(&format!("/groups/{g}/members/{b}/$ref")).await.status, 404);
    let too_many: Vec<String> = (0..21).map(|_| url(&a)).collect();
    let r = h.post("/groups", &json!({"displayName": "Big", "mailEnabled": false, "mailNickname": "big", "securityEnabled": true, "members@odata.bind": too_many})).await;
    assert_eq!(r.status, 400, "at most 20 binds per request");
}

#[tokio::test]
async fn members_page_like_any_collection() {
    let h = Harness::with_users(120).await;
    let all_staff = h.id_named("/groups", "All Staff").await;
    let first = h.get(&format!("/groups/{all_staff}/members")).await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 100);
    assert_eq!(
        h.get_all(&format!("/groups/{all_staff}/members")).await.len(),
        121,
        "120 staff and a nested group"
    );
}
