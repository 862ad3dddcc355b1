//! One tenant per timeline: settings for another directory never write into a tenant's
//! timeline, an import never quietly replaces what captures keep, and a git history of exports
//! comes in commit by commit, none skipped.

use serde_json::json;

use super::explore::git;
use super::timeline::{Setup, code, stderr};

#[test]
fn settings_for_another_directory_never_capture_into_a_tenant() {
    let s = Setup::new(&[]);
    let out = s.run(&[
        "tenant",
        "add",
        "fabrikam",
        "--tenant-id",
        "11111111-2222-3333-4444-555555555555",
        "--client-id",
        "x",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    // The environment still names the emulated (contoso) directory.
    let out = s.run(&["capture", "--tenant", "fabrikam"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let why = stderr(&out);
    assert!(
        why.contains("11111111-2222-3333-4444-555555555555") && why.contains(s.tenant_id()),
        "{why}"
    );
    let log = s.run(&["log", "--tenant", "fabrikam", "--json"]);
    assert_eq!(code(&log), Some(2), "reading it under the wrong directory is refused too");
    let listed = s.json(&["tenant", "list", "--json"]);
    assert_eq!(listed["tenants"][0]["latest_snapshot"], json!(null), "{listed}");
}

/// The bug: a tree of one group imported into a captured tenant recorded every other group as
/// deleted, and captures never brought them back (their delta cursor went on).
#[test]
fn an_import_into_a_captured_tenant_is_refused_unless_meant_and_captures_repair_it() {
    let s = Setup::new(&[]);
    let first = s.json(&["capture", "--json"]);
    let groups = first["kinds"]["group"]["objects"].as_u64().unwrap();
    let tree = s.dir().join("one-group");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("g.json"),
        json!({"@odata.type": "#microsoft.graph.group", "id": "0d1f6c1e-0000-4000-8000-000000000001",
               "displayName": "Imported", "mailEnabled": false, "mailNickname": "imported",
               "securityEnabled": true, "groupTypes": []})
        .to_string(),
    )
    .unwrap();
    let tree_arg = tree.to_str().unwrap();
    let refused = s.run(&["import", tree_arg]);
    assert_eq!(code(&refused), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--replace-kinds"), "{}", stderr(&refused));
    let imported = s.json(&["import", tree_arg, "--replace-kinds", "--json"]);
    assert!(imported["imported"][0]["objects"].as_u64().unwrap() > 0);
    // The next capture reads groups in full: they are all back, the imported one gone again.
    let next = s.json(&["capture", "--json"]);
    assert_eq!(next["kinds"]["group"]["objects"].as_u64(), Some(groups), "{next}");
    let (_, plan) = super::restore::run_json(
        &s,
        &["restore", "--to", &first["snapshot"].to_string(), "--kind", "group", "--dry-run"],
    );
    assert_eq!(plan["plan"]["steps"], json!([]), "nothing to re-create: {plan}");
}

#[test]
fn a_git_history_comes_in_commit_by_commit_even_within_one_second() {
    let s = Setup::new(&[]);
    let repo = s.dir().join("history");
    std::fs::create_dir_all(&repo).unwrap();
    let write = |name: &str| {
        std::fs::write(
            repo.join("g.json"),
            json!({"@odata.type": "#microsoft.graph.group", "id": "0d1f6c1e-0000-4000-8000-000000000002",
                   "displayName": name, "mailEnabled": false, "mailNickname": "g",
                   "securityEnabled": true, "groupTypes": []})
            .to_string(),
        )
        .unwrap();
    };
    let at = "2026-03-01T10:00:00Z";
    git(&repo, &["init", "-q"], at);
    for name in ["one", "two"] {
        write(name);
        git(&repo, &["add", "-A"], at);
        git(&repo, &["commit", "-qm", name], at);
    }
    let store = s.dir().join("git.db");
    let (store, repo_arg) = (store.to_str().unwrap(), repo.to_str().unwrap());
    let first = s.json(&["import", "--store", store, "--git", repo_arg, "--json"]);
    assert_eq!(
        first["imported"].as_array().unwrap().len(),
        2,
        "both commits of that second: {first}"
    );
    let again = s.json(&["import", "--store", store, "--git", repo_arg, "--json"]);
    assert_eq!(again["imported"], json!([]));
    write("three");
    git(&repo, &["add", "-A"], at);
    git(&repo, &["commit", "-qm", "three"], at);
    let third = s.json(&["import", "--store", store, "--git", repo_arg, "--json"]);
    assert_eq!(third["imported"].as_array().unwrap().len(), 1, "{third}");
    let history = s.json(&[
        "history",
        "--store",
        store,
        "group/0d1f6c1e-0000-4000-8000-000000000002",
        "--json",
    ]);
    let names: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one", "two", "three"]);
}
