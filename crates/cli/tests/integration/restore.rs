//! `rewind restore` and `rewind apply` end to end against the emulator: each incident scenario
//! is undone and verified converged, and nothing outside what the scenario touched changes;
//! one actor's changes are undone while another's stay; the lockout guard refuses a plan that
//! locks out the break-glass accounts (exit 5); an apply killed with `kill -9` resumes without
//! duplicates; restores converge with 5xx and replication lag on.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use super::timeline::{Setup, code, stderr};
use super::tokio_rt;

/// `rewind ARGS --json`, with its exit code.
pub(crate) fn run_json(s: &Setup, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.push("--json");
    let out = s.run(&all);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: {e}: {}", stderr(&out));
    });
    (code(&out).unwrap(), v)
}

pub(crate) fn snapshot(s: &Setup) -> String {
    s.json(&["capture", "--json"])["snapshot"].to_string()
}

/// Keys (kind/id) that changed between two snapshots.
fn changed(s: &Setup, from: &str, to: &str) -> BTreeSet<String> {
    let v = s.json(&["changes", "--from", from, "--to", to, "--json"]);
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}/{}", c["kind"].as_str().unwrap(), c["id"].as_str().unwrap()))
        .collect()
}

/// A Graph request with the write client's token.
pub(crate) fn graph(s: &Setup, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let writer = s.writer().clone();
    graph_as(
        s,
        (writer["client_id"].as_str().unwrap(), writer["client_secret"].as_str().unwrap()),
        method,
        path,
        body,
    )
}

/// A Graph request signed in as the app `(client id, secret)`.
pub(crate) fn graph_as(
    s: &Setup,
    (client_id, secret): (&str, &str),
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let base = s.graph_url().to_string();
    let info = s.emulator_info();
    tokio_rt().block_on(async move {
        let http = reqwest::Client::new();
        let token = rewind_emulator::testing::token(&http, &info, (client_id, secret)).await;
        let mut req =
            http.request(method.parse().unwrap(), format!("{base}/v1.0{path}")).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    })
}

/// The first object Graph lists at `path` that `wanted` picks.
fn listed_where(s: &Setup, path: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let (status, list) = graph(s, "GET", path, None);
    assert_eq!(status, 200, "{list}");
    list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| wanted(v))
        .unwrap_or_else(|| panic!("nothing at {path} is as the test needs: {list}"))
        .clone()
}

/// The id of the first object Graph lists at `path` that `wanted` picks.
pub(crate) fn id_where(s: &Setup, path: &str, wanted: impl Fn(&Value) -> bool) -> String {
    listed_where(s, path, wanted)["id"].as_str().unwrap().to_string()
}

/// Restores `--all` to `to`, asserting it applied every step and converged.
fn restore_all(s: &Setup, to: &str) -> Value {
    let (rc, report) = run_json(s, &["restore", "--to", to, "--all", "--yes"]);
    assert_eq!(rc, 0, "failed {} differences {}", report["failed"], report["differences"]);
    assert_eq!(report["applied"], true);
    assert_eq!(report["converged"], true, "{}", report["differences"]);
    assert_eq!(report["failed"], json!([]));
    report
}

/// Keys a restore report says it created anew, and objects it only re-linked to them.
fn created_and_relinked(report: &Value) -> BTreeSet<String> {
    let steps = report["plan"]["steps"].as_array().unwrap();
    let mut out: BTreeSet<String> = steps
        .iter()
        .filter(|st| st["reason"].as_str().unwrap_or("").starts_with("names objects created anew"))
        .map(|st| format!("{}/{}", st["kind"].as_str().unwrap(), st["id"].as_str().unwrap()))
        .collect();
    for st in steps.iter().filter(|st| st["action"] == "create") {
        let kind = st["kind"].as_str().unwrap();
        let id = st["id"].as_str().unwrap();
        let (parent, leaf) = id.rsplit_once('/').map_or((None, id), |(p, l)| (Some(p), l));
        let new = report["lineage"][leaf].as_str().unwrap_or(leaf);
        let key = match parent {
            Some(p) => format!("{}/{new}", report["lineage"][p].as_str().unwrap_or(p)),
            None => new.to_string(),
        };
        out.insert(format!("{kind}/{key}"));
    }
    out
}

