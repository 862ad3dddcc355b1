//! `rewind doctor` against the emulator: what the apps can do, each gap with its fix, exit 3
//! until everything Rewind needs is there.

use serde_json::{Value, json};

use crate::restore::{graph, without_directory_roles};
use crate::timeline::{Setup, code};

fn findings(s: &Setup) -> (Option<i32>, Vec<Value>) {
    let out = s.run(&["doctor", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (code(&out), v["findings"].as_array().unwrap().clone())
}

fn status<'a>(findings: &'a [Value], check: &str) -> Vec<&'a str> {
    findings
        .iter()
        .filter(|f| f["check"].as_str().unwrap().starts_with(check))
        .map(|f| f["status"].as_str().unwrap())
        .collect()
}

#[test]
fn doctor_names_each_gap_with_its_fix_until_there_is_none() {
    let s = Setup::new(&[]);
    let write_sp = without_directory_roles(&s);
    let (rc, found) = findings(&s);
    // The emulator's apps hold every permission; the write app here no directory role.
    assert_eq!(status(&found, "read permissions"), ["ok"]);
    assert_eq!(status(&found, "audit log"), ["ok"]);
    assert_eq!(status(&found, "licence"), ["ok"]);
    assert_eq!(status(&found, "write app: directory roles"), ["missing", "missing"]);
    assert_eq!(rc, Some(3));
    let text = String::from_utf8(s.run(&["doctor"]).stdout).unwrap();
    assert!(text.contains("fix: assign the write app's service principal"), "{text}");

    // Give the write app the roles Graph asks for: nothing missing any more.
    for role in ["7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"] {
        let (st, body) = graph(
            &s,
            "POST",
            "/roleManagement/directory/roleAssignments",
            Some(
                json!({"principalId": write_sp, "roleDefinitionId": role, "directoryScopeId": "/"}),
            ),
        );
        assert_eq!(st, 201, "{body}");
    }
    let (rc, found) = findings(&s);
    assert_eq!(status(&found, "write app: directory roles"), ["ok", "ok"], "{found:?}");
    assert_eq!(rc, Some(0), "{found:?}");
}

#[test]
fn doctor_on_a_tenant_without_pim_says_what_is_left_out_and_does_not_fail_for_it() {
    let s = Setup::new(&["--license", "p1"]);
    let (_, found) = findings(&s);
    let licence: Vec<&Value> = found.iter().filter(|f| f["check"] == "licence").collect();
    assert_eq!(licence[0]["status"], "unavailable", "{licence:?}");
    assert!(licence[0]["detail"].as_str().unwrap().contains("P2"));
    // Such a tenant is captured; the log says what was not read, text and JSON alike.
    let out = s.run(&["capture"]);
    assert_eq!(code(&out), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let log = String::from_utf8(s.run(&["log"]).stdout).unwrap();
    assert!(log.contains("unifiedRoleEligibilitySchedule not read (license-required)"), "{log}");
    let log = s.json(&["log", "--json"]);
    assert_eq!(
        log["snapshots"][0]["kinds"]["unifiedRoleEligibilitySchedule"]["unavailable"],
        "license-required",
        "{log}"
    );
    // And diff: a comparison with a side that could not read a kind says so.
    assert_eq!(code(&s.run(&["capture"])), Some(0));
    let diff = String::from_utf8(s.run(&["diff", "--from", "1", "--to", "2"]).stdout).unwrap();
    assert!(diff.contains("! unifiedRoleEligibilitySchedule was not read at snapshot 2"), "{diff}");
    let diff = s.json(&["diff", "--from", "1", "--to", "2", "--json"]);
    assert!(
        diff["not_read"].as_array().unwrap().contains(
            &json!({"side": "to", "kind": "unifiedRoleEligibilitySchedule", "reason": "license-required"})
        ),
        "{diff}"
    );
}
