//! A newcomer's first hour: the stumbles a new user met, each held to its fix — pipes closed
//! early, times without an offset, countries by name, users by sign-in name, a store or a
//! Graph URL that cannot work, logs written to a file, and a repository that needs nothing
//! beside it.

use std::path::Path;
use std::process::Stdio;

use super::rewind;
use super::timeline::{Setup, code, stderr};

/// A captured timeline with the attacker scenario between its two snapshots.
fn attacked() -> Setup {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    s.scenario("attacker");
    s.json(&["capture", "--json"]);
    s
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let s = attacked();
    for args in [
        &["log"][..],
        &["check"],
        &["forget", "--keep-last", "1", "--dry-run"],
        &["export", "-"],
        &["changes", "--from", "1"],
        &["show", "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA"],
    ] {
        // The read end is closed before the command starts: its first write meets a broken
        // pipe, as `rewind log | head -1` does once head has its line.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = s.cmd(args).stdout(writer).stderr(Stdio::piped()).output().unwrap();
        assert_eq!(code(&out), Some(0), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{args:?} said: {}", stderr(&out));
    }
}

#[test]
fn a_time_without_an_offset_is_refused_with_the_fix() {
    let s = attacked();
    for args in [
        &["restore", "--to", "2026-12-02T03:12:12", "--all", "--dry-run"][..],
        &[
            "show",
            "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
            "--at",
            "2026-12-02 03:12",
        ],
        &["changes", "--from", "2026-12-02T03:12:12"],
    ] {
        let out = s.run(args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no UTC offset") && stderr(&out).contains("Z for UTC"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // With the offset, the same time is a point like any other.
    let out = s.run(&["changes", "--from", "2000-01-01T00:00:00Z"]);
    assert_eq!(code(&out), Some(2), "before the first snapshot: {}", stderr(&out));
    assert!(stderr(&out).contains("the first is snapshot 1"), "{}", stderr(&out));
}

#[test]
fn countries_are_codes_and_a_name_is_answered_with_its_code() {
    let s = attacked();
    let out = s.run(&["check", "--home-country", "Germany"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("DE (Germany)"), "{}", stderr(&out));
    let user = "adele.vance@contoso.onmicrosoft.com";
    let out =
        s.run(&["whatif", "--user", user, "--app", "Office365", "--country", "United States"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("US (United States of America)"), "{}", stderr(&out));
    let out = s.cmd(&["check"]).env("REWIND_HOME_COUNTRY", "Germany").output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("REWIND_HOME_COUNTRY"), "{}", stderr(&out));
    // Codes work, in any case, and mean the same verdict.
    let verdict = |code: &str| -> serde_json::Value {
        let out = s.run(&["check", "--home-country", code, "--json"]);
        assert!(matches!(out.status.code(), Some(0 | 6)), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (upper, lower) = (verdict("DE"), verdict("de"));
    assert_eq!(upper["verdict"], lower["verdict"]);
    assert_eq!(upper["home_country"], "DE");
}

#[test]
fn a_user_principal_name_finds_the_user() {
    let s = attacked();
    for given in [
        "adele.vance@contoso.onmicrosoft.com",
        "user/adele.vance@contoso.onmicrosoft.com",
        // Not protected, so no methods record names it: found among the users.
        "user/megan.bowen@contoso.onmicrosoft.com",
    ] {
        let shown = s.json(&["show", given, "--json"]);
        assert_eq!(shown["kind"], "user", "{given}: {shown}");
        let upn = given.trim_start_matches("user/");
        assert_eq!(shown["object"]["userPrincipalName"], upn, "{given}");
    }
    let history = s.json(&["history", "adele.vance@contoso.onmicrosoft.com", "--json"]);
    assert_eq!(history["kind"], "user");
}

#[test]
fn a_store_that_cannot_be_opened_says_why_once() {
    let dir = std::env::temp_dir().join(format!("rewind-newcomer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_a_database = dir.join("notes.db");
    std::fs::write(&not_a_database, b"these are my notes, not a database").unwrap();
    let closed = closed_port();
    for (store, reason) in [
        (format!("postgres://rewind:hunter2@127.0.0.1:{closed}/rewind"), "connection refused"),
        (not_a_database.display().to_string(), "file is not a database"),
        ("/nonexistent/folder/rewind.db".to_string(), "there is no store at"),
    ] {
        let out = rewind().args(["log", "--store", &store]).output().unwrap();
        assert_eq!(code(&out), Some(2), "{store}: {}", stderr(&out));
        let said = stderr(&out);
        assert_eq!(said.matches(reason).count(), 1, "{store}: {said}");
        assert!(!said.contains("hunter2"), "the password stays secret: {said}");
        assert!(!said.contains("pool timed out"), "{said}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A local port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn a_graph_url_with_its_version_is_explained() {
    let s = Setup::new(&[]);
    let versioned = format!("{}/v1.0", s.graph_url());
    let out = s.cmd(&["capture"]).env("REWIND_GRAPH_URL", &versioned).output().unwrap();
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("ends in /v1.0")
            && said.contains(&format!("give the base URL, {}", s.graph_url())),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one message: {said}");
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let s = Setup::new(&[]);
    let out =
        s.cmd(&["capture"]).env("REWIND_LOG", "debug").env_remove("NO_COLOR").output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let logs = stderr(&out);
    assert!(logs.lines().count() > 3, "debug logs expected: {logs}");
    assert!(!logs.contains('\u{1b}'), "ANSI escapes in logs to a pipe: {logs:?}");
}

#[test]
fn nothing_in_the_repository_points_outside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // Spelled in pieces so that this file does not name them.
    let outside = [["..", "/shared"].concat(), ["REWIND", "_SHARED"].concat()];
    let mut offenders = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with('.') && name != ".ci" || name == "target" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read_to_string(&path)
                .is_ok_and(|text| outside.iter().any(|o| text.contains(o.as_str())))
            {
                offenders.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    assert!(offenders.is_empty(), "files refer outside the repository: {offenders:?}");
}

#[test]
fn the_readme_lists_every_design_note_and_crate_and_links_only_what_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for note in std::fs::read_dir(root.join("docs/design")).unwrap() {
        let name = note.unwrap().file_name().to_string_lossy().into_owned();
        assert!(readme.contains(&format!("docs/design/{name}")), "README misses {name}");
    }
    for krate in std::fs::read_dir(root.join("crates")).unwrap() {
        let name = krate.unwrap().file_name().to_string_lossy().into_owned();
        assert!(readme.contains(&format!("`crates/{name}`")), "README misses crates/{name}");
    }
    let links = regex::Regex::new(r"\]\(([^)#:]+)\)").unwrap();
    for link in links.captures_iter(&readme) {
        let target = &link[1];
        assert!(root.join(target).exists(), "README links to {target}, which is not there");
    }
    let contributing = std::fs::read_to_string(root.join("CONTRIBUTING.md")).unwrap();
    for link in links.captures_iter(&contributing) {
        let target = &link[1];
        assert!(root.join(target).exists(), "CONTRIBUTING links to {target}, which is not there");
    }
}

/// A name is data, not a terminal command: a group named with a carriage return and escape
/// sequences (redrawing a "- delete" line as a harmless "~ update") prints escaped everywhere.
#[test]
fn control_characters_from_a_tenant_print_inert() {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    let hostile = "Finance\r\u{1b}[2K  ~ update   harmless\u{1b}[0m";
    let (status, group) = super::restore::graph(
        &s,
        "POST",
        "/groups",
        Some(serde_json::json!({"displayName": hostile, "mailEnabled": false,
            "mailNickname": "finance", "securityEnabled": true})),
    );
    assert_eq!(status, 201, "{group}");
    let id = group["id"].as_str().unwrap().to_string();
    s.json(&["capture", "--json"]);
    let object = format!("group/{id}");
    for args in [
        &["log"][..],
        &["changes", "--from", "1"],
        &["diff", "--from", "1"],
        &["history", &object],
        &["blame", &object],
        &["refs", &object],
        &["show", &object],
        &["restore", "--to", "1", "--all", "--dry-run"],
        &["show", hostile],
    ] {
        let out = s.run(args);
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains('\u{1b}') && !text.contains('\r'),
                "{args:?} {stream}: {text:?}"
            );
        }
    }
    let plan =
        String::from_utf8(s.run(&["restore", "--to", "1", "--all", "--dry-run"]).stdout).unwrap();
    assert!(plan.contains(r"Finance\r\u{1b}[2K"), "shown escaped: {plan}");
}
