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
    assert!(text.contains("# unifiedRoleDefinition \"Global Administrator\""), "{text}");
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
    assert_eq!(excluded["names"][removed]["name"], "CA - Break Glass Accounts - Exclude");
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
    assert_eq!(by_path("conditions.users.excludeGroups")["snapshot"], second["snapshot"]);
    assert_eq!(by_path("conditions.users.excludeGroups")["actors"][0], "Contoso Automation");
    assert_eq!(by_path("state")["change"], "created");
    assert!(stdout(&s.run(&["blame", policy])).contains("Contoso Automation"));

    let group = "group/CA - Break Glass Accounts - Exclude";
    let refs = s.json(&["refs", group, "--json"]);
    let members: Vec<&Value> = refs["references"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["reference"]["path"].as_str().unwrap().starts_with("members"))
        .collect();
    assert!(
        members.iter().any(|m| m["target"]["name"].as_str().unwrap().starts_with("Break Glass")),
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
        dangling.iter().any(|d| d["from"]["kind"] == "conditionalAccessPolicy"
            && d["target"]["kind"] == "group"
            && d["target"]["exists"] == false
            && d["target"]["name"].is_string()),
        "a CA policy names a deleted group, by its last name: {report}"
    );
    let unknown = s.run(&["refs", "group/Nonexistent Group Name"]);
    assert_eq!(code(&unknown), Some(2));
}

pub(crate) fn git(dir: &std::path::Path, args: &[&str], date: &str) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_AUTHOR_DATE", date)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

fn files_of(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().unwrap() == ".git" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn export_import_round_trips_and_git_histories_become_snapshots() {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    let tree = s.store().with_file_name("tree");
    let t = tree.to_str().unwrap();
    s.json(&["export", t, "--json"]);

    // A tree imported into another store exports to the same bytes.
    let other = s.store().with_file_name("other.db");
    let o = other.to_str().unwrap();
    let imported =
        s.json(&["import", "--store", o, t, "--taken-at", "2026-01-01T00:00:00Z", "--json"]);
    assert_eq!(imported["imported"][0]["changes"]["created"], imported["imported"][0]["objects"]);
    let back = s.store().with_file_name("back");
    s.json(&["export", "--store", o, back.to_str().unwrap(), "--json"]);
    assert_eq!(files_of(&tree), files_of(&back));

    // A bad file anywhere: nothing stored, every bad file named.
    std::fs::write(tree.join("Users/broken.json"), "{\"id\": ").unwrap();
    std::fs::write(tree.join("mystery.json"), "{\"id\": \"x\", \"colour\": 1}").unwrap();
    let bad = s.run(&["import", "--store", o, t]);
    assert_eq!(code(&bad), Some(2));
    let why = stderr(&bad);
    assert!(why.contains("Users/broken.json") && why.contains("mystery.json"), "{why}");
    let log = s.json(&["log", "--store", o, "--json"]);
    assert_eq!(log["snapshots"].as_array().unwrap().len(), 1, "nothing partial");
    std::fs::remove_file(tree.join("Users/broken.json")).unwrap();
    std::fs::remove_file(tree.join("mystery.json")).unwrap();

    // A git history of exports: one snapshot per commit, at the commit's time; again: nothing.
    git(&tree, &["init", "-q"], "2026-02-01T00:00:00Z");
    git(&tree, &["add", "-A"], "2026-02-01T00:00:00Z");
    git(&tree, &["commit", "-qm", "first"], "2026-02-01T00:00:00Z");
    let users = tree.join("Users");
    let gone = std::fs::read_dir(&users).unwrap().next().unwrap().unwrap().path();
    std::fs::remove_dir_all(&gone).unwrap();
    git(&tree, &["add", "-A"], "2026-02-02T00:00:00Z");
    git(&tree, &["commit", "-qm", "a user left"], "2026-02-02T00:00:00Z");
    let history = s.store().with_file_name("history.db");
    let h = history.to_str().unwrap();
    let first = s.json(&["import", "--store", h, "--git", t, "--json"]);
    let snaps = first["imported"].as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{first}");
    assert_eq!(snaps[1]["changes"]["deleted"], 1);
    assert_eq!(snaps[1]["taken_at"], "2026-02-02T00:00:00Z");
    let again = s.json(&["import", "--store", h, "--git", t, "--json"]);
    assert_eq!(again["imported"], serde_json::json!([]));
}
