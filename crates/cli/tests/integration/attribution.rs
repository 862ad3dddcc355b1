//! Who changed what, by identity: the audit records that explain a change and only those, each
//! used once; Rewind's own writes credited to Rewind; actors named by any identifier, and a
//! display name two identities share refused.

use serde_json::{Value, json};

use super::restore::{app_and_role, graph, graph_as, run_json, snapshot};
use super::timeline::{Setup, code, stderr};

/// The kinds and ids of what changed from `from` on, with the labels and types of who did it.
fn changes(s: &Setup, from: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    let report = s.json(&["changes", "--from", from, "--json"]);
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let kinds = c["actor_identities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["type"].as_str().unwrap().to_string())
                .collect();
            let labels = c["actors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            (
                format!("{}/{}", c["kind"].as_str().unwrap(), c["id"].as_str().unwrap()),
                labels,
                kinds,
            )
        })
        .collect()
}

/// The bug: the audit overlap credited Rewind's fix to the attacker too, so a second undo of
/// the attacker planned to put the attack back. Now the fix is Rewind's alone, and undoing the
/// attacker again finds nothing to do.
#[test]
fn an_actor_undo_is_credited_to_rewind_and_a_second_one_plans_nothing() {
    let s = Setup::new(&[]);
    let first = snapshot(&s);
    let created =
        s.json(&["history", "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA", "--json"]);
    assert_eq!(created["versions"][0]["actors"], json!([]), "a first capture credits nobody");
    s.scenario("attacker");
    let attacked = snapshot(&s);
    for (object, labels, _) in changes(&s, &first) {
        assert_eq!(labels, ["Contoso Automation"], "{object}");
    }
    let (rc, undo) = run_json(
        &s,
        &["restore", "--changed-by", "Contoso Automation", "--since", &first, "--yes"],
    );
    assert_eq!((rc, &undo["converged"]), (0, &json!(true)), "{undo}");
    let fixed = changes(&s, &attacked);
    assert!(!fixed.is_empty());
    for (object, labels, kinds) in fixed {
        assert_eq!(
            (labels, kinds),
            (vec!["Rewind Writer".to_string()], vec!["rewind".to_string()]),
            "{object}"
        );
    }
    let (rc, again) = run_json(
        &s,
        &["restore", "--changed-by", "Contoso Automation", "--since", &first, "--dry-run"],
    );
    assert_eq!(rc, 0, "{again}");
    assert_eq!(again["plan"]["steps"], json!([]), "the attack must not come back: {again}");
}

/// Another app named like the real automation: its changes are its own, `--changed-by` by name
/// is refused naming both, and by application id or object id it means one of them.
#[test]
fn a_display_name_two_identities_share_is_refused_and_ids_are_not() {
    let s = Setup::new(&[]);
    let first = snapshot(&s);
    s.scenario("attacker");
    let (impostor_app, impostor_secret) = impostor(&s, "Contoso Automation");
    let (_, groups) = graph(&s, "GET", "/groups?$top=1", None);
    let group = groups["value"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = graph_as(
        &s,
        (&impostor_app, &impostor_secret),
        "PATCH",
        &format!("/groups/{group}"),
        Some(json!({"description": "changed by the impostor"})),
    );
    assert_eq!(status, 204, "{body}");
    snapshot(&s);
    let by_name =
        s.run(&["restore", "--changed-by", "Contoso Automation", "--since", &first, "--dry-run"]);
    assert_eq!(code(&by_name), Some(2), "{}", stderr(&by_name));
    let why = stderr(&by_name);
    assert!(why.contains("2 different identities") && why.contains(&impostor_app), "{why}");
    let (rc, plan) =
        run_json(&s, &["restore", "--changed-by", &impostor_app, "--since", &first, "--dry-run"]);
    assert_eq!(rc, 0, "{plan}");
    let objects: Vec<&str> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["id"].as_str().unwrap())
        .collect();
    assert_eq!(objects, [group.as_str()], "only the impostor's change: {plan}");
    // `changes --actor` takes the same identifiers.
    let listed = s.json(&["changes", "--from", &first, "--actor", &impostor_app, "--json"]);
    assert_eq!(listed["changes"].as_array().unwrap().len(), 1, "{listed}");
    let refused = s.run(&["changes", "--from", &first, "--actor", "Contoso Automation"]);
    assert_eq!(code(&refused), Some(2), "{}", stderr(&refused));
}

/// Creates an app and service principal named `name`, with a secret and `Group.ReadWrite.All`;
/// returns its application id and secret.
fn impostor(s: &Setup, name: &str) -> (String, String) {
    let (_, app) = graph(s, "POST", "/applications", Some(json!({"displayName": name})));
    let app_id = app["appId"].as_str().unwrap().to_string();
    let (status, sp) = graph(s, "POST", "/servicePrincipals", Some(json!({"appId": app_id})));
    assert_eq!(status, 201, "{sp}");
    let (_, password) = graph(
        s,
        "POST",
        &format!("/applications/{}/addPassword", app["id"].as_str().unwrap()),
        Some(json!({"passwordCredential": {"displayName": "impostor"}})),
    );
    let secret = password["secretText"].as_str().unwrap().to_string();
    let (graph_sp, role) =
        app_and_role(s, "00000003-0000-0000-c000-000000000000", "Group.ReadWrite.All");
    let (status, grant): (u16, Value) = graph(
        s,
        "POST",
        &format!("/servicePrincipals/{graph_sp}/appRoleAssignedTo"),
        Some(json!({"principalId": sp["id"], "resourceId": graph_sp, "appRoleId": role})),
    );
    assert_eq!(status, 201, "{grant}");
    (app_id, secret)
}
