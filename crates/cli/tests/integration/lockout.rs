//! `rewind check` and `rewind whatif` end to end: a capture of the clean emulated tenant is
//! OK; the `lockout-policy` scenario makes it critical and `attacker` puts the break-glass
//! accounts at risk, each with the JSON of DESIGN §8.1 and exit code 6; a plan that deletes
//! the blocking policy is OK again.

use serde_json::{Value, json};

use super::timeline::Setup;

fn check(s: &Setup, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let out = s.run(&all);
    let code = out.status.code().unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    (code, v)
}

fn verdicts(v: &Value) -> Vec<(String, String)> {
    v["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_principal_name"].as_str().unwrap().split('@').next().unwrap().to_string(),
                p["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn scenarios_turn_the_lockout_analysis_critical_and_at_risk() {
    let s = Setup::new(&["--users", "30"]);
    s.json(&["capture", "--json"]);
    let (code, clean) = check(&s, &[]);
    assert_eq!((code, clean["verdict"].as_str()), (0, Some("ok")), "{clean}");
    let principals = verdicts(&clean);
    assert!(
        principals.starts_with(&[
            ("bg-admin-01".into(), "safe".into()),
            ("bg-admin-02".into(), "safe".into())
        ]),
        "{principals:?}"
    );
    assert!(principals.iter().any(|(u, _)| u == "adele.vance"));
    let bg = &clean["principals"][0];
    assert_eq!(
        bg["why_protected"],
        json!(["break-glass account (found by name)", "Global Administrator"])
    );
    assert_eq!(
        bg["methods"],
        json!(["fido2", "password"]),
        "methods of protected principals are captured"
    );

    s.scenario("attacker");
    s.json(&["capture", "--json"]);
    let (code, attacked) = check(&s, &[]);
    assert_eq!((code, attacked["verdict"].as_str()), (6, Some("at_risk")), "{attacked}");
    let bg = &attacked["principals"][0];
    assert_eq!(bg["verdict"], "at_risk");
    let blamed = bg["policies"].as_array().unwrap();
    assert_eq!(blamed.len(), 1);
    assert!(bg["findings"][0]["why"].as_str().unwrap().contains("CA001-"), "{bg}");
    // The earlier point is still OK: any state can be analysed.
    assert_eq!(check(&s, &["--at", "1"]).0, 0);

    s.scenario("lockout-policy");
    s.json(&["capture", "--json"]);
    let (code, locked) = check(&s, &[]);
    assert_eq!((code, locked["verdict"].as_str()), (6, Some("critical")), "{locked}");
    assert!(verdicts(&locked).iter().all(|(_, v)| v == "locked_out"));
    // Administrators are kept out by the new policy alone (break-glass accounts abroad also by
    // the weakened country block).
    let adele = locked["principals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user_principal_name"].as_str().unwrap().starts_with("adele.vance@"))
        .unwrap();
    assert_eq!(adele["policies"].as_array().unwrap().len(), 1, "{adele}");
    let block = adele["policies"][0].as_str().unwrap().to_string();

    // What a restore plan deleting the blocking policy would leave.
    let plan = s.store().with_extension("plan.json");
    std::fs::write(&plan, json!({"plan": {"steps": [{"action": "delete", "kind": "conditionalAccessPolicy", "id": block}]}}).to_string()).unwrap();
    let (code, planned) = check(&s, &["--plan", plan.to_str().unwrap()]);
    assert_eq!((code, planned["verdict"].as_str()), (6, Some("at_risk")), "{planned}");

    // What if a break-glass account signs in now: blocked, and by which policy.
    let out =
        s.run(&["whatif", "--json", "--user", "bg-admin-01", "--app", "MicrosoftAdminPortals"]);
    assert_eq!(out.status.code(), Some(2), "a user is found by id or full user principal name");
    let upn = locked["principals"][0]["user_principal_name"].as_str().unwrap();
    let w = s.json(&[
        "whatif",
        "--json",
        "--user",
        upn,
        "--app",
        "MicrosoftAdminPortals",
        "--country",
        "US",
        "--platform",
        "windows",
        "--client-app",
        "browser",
    ]);
    assert_eq!(w["outcome"]["decision"], "blocked");
    assert_eq!(w["outcome"]["blocked_by"], json!([block]));
    let text = String::from_utf8(
        s.run(&["whatif", "--user", upn, "--app", "MicrosoftAdminPortals", "--at", "1"]).stdout,
    )
    .unwrap();
    assert!(text.contains("Outcome: allowed: no policy applies"), "{text}");
}

#[test]
fn bad_check_and_whatif_input_exits_with_the_usage_code() {
    let s = Setup::new(&["--users", "5"]);
    s.json(&["capture", "--json"]);
    let plan = s.store().with_extension("bad.json");
    std::fs::write(
        &plan,
        "{\"plan\": {\"steps\": [{\"action\": \"explode\", \"kind\": \"group\", \"id\": \"g\"}]}}",
    )
    .unwrap();
    for (args, message) in [
        (
            vec!["check", "--plan", plan.to_str().unwrap()],
            "'explode' is not create, update or delete",
        ),
        (vec!["check", "--plan", "/nonexistent/plan.json"], "cannot read the plan"),
        (
            vec!["whatif", "--user", "nobody@nowhere", "--app", "Office365"],
            "no user 'nobody@nowhere'",
        ),
        (
            vec![
                "whatif",
                "--user",
                "adele.vance@contoso.onmicrosoft.com",
                "--app",
                "Office365",
                "--platform",
                "beos",
            ],
            "invalid value 'beos' for '--platform <P>': use android",
        ),
        (
            vec!["whatif", "--user", "adele.vance@contoso.onmicrosoft.com", "--app", "No Such App"],
            "is not an application id",
        ),
    ] {
        let out = s.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}
