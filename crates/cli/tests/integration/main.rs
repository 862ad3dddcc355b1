//! The `rewind` binary as scripts and people use it: `rewind emulator`'s first stdout line is
//! the connection JSON of DESIGN §8.1 and the tenant answers there; `rewind demo` tells a
//! newcomer what is served and ends; a bad flag exits with the usage code. Modules hold the
//! rest by theme, from the README's tour to restores and watch.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod attribution;
mod doctor;
mod explore;
mod exposure;
mod integrity;
mod lockout;
mod newcomer;
mod readme;
mod restore;
mod text;
mod timeline;
mod timelines;
mod watch;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

fn rewind() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
}

#[test]
fn emulator_prints_connection_json_first_and_serves() {
    let (mut child, info) = spawn_emulator(&["--users", "3"]);
    let line = info.to_string();
    for key in ["graph_url", "authority_url", "tenant_id"] {
        assert!(info[key].is_string(), "{key} in {line}");
    }
    let clients = info["clients"].as_array().unwrap();
    let reader = clients.iter().find(|c| c["access"] == "read").expect("a read client");
    assert!(clients.iter().any(|c| c["access"] == "write"));
    let parsed: rewind_emulator::EmulatorInfo = serde_json::from_value(info.clone()).unwrap();
    let rt = tokio_rt();
    let status = rt.block_on(async {
        let http = reqwest::Client::new();
        let client =
            (reader["client_id"].as_str().unwrap(), reader["client_secret"].as_str().unwrap());
        let token = rewind_emulator::testing::token(&http, &parsed, client).await;
        http.get(format!("{}/v1.0/users", parsed.graph_url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
    });
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(status, 200);
}

/// Long enough for any demo on a slow machine; a demo still running after it never ends.
const DEMO_DEADLINE: std::time::Duration = std::time::Duration::from_mins(5);

/// Runs `cmd` to completion, failing the test (and killing it) if it is still running after
/// `deadline`: a command that should end by itself must not hang the suite.
fn finish_within(cmd: &mut Command, deadline: std::time::Duration) -> std::process::Output {
    let child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    if let Ok(output) = finished.recv_timeout(deadline) {
        return output.unwrap();
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    panic!("`{cmd:?}` was still running after {deadline:?}");
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Starts `rewind emulator` with extra flags and returns the child and its connection JSON.
fn spawn_emulator(extra: &[&str]) -> (std::process::Child, Value) {
    let mut child = rewind()
        .args(["emulator", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rewind runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, serde_json::from_str(&line).expect("first line is JSON"))
}

#[test]
fn emulator_flags_set_preset_scenario_and_faults() {
    let (mut child, info) = spawn_emulator(&[
        "--preset",
        "tiny",
        "--scenario",
        "lockout-policy",
        "--throttle",
        "--latency-ms",
        "3",
    ]);
    let base = info["graph_url"].as_str().unwrap().to_string();
    let rt = tokio_rt();
    let (faults, scenario): (Value, Value) = rt.block_on(async {
        let http = reqwest::Client::new();
        let f = http
            .get(format!("{base}/_emulator/faults"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let s = http
            .get(format!("{base}/_emulator/scenarios/lockout-policy"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (f, s)
    });
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(
        (faults["preset"].as_str(), faults["throttle"].as_bool(), faults["latency_ms"].as_u64()),
        (Some("tiny"), Some(true), Some(3))
    );
    assert_eq!(faults["scenario"], "lockout-policy");
    assert_eq!(scenario["ran"], true);
    assert_eq!(scenario["steps"][0]["status"], 201);
}

#[test]
fn bad_emulator_settings_exit_with_the_usage_code() {
    for args in [&["--error-rate", "2"][..], &["--preset", "huge"], &["--scenario", "ransomware"]] {
        let out =
            rewind().args(["emulator", "--listen", "127.0.0.1:0"]).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = std::env::temp_dir().join(format!("rewind-cli-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("broken.state");
    std::fs::write(&state, b"not a tenant").unwrap();
    let out = rewind()
        .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a usable emulator state file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn demo_tells_how_to_connect() {
    // Without a terminal on stdin the demo ends by itself after the story.
    let out = finish_within(rewind().args(["demo", "--listen", "127.0.0.1:0"]), DEMO_DEADLINE);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("serving Microsoft Graph v1.0"), "{text}");
    assert!(text.contains("/oauth2/v2.0/token"));
    assert!(text.contains("export REWIND_GRAPH_URL="));
    assert!(text.contains("identity/conditionalAccess/policies"));
    // The whole story: incident, changes, lockout verdict, plan, restore, verification.
    for part in ["by Contoso Automation", "Lockout", "Plan:", "Lockout guard", "converged"] {
        assert!(text.contains(part), "{part} in {text}");
    }
}

#[test]
fn an_address_that_cannot_be_bound_exits_with_the_usage_code() {
    let out = rewind().args(["emulator", "--listen", "192.0.2.1:1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen on 192.0.2.1:1"));
    let out = rewind().args(["emulator", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
