//! `capture`, `log`, `show`, `history`, `verify` and `tenant` as scripts use them: the JSON
//! contract of DESIGN §8.1, exit codes, and a store that survives `kill -9` at any moment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use serde_json::Value;

use super::{DEMO_DEADLINE, finish_within, rewind, spawn_emulator, tokio_rt};

/// An emulator and a store directory for one test.
pub struct Setup {
    emulator: Child,
    info: Value,
    dir: PathBuf,
}

impl Setup {
    pub fn new(extra: &[&str]) -> Setup {
        let (emulator, info) = spawn_emulator(extra);
        let dir = std::env::temp_dir().join(format!("rewind-cli-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        Setup { emulator, info, dir }
    }

    /// The test's own directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn store(&self) -> PathBuf {
        self.dir.join("timeline.db")
    }

    /// The emulator's write client.
    pub fn writer(&self) -> &Value {
        self.info["clients"].as_array().unwrap().iter().find(|c| c["access"] == "write").unwrap()
    }

    /// How to reach the emulator, as it printed it.
    pub fn emulator_info(&self) -> rewind_emulator::EmulatorInfo {
        serde_json::from_value(self.info.clone()).expect("the emulator's connection JSON")
    }

    /// The emulated tenant's id.
    pub fn tenant_id(&self) -> &str {
        self.info["tenant_id"].as_str().unwrap()
    }

    /// The emulator's Graph base URL.
    pub fn graph_url(&self) -> &str {
        self.info["graph_url"].as_str().unwrap()
    }

    /// `rewind ARGS` with the read client's settings (and the write client's, for restore) in
    /// the environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let reader = self.info["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["access"] == "read")
            .unwrap();
        let mut c = rewind();
        c.args(args)
            .env("REWIND_GRAPH_URL", self.info["graph_url"].as_str().unwrap())
            .env("REWIND_AUTHORITY_URL", self.info["authority_url"].as_str().unwrap())
            .env("REWIND_TENANT_ID", self.info["tenant_id"].as_str().unwrap())
            .env("REWIND_CLIENT_ID", reader["client_id"].as_str().unwrap())
            .env("REWIND_CLIENT_SECRET", reader["client_secret"].as_str().unwrap())
            .env("REWIND_WRITE_CLIENT_ID", self.writer()["client_id"].as_str().unwrap())
            .env("REWIND_WRITE_CLIENT_SECRET", self.writer()["client_secret"].as_str().unwrap())
            .env("REWIND_STORE", self.store())
            .env_remove("REWIND_STORE_KEY")
            .env_remove("REWIND_TENANT");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Graph requests the emulator has answered since its counters were reset.
    fn graph_requests(&self) -> u64 {
        let url = format!("{}/_emulator/stats", self.info["graph_url"].as_str().unwrap());
        let stats: Value =
            tokio_rt().block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
        stats["requests"].as_u64().unwrap()
    }

    fn reset_stats(&self) {
        let url = format!("{}/_emulator/stats", self.info["graph_url"].as_str().unwrap());
        tokio_rt().block_on(async { reqwest::Client::new().delete(url).send().await.unwrap() });
    }

    pub fn scenario(&self, name: &str) {
        let url =
            format!("{}/_emulator/scenarios/{name}", self.info["graph_url"].as_str().unwrap());
        tokio_rt().block_on(async { reqwest::Client::new().post(url).send().await.unwrap() });
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    )
}

pub fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn capture_log_show_history_and_verify_speak_the_scripting_contract() {
    let s = Setup::new(&[]);
    let first = s.json(&["capture", "--json"]);
    for key in ["snapshot", "taken_at", "complete", "objects", "changes", "requests", "seconds"] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["complete"], true);
    assert_eq!(first["changes"]["created"], first["objects"]);
    s.scenario("attacker");
    let second = s.json(&["capture", "--json"]);
    assert_eq!(second["changes"]["updated"], 3, "{second}");
    assert_eq!(second["changes"]["created"], 2, "{second}");