#[test]
fn every_scenario_is_undone_converged_and_nothing_else_changes() {
    for scenario in ["lockout-policy", "attacker", "mass-delete", "script-gone-wrong"] {
        let s = Setup::new(&["--preset", "small"]);
        let before = snapshot(&s);
        s.scenario(scenario);
        let incident = snapshot(&s);
        let touched = changed(&s, &before, &incident);
        assert!(!touched.is_empty(), "{scenario} changed something");
        let report = restore_all(&s, &before);
        let after = report["after"]["snapshot"].to_string();
        let expected = created_and_relinked(&report);
        let outside: Vec<String> = changed(&s, &incident, &after)
            .into_iter()
            .filter(|k| !touched.contains(k) && !expected.contains(k))
            .collect();
        assert!(outside.is_empty(), "{scenario}: the restore changed {outside:?}");
        // Nothing is left to do: a second plan to the same point is empty.
        let (rc, again) = run_json(&s, &["restore", "--to", &before, "--all", "--dry-run"]);
        assert_eq!(rc, 0);
        assert_eq!(again["plan"]["steps"], json!([]), "{scenario}: {}", again["plan"]["steps"]);
        // Rewind's writes are attributed to Rewind in the timeline. Memberships that come
        // back with a user restored from the recycle bin are a side effect the audit log
        // records on the user only, so those group and application changes carry no actor.
        let by_rewind = s.json(&["changes", "--from", &incident, "--to", &after, "--json"]);
        let unattributed: Vec<&Value> = by_rewind["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| !c["actors"].as_array().unwrap().iter().any(|a| a == "Rewind Writer"))
            .filter(|c| {
                c["actors"] != json!([])
                    || !c["paths"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|p| p == "members" || p == "owners")
            })
            .collect();
        assert!(unattributed.is_empty(), "{scenario}: {unattributed:?}");
        if scenario == "mass-delete" {
            assert!(
                report["lineage"].as_object().unwrap().len() >= 3,
                "hard-deleted groups are created anew: {}",
                report["lineage"]
            );
        }
    }
}

#[test]
fn one_actors_changes_are_undone_and_everyone_elses_kept() {
    let s = Setup::new(&[]);
    let before = snapshot(&s);
    s.scenario("attacker");
    // An administrator's unrelated change after the attack.
    let (status, users) = graph(&s, "GET", "/users?$top=1", None);
    assert_eq!(status, 200);
    let user = users["value"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = graph(
        &s,
        "PATCH",
        &format!("/users/{user}"),
        Some(json!({"jobTitle": "Incident commander"})),
    );
    assert_eq!(status, 204);
    let incident = snapshot(&s);
    let (rc, report) = run_json(
        &s,
        &["restore", "--changed-by", "Contoso Automation", "--since", &before, "--yes"],
    );
    assert_eq!(rc, 0, "{report}");
    assert_eq!(report["converged"], true, "{}", report["differences"]);
    let actions: BTreeSet<String> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["action"].as_str().unwrap().to_string())
        .collect();
    for a in ["update", "delete", "removeCredential", "switchState"] {
        assert!(actions.contains(a), "{a} in {actions:?}");
    }
    let after = report["after"]["snapshot"].to_string();
    let shown = s.json(&["show", &user, "--json"]);
    assert_eq!(
        shown["object"]["jobTitle"], "Incident commander",
        "the administrator's change stays"
    );
    assert!(!changed(&s, &incident, &after).contains(&format!("user/{user}")));
    let unknown =
        s.run(&["restore", "--changed-by", "nobody@example.com", "--since", &before, "--dry-run"]);
    assert_eq!(code(&unknown), Some(2), "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("Contoso Automation"), "{}", stderr(&unknown));
}

#[test]
fn the_guard_refuses_a_plan_that_locks_people_out() {
    let s = Setup::new(&[]);
    snapshot(&s);
    s.scenario("lockout-policy");
    let bad = snapshot(&s);
    let fixed = restore_all(&s, "1");
    assert_eq!(fixed["guard"]["before"], "critical");
    assert_eq!(fixed["guard"]["verdict"], "ok");
    // Bringing the blocking policy back would lock everyone out: refused, exit 5.
    let policy = "ca/Block all access (temporary)";
    let refused = s.run(&["restore", "--to", &bad, "--object", policy, "--yes", "--json"]);
    assert_eq!(code(&refused), Some(5), "{}", stderr(&refused));
    let report: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["applied"], false);
    assert_eq!(report["guard"]["refused"], true);
    // The refusal names the policy by its display name, once, with everyone it locks out.
    let why = stderr(&refused);
    let lines: Vec<&str> =
        why.lines().filter(|l| l.contains("policy \"Block all access (temporary)\"")).collect();
    assert_eq!(lines.len(), 1, "{why}");
    assert!(lines[0].contains("bg-admin-01") && lines[0].contains("bg-admin-02"), "{why}");
    // A dry run reports the same; --allow-lockout lets an operator who means it go ahead.
    let dry = s.run(&["restore", "--to", &bad, "--object", policy, "--dry-run"]);
    assert_eq!(code(&dry), Some(5));
    let text = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(text.contains("REFUSED") && text.contains("↺ restore"), "{text}");
    let (rc, forced) =
        run_json(&s, &["restore", "--to", &bad, "--object", policy, "--yes", "--allow-lockout"]);
    assert_eq!(rc, 0, "{forced}");
    assert_eq!(forced["converged"], true);
}

#[test]
fn a_plan_file_is_reviewed_then_applied_and_one_property_restores_alone() {
    let s = Setup::new(&[]);
    let before = snapshot(&s);
    s.scenario("attacker");
    snapshot(&s);
    let file = s.store().with_extension("plan.json");
    let file = file.to_str().unwrap();
    let policy = "ca/CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
    let out = s.run(&[
        "restore",
        "--to",
        &before,
        "--object",
        policy,
        "--property",
        "conditions.users.excludeGroups",
        "--dry-run",
        "--plan-out",
        file,
    ]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("~ update") && text.contains("excludeGroups: +"), "{text}");
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(plan["steps"].as_array().unwrap().len(), 1, "{plan}");
    // `check --plan` reads the same file.
    let (rc, check) = run_json(&s, &["check", "--plan", file]);
    assert!(rc == 0 || rc == 6, "{check}");
    let (rc, applied) = run_json(&s, &["apply", file, "--yes"]);
    assert_eq!(rc, 0, "{applied}");
    assert_eq!(applied["converged"], true);
    let now = s.json(&["show", policy, "--json"]);
    let then = s.json(&["show", policy, "--at", &before, "--json"]);
    assert_eq!(
        now["object"]["conditions"]["users"]["excludeGroups"],
        then["object"]["conditions"]["users"]["excludeGroups"]
    );
    // The attacker's other changes are still there: only the property was restored.
    let (_, rest) = run_json(&s, &["restore", "--to", &before, "--all", "--dry-run"]);
    assert!(rest["plan"]["steps"].as_array().unwrap().len() >= 3, "{}", rest["plan"]["steps"]);
    let bad = std::fs::write(file, "{\"format\": 99}");
    assert!(bad.is_ok());
    let refused = s.run(&["apply", file, "--yes"]);
    assert_eq!(code(&refused), Some(2));
    assert!(stderr(&refused).contains("format"), "{}", stderr(&refused));
}

/// Steps the journal records as done, read from the store while a restore runs.
fn journal_done(s: &Setup) -> i64 {
    let url = format!("sqlite://{}?mode=ro", s.store().display());
    tokio_rt().block_on(async move {
        sqlx::any::install_default_drivers();
        let Ok(mut db) = <sqlx::AnyConnection as sqlx::Connection>::connect(&url).await else {
            return 0;
        };
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM restore_steps WHERE state = 'done'")
            .fetch_one(&mut db)
            .await
            .unwrap_or(0)
    })
}

#[test]
fn a_restore_killed_at_several_points_resumes_without_duplicates() {
    let s = Setup::new(&["--preset", "small", "--latency-ms", "20"]);
    let before = snapshot(&s);
    s.scenario("mass-delete");
    snapshot(&s);
    // Killed during the recycle-bin restores, during the creates (between a create and its
    // journal entry, most likely) and during the link changes; each time resumed.
    let mut first = vec!["restore", "--to", &before, "--all", "--yes", "--concurrency", "1"];
    let mut kills = 0;
    for threshold in [5, 27, 60] {
        let mut child = s
            .cmd(&first)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while journal_done(&s) < threshold && started.elapsed() < Duration::from_mins(1) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        let _ = child.wait();
        first = vec!["restore", "--resume", "--concurrency", "1"];
    }
    assert!(kills >= 2, "the restore was killed while applying ({kills} times)");
    let (rc, report) = run_json(&s, &["restore", "--resume"]);
    assert_eq!(rc, 0, "failed {} differences {}", report["failed"], report["differences"]);
    assert_eq!(report["converged"], true);
    // Every group name appears once: no create was repeated.
    let (status, groups) = graph(&s, "GET", "/groups?$select=displayName&$top=999", None);
    assert_eq!(status, 200);
    let names: Vec<&str> = groups["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&&str> = names.iter().collect();
    assert_eq!(names.len(), unique.len(), "duplicate groups: {names:?}");
    let (rc, again) = run_json(&s, &["restore", "--to", &before, "--all", "--dry-run"]);
    assert_eq!(rc, 0);
    assert_eq!(again["plan"]["steps"], json!([]), "{}", again["plan"]["steps"]);
}

#[test]
fn restores_converge_with_server_errors_and_replication_lag() {
    let s = Setup::new(&["--preset", "small"]);
    let before = snapshot(&s);
    s.scenario("mass-delete");
    snapshot(&s);
    let url = format!("{}/_emulator/faults", s.graph_url());
    tokio_rt().block_on(async {
        let r = reqwest::Client::new()
            .put(url)
            .json(&json!({"error_rate": 0.02, "replication_lag_ms": 700}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    });
    let report = restore_all(&s, &before);
    assert!(report["lineage"].as_object().unwrap().len() >= 3);
}

/// Times, and the ids of what a scenario created (the emulator makes those anew each run).
fn redact(text: &str, ids: &[String]) -> String {
    let mut text = redact_times(text);
    for id in ids {
        text = text.replace(id.as_str(), "<new id>");
    }
    text
}

fn redact_times(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("(20") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(')').map_or(rest.len(), |e| i + e + 1);
        out.push_str("(<time>)");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_plan_reads_like_terraform() {
    let s = Setup::new(&[]);
    let before = snapshot(&s);
    s.scenario("attacker");
    snapshot(&s);
    let out = s.run(&["restore", "--to", &before, "--all", "--dry-run"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let (_, plan) = run_json(&s, &["restore", "--to", &before, "--all", "--dry-run"]);
    let created: Vec<String> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["action"] == "delete" || st["action"] == "removeCredential")
        .flat_map(|st| {
            if let Some(key_id) = st["key_id"].as_str() {
                return vec![key_id.to_string()];
            }
            let id = st["id"].as_str().unwrap();
            vec![id.rsplit('/').next().unwrap().to_string()]
        })
        .collect();
    let text = redact(&String::from_utf8_lossy(&out.stdout), &created);
    insta::assert_snapshot!("attacker_undo_plan", text);
}

#[test]
fn a_step_that_cannot_succeed_is_reported_and_the_rest_applied() {
    let s = Setup::new(&[]);
    let before = snapshot(&s);
    // Adele's account is deleted for good, and someone else takes her sign-in name; meanwhile
    // the attacker strikes.
    let (status, adele) = graph(
        &s,
        "GET",
        "/users?$filter=userPrincipalName eq 'adele.vance@contoso.onmicrosoft.com'",
        None,
    );
    assert_eq!(status, 200, "{adele}");
    let adele = adele["value"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(graph(&s, "DELETE", &format!("/users/{adele}"), None).0, 204);
    assert_eq!(graph(&s, "DELETE", &format!("/directory/deletedItems/{adele}"), None).0, 204);
    let (status, _) = graph(
        &s,
        "POST",
        "/users",
        Some(
            json!({"accountEnabled": true, "displayName": "Not Adele", "mailNickname": "notadele",
                    "userPrincipalName": "adele.vance@contoso.onmicrosoft.com",
                    "passwordProfile": {"password": "Xy7!long-enough-pass", "forceChangePasswordNextSignIn": true}}),
        ),
    );
    assert_eq!(status, 201);
    s.scenario("attacker");
    snapshot(&s);
    let out = s.run(&["restore", "--to", &before, "--all", "--yes", "--json", "--allow-lockout"]);
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = report["failed"].as_array().unwrap();
    assert!(
        failed
            .iter()
            .any(|f| f["kind"] == "user" && f["id"] == adele.as_str() && f["status"] == "failed"),
        "{failed:?}"
    );
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    // Independent steps went ahead: the attacker's role assignment is gone.
    let (_, assignments) = graph(&s, "GET", "/roleManagement/directory/roleAssignments", None);
    let principals: Vec<&str> = assignments["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["principalId"].as_str())
        .collect();
    let (_, automation) =
        graph(&s, "GET", "/servicePrincipals?$filter=displayName eq 'Contoso Automation'", None);
    let automation = automation["value"][0]["id"].as_str().unwrap();
    assert!(
        !principals.contains(&automation),
        "the attacker's Global Administrator role is removed"
    );
}

/// The service principal of the app with this client id, and the id of the Microsoft Graph app
/// role named `permission`.
pub(crate) fn app_and_role(s: &Setup, client_id: &str, permission: &str) -> (String, String) {
    let (_, sps) =
        graph(s, "GET", &format!("/servicePrincipals?$filter=appId eq '{client_id}'"), None);
    let sp = sps["value"][0]["id"].as_str().unwrap().to_string();
    let (_, graph_sp) = graph(
        s,
        "GET",
        "/servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'",
        None,
    );
    let role = graph_sp["value"][0]["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == permission)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    (sp, role)
}

/// Takes the write app's directory roles away (the emulator seeds it with the two restore
/// needs); returns its service principal.
pub(crate) fn without_directory_roles(s: &Setup) -> String {
    let write_id = s.writer()["client_id"].as_str().unwrap().to_string();
    let (sp, _) = app_and_role(s, &write_id, "User.ReadWrite.All");
    let (_, held) = graph(
        s,
        "GET",
        &format!("/roleManagement/directory/roleAssignments?$filter=principalId eq '{sp}'"),
        None,
    );
    for a in held["value"].as_array().unwrap() {
        let id = a["id"].as_str().unwrap();
        let path = format!("/roleManagement/directory/roleAssignments/{id}");
        let (st, body) = graph(s, "DELETE", &path, None);
        assert_eq!(st, 204, "{body}");
    }
    sp
}

#[test]
fn a_restore_without_a_write_app_is_refused_before_it_plans() {
    let s = Setup::new(&[]);
    snapshot(&s);
    s.scenario("attacker");
    let attacked = snapshot(&s);
    // Only the capture app: nothing is planned, captured or written, and the fix is named.
    let out = s
        .cmd(&["restore", "--to", "1", "--all", "--yes"])
        .env_remove("REWIND_WRITE_CLIENT_ID")
        .env_remove("REWIND_WRITE_CLIENT_SECRET")
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("REWIND_WRITE_CLIENT_ID"), "{}", stderr(&out));
    assert_eq!(snapshot(&s), (attacked.parse::<i64>().unwrap() + 1).to_string());
    // A dry run with it still shows the plan, and what the app would need to apply it.
    let dry = s
        .cmd(&["restore", "--to", "1", "--all", "--dry-run"])
        .env_remove("REWIND_WRITE_CLIENT_ID")
        .env_remove("REWIND_WRITE_CLIENT_SECRET")
        .output()
        .unwrap();
    assert_eq!(code(&dry), Some(0), "{}", stderr(&dry));
    let text = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        text.contains("Before it can be applied")
            && text.contains("Policy.ReadWrite.ConditionalAccess"),
        "{text}"
    );
}

#[test]
fn a_write_app_missing_a_permission_the_plan_needs_is_named_before_any_write() {
    let s = Setup::new(&[]);
    snapshot(&s);
    s.scenario("attacker");
    snapshot(&s);
    let writer = s.writer()["client_id"].as_str().unwrap().to_string();
    let (sp, role) = app_and_role(&s, &writer, "Policy.ReadWrite.ConditionalAccess");
    let (_, grants) =
        graph(&s, "GET", &format!("/servicePrincipals/{sp}/appRoleAssignments"), None);
    let grant = grants["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["appRoleId"] == role.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) =
        graph(&s, "DELETE", &format!("/servicePrincipals/{sp}/appRoleAssignments/{grant}"), None);
    assert_eq!(status, 204);
    let out = s.run(&["restore", "--to", "1", "--all", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    let why = stderr(&out);
    assert!(
        why.contains("Policy.ReadWrite.ConditionalAccess, for 2 steps (conditionalAccessPolicy)")
            && why.contains("nothing was written"),
        "{why}"
    );
    // Nothing was written: the attack is still there to undo.
    let (_, plan) = run_json(&s, &["restore", "--to", "1", "--all", "--dry-run"]);
    let actions: Vec<&str> = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"switchState") && actions.contains(&"removeCredential"), "{plan}");
}

/// Opens the test's store directly, as another process would.
fn open_store(s: &Setup) -> rewind_store::Store {
    let path = s.store();
    tokio_rt().block_on(async move { rewind_store::Store::open_sqlite(&path, None).await.unwrap() })
}

#[test]
fn one_restore_runs_at_a_time_and_the_other_is_told_who_holds_it() {
    let s = Setup::new(&[]);
    let first = snapshot(&s);
    s.scenario("attacker");
    snapshot(&s);
    let store = open_store(&s);
    let rt = tokio_rt();
    let held = rt.block_on(async {
        let tenant = store.tenants().await.unwrap().remove(0);
        store.lock_restore(&tenant, "an operator's restore, pid 4242").await.unwrap()
    });
    let out = s.run(&["restore", "--to", &first, "--all", "--yes"]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already running") && stderr(&out).contains("pid 4242"),
        "{}",
        stderr(&out)
    );
    // A dry run only reads: it is not held up.
    let dry = s.run(&["restore", "--to", &first, "--all", "--dry-run"]);
    assert_eq!(code(&dry), Some(0), "{}", stderr(&dry));
    drop(held);
    let (rc, done) = run_json(&s, &["restore", "--to", &first, "--all", "--yes"]);
    assert_eq!((rc, &done["converged"]), (0, &json!(true)), "{done}");
}

/// A restore killed while it verifies leaves its journal unfinished: `--resume` verifies.
/// An empty plan on a tenant that is as wanted has converged.
#[test]
fn verification_is_part_of_the_journal_and_an_empty_plan_has_converged() {
    let s = Setup::new(&[]);
    let first = snapshot(&s);
    s.scenario("attacker");
    snapshot(&s);
    let (rc, done) = run_json(&s, &["restore", "--to", &first, "--all", "--yes"]);
    assert_eq!(rc, 0, "{done}");
    let restore = rewind_store::RestoreId(done["restore"].as_i64().unwrap());
    let store = open_store(&s);
    let rt = tokio_rt();
    let status = |store: &rewind_store::Store| {
        rt.block_on(async {
            let tenant = store.tenants().await.unwrap().remove(0);
            store.restores(&tenant).await.unwrap()[0].status.as_str()
        })
    };
    assert_eq!(status(&store), "finished");
    // As a kill during verification leaves it: applied, not verified.
    rt.block_on(store.finish_restore(restore, rewind_store::RestoreStatus::Verifying)).unwrap();
    let (rc, resumed) = run_json(&s, &["restore", "--resume"]);
    assert_eq!(rc, 0, "{resumed}");
    assert_eq!(resumed["converged"], true, "{resumed}");
    assert_eq!(resumed["restore"], restore.0);
    assert_eq!(status(&store), "finished");
    let nothing = s.run(&["restore", "--resume"]);
    assert_eq!(code(&nothing), Some(2), "{}", stderr(&nothing));
    // The tenant is as it was at the first snapshot: nothing to do, and that is convergence.
    let (rc, empty) = run_json(&s, &["restore", "--to", &first, "--all", "--yes"]);
    assert_eq!(rc, 0, "{empty}");
    assert_eq!(empty["plan"]["steps"], json!([]));
    assert_eq!(empty["converged"], true, "{empty}");
}

/// The guard weighs every protected principal: undoing an attacker's rogue Global
/// Administrator is allowed (and said first), deleting or disabling a break-glass account is
/// refused even in a plan file, and a plan that leaves a break-glass account at risk again is
/// refused though nobody is locked out.
#[test]
fn the_guard_refuses_anyone_worse_off_and_allows_removing_a_rogue_administrator() {
    let s = Setup::new(&[]);
    let first = snapshot(&s);
    let (status, rogue) = graph(
        &s,
        "POST",
        "/users",
        Some(json!({"accountEnabled": true, "displayName": "Rogue Admin", "mailNickname": "rogue",
            "userPrincipalName": "rogue@contoso.onmicrosoft.com",
            "passwordProfile": {"password": "Xy!9-long-enough-password"}})),
    );
    assert_eq!(status, 201, "{rogue}");
    let (status, body) = graph(
        &s,
        "POST",
        "/roleManagement/directory/roleAssignments",
        Some(json!({"principalId": rogue["id"], "directoryScopeId": "/",
            "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10"})),
    );
    assert_eq!(status, 201, "{body}");
    snapshot(&s);
    let (rc, plan) = run_json(&s, &["restore", "--to", &first, "--all", "--dry-run"]);
    assert_eq!(rc, 0, "{plan}");
    assert_eq!(plan["guard"]["refused"], false, "{}", plan["guard"]);
    assert_eq!(plan["guard"]["removed"][0]["user_principal_name"], "rogue@contoso.onmicrosoft.com");
    let text = String::from_utf8(s.run(&["restore", "--to", &first, "--all", "--dry-run"]).stdout)
        .unwrap();
    assert!(
        text.contains("removes administrator rogue@contoso.onmicrosoft.com (Global Administrator), created after the target time"),
        "{text}"
    );

    // A plan file that deletes one break-glass account and disables the other.
    let (_, users) = graph(&s, "GET", "/users?$filter=startswith(displayName,'Break Glass')", None);
    let bg: Vec<Value> = users["value"].as_array().unwrap().clone();
    assert_eq!(bg.len(), 2, "{users}");
    // As the store holds it (canonical), so that the steps are the ones its desired state needs
    // and the file reaches the guard.
    let mut disabled = s.json(&["show", bg[1]["id"].as_str().unwrap(), "--json"])["object"].clone();
    disabled["accountEnabled"] = json!(false);
    disabled.as_object_mut().unwrap().remove("id");
    let forged = json!({"plan": {"format": 1, "steps": [
        {"n": 1, "action": "delete", "kind": "user", "id": bg[0]["id"], "reason": "harmless"},
        {"n": 2, "action": "update", "kind": "user", "id": bg[1]["id"], "reason": "harmless",
         "body": {"accountEnabled": false}}],
        "notices": [],
        "desired": [{"kind": "user", "id": bg[0]["id"], "object": null},
                    {"kind": "user", "id": bg[1]["id"], "object": disabled}]}});
    let file = s.dir().join("forged.json");
    std::fs::write(&file, forged.to_string()).unwrap();
    let out = s.run(&["apply", file.to_str().unwrap(), "--yes"]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    let why = stderr(&out);
    assert!(
        why.contains("removed or disabled (a break-glass account)") && why.contains("locked out"),
        "{why}"
    );

    // Safe → at risk: the country block without the break-glass exclusion, again.
    s.scenario("attacker");
    let attacked = snapshot(&s);
    let (rc, fixed) = run_json(
        &s,
        &["restore", "--changed-by", "Contoso Automation", "--since", &first, "--yes"],
    );
    assert_eq!(rc, 0, "{fixed}");
    let policy = "ca/CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
    let out = s.run(&["restore", "--to", &attacked, "--object", policy, "--dry-run"]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("safe → at risk"), "{}", stderr(&out));
}

#[test]
fn a_policy_weakened_then_deleted_comes_back_with_its_exclusion() {
    // The attacker's order: take the break-glass exclusion out of a policy, then delete the
    // policy. The bin holds the weakened policy; restoring it alone would enforce it without
    // the exclusion. The way back restores it, writes the target version report-only, and
    // switches it on last — and the live policy has its exclusion again.
    let s = Setup::new(&[]);
    let policy = listed_where(&s, "/identity/conditionalAccess/policies", |p| {
        p["state"] == "enabled"
            && !p["conditions"]["users"]["excludeGroups"].as_array().unwrap().is_empty()
    });
    let id = policy["id"].as_str().unwrap().to_string();
    let excluded = policy["conditions"]["users"]["excludeGroups"].clone();
    let before = snapshot(&s);
    let (status, body) = graph(
        &s,
        "PATCH",
        &format!("/identity/conditionalAccess/policies/{id}"),
        Some(json!({"conditions": {"users": {"excludeGroups": []}}})),
    );
    assert_eq!(status, 204, "{body}");
    let (status, body) =
        graph(&s, "DELETE", &format!("/identity/conditionalAccess/policies/{id}"), None);
    assert_eq!(status, 204, "{body}");
    let report = restore_all(&s, &before);
    let shape: Vec<(String, String)> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["id"] == id.as_str())
        .map(|st| {
            (
                st["action"].as_str().unwrap().to_string(),
                st["body"]["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("restore".to_string(), String::new()),
            ("update".into(), "enabledForReportingButNotEnforced".into()),
            ("switchState".into(), "enabled".into()),
        ],
        "{}",
        report["plan"]
    );
    let (status, live) =
        graph(&s, "GET", &format!("/identity/conditionalAccess/policies/{id}"), None);
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["state"], "enabled");
    assert_eq!(live["conditions"]["users"]["excludeGroups"], excluded);
}

#[test]
fn conditions_and_controls_added_since_are_removed_with_null() {
    // An MFA-for-everyone policy narrowed to one platform and a sign-in frequency dropped: the
    // way back removes the platform condition (null, not an empty shell Graph would refuse or
    // keep matching nothing) and puts the control back.
    let s = Setup::new(&[]);
    let policies = "/identity/conditionalAccess/policies";
    let narrowed = id_where(&s, policies, |p| {
        p["conditions"]["platforms"].is_null() && p["state"] == "enabled"
    });
    let timed = listed_where(&s, policies, |p| !p["sessionControls"]["signInFrequency"].is_null());
    let (timed, frequency) = (
        timed["id"].as_str().unwrap().to_string(),
        timed["sessionControls"]["signInFrequency"].clone(),
    );
    let before = snapshot(&s);
    let path = |id: &str| format!("/identity/conditionalAccess/policies/{id}");
    let platforms = json!({"conditions": {"platforms": {"includePlatforms": ["android"], "excludePlatforms": []}}});
    let (status, body) = graph(&s, "PATCH", &path(&narrowed), Some(platforms));
    assert_eq!(status, 204, "{body}");
    let (status, body) = graph(
        &s,
        "PATCH",
        &path(&timed),
        Some(json!({"sessionControls": {"signInFrequency": null}})),
    );
    assert_eq!(status, 204, "{body}");
    restore_all(&s, &before);
    let (_, live) = graph(&s, "GET", &path(&narrowed), None);
    assert!(live["conditions"]["platforms"].is_null(), "{live}");
    let (_, live) = graph(&s, "GET", &path(&timed), None);
    assert_eq!(live["sessionControls"]["signInFrequency"], frequency, "{live}");
}

#[test]
fn a_renamed_and_widened_named_location_is_put_back() {
    // Graph updates a named location only with its derived type in the body.
    let s = Setup::new(&[]);
    let location = listed_where(&s, "/identity/conditionalAccess/namedLocations", |l| {
        l["@odata.type"] == "#microsoft.graph.ipNamedLocation"
    });
    let id = location["id"].as_str().unwrap().to_string();
    let before = snapshot(&s);
    let path = format!("/identity/conditionalAccess/namedLocations/{id}");
    let (status, body) = graph(
        &s,
        "PATCH",
        &path,
        Some(json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": "Anywhere",
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "0.0.0.0/1"}]})),
    );
    assert_eq!(status, 204, "{body}");
    restore_all(&s, &before);
    let (_, live) = graph(&s, "GET", &path, None);
    assert_eq!(live["displayName"], location["displayName"]);
    assert_eq!(live["ipRanges"], location["ipRanges"]);
}

#[test]
fn an_edited_plan_file_does_not_run_what_nobody_reviewed() {
    // Steps appended to a reviewed plan (deleting the break-glass accounts under a harmless
    // name), or a desired state edited under unchanged steps, are not what the file's desired
    // state needs against the tenant: apply refuses and says which steps differ.
    let s = Setup::new(&[]);
    let before = snapshot(&s);
    s.scenario("attacker");
    snapshot(&s);
    let file = s.store().with_extension("plan.json");
    let file = file.to_str().unwrap();
    let out = s.run(&["restore", "--to", &before, "--all", "--dry-run", "--plan-out", file]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let reviewed: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let (_, users) =
        graph(&s, "GET", "/users?$filter=startswith(userPrincipalName,'bg-admin')", None);
    let mut forged = reviewed.clone();
    let steps = forged["steps"].as_array_mut().unwrap();
    for (i, u) in users["value"].as_array().unwrap().iter().enumerate() {
        let n = steps.len() + 1 + i;
        steps.push(json!({"n": n, "action": "delete", "kind": "user", "id": u["id"],
            "display_name": "harmless", "reason": "cosmetic re-sync"}));
    }
    std::fs::write(file, forged.to_string()).unwrap();
    let refused = s.run(&["apply", file, "--yes"]);
    assert_eq!(code(&refused), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("in the file, not needed now: delete user"),
        "{}",
        stderr(&refused)
    );
    // The desired state edited instead: the policy's exclusion taken out of what it restores.
    let mut forged = reviewed.clone();
    for d in forged["desired"].as_array_mut().unwrap() {
        if d["kind"] == "conditionalAccessPolicy" {
            d["object"]["conditions"]["users"]["excludeGroups"] = json!([]);
        }
    }
    std::fs::write(file, forged.to_string()).unwrap();
    let refused = s.run(&["apply", file, "--yes"]);
    assert_eq!(code(&refused), Some(2), "{}", stderr(&refused));
    // Both break-glass accounts are still there; the file as reviewed applies.
    let (_, still) =
        graph(&s, "GET", "/users?$filter=startswith(userPrincipalName,'bg-admin')", None);
    assert_eq!(still["value"].as_array().unwrap().len(), 2);
    std::fs::write(file, reviewed.to_string()).unwrap();
    let (rc, applied) = run_json(&s, &["apply", file, "--yes"]);
    assert_eq!(rc, 0, "{applied}");
    assert_eq!(applied["converged"], true);
}

#[test]
fn a_widened_authentication_strength_is_narrowed_back() {
    // Graph changes a strength's combinations only through updateAllowedCombinations: a PATCH
    // would be refused, and leaving it out would leave administrators' MFA widened to SMS.
    let s = Setup::new(&[]);
    let custom = listed_where(&s, "/policies/authenticationStrengthPolicies", |p| {
        p["policyType"] == "custom"
    });
    let id = custom["id"].as_str().unwrap().to_string();
    let before = snapshot(&s);
    let mut widened: Vec<Value> = custom["allowedCombinations"].as_array().unwrap().clone();
    widened.push(json!("password,sms"));
    let (status, body) = graph(
        &s,
        "POST",
        &format!("/policies/authenticationStrengthPolicies/{id}/updateAllowedCombinations"),
        Some(json!({ "allowedCombinations": widened })),
    );
    assert_eq!(status, 200, "{body}");
    let report = restore_all(&s, &before);
    assert!(
        report["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|st| st["id"] == id.as_str() && st["action"] == "update"),
        "{}",
        report["plan"]
    );
    let (_, live) =
        graph(&s, "GET", &format!("/policies/authenticationStrengthPolicies/{id}"), None);
    assert_eq!(live["allowedCombinations"], custom["allowedCombinations"]);
}

#[test]
fn an_ended_pim_activation_is_not_re_created_as_a_permanent_assignment() {
    // Megan Bowen activated Global Administrator for eight hours. It ended, as activations do;
    // a restore to before must not give her the role for good.
    let s = Setup::new(&[]);
    let before = snapshot(&s);
    tokio_rt().block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/_emulator/clock", s.graph_url()))
            .json(&json!({"advanceSeconds": 9 * 3600}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    });
    snapshot(&s);
    let (rc, report) = run_json(&s, &["restore", "--to", &before, "--all", "--dry-run"]);
    assert_eq!(rc, 0, "{report}");
    let creates: Vec<&Value> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["kind"] == "unifiedRoleAssignment" && st["action"] == "create")
        .collect();
    assert!(creates.is_empty(), "{creates:?}");
    let notices = report["plan"]["notices"].to_string();
    assert!(notices.contains("granted for a time by PIM"), "{notices}");
}

#[test]
fn creates_that_fail_after_graph_applied_them_are_not_made_twice() {
    // A third of the writes are applied and answered 500 anyway; new objects take a moment to
    // replicate. Undoing a mass delete creates groups anew and re-links their members.
    let s = Setup::new(&["--error-after-commit-rate", "0.3", "--replication-lag-ms", "300"]);
    let before = snapshot(&s);
    s.scenario("mass-delete");
    snapshot(&s);
    let report = restore_all(&s, &before);
    let created = report["lineage"].as_object().unwrap();
    assert!(!created.is_empty(), "{report}");
    let (_, groups) = graph(&s, "GET", "/groups?$select=displayName&$top=999", None);
    let mut names: Vec<&str> = groups["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["displayName"].as_str())
        .collect();
    let all = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all, "a group was created twice: {names:?}");
    let stats: Value = tokio_rt().block_on(async {
        let url = format!("{}/_emulator/stats", s.graph_url());
        reqwest::get(url).await.unwrap().json().await.unwrap()
    });
    assert!(stats["failed_after_commit"].as_u64().unwrap() > 0, "the fault was exercised: {stats}");
}

#[test]
fn a_plan_that_needs_a_directory_role_the_write_app_lacks_is_refused_before_writing() {
    let s = Setup::new(&[]);
    // Nestor Wilke holds a directory role: restoring him needs the write app's roles.
    let (_, users) = graph(&s, "GET", "/users?$select=id,displayName", None);
    let nestor = users["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["displayName"] == "Nestor Wilke")
        .and_then(|u| u["id"].as_str())
        .unwrap()
        .to_string();
    let (_, held) = graph(
        &s,
        "GET",
        &format!("/roleManagement/directory/roleAssignments?$filter=principalId eq '{nestor}'"),
        None,
    );
    assert!(!held["value"].as_array().unwrap().is_empty(), "{held}");
    let before = snapshot(&s);
    let (st, body) = graph(&s, "DELETE", &format!("/users/{nestor}"), None);
    assert_eq!(st, 204, "{body}");
    without_directory_roles(&s);
    let deleted = snapshot(&s);
    let out = s.run(&["restore", "--to", &before, "--all", "--yes"]);
    assert_eq!(code(&out), Some(3), "{}", stderr(&out));
    let why = stderr(&out);
    assert!(
        why.contains("Privileged Authentication Administrator")
            && why.contains("nothing was written"),
        "{why}"
    );
    let dry = s.run(&["restore", "--to", &before, "--all", "--dry-run"]);
    let text = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(text.contains("directory roles"), "{text}");
    // Nothing was written: the tenant is as the incident left it.
    let now = snapshot(&s);
    let written = changed(&s, &deleted, &now);
    assert!(written.is_empty(), "{written:?}");
}

#[test]
fn an_application_comes_back_with_its_service_principal_and_its_own_identifier_uri() {
    let s = Setup::new(&[]);
    let (st, app) = graph(&s, "POST", "/applications", Some(json!({"displayName": "Inventory"})));
    assert_eq!(st, 201, "{app}");
    let (id, app_id) =
        (app["id"].as_str().unwrap().to_string(), app["appId"].as_str().unwrap().to_string());
    let uri = json!({"identifierUris": [format!("api://{app_id}")]});
    assert_eq!(graph(&s, "PATCH", &format!("/applications/{id}"), Some(uri)).0, 204);
    let (st, sp) = graph(&s, "POST", "/servicePrincipals", Some(json!({"appId": app_id})));
    assert_eq!(st, 201, "{sp}");
    let sp = sp["id"].as_str().unwrap().to_string();
    let before = snapshot(&s);

    // Deleted: the service principal goes to the recycle bin with it, and comes back with it.
    assert_eq!(graph(&s, "DELETE", &format!("/applications/{id}"), None).0, 204);
    snapshot(&s);
    let object = format!("app/{id}");
    let (rc, report) = run_json(&s, &["restore", "--to", &before, "--object", &object, "--yes"]);
    assert_eq!(rc, 0, "{report}");
    assert_eq!(report["converged"], true, "{}", report["differences"]);
    assert_eq!(graph(&s, "GET", &format!("/servicePrincipals/{sp}"), None).0, 200);

    // Gone for good: created anew with a new appId, which its service principal and its
    // api:// URI follow.
    assert_eq!(graph(&s, "DELETE", &format!("/applications/{id}"), None).0, 204);
    for gone in [&id, &sp] {
        let (st, body) = graph(&s, "DELETE", &format!("/directory/deletedItems/{gone}"), None);
        assert_eq!(st, 204, "{body}");
    }
    snapshot(&s);
    let (rc, report) = run_json(&s, &["restore", "--to", &before, "--object", &object, "--yes"]);
    assert_eq!(rc, 0, "{report}");
    assert_eq!(report["converged"], true, "{}", report["differences"]);
    let new = report["lineage"][&id].as_str().unwrap().to_string();
    let (_, app) = graph(&s, "GET", &format!("/applications/{new}"), None);
    let new_app_id = app["appId"].as_str().unwrap();
    assert_ne!(new_app_id, app_id);
    assert_eq!(app["identifierUris"], json!([format!("api://{new_app_id}")]));
    let (_, sps) =
        graph(&s, "GET", &format!("/servicePrincipals?$filter=appId eq '{new_app_id}'"), None);
    assert_eq!(sps["value"].as_array().unwrap().len(), 1, "{sps}");
}

#[test]
fn pim_eligibilities_are_granted_and_revoked_through_schedule_requests() {
    let s = Setup::new(&[]);
    let (_, schedules) =
        graph(&s, "GET", "/roleManagement/directory/roleEligibilitySchedules", None);
    let kept = schedules["value"][0].clone();
    let request = |action: &str, v: &Value| {
        json!({"action": action, "justification": "test", "principalId": v["principalId"],
               "roleDefinitionId": v["roleDefinitionId"], "directoryScopeId": v["directoryScopeId"]})
    };
    let path = "/roleManagement/directory/roleEligibilityScheduleRequests";
    let before = snapshot(&s);
    // An eligibility revoked, and one granted (to a Global Administrator role, for a year).
    let (st, body) = graph(&s, "POST", path, Some(request("adminRemove", &kept)));
    assert_eq!(st, 201, "{body}");
    let (_, users) = graph(&s, "GET", "/users?$top=5&$select=id", None);
    let mut added = request("adminAssign", &kept);
    added["principalId"] = users["value"][4]["id"].clone();
    added["roleDefinitionId"] = json!("62e90394-69f5-4237-9190-012177145e10");
    added["scheduleInfo"] = json!({"startDateTime": "2026-01-01T00:00:00Z",
        "expiration": {"type": "afterDateTime", "endDateTime": "2099-01-01T00:00:00Z"}});
    let (st, body) = graph(&s, "POST", path, Some(added.clone()));
    assert_eq!(st, 201, "{body}");
    snapshot(&s);
    let report = restore_all(&s, &before);
    let actions: Vec<(&str, &str)> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| st["kind"] == "unifiedRoleEligibilitySchedule")
        .map(|st| (st["action"].as_str().unwrap(), st["id"].as_str().unwrap()))
        .collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    let (_, now) = graph(&s, "GET", "/roleManagement/directory/roleEligibilitySchedules", None);
    let triples: Vec<(Value, Value)> = now["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["principalId"].clone(), e["roleDefinitionId"].clone()))
        .collect();
    assert!(triples.contains(&(kept["principalId"].clone(), kept["roleDefinitionId"].clone())));
    assert!(!triples.contains(&(added["principalId"].clone(), added["roleDefinitionId"].clone())));
}

#[test]
fn an_encrypted_store_applies_only_plans_it_wrote_itself() {
    let s = Setup::new(&[]);
    let key = "ab".repeat(32);
    let keyed = |args: &[&str]| s.cmd(args).env("REWIND_STORE_KEY", &key).output().unwrap();
    assert_eq!(code(&keyed(&["capture"])), Some(0));
    s.scenario("attacker");
    assert_eq!(code(&keyed(&["capture"])), Some(0));
    let file = s.store().with_extension("plan.json");
    let file = file.to_str().unwrap();
    let out = keyed(&["restore", "--to", "1", "--all", "--dry-run", "--plan-out", file]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let reviewed: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(reviewed["mac"].as_str().map(str::len), Some(64), "signed");

    // A desired state edited under the MAC, and the MAC taken off: both refused.
    let mut edited = reviewed.clone();
    edited["desired"][0]["object"]["displayName"] = json!("edited");
    let mut unsigned = reviewed.clone();
    unsigned.as_object_mut().unwrap().remove("mac");
    for (forged, why) in [(edited, "MAC does not match"), (unsigned, "carries no MAC")] {
        std::fs::write(file, forged.to_string()).unwrap();
        let refused = keyed(&["apply", file, "--yes"]);
        assert_eq!(code(&refused), Some(2), "{}", stderr(&refused));
        assert!(stderr(&refused).contains(why), "{}", stderr(&refused));
    }
    std::fs::write(file, reviewed.to_string()).unwrap();
    let applied = keyed(&["apply", file, "--yes"]);
    assert_eq!(code(&applied), Some(0), "{}", stderr(&applied));
}

#[test]
fn an_admin_and_groups_of_every_type_deleted_come_back_on_graphs_terms() {
    let s = Setup::new(&["--preset", "small"]);
    let named = |path: &str, name: &str| id_where(&s, path, |v| v["displayName"] == name);
    // An administrator: a user holding a role who is not a break-glass account.
    let (_, users) = graph(&s, "GET", "/users?$select=id,userPrincipalName&$top=999", None);
    let (_, assignments) = graph(&s, "GET", "/roleManagement/directory/roleAssignments", None);
    let admin = users["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| !u["userPrincipalName"].as_str().unwrap().starts_with("bg-admin"))
        .filter_map(|u| u["id"].as_str())
        .find(|id| assignments["value"].as_array().unwrap().iter().any(|a| a["principalId"] == *id))
        .unwrap()
        .to_string();
    let dynamic = named("/groups?$select=id,displayName&$top=999", "Sales (dynamic)");
    let unified = id_where(&s, "/groups?$top=999", |g| {
        g["groupTypes"] == json!(["Unified"])
            && g["displayName"] != "CA - Break Glass Accounts - Exclude"
    });
    let security = listed_where(&s, "/groups?$top=999", |g| {
        g["groupTypes"] == json!([])
            && g["mailEnabled"] == false
            && g["securityEnabled"] == true
            && g["onPremisesSyncEnabled"] != true
            && !g["displayName"].as_str().unwrap().starts_with("CA - ")
    });
    let (security, security_name) = (
        security["id"].as_str().unwrap().to_string(),
        security["displayName"].as_str().unwrap().to_string(),
    );
    let members_of = |id: &str| -> BTreeSet<String> {
        let (_, m) = graph(&s, "GET", &format!("/groups/{id}/members?$select=id&$top=999"), None);
        m["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    };
    let security_members = members_of(&security);
    let roles_of = |id: &str| -> BTreeSet<String> {
        let path =
            format!("/roleManagement/directory/roleAssignments?$filter=principalId eq '{id}'");
        let (_, roles) = graph(&s, "GET", &path, None);
        roles["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["roleDefinitionId"].as_str().unwrap().to_string())
            .collect()
    };
    let admin_roles = roles_of(&admin);
    assert!(!admin_roles.is_empty());
    let before = snapshot(&s);

    // The admin and the Microsoft 365 group go to the recycle bin; security groups (the
    // dynamic one too) are gone for good.
    for path in [
        format!("/users/{admin}"),
        format!("/groups/{dynamic}"),
        format!("/groups/{unified}"),
        format!("/groups/{security}"),
    ] {
        let (st, body) = graph(&s, "DELETE", &path, None);
        assert_eq!(st, 204, "{path}: {body}");
    }
    snapshot(&s);
    let report = restore_all(&s, &before);

    // Read back independently: the admin with its roles, the Microsoft 365 group with its id,
    // the security group anew with its members, the dynamic group anew with its rule.
    assert_eq!(graph(&s, "GET", &format!("/users/{admin}"), None).0, 200);
    assert_eq!(roles_of(&admin), admin_roles);
    assert_eq!(graph(&s, "GET", &format!("/groups/{unified}"), None).0, 200);
    let new_security = report["lineage"][&security].as_str().unwrap();
    let (_, g) = graph(&s, "GET", &format!("/groups/{new_security}"), None);
    assert_eq!(g["displayName"], security_name.as_str());
    assert_eq!(members_of(new_security), security_members);
    let new_dynamic = report["lineage"][&dynamic].as_str().unwrap();
    let (_, g) =
        graph(&s, "GET", &format!("/groups/{new_dynamic}?$select=groupTypes,membershipRule"), None);
    assert_eq!(g["groupTypes"], json!(["DynamicMembership"]), "{g}");
    assert_eq!(g["membershipRule"], "(user.department -eq \"Sales\")");
    // Its members are its rule's business: no member was written to it.
    let steps = report["plan"]["steps"].as_array().unwrap();
    let linked = |id: &str| steps.iter().any(|st| st["id"] == id && st["action"] == "addLink");
    assert!(linked(&security), "the security group's members are added");
    assert!(!linked(&dynamic), "{steps:?}");
}

#[test]
fn a_guest_gone_for_good_is_invited_again_and_gets_its_groups_back() {
    let s = Setup::new(&[]);
    let guest = listed_where(&s, "/users?$select=id,userType,userPrincipalName", |u| {
        u["userType"] == "Guest"
    });
    let (guest, upn) = (
        guest["id"].as_str().unwrap().to_string(),
        guest["userPrincipalName"].as_str().unwrap().to_string(),
    );
    let group = id_where(&s, "/groups?$select=id,displayName", |g| g["displayName"] == "All Staff");
    let bind =
        json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{guest}")});
    let (st, body) = graph(&s, "POST", &format!("/groups/{group}/members/$ref"), Some(bind));
    assert_eq!(st, 204, "{body}");
    let before = snapshot(&s);
    for path in [format!("/users/{guest}"), format!("/directory/deletedItems/{guest}")] {
        let (st, body) = graph(&s, "DELETE", &path, None);
        assert_eq!(st, 204, "{path}: {body}");
    }
    snapshot(&s);
    let report = restore_all(&s, &before);
    let step = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["id"] == guest.as_str() && st["action"] == "create")
        .unwrap()
        .clone();
    assert_eq!(step["body"]["invitedUserEmailAddress"], "pat@fabrikam.com", "{step}");
    assert_eq!(step["body"]["sendInvitationMessage"], false);
    assert!(
        report["plan"]["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["notice"] == "redeem_invitation"),
        "{}",
        report["plan"]["notices"]
    );
    let new = report["lineage"][&guest].as_str().unwrap();
    let (_, user) = graph(
        &s,
        "GET",
        &format!("/users/{new}?$select=userPrincipalName,userType,creationType"),
        None,
    );
    assert_eq!(user["userPrincipalName"], upn.as_str());
    assert_eq!(user["creationType"], "Invitation");
    let (_, members) = graph(&s, "GET", &format!("/groups/{group}/members?$select=id"), None);
    assert!(members["value"].as_array().unwrap().iter().any(|m| m["id"] == new), "{members}");
}

/// Sets the FIDO2 configuration's state in the authentication methods policy.
fn fido2(s: &Setup, state: &str) {
    let (status, body) = graph(
        s,
        "PATCH",
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2",
        Some(
            json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "state": state}),
        ),
    );
    assert!(status < 300, "{body}");
}

#[test]
fn the_guard_refuses_taking_the_break_glass_accounts_last_usable_strong_method() {
    let s = Setup::new(&[]);
    fido2(&s, "disabled");
    let without_keys = snapshot(&s);
    fido2(&s, "enabled");
    // Phishing-resistant MFA for everyone, break-glass accounts included: their keys meet it.
    let (status, body) = graph(
        &s,
        "POST",
        "/identity/conditionalAccess/policies",
        Some(json!({"displayName": "Phishing-resistant MFA for everyone", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"]},
            "grantControls": {"operator": "OR", "builtInControls": [],
                "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}})),
    );
    assert_eq!(status, 201, "{body}");
    snapshot(&s);
    // Restoring the methods policy of the first point switches FIDO2 off: the break-glass
    // accounts' only phishing-resistant method stops counting, and nothing they could register
    // would meet the policy. Refused, exit 5, and FIDO2 stays on.
    let refused = s.run(&[
        "restore",
        "--to",
        &without_keys,
        "--kind",
        "authenticationMethodConfiguration",
        "--yes",
        "--json",
    ]);
    assert_eq!(code(&refused), Some(5), "{}", stderr(&refused));
    let report: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(report["guard"]["refused"], true, "{report}");
    let why = stderr(&refused);
    assert!(why.contains("bg-admin-01") && why.contains("bg-admin-02"), "{why}");
    assert!(why.contains("Phishing-resistant MFA for everyone"), "{why}");
    let (_, config) = graph(
        &s,
        "GET",
        "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2",
        None,
    );
    assert_eq!(config["state"], "enabled", "{config}");
}
