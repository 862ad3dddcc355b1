//! The directory audit log: one record per write, attributed to the calling app, with the
//! target and its modified properties; filterable by time, category, activity and initiator.

use serde_json::{Value, json};

use crate::harness::Harness;

#[tokio::test]
async fn every_write_is_audited_with_its_initiator() {
    let h = Harness::start().await;
    assert!(
        h.get_all("/auditLogs/directoryAudits").await.is_empty(),
        "a fresh tenant has no history"
    );
    let writer = h.client_id(rewind_emulator::Access::Write);
    let tick = || {
        h.emu.with_tenant(|t| t.advance_clock(jiff::SignedDuration::from_secs(60)));
    };
    let user = h.new_user("audited.user").await;
    tick();
    h.patch(&format!("/users/{user}"), &json!({"department": "Audit"})).await;
    let finance = h.id_named("/groups", "Finance").await;
    tick();
    h.post(
        &format!("/groups/{finance}/members/$ref"),
        &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user}")}),
    )
    .await;
    let ca = h
        .id_named(
            "/identity/conditionalAccess/policies",
            "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
        )
        .await;
    tick();
    h.patch(
        &format!("/identity/conditionalAccess/policies/{ca}"),
        &json!({"state": "enabledForReportingButNotEnforced"}),
    )
    .await;
    tick();
    h.delete(&format!("/users/{user}")).await;
    tick();
    h.post(&format!("/directory/deletedItems/{user}/restore"), &json!({})).await;

    let records = h.get_all("/auditLogs/directoryAudits").await;
    let activities: Vec<&str> =
        records.iter().map(|r| r["activityDisplayName"].as_str().unwrap()).collect();
    assert_eq!(
        activities,
        [
            "Restore user",
            "Delete user",
            "Update conditional access policy",
            "Add member to group",
            "Update user",
            "Add user"
        ],
        "newest first"
    );
    for r in &records {
        assert_eq!(r["initiatedBy"]["app"]["appId"], writer.as_str());
        assert_eq!(r["initiatedBy"]["app"]["displayName"], "Rewind Writer");
        assert_eq!(r["result"], "success");
    }
    let update = records.iter().find(|r| r["activityDisplayName"] == "Update user").unwrap();
    assert_eq!(update["category"], "UserManagement");
    assert_eq!(update["targetResources"][0]["id"], user.as_str());
    let dept = update["targetResources"][0]["modifiedProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["displayName"] == "department")
        .unwrap();
    assert_eq!(
        (dept["oldValue"].as_str(), dept["newValue"].as_str()),
        (Some(""), Some("\"Audit\""))
    );
    let policy = records.iter().find(|r| r["category"] == "Policy").unwrap();
    assert_eq!(policy["loggedByService"], "Conditional Access");
    let change: Value = serde_json::from_str(
        policy["targetResources"][0]["modifiedProperties"][0]["newValue"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(change["state"], "enabledForReportingButNotEnforced");

    let since = records[2]["activityDateTime"].as_str().unwrap();
    let filtered = h.get_all(&format!("/auditLogs/directoryAudits?$filter=activityDateTime ge {since} and category eq 'UserManagement'")).await;
    assert_eq!(filtered.len(), 2, "{filtered:?}");
    let by_target = h
        .get_all(&format!(
            "/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id eq '{user}')"
        ))
        .await;
    assert_eq!(by_target.len(), 5);
    let by_app = h
        .get_all(&format!("/auditLogs/directoryAudits?$filter=initiatedBy/app/appId eq '{writer}'"))
        .await;
    assert_eq!(by_app.len(), 6);
    let one =
        h.get(&format!("/auditLogs/directoryAudits/{}", records[0]["id"].as_str().unwrap())).await;
    assert_eq!(one.body["activityDisplayName"], "Restore user");
}

/// With audit latency on, each record reaches the log on its own time within the window: none
/// at once, all by its end, and not in the order the writes were made.
#[tokio::test]
async fn late_records_arrive_out_of_order_within_the_window() {
    let h = Harness::start().await;
    let r = h.set_faults(&json!({"audit_latency_s": 300})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Cloud-only users: Graph refuses cloud writes to synchronised ones.
    let users: Vec<Value> = h
        .get_all("/users?$select=id,onPremisesSyncEnabled")
        .await
        .into_iter()
        .filter(|u| u["onPremisesSyncEnabled"] != true)
        .collect();
    let tick = |s: i64| {
        h.emu.with_tenant(|t| t.advance_clock(jiff::SignedDuration::from_secs(s)));
    };
    let mut written = Vec::new();
    for (i, u) in users.iter().take(12).enumerate() {
        let id = u["id"].as_str().unwrap().to_string();
        h.patch(&format!("/users/{id}"), &json!({"jobTitle": format!("Title {i}")})).await;
        written.push(id);
        tick(1);
    }
    let mut arrived: Vec<String> = Vec::new();
    let mut seen_at_start = None;
    for _ in 0..32 {
        let r = h.get_fresh("/auditLogs/directoryAudits").await;
        let mut now: Vec<(String, String)> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rec| {
                (
                    rec["activityDateTime"].as_str().unwrap().to_string(),
                    rec["targetResources"][0]["id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        now.sort();
        seen_at_start.get_or_insert(now.len());
        for (_, target) in now {
            if !arrived.contains(&target) {
                arrived.push(target);
            }
        }
        tick(10);
    }
    assert_eq!(seen_at_start, Some(0), "nothing readable at once");
    assert_eq!(arrived.len(), written.len(), "everything readable by the window's end");
    assert_ne!(arrived, written, "records arrive out of order");
}
