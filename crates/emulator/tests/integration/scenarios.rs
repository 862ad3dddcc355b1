//! Incident scenarios replayed through the Graph API: each one changes what it says it changes,
//! is attributed in the audit log to its own actor, and describes itself at
//! `/_emulator/scenarios/{name}`.

use serde_json::{Value, json};

use crate::harness::Harness;

async fn admin(h: &Harness, method: reqwest::Method, path: &str) -> (u16, Value) {
    let r = h
        .http
        .request(method, format!("{}/_emulator/{path}", h.emu.info.graph_url))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn run(h: &Harness, name: &str) -> Value {
    let (status, before) = admin(h, reqwest::Method::GET, &format!("scenarios/{name}")).await;
    assert_eq!((status, &before["ran"]), (200, &json!(false)));
    let (status, report) = admin(h, reqwest::Method::POST, &format!("scenarios/{name}")).await;
    assert_eq!(status, 200);
    assert_eq!(report["ran"], true);
    for step in report["steps"].as_array().unwrap() {
        assert!(step["status"].as_u64().unwrap() < 300, "step failed: {step}");
    }
    let (_, after) = admin(h, reqwest::Method::GET, &format!("scenarios/{name}")).await;
    assert_eq!(after, report, "the report stays readable");
    report
}

async fn audit_by(h: &Harness, field: &str, id: &str) -> Vec<Value> {
    h.get_all(&format!("/auditLogs/directoryAudits?$filter=initiatedBy/{field} eq '{id}'")).await
}

#[tokio::test]
async fn attacker_escalates_and_weakens_policies_under_its_own_name() {
    let h = Harness::start().await;
    let report = run(&h, "attacker").await;
    let actor = report["actor"]["id"].as_str().unwrap().to_string();
    assert_eq!(report["actor"]["display_name"], "Contoso Automation");
    let records = audit_by(&h, "app/servicePrincipalId", &actor).await;
    let activities: Vec<&str> =
        records.iter().rev().map(|r| r["activityDisplayName"].as_str().unwrap()).collect();
    assert_eq!(
        activities,
        [
            "Update application – Certificates and secrets management ",
            "Add member to role",
            "Update conditional access policy",
            "Update conditional access policy",
            "Add federated identity credential",
        ]
    );
    let ga = h.get_all("/roleManagement/directory/roleAssignments").await;
    assert!(ga.iter().any(|a| a["principalId"] == actor.as_str()
        && a["roleDefinitionId"] == "62e90394-69f5-4237-9190-012177145e10"));
    let bg = h.id_named("/groups", "CA - Break Glass Accounts - Exclude").await;
    let policies = h.get_all("/identity/conditionalAccess/policies").await;
    let ca001 =
        policies.iter().find(|p| p["displayName"].as_str().unwrap().starts_with("CA001")).unwrap();
    assert!(
        !ca001["conditions"]["users"]["excludeGroups"].as_array().unwrap().contains(&json!(bg))
    );
    let ca000 =
        policies.iter().find(|p| p["displayName"].as_str().unwrap().starts_with("CA000")).unwrap();
    assert_eq!(ca000["state"], "enabledForReportingButNotEnforced");
    let prov = h.id_named("/applications", "Contoso Provisioning").await;
    let app = h.get(&format!("/applications/{prov}")).await;
    assert!(
        app.body["passwordCredentials"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["displayName"] == "sync-backup")
    );
    assert_eq!(
        h.get_all(&format!("/applications/{prov}/federatedIdentityCredentials")).await.len(),
        1
    );
}

#[tokio::test]
async fn lockout_policy_is_created_by_the_ca_administrator() {
    let h = Harness::start().await;
    let report = run(&h, "lockout-policy").await;
    assert_eq!(report["actor"]["kind"], "user");
    let records = audit_by(&h, "user/id", report["actor"]["id"].as_str().unwrap()).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["activityDisplayName"], "Add conditional access policy");
    assert!(
        records[0]["initiatedBy"]["user"]["userPrincipalName"]
            .as_str()
            .unwrap()
            .starts_with("nestor.wilke@")
    );
    let id = report["steps"][0]["id"].as_str().unwrap();
    let p = h.get(&format!("/identity/conditionalAccess/policies/{id}")).await;
    assert_eq!(
        (
            p.body["state"].as_str(),
            p.body["conditions"]["users"]["excludeGroups"].as_array().map(Vec::len)
        ),
        (Some("enabled"), Some(0))
    );
    assert_eq!(p.body["grantControls"]["builtInControls"], json!(["block"]));
}

