//! What people read, pinned: the text of `log`, `history`, `changes`, `diff`, `check`,
//! `restore --dry-run` and `tenant list` after the attacker scenario on the demo tenant (the
//! text of `alerts` is pinned by the watch test). Times, ports and durations are masked; ids
//! are the seeded tenant's.

use super::timeline::{Setup, stderr};

/// Masks what changes from run to run, keeping the width of table cells.
fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "YYYY-MM-DD hh:mm:ss");
    s.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[timestamp]");
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    s.add_filter(r"\d+\.\d s\b", "[seconds]");
    s.add_filter(r#""keyId": "[0-9a-f-]{36}""#, r#""keyId": "[key id]""#);
    s.add_filter(r"keyId [0-9a-f-]{36}", "keyId [key id]");
    s.add_filter(r#""hint": "[^"]*""#, r#""hint": "[hint]""#);
    // Ids the scenario's writes get from the emulator at random.
    s.add_filter(r"(unifiedRoleAssignment/|\()[A-Za-z0-9_-]{40,}-1\b", "${1}[assignment id]");
    s.add_filter(r"([0-9a-f]{8}-[0-9a-f-]{27})/[0-9a-f]{8}-[0-9a-f-]{27}", "${1}/[credential id]");
    s
}

fn text(s: &Setup, args: &[&str]) -> String {
    let out = s.run(args);
    assert!(matches!(out.status.code(), Some(0 | 6)), "{args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn what_people_read_after_an_attack() {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    s.scenario("attacker");
    s.json(&["capture", "--json"]);
    let policy = "ca/CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
    settings().bind(|| {
        insta::assert_snapshot!("log", text(&s, &["log"]));
        insta::assert_snapshot!("history", text(&s, &["history", policy]));
        insta::assert_snapshot!("changes", text(&s, &["changes", "--from", "1"]));
        insta::assert_snapshot!("diff", text(&s, &["diff", "--from", "1", "--to", "2"]));
        insta::assert_snapshot!("check", text(&s, &["check"]));
        insta::assert_snapshot!(
            "restore_dry_run",
            text(&s, &["restore", "--to", "1", "--all", "--dry-run"])
        );
        insta::assert_snapshot!("tenant_list", text(&s, &["tenant", "list"]));
    });
}

/// A `--json` report with what changes from run to run masked: phase timings and durations.
fn json_report(s: &Setup, args: &[&str]) -> String {
    let mut v = s.json(args);
    if let Some(t) = v.get_mut("timings").and_then(|t| t.as_object_mut()) {
        for value in t.values_mut() {
            *value = "[seconds]".into();
        }
    }
    if let Some(seconds) = v.get_mut("seconds") {
        *seconds = "[seconds]".into();
    }
    serde_json::to_string_pretty(&v).unwrap()
}

/// The `--json` reports of restore and apply (DESIGN §8.1), pinned field by field and in order:
/// planned only, applied from a plan file, and nothing left to do.
#[test]
fn restore_reports_in_json() {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    s.scenario("attacker");
    s.json(&["capture", "--json"]);
    let plan = s.dir().join("plan.json");
    let plan = plan.to_str().unwrap();
    let mut settings = settings();
    // More ids the scenario's writes get at random, as the JSON spells them.
    settings.add_filter(r#""key_id": "[0-9a-f-]{36}""#, r#""key_id": "[key id]""#);
    settings.add_filter(r#""[A-Za-z0-9_-]{40,}-1""#, r#""[assignment id]""#);
    settings.bind(|| {
        insta::assert_snapshot!(
            "restore_json_dry_run",
            json_report(
                &s,
                &["restore", "--to", "1", "--all", "--dry-run", "--json", "--plan-out", plan]
            )
        );
        insta::assert_snapshot!("apply_json", json_report(&s, &["apply", plan, "--yes", "--json"]));
        insta::assert_snapshot!(
            "restore_json_nothing_to_do",
            json_report(&s, &["restore", "--to", "1", "--all", "--yes", "--json"])
        );
    });
}

/// A command's `--json` (exit 0 or 6), pretty, with the chain and version hashes, the store's
/// directory and durations masked.
fn json_text(s: &Setup, args: &[&str]) -> String {
    let out = s.run(args);
    assert!(matches!(out.status.code(), Some(0 | 6)), "{args:?}: {}", stderr(&out));
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    if let Some(seconds) = v.get_mut("seconds") {
        *seconds = "[seconds]".into();
    }
    let snapshots = v.get_mut("snapshots").and_then(|s| s.as_array_mut());
    for snapshot in snapshots.into_iter().flatten() {
        snapshot["seconds"] = "[seconds]".into();
    }
    serde_json::to_string_pretty(&v).unwrap()
}

/// The `--json` reports of the reading commands (DESIGN §8.1), pinned field by field and in
/// order after the attacker scenario, so that moving them to report types changes no byte.
#[test]
fn json_reports_after_an_attack() {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    s.scenario("attacker");
    s.json(&["capture", "--json"]);
    let policy = "ca/CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
    let check = s.run(&["check", "--json"]);
    let check: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let upn = check["principals"][0]["user_principal_name"].as_str().unwrap().to_string();
    let tree = s.dir().join("tree");
    let tree = tree.to_str().unwrap();
    s.json(&["export", tree, "--at", "1", "--json"]);
    let other = s.dir().join("other.db");
    let other = other.to_str().unwrap();
    let mut settings = settings();
    settings.add_filter(r#""[0-9a-f]{64}""#, r#""[hash]""#);
    settings.add_filter(r#""key_id": "[0-9a-f-]{36}""#, r#""key_id": "[key id]""#);
    settings.add_filter(r#""[A-Za-z0-9_-]{40,}-1""#, r#""[assignment id]""#);
    settings.add_filter(r"rewind-cli-[0-9a-z-]+", "[dir]");
    settings.add_filter(r"Directory_[0-9a-f-]{36}_", "Directory_[audit id]_");
    let reports: &[(&str, &[&str])] = &[
        ("log_json", &["log", "--json"]),
        ("history_json", &["history", policy, "--json"]),
        ("changes_json", &["changes", "--from", "1", "--json"]),
        ("diff_json", &["diff", "--from", "1", "--to", "2", "--json"]),
        ("check_json", &["check", "--json"]),
        ("check_refs_json", &["check", "--refs", "--json"]),
        ("tenant_list_json", &["tenant", "list", "--json"]),
        ("blame_json", &["blame", policy, "--json"]),
        ("refs_json", &["refs", policy, "--json"]),
        ("show_json", &["show", policy, "--json"]),
        ("verify_json", &["verify", "--json"]),
        ("exposure_json", &["exposure", "--json"]),
        ("exposure_from_json", &["exposure", "--from", "1", "--json"]),
        (
            "whatif_json",
            &[
                "whatif",
                "--json",
                "--user",
                &upn,
                "--app",
                "MicrosoftAdminPortals",
                "--country",
                "US",
            ],
        ),
        (
            "whatif_requirements_json",
            &[
                "whatif",
                "--json",
                "--user",
                "adele.vance@contoso.onmicrosoft.com",
                "--app",
                "MicrosoftAdminPortals",
                "--country",
                "US",
            ],
        ),
        ("alerts_json", &["alerts", "--json"]),
        ("forget_json", &["forget", "--keep-last", "1", "--dry-run", "--json"]),
        (
            "import_json",
            &["import", "--store", other, tree, "--taken-at", "2026-01-01T00:00:00Z", "--json"],
        ),
        (
            "tenant_add_json",
            &[
                "tenant",
                "add",
                "second",
                "--store",
                other,
                "--tenant-id",
                "00000000-0000-0000-0000-000000000002",
                "--client-id",
                "00000000-0000-0000-0000-000000000003",
                "--json",
            ],
        ),
    ];
    settings.bind(|| {
        for (name, args) in reports {
            insta::assert_snapshot!(*name, json_text(&s, args));
        }
    });
}
