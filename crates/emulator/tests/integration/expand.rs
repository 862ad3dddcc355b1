//! `$expand` on lists: owners and members with a nested `$select`, Graph's caps of 100 objects a
//! page and 20 items per relationship, and refusals where Graph refuses.

use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn owners_expand_with_nested_select_and_twenty_item_cap() {
    let h = Harness::start().await;
    let r = h
        .post(
            "/groups",
            &json!({"displayName": "Many owners", "mailEnabled": false,
            "mailNickname": "many", "securityEnabled": true}),
        )
        .await;
    let group = r.body["id"].as_str().unwrap().to_string();
    for i in 0..22 {
        let u = h.new_user(&format!("owner{i}")).await;
        let r = h
            .post(
                &format!("/groups/{group}/owners/$ref"),
                &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{u}")}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    let page = h.get("/groups?$select=id&$expand=owners($select=id)&$top=999").await;
    assert_eq!(page.status, 200, "{}", page.text);
    let items = page.body["value"].as_array().unwrap();
    assert!(items.len() <= 100, "an expanded page has at most 100 objects");
    let g = items.iter().find(|g| g["id"] == group.as_str()).unwrap();
    let owners = g["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 20, "an expanded relationship has at most 20 items");
    assert_eq!(owners[0]["@odata.type"], "#microsoft.graph.user");
    assert!(owners[0].get("displayName").is_none(), "nested $select applies");
    assert_eq!(h.get_all(&format!("/groups/{group}/owners")).await.len(), 22);
}

#[tokio::test]
async fn expand_is_refused_where_graph_refuses_it() {
    let h = Harness::start().await;
    let r = h.get("/users?$expand=owners").await;
    assert_eq!((r.status, r.code()), (400, "Request_BadRequest"), "{}", r.text);
    let r = h.get("/users/delta?$expand=manager").await;
    assert_eq!((r.status, r.code()), (400, "Request_UnsupportedQuery"), "{}", r.text);
    let r = h.get("/groups?$expand=owners($top=5)").await;
    assert_eq!((r.status, r.code()), (400, "Request_UnsupportedQuery"), "{}", r.text);
}

#[tokio::test]
async fn contained_relationships_expand_in_full() {
    let h = Harness::start().await;
    let sps = h.get_all("/servicePrincipals?$select=id&$expand=appRoleAssignedTo").await;
    let assigned: usize =
        sps.iter().map(|s| s["appRoleAssignedTo"].as_array().unwrap().len()).sum();
    assert!(assigned > 0, "the default tenant has app role assignments");
    let apps = h.get_all("/applications?$select=id&$expand=federatedIdentityCredentials").await;
    assert!(apps.iter().all(|a| a["federatedIdentityCredentials"].is_array()));
}