#[tokio::test]
async fn mass_delete_removes_a_tenth_and_purges_some_groups() {
    let h = Harness::with_users(200).await;
    let users_before = h.get_all("/users?$select=id").await.len();
    let synced = |users: Vec<Value>| {
        users.iter().filter(|u| u["onPremisesSyncEnabled"] == json!(true)).count()
    };
    let synced_before = synced(h.get_all("/users?$select=id,onPremisesSyncEnabled").await);
    assert!(synced_before > 0);
    let groups_before = h.get_all("/groups?$select=id").await.len();
    let service_accounts = h.id_named("/groups", "CA - Service Accounts").await;
    let report = run(&h, "mass-delete").await;
    let steps = report["steps"].as_array().unwrap();
    let deleted_users = steps.iter().filter(|s| s["kind"] == "users").count();
    // A tenth of the accounts a cloud script can delete: synced ones cannot be (Graph refuses
    // writes to objects mastered on-premises), and the named administrators are spared.
    assert!(
        (users_before / 20..=users_before / 8).contains(&deleted_users),
        "{deleted_users} of {users_before}"
    );
    assert_eq!(
        synced(h.get_all("/users?$select=id,onPremisesSyncEnabled").await),
        synced_before,
        "no synced account deleted"
    );
    assert_eq!(h.get_all("/users?$select=id").await.len(), users_before - deleted_users);
    assert_eq!(
        h.get_all("/directory/deletedItems/microsoft.graph.user").await.len(),
        deleted_users
    );
    assert!(steps.iter().any(|s| s["id"] == service_accounts.as_str() && s["action"] == "delete"));
    assert_eq!(
        h.get(&format!("/directory/deletedItems/{service_accounts}")).await.status,
        404,
        "a security group is gone for good"
    );
    assert!(h.get_all("/groups?$select=id").await.len() < groups_before);
    let actor = report["actor"]["id"].as_str().unwrap();
    assert_eq!(audit_by(&h, "app/servicePrincipalId", actor).await.len(), steps.len());
}

#[tokio::test]
async fn script_gone_wrong_rewrites_users_and_empties_a_ca_group() {
    let h = Harness::start().await;
    let report = run(&h, "script-gone-wrong").await;
    let updated =
        report["steps"].as_array().unwrap().iter().filter(|s| s["action"] == "update").count();
    assert_eq!(updated, 4, "a fifth of the staff a script may write (cloud-only, no role)");
    let unassigned = h.get_all("/users?$filter=department eq 'Unassigned'&$select=id").await;
    assert_eq!(unassigned.len(), updated);
    let admins = h.id_named("/groups", "Privileged Admins").await;
    assert!(h.get_all(&format!("/groups/{admins}/members")).await.is_empty());
    let ca100 = h
        .get_all("/identity/conditionalAccess/policies")
        .await
        .into_iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA100"))
        .unwrap();
    assert!(
        ca100["conditions"]["users"]["includeGroups"].as_array().unwrap().contains(&json!(admins)),
        "the emptied group is one a CA policy includes"
    );
}

#[tokio::test]
async fn unknown_scenarios_are_refused_with_the_list() {
    let h = Harness::start().await;
    let (status, body) = admin(&h, reqwest::Method::POST, "scenarios/ransomware").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("lockout-policy"));
}