    let log = s.json(&["log", "--json"]);
    let snaps = log["snapshots"].as_array().unwrap();
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0]["snapshot"], second["snapshot"], "newest first");

    let policy = "ca/CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist";
    let before = s.json(&["show", policy, "--at", &first["snapshot"].to_string(), "--json"]);
    let after = s.json(&["show", policy, "--json"]);
    assert_ne!(before["object"], after["object"], "the attacker changed it");
    assert_eq!(before["object"]["displayName"], after["object"]["displayName"]);
    let history = s.json(&["history", policy, "--json"]);
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["actors"][0], "Contoso Automation");
    let text = String::from_utf8(s.run(&["history", policy]).stdout).unwrap();
    assert!(text.contains("Contoso Automation") && text.contains("updated"), "{text}");

    let unknown = s.run(&["show", "ca/CA001-Global"]);
    assert_eq!(code(&unknown), Some(2));
    assert!(stderr(&unknown).contains("did you mean"), "{}", stderr(&unknown));
    let bad_time = s.run(&["show", policy, "--at", "yesterday"]);
    assert_eq!(code(&bad_time), Some(2));
    assert!(stderr(&bad_time).contains("RFC 3339"));

    let first_id = first["snapshot"].to_string();
    let changes = s.json(&["changes", "--from", &first_id, "--json"]);
    assert_eq!(changes["from"]["snapshot"], first["snapshot"]);
    assert_eq!(changes["to"]["snapshot"], second["snapshot"]);
    let list = changes["changes"].as_array().unwrap();
    assert_eq!(list.len(), 5, "{changes}");
    assert!(list.iter().all(|c| c["actors"][0] == "Contoso Automation"), "{changes}");
    let ca001 = list
        .iter()
        .find(|c| c["display_name"].as_str().is_some_and(|n| n.starts_with("CA001")))
        .unwrap();
    assert_eq!(ca001["change"], "updated");
    assert_eq!(ca001["paths"], serde_json::json!(["conditions.users.excludeGroups"]));
    let only_ca = s.json(&["changes", "--from", &first_id, "--kind", "ca", "--json"]);
    assert_eq!(only_ca["changes"].as_array().unwrap().len(), 2);
    let nobody = s.json(&["changes", "--from", &first_id, "--actor", "nobody", "--json"]);
    assert!(nobody["changes"].as_array().unwrap().is_empty());
    let mfa = "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA";
    let diff = s.json(&["diff", mfa, "--from", &first_id, "--json"]);
    let objects = diff["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1, "{diff}");
    assert_eq!(
        objects[0]["properties"],
        serde_json::json!([{"path": "state", "old": "enabled", "new": "enabledForReportingButNotEnforced"}])
    );
    let back = s.json(&[
        "changes",
        "--from",
        &second["snapshot"].to_string(),
        "--to",
        &first_id,
        "--json",
    ]);
    let deleted =
        back["changes"].as_array().unwrap().iter().filter(|c| c["change"] == "deleted").count();
    assert_eq!(deleted, 2, "going back in time, what was created is deleted: {back}");
    let text = String::from_utf8(s.run(&["diff", "--from", &first_id]).stdout).unwrap();
    assert!(
        text.contains("-   \"enabled\"")
            && text.contains("+   \"enabledForReportingButNotEnforced\""),
        "{text}"
    );
    let live = s.json(&["changes", "--from", &first_id, "--to", "live", "--json"]);
    assert_eq!(live["to"]["live"], true);
    let summary = |v: &Value| -> Vec<(String, String, Value)> {
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].to_string(), c["change"].to_string(), c["paths"].clone()))
            .collect()
    };
    assert_eq!(summary(&live), summary(&changes), "the live tenant is what the last capture saw");

    let verify = s.json(&["verify", "--json"]);
    assert_eq!(verify["ok"], true, "{verify}");
}

