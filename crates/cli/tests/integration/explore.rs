//! Exploring the timeline: diff against the live tenant, names instead of GUIDs, blame, the
//! references of an object and the dangling ones of a state.

use serde_json::Value;

use super::timeline::{Setup, code, stderr};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn diff_names_references_compares_with_live_and_an_unchanged_tenant_shows_nothing() {
    let s = Setup::new(&[]);
    let first = s.json(&["capture", "--json"]);
    let again = s.json(&["capture", "--json"]);
    let first_id = first["snapshot"].to_string();
    let unchanged = s.json(&["changes", "--from", &first_id, "--json"]);
    assert_eq!(unchanged["changes"], serde_json::json!([]), "{again}");
    let quiet = s.run(&["diff", "--from", &first_id, "--to", "live", "--exit-code"]);
    assert_eq!(code(&quiet), Some(0), "{}", stderr(&quiet));

    s.scenario("attacker");
    // Not captured yet: only the live tenant shows it.
    let live = s.run(&["diff", "--from", &first_id, "--to", "live", "--exit-code"]);
    assert_eq!(code(&live), Some(6), "{}", stderr(&live));
    let text = stdout(&live);
    assert!(text.contains("+++ live tenant"), "{text}");
    assert!(
        text.contains("# group \"CA - Break Glass Accounts - Exclude\""),
        "the removed exclusion is named: {text}"
    );
    assert!(
        text.contains("# unifiedRoleDefinition \"Global Administrator\""),
        "{text}"
    );
    s.json(&["capture", "--json"]);
    let diff = s.json(&["diff", "--from", &first_id, "--json"]);
    let ca001 = diff["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["display_name"].as_str().unwrap().starts_with("CA001"))
        .unwrap();
    let excluded = &ca001["properties"][0];
    assert_eq!(excluded["path"], "conditions.users.excludeGroups");
    let removed = excluded["removed"][0].as_str().unwrap();
    assert_eq!(
        excluded["names"][removed]["name"],
        "CA - Break Glass Accounts - Exclude"
    );
    assert!(excluded.get("added").is_none(), "{excluded}");
}

#[test]
fn blame_refs_and_dangling_references() {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    s.scenario("attacker");
    let second = s.json(&["capture", "--json"]);
    let policy = "ca/CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
    let blame = s.json(&["blame", policy, "--json"]);
    let props = blame["properties"].as_array().unwrap();
    let by_path = |p: &str| props.iter().find(|x| x["path"] == p).unwrap().clone();
    assert_eq!(
        by_path("conditions.users.excludeGroups")["snapshot"],
        second["snapshot"]
    );
    assert_eq!(
        by_path("conditions.users.excludeGroups")["actors"][0],
        "Contoso Automation"
    );
    assert_eq!(by_path("state")["change"], "created");
    assert!(stdout(&s.run(&["blame", policy])).contains("Contoso Automation"));

    let group = "group/CA - Break Glass Accounts - Exclude";
    let refs = s.json(&["refs", group, "--json"]);
    let members: Vec<&Value> = refs["references"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["reference"]["path"]
                .as_str()
                .unwrap()
                .starts_with("members")
        })
        .collect();
    assert!(
        members.iter().any(|m| m["target"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Break Glass")),
        "{refs}"
    );
    let by: Vec<&str> = refs["referenced_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["from_name"].as_str().unwrap())
        .collect();
    assert!(by.iter().any(|n| n.starts_with("CA000")), "{by:?}");
    assert!(
        !by.iter().any(|n| n.starts_with("CA001")),
        "the attacker removed CA001's exclusion: {by:?}"
    );

    let clean = s.run(&["check", "--refs"]);
    assert_eq!(code(&clean), Some(0), "{}", stdout(&clean));
    s.scenario("mass-delete");
    s.json(&["capture", "--json"]);
    let broken = s.run(&["check", "--refs", "--json"]);
    assert_eq!(code(&broken), Some(6), "{}", stderr(&broken));
    let report: Value = serde_json::from_slice(&broken.stdout).unwrap();
    let dangling = report["dangling"].as_array().unwrap();
    assert!(
        dangling
            .iter()
            .any(|d| d["from"]["kind"] == "conditionalAccessPolicy"
                && d["target"]["kind"] == "group"
                && d["target"]["exists"] == false
                && d["target"]["name"].is_string()),
        "a CA policy names a deleted group, by its last name: {report}"
    );
    let unknown = s.run(&["refs", "group/Nonexistent Group Name"]);
    assert_eq!(code(&unknown), Some(2));
}
