//! Graph's rules on who may write which object: synchronised objects, groups whose members are
//! managed elsewhere, the last owner, directory roles for sensitive actions, an application's
//! service principal, identifier URIs, and writes that fail after they were applied.

use serde_json::{Value, json};

use crate::harness::Harness;

/// The first user (by id) whose `onPremisesSyncEnabled` is `synced`.
async fn user_synced(h: &Harness, synced: bool) -> String {
    h.get_all("/users?$select=id,onPremisesSyncEnabled")
        .await
        .into_iter()
        .find(|u| (u["onPremisesSyncEnabled"] == true) == synced)
        .and_then(|u| u["id"].as_str().map(str::to_string))
        .unwrap()
}

#[tokio::test]
async fn synchronised_objects_refuse_cloud_writes_but_cloud_ones_take_them() {
    let h = Harness::start().await;
    let synced = user_synced(&h, true).await;
    let r = h.patch(&format!("/users/{synced}"), &json!({"jobTitle": "x"})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("on-premises mastered"), "{}", r.text);
    assert_eq!(h.delete(&format!("/users/{synced}")).await.status, 400);
    let group = h.id_named("/groups", "SG-OnPrem-Engineering").await;
    let cloud = user_synced(&h, false).await;
    let r = h
        .post(
            &format!("/groups/{group}/members/$ref"),
            &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{cloud}")}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let r = h.patch(&format!("/users/{cloud}"), &json!({"jobTitle": "x"})).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

#[tokio::test]
async fn dynamic_and_exchange_groups_refuse_member_writes_with_403() {
    let h = Harness::start().await;
    let user = user_synced(&h, false).await;
    let bind =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")});
    for name in ["Sales (dynamic)", "Security Alerts", "Company Announcements"] {
        let group = h.id_named("/groups", name).await;
        let r = h.post(&format!("/groups/{group}/members/$ref"), &bind).await;
        assert_eq!(r.status, 403, "{name}: {}", r.text);
        assert_eq!(r.code(), "Authorization_RequestDenied");
        let r = h
            .patch(&format!("/groups/{group}"), &json!({"members@odata.bind": [bind["@odata.id"]]}))
            .await;
        assert_eq!(r.status, 403, "{name} by bind: {}", r.text);
    }
}

#[tokio::test]
async fn the_last_user_owner_of_a_group_cannot_be_removed() {
    let h = Harness::start().await;
    let r = h
        .post(
            "/groups",
            &json!({"displayName": "Owned", "mailEnabled": false, "mailNickname": "owned", "securityEnabled": true}),
        )
        .await;
    let group = r.body["id"].as_str().unwrap().to_string();
    let (a, b) = (h.new_user("owner-a").await, h.new_user("owner-b").await);
    for o in [&a, &b] {
        let r = h
            .post(
                &format!("/groups/{group}/owners/$ref"),
                &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{o}")}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    assert_eq!(h.delete(&format!("/groups/{group}/owners/{a}/$ref")).await.status, 204);
    let r = h.delete(&format!("/groups/{group}/owners/{b}/$ref")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("at least one owner"), "{}", r.text);
}

/// The role assignments that give the emulator's write app its directory roles.
async fn writer_role_assignments(h: &Harness) -> Vec<String> {
    let sp = writer_sp(h).await;
    h.get_all(&format!("/roleManagement/directory/roleAssignments?$filter=principalId eq '{sp}'"))
        .await
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn admins_and_applications_need_a_directory_role_not_only_a_permission() {
    let h = Harness::start().await;
    let bg = h
        .get_all("/users?$select=id,userPrincipalName")
        .await
        .into_iter()
        .find(|u| u["userPrincipalName"].as_str().unwrap().starts_with("bg-admin"))
        .and_then(|u| u["id"].as_str().map(str::to_string))
        .unwrap();
    let app = h.post("/applications", &json!({"displayName": "Inventory"})).await;
    let (app, app_id) = (
        app.body["id"].as_str().unwrap().to_string(),
        app.body["appId"].as_str().unwrap().to_string(),
    );
    let sp = h.post("/servicePrincipals", &json!({"appId": app_id})).await;
    let sp = sp.body["id"].as_str().unwrap().to_string();
    assert_eq!(h.delete(&format!("/applications/{app}")).await.status, 204);

    // The write app as seeded holds Privileged Authentication and Application Administrator.
    let assignments = writer_role_assignments(&h).await;
    assert_eq!(assignments.len(), 2);
    for a in &assignments {
        let r = h.delete(&format!("/roleManagement/directory/roleAssignments/{a}")).await;
        assert_eq!(r.status, 204, "{}", r.text);
    }
    let r = h.patch(&format!("/users/{bg}"), &json!({"accountEnabled": false})).await;
    assert_eq!(r.status, 403, "a break-glass account: {}", r.text);
    assert!(r.text.contains("directory role"), "{}", r.text);
    let r = h.post(&format!("/directory/deletedItems/{app}/restore"), &json!({})).await;
    assert_eq!(r.status, 403, "restoring an application: {}", r.text);

    // With Application Administrator the application comes back — without its service
    // principal, which went to the recycle bin with it.
    let r = h
        .post(
            "/roleManagement/directory/roleAssignments",
            &json!({"principalId": writer_sp(&h).await, "roleDefinitionId": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "directoryScopeId": "/"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = h.post(&format!("/directory/deletedItems/{app}/restore"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(h.get(&format!("/servicePrincipals/{sp}")).await.status, 404);
    let binned = h.get(&format!("/directory/deletedItems/{sp}")).await;
    assert_eq!(binned.status, 200, "{}", binned.text);
    let r = h.post(&format!("/directory/deletedItems/{sp}/restore"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn writer_sp(h: &Harness) -> String {
    let writer = h.client_id(rewind_emulator::Access::Write);
    h.get(&format!("/servicePrincipals(appId='{writer}')")).await.body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_api_uri_must_name_the_application_itself() {
    let h = Harness::start().await;
    let other = "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let r = h
        .post(
            "/applications",
            &json!({"displayName": "Reborn", "identifierUris": [format!("api://{other}")]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("own appId"), "{}", r.text);
    let r = h.post("/applications", &json!({"displayName": "Reborn"})).await;
    let (id, app_id) = (r.body["id"].as_str().unwrap(), r.body["appId"].as_str().unwrap());
    let r = h
        .patch(
            &format!("/applications/{id}"),
            &json!({"identifierUris": [format!("api://{app_id}")]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
}

#[tokio::test]
async fn a_write_can_fail_after_it_was_applied() {
    let h = Harness::start().await;
    let r = h.set_faults(&json!({"error_after_commit_rate": 1.0})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h
        .post(
            "/groups",
            &json!({"displayName": "Applied anyway", "mailEnabled": false, "mailNickname": "anyway", "securityEnabled": true}),
        )
        .await;
    assert_eq!(r.status, 500, "{}", r.text);
    h.set_faults(&json!({})).await;
    let found: Vec<Value> = h.get_all("/groups?$filter=displayName eq 'Applied anyway'").await;
    assert_eq!(found.len(), 1, "the group was created");
    let stats = crate::faults::stats(&h).await;
    assert_eq!(stats["failed_after_commit"], 1, "{stats}");
}

#[tokio::test]
async fn guests_are_invited_not_created() {
    let h = Harness::start().await;
    let domain = h.emu.with_tenant(|t| t.domain().to_string());
    let r = h
        .post(
            "/users",
            &json!({"accountEnabled": true, "displayName": "Sam", "mailNickname": "sam",
                "userPrincipalName": format!("sam_contoso.org#EXT#@{domain}"),
                "passwordProfile": {"password": "Xq7!rewind-Test"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    let invite = json!({"invitedUserEmailAddress": "sam@contoso.org", "invitedUserDisplayName": "Sam",
        "inviteRedirectUrl": "https://myapps.microsoft.com", "sendInvitationMessage": false});
    let r = h.post("/invitations", &invite).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["invitedUser"]["id"].as_str().unwrap().to_string();
    let user = h
        .get(&format!(
            "/users/{id}?$select=userPrincipalName,userType,creationType,externalUserState"
        ))
        .await;
    assert_eq!(user.body["userType"], "Guest");
    assert_eq!(user.body["creationType"], "Invitation");
    assert_eq!(user.body["externalUserState"], "PendingAcceptance");
    assert_eq!(user.body["userPrincipalName"], format!("sam_contoso.org#EXT#@{domain}"));
    // Inviting the same address again answers with the same guest.
    let again = h.post("/invitations", &invite).await;
    assert_eq!(again.body["invitedUser"]["id"], id.as_str());
}