#[test]
fn bad_settings_and_refusals_exit_with_their_codes() {
    let s = Setup::new(&[]);
    let wrong = s.cmd(&["capture"]).env("REWIND_CLIENT_SECRET", "wrong").output().unwrap();
    assert_eq!(code(&wrong), Some(3), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("REWIND_CLIENT_SECRET"));
    assert!(
        !stderr(&wrong).contains(&s.info["clients"][0]["client_secret"].as_str().unwrap()[..12])
    );
    let no_tenant = s.cmd(&["capture"]).env_remove("REWIND_TENANT_ID").output().unwrap();
    assert_eq!(code(&no_tenant), Some(2), "{}", stderr(&no_tenant));
    assert!(stderr(&no_tenant).contains("REWIND_TENANT_ID"));
    let unreachable = s
        .cmd(&["capture"])
        .env("REWIND_GRAPH_URL", "http://127.0.0.1:9")
        .env("REWIND_AUTHORITY_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(code(&unreachable), Some(2), "{}", stderr(&unreachable));
    assert!(stderr(&unreachable).contains("127.0.0.1:9"));
    let log = s.run(&["log"]);
    assert_eq!(code(&log), Some(2), "no tenant in the store yet: {}", stderr(&log));
    // A key for a plain store is refused before anything is written.
    assert!(s.run(&["capture"]).status.success());
    let keyed = s.cmd(&["log"]).env("REWIND_STORE_KEY", "00".repeat(32)).output().unwrap();
    assert_eq!(code(&keyed), Some(2), "{}", stderr(&keyed));
    assert!(stderr(&keyed).contains("not encrypted"));
}

#[test]
fn verify_reports_damage_with_exit_code_six() {
    let s = Setup::new(&[]);
    assert!(s.run(&["capture"]).status.success());
    damage(&s.store());
    let out = s.run(&["verify"]);
    assert_eq!(code(&out), Some(6), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PROBLEM") && text.contains("manifest hash"), "{text}");
}

/// Points one version row at another version's content, as tampering would.
fn damage(db: &Path) {
    tokio_rt().block_on(async {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        sqlx::query("UPDATE versions SET hash = (SELECT hash FROM versions WHERE kind = 'group' LIMIT 1) WHERE kind = 'user' AND key = (SELECT MIN(key) FROM versions WHERE kind = 'user')")
            .execute(&mut c)
            .await
            .unwrap();
    });
}

#[test]
fn tenants_are_added_listed_and_removed() {
    let s = Setup::new(&[]);
    let tid = s.info["tenant_id"].as_str().unwrap();
    let added = s.json(&["tenant", "add", "contoso", "--tenant-id", tid, "--json"]);
    assert_eq!(added["name"], "contoso");
    assert!(s.run(&["capture", "--tenant", "contoso"]).status.success());
    let other = s.run(&[
        "tenant",
        "add",
        "fabrikam",
        "--tenant-id",
        "11111111-1111-1111-1111-111111111111",
    ]);
    assert!(other.status.success(), "{}", stderr(&other));
    let list = s.json(&["tenant", "list", "--json"]);
    let names: Vec<&str> =
        list["tenants"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["contoso", "fabrikam"]);
    assert!(list["tenants"][0]["latest_snapshot"].is_number());
    assert!(!list.to_string().contains("client_secret"), "secrets are never stored");
    // With two tenants, commands must be told which.
    let ambiguous = s.cmd(&["log"]).env_remove("REWIND_TENANT_ID").output().unwrap();
    assert_eq!(code(&ambiguous), Some(2));
    assert!(stderr(&ambiguous).contains("contoso, fabrikam"), "{}", stderr(&ambiguous));
    let refused = s.run(&["tenant", "remove", "contoso"]);
    assert_eq!(code(&refused), Some(2));
    assert!(stderr(&refused).contains("--yes"));
    assert!(s.run(&["tenant", "remove", "contoso", "--yes"]).status.success());
    let list = s.json(&["tenant", "list", "--json"]);
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1);
}

#[test]
fn kill_dash_nine_at_any_moment_leaves_a_store_that_verifies() {
    // Kills are placed by progress, not by the clock: after the capture has had k of its R
    // Graph requests answered (counted by the emulator). Any k < R interrupts it for sure; k = R
    // lands in the last writes or the commit, which may or may not finish first.
    let s = Setup::new(&["--preset", "small", "--latency-ms", "5"]);
    assert!(s.run(&["capture"]).status.success());
    s.scenario("mass-delete");
    let committed = |s: &Setup| s.json(&["log", "--json"])["snapshots"].as_array().unwrap().len();
    s.reset_stats();
    assert!(s.run(&["capture", "--full"]).status.success());
    let requests = s.graph_requests();
    assert!(requests > 8, "a full capture of small makes {requests} requests");
    let mut snapshots = committed(&s);
    for k in [0, 1, 2, requests / 4, requests / 2, requests * 3 / 4, requests - 1, requests] {
        s.reset_stats();
        let mut child =
            s.cmd(&["capture", "--full"]).stdout(std::process::Stdio::null()).spawn().unwrap();
        while s.graph_requests() < k && child.try_wait().unwrap().is_none() {}
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if k < requests {
            assert!(!status.success(), "killed after {k} of {requests} requests, it finished");
        }
        let verify = s.run(&["verify"]);
        assert!(
            verify.status.success(),
            "after a kill at request {k} of {requests}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        let now = committed(&s);
        // A snapshot is either wholly there (the capture finished first) or not at all.
        assert!(
            now == snapshots || (now == snapshots + 1 && status.success()),
            "request {k}: {snapshots} -> {now}"
        );
        snapshots = now;
    }
    let last = s.json(&["capture", "--json"]);
    assert_eq!(last["complete"], true);
    assert!(s.run(&["verify"]).status.success());
}

#[test]
fn demo_captures_an_incident_between_two_snapshots() {
    let dir = std::env::temp_dir().join(format!("rewind-demo-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = dir.join("demo.db");
    let out = finish_within(
        rewind()
            .args(["demo", "--listen", "127.0.0.1:0", "--scenario", "mass-delete", "--store"])
            .arg(&store),
        DEMO_DEADLINE,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("(full, complete)") && text.contains("(incremental, complete)"),
        "{text}"
    );
    assert!(text.contains("An incident (mass-delete)"), "{text}");
    let verify = rewind().args(["verify", "--store"]).arg(&store).output().unwrap();
    assert!(verify.status.success());
    // Step 5 is what `rewind changes` prints.
    let changes = rewind()
        .args(["changes", "--from", "1", "--to", "2", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let changes = String::from_utf8(changes.stdout).unwrap();
    assert!(changes.contains("deleted") && changes.contains("by "), "{changes}");
    assert!(text.contains(&changes), "step 5 differs from:\n{changes}\nin\n{text}");
    // Every hint at the end works on what the demo left, after the emulator has gone.
    let hints = demo_hints(&text);
    assert!(hints.len() >= 5, "{text}");
    for hint in hints {
        let out = rewind()
            .args(&hint)
            .env("REWIND_STORE", &store)
            .env_remove("REWIND_TENANT")
            .output()
            .unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 6)) && !out.stdout.is_empty(),
            "{hint:?}: {}",
            stderr(&out)
        );
        if hint.first().is_some_and(|c| c == "changes") {
            let listed = String::from_utf8_lossy(&out.stdout);
            assert!(
                listed.contains("updated") || listed.contains("created"),
                "{hint:?} shows nothing: {listed}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The commands the demo's closing hints suggest, without the binary's path and the comment.
fn demo_hints(text: &str) -> Vec<Vec<String>> {
    let hints = text.split("Explore the timeline it left").nth(1).unwrap_or_default();
    hints
        .lines()
        .filter_map(|l| l.trim().split_once("rewind "))
        .filter(|(bin, _)| !bin.contains(' ') && !bin.contains('`'))
        .map(|(_, rest)| {
            let command = rest.split('#').next().unwrap_or_default();
            command.split_whitespace().map(str::to_string).collect()
        })
        .collect()
}

#[test]
fn export_writes_one_file_per_object_and_then_only_what_changed() {
    let s = Setup::new(&[]);
    let first = s.json(&["capture", "--json"]);
    let tree = s.dir.join("tree");
    let tree_arg = tree.to_str().unwrap();
    let full = s.json(&["export", tree_arg, "--json"]);
    assert_eq!(full["objects"], first["objects"]);
    assert_eq!(full["written"], first["objects"]);
    let policies =
        std::fs::read_dir(tree.join("Identity/Conditional/AccessPolicies")).unwrap().count();
    assert_eq!(policies, 7, "EntraExporter's layout");
    let fics = std::fs::read_dir(tree.join("Applications"))
        .unwrap()
        .filter(|app| app.as_ref().unwrap().path().join("FederatedIdentityCredentials").is_dir())
        .count();
    assert_eq!(fics, 1, "contained objects sit under their parent");
    s.scenario("mass-delete");
    let second = s.json(&["capture", "--json"]);
    let since = first["snapshot"].to_string();
    let step = s.json(&["export", tree_arg, "--since", &since, "--json"]);
    let c = &second["changes"];
    let changed = c["created"].as_u64().unwrap() + c["updated"].as_u64().unwrap();
    assert_eq!(step["written"].as_u64().unwrap(), changed, "{step} after {second}");
    assert_eq!(step["removed"], c["deleted"]);
    // A full export of the same point into the same tree finds nothing left to do.
    let again = s.json(&["export", tree_arg, "--json"]);
    assert_eq!(
        (again["written"].as_u64(), again["removed"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    let user_files = std::fs::read_dir(tree.join("Users")).unwrap().count() as u64;
    assert_eq!(user_files, second["kinds"]["user"]["objects"].as_u64().unwrap());
}
