//! The directory recycle bin and CA deleted items: restore keeps the id and the links, security
//! groups are deleted for good, permanent delete, and purge after 30 days by the clock.

use jiff::SignedDuration;
use reqwest::Method;
use rewind_emulator::Access;
use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn soft_deleted_users_come_back_with_their_id_and_memberships() {
    let h = Harness::start().await;
    let finance = h.id_named("/groups", "Finance").await;
    let members = h.get_all(&format!("/groups/{finance}/members")).await;
    let victim = members[0]["id"].as_str().unwrap().to_string();
    assert_eq!(h.delete(&format!("/users/{victim}")).await.status, 204);
    assert_eq!(h.get(&format!("/users/{victim}")).await.status, 404);
    assert!(
        !h.get_all(&format!("/groups/{finance}/members"))
            .await
            .iter()
            .any(|m| m["id"] == victim.as_str())
    );
    // Paged like every directory list: a second deleted user shows on the second page of one.
    let other = members[1]["id"].as_str().unwrap().to_string();
    assert_eq!(h.delete(&format!("/users/{other}")).await.status, 204);
    let first = h.get("/directory/deletedItems/microsoft.graph.user?$top=1").await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 1);
    assert!(first.body["@odata.nextLink"].is_string(), "{}", first.text);
    let bin = h.get_all("/directory/deletedItems/microsoft.graph.user?$top=1").await;
    assert_eq!(bin.len(), 2, "both pages");
    let item = bin.iter().find(|u| u["id"] == victim.as_str()).expect("in the recycle bin");
    assert!(item["deletedDateTime"].is_string());
    assert_eq!(h.get("/directory/deletedItems").await.status, 400, "listing needs a type cast");
    let r = h.post(&format!("/directory/deletedItems/{victim}/restore"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["@odata.type"], "#microsoft.graph.user");
    assert_eq!(r.body["id"], victim.as_str());
    assert!(
        h.get_all(&format!("/groups/{finance}/members"))
            .await
            .iter()
            .any(|m| m["id"] == victim.as_str()),
        "membership restored"
    );
}

#[tokio::test]
async fn security_groups_are_hard_deleted_and_m365_groups_recoverable() {
    let h = Harness::start().await;
    let finance = h.id_named("/groups", "Finance").await;
    assert_eq!(h.delete(&format!("/groups/{finance}")).await.status, 204);
    assert_eq!(
        h.get(&format!("/directory/deletedItems/{finance}")).await.status,
        404,
        "security groups skip the bin"
    );
    let staff = h.id_named("/groups", "All Staff").await;
    assert_eq!(h.delete(&format!("/groups/{staff}")).await.status, 204);
    assert_eq!(h.get(&format!("/directory/deletedItems/{staff}")).await.status, 200);
    assert_eq!(
        h.delete(&format!("/directory/deletedItems/{staff}")).await.status,
        204,
        "permanent delete"
    );
    assert_eq!(
        h.post(&format!("/directory/deletedItems/{staff}/restore"), &json!({})).await.status,
        404
    );
}

#[tokio::test]
async fn the_bin_is_purged_after_thirty_days() {
    let h = Harness::start().await;
    let user = h.new_user("short.lived").await;
    h.delete(&format!("/users/{user}")).await;
    let path = format!("/directory/deletedItems/{user}");
    h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_hours(24 * 29)));
    let token = h.token(Access::Read).await;
    assert_eq!(h.send(&token, Method::GET, &path, None, &[]).await.status, 200);
    h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_hours(48)));
    let token = h.token(Access::Read).await;
    assert_eq!(h.send(&token, Method::GET, &path, None, &[]).await.status, 404);
}

#[tokio::test]
async fn deleted_ca_policies_restore_and_purge() {
    let h = Harness::start().await;
    let id = h
        .id_named(
            "/identity/conditionalAccess/policies",
            "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
        )
        .await;
    assert_eq!(h.delete(&format!("/identity/conditionalAccess/policies/{id}")).await.status, 204);
    let deleted = h.get_all("/identity/conditionalAccess/deletedItems/policies").await;
    assert!(deleted.iter().any(|p| p["id"] == id.as_str() && p["deletedDateTime"].is_string()));
    let r = h
        .post(
            &format!("/identity/conditionalAccess/deletedItems/policies/{id}/restore"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        h.get(&format!("/identity/conditionalAccess/policies/{id}")).await.body["deletedDateTime"],
        serde_json::Value::Null
    );
    let loc = h.id_named("/identity/conditionalAccess/namedLocations", "Contoso head office").await;
    h.delete(&format!("/identity/conditionalAccess/namedLocations/{loc}")).await;
    assert_eq!(
        h.delete(&format!("/identity/conditionalAccess/deletedItems/namedLocations/{loc}"))
            .await
            .status,
        204
    );
    assert_eq!(
        h.get(&format!("/identity/conditionalAccess/deletedItems/namedLocations/{loc}"))
            .await
            .status,
        404
    );
}
