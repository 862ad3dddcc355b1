//! `rewind exposure` end to end: who each policy excludes in the emulated tenant, and the
//! classic way around Conditional Access — adding oneself to an exclusion group, directly or
//! through a nested group — found with the path, by `exposure --from` (exit code 6) and by
//! watch's `policy-exclusion-grew` rule.

use serde_json::{Value, json};

use super::restore::{graph, id_where};
use super::timeline::{Setup, code, stderr};

fn exposure(s: &Setup, args: &[&str]) -> (i32, String) {
    let mut all = vec!["exposure"];
    all.extend_from_slice(args);
    let out = s.run(&all);
    (code(&out).unwrap(), format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out)))
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\dT[\d:.]+Z", "[time]");
    settings.add_filter(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[id]");
    settings
}

/// Puts `member` into `group` (`/groups/{id}/members/$ref`).
fn add_member(s: &Setup, group: &str, member: &str) {
    let (status, body) = graph(
        s,
        "POST",
        &format!("/groups/{group}/members/$ref"),
        Some(
            json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")}),
        ),
    );
    assert_eq!(status, 204, "{body}");
}

#[test]
fn an_exclusion_gained_through_a_nested_group_is_found_with_its_path() {
    let s = Setup::new(&["--users", "30"]);
    s.json(&["capture", "--json"]);
    let (rc, listing) = exposure(&s, &[]);
    assert_eq!(rc, 0, "{listing}");
    settings().bind(|| insta::assert_snapshot!("exposure", listing));

    // Mallory nests a group of her own into the service-accounts exclusion group.
    let excluded = id_where(&s, "/groups", |g| {
        g["displayName"].as_str().is_some_and(|n| n.contains("Service Accounts"))
    });
    let mallory =
        id_where(&s, "/users", |u| u["jobTitle"].as_str().is_some_and(|t| t.starts_with("Sales")));
    let (status, nested) = graph(
        &s,
        "POST",
        "/groups",
        Some(
            json!({"displayName": "Helpdesk tools", "mailEnabled": false, "mailNickname": "helpdesk-tools",
            "securityEnabled": true}),
        ),
    );
    assert_eq!(status, 201, "{nested}");
    let nested = nested["id"].as_str().unwrap().to_string();
    add_member(&s, &nested, &mallory);
    add_member(&s, &excluded, &nested);
    s.json(&["capture", "--json"]);

    let out = s.run(&["exposure", "--from", "1", "--json"]);
    assert_eq!(code(&out), Some(6), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["grew"], true, "{v}");
    let added: Vec<&Value> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["added"].as_array().unwrap())
        .collect();
    assert!(!added.is_empty(), "{v}");
    for a in &added {
        assert_eq!(a["id"], json!(mallory), "{v}");
        assert_eq!(a["via"], "group", "{v}");
        assert_eq!(a["chain"][1], "Helpdesk tools", "{v}");
    }
    let (rc, changes) = exposure(&s, &["--from", "1"]);
    assert_eq!(rc, 6, "{changes}");
    settings().bind(|| insta::assert_snapshot!("exposure_from", changes));

    let (rc, one) = exposure(&s, &["--policy", "no such policy"]);
    assert_eq!(rc, 2, "{one}");
    assert!(one.contains("no Conditional Access policy 'no such policy'"), "{one}");
}
