//! `rewind watch` end to end: an attacker's actions each reach a local webhook (signed) and an
//! SMTP server once, attributed to the rogue service principal, from the first capture after
//! them; SIGTERM stops it cleanly; `rewind alerts` lists what was sent. And a fleet of three
//! workers sharing twenty tenants on PostgreSQL, one killed mid-capture.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

use super::timeline::Setup;
use super::{rewind, spawn_emulator};

/// One request a receiver got: its headers (lowercase names) and body.
type Received = Arc<Mutex<Vec<(BTreeMap<String, String>, Vec<u8>)>>>;

/// A webhook receiver on a free port. It fails the first requests: 503 (the sender retries at
/// once), then 400 (final: the alert stays owed to the webhook until a later cycle), then
/// takes every request with 204 and keeps it.
fn webhook_receiver() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        let mut failures = ["503 Service Unavailable", "400 Bad Request"].into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some((headers, body)) = read_request(&mut stream) else {
                continue;
            };
            let status = failures.next().unwrap_or_else(|| {
                keep.lock().unwrap().push((headers, body));
                "204 No Content"
            });
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, got)
}

fn read_request(stream: &mut TcpStream) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut headers = BTreeMap::new();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((headers, body))
}

/// An SMTP server that accepts every message and keeps its text.
fn smtp_receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = write!(stream, "220 localhost ESMTP test\r\n");
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                let cmd = line.trim_end().to_ascii_uppercase();
                let reply = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                    "250 localhost\r\n".to_string()
                } else if cmd == "DATA" {
                    let _ = write!(stream, "354 go on\r\n");
                    let mut message = String::new();
                    let mut l = String::new();
                    while reader.read_line(&mut l).is_ok_and(|n| n > 0) {
                        if l == ".\r\n" {
                            break;
                        }
                        message.push_str(&l);
                        l.clear();
                    }
                    keep.lock().unwrap().push(message);
                    "250 queued\r\n".to_string()
                } else if cmd == "QUIT" {
                    let _ = write!(stream, "221 bye\r\n");
                    break;
                } else {
                    "250 ok\r\n".to_string()
                };
                let _ = stream.write_all(reply.as_bytes());
                line.clear();
            }
        }
    });
    (port, got)
}

/// Sends a child's stderr lines (JSON logs), with `name`, to `tx` until the child exits.
fn log_lines(child: &mut Child, name: &str, tx: mpsc::Sender<(String, Value)>) {
    let stderr = child.stderr.take().unwrap();
    let name = name.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && tx.send((name.clone(), v)).is_err()
            {
                return;
            }
        }
    });
}

/// Waits for a log event with this message (and, if given, this tenant).
fn wait_for(rx: &mpsc::Receiver<(String, Value)>, message: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (_, v) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no '{message}' log event within {within:?}"));
        if v["message"] == message {
            return v;
        }
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let mut out = String::from("sha256=");
    for b in mac.finalize().into_bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[test]
fn watch_alerts_each_attacker_action_once_signed_and_by_email() {
    let setup = Setup::new(&["--preset", "tiny"]);
    let (hook, received) = webhook_receiver();
    let (smtp_port, mails) = smtp_receiver();
    let mut watch = setup
        .cmd(&[
            "watch",
            "--interval",
            "3s",
            "--webhook",
            &hook,
            "--email-to",
            "soc@contoso.com",
            "--metrics-listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
        ])
        .env("REWIND_WEBHOOK_SECRET", "s3cret")
        .env("REWIND_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("REWIND_EMAIL_FROM", "rewind@contoso.com")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, logs) = mpsc::channel();
    log_lines(&mut watch, "watch", tx);
    let serving = wait_for(&logs, "serving metrics", Duration::from_mins(1));
    let metrics_url = serving["metrics"].as_str().unwrap().to_string();
    let baseline = wait_for(&logs, "captured", Duration::from_mins(1));
    assert_eq!(baseline["full"], true);
    assert_eq!(baseline["alerts"], 0, "a baseline raises nothing");

    // One Graph request in five fails from now on: captures retry and carry on.
    let graph = setup.graph_url().to_string();
    let report: Value = super::tokio_rt().block_on(async {
        let c = reqwest::Client::new();
        let faults = c
            .put(format!("{graph}/_emulator/faults"))
            .json(&serde_json::json!({"error_rate": 0.2}))
            .send()
            .await
            .unwrap();
        assert!(faults.status().is_success());
        let r = c.post(format!("{graph}/_emulator/scenarios/attacker")).send().await.unwrap();
        r.json().await.unwrap()
    });
    let rogue = report["actor"]["display_name"].as_str().unwrap().to_string();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5, "{report}");

    // The first capture that sees the actions alerts on all of them, once.
    let mut cycle = wait_for(&logs, "captured", Duration::from_mins(1));
    while cycle["changes"] == 0 {
        cycle = wait_for(&logs, "captured", Duration::from_mins(1));
    }
    let seen_in = cycle["snapshot"].as_i64().unwrap();
    // The next cycle offers the webhook the alert it refused.
    wait_for(&logs, "captured", Duration::from_mins(1));
    let metrics: String = super::tokio_rt()
        .block_on(async { reqwest::get(&metrics_url).await.unwrap().text().await.unwrap() });
    let status = terminate(&mut watch);
    assert!(status.success(), "SIGTERM stops watch cleanly: {status:?}");

    let got = received.lock().unwrap().clone();
    let alerts: Vec<Value> = got
        .iter()
        .map(|(headers, body)| {
            assert_eq!(
                headers.get("x-rewind-signature"),
                Some(&signature("s3cret", body)),
                "every body is signed"
            );
            serde_json::from_slice(body).unwrap()
        })
        .collect();
    for step in steps {
        let id = step["id"].as_str().unwrap();
        let federated = step["action"] == "addFederatedCredential";
        let matching: Vec<&Value> = alerts
            .iter()
            .filter(|a| {
                let object = a["object"]["id"].as_str().unwrap_or_default();
                let is_federated = a["object"]["kind"] == "federatedIdentityCredential";
                if federated {
                    is_federated && object.starts_with(&format!("{id}/"))
                } else {
                    !is_federated && object == id
                }
            })
            .collect();
        assert_eq!(matching.len(), 1, "one alert for {step}: {alerts:#?}");
        let a = matching[0];
        assert_eq!(a["actors"], serde_json::json!([rogue]), "{a}");
        assert_eq!(a["snapshot"], seen_in, "seen in the first capture after: {a}");
        assert!(!a["explanation"].as_str().unwrap().is_empty());
    }
    let rules: BTreeSet<&str> = alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    for rule in [
        "credential-added",
        "privileged-role-assigned",
        "break-glass-exclusion-removed",
        "ca-policy-weakened",
        "new-actor",
    ] {
        assert!(rules.contains(rule), "{rule} in {rules:?}");
    }
    let critical = alerts.iter().filter(|a| a["severity"] == "critical").count();
    assert!(critical >= 2, "GA and the break-glass exclusion are critical");

    // Prometheus sees the captures, their requests and the alerts by severity.
    for series in [
        "rewind_last_capture_timestamp_seconds{",
        "rewind_graph_requests_total{",
        "rewind_captures_total{",
        "rewind_objects{",
    ] {
        assert!(metrics.contains(series), "{series} in {metrics}");
    }
    let critical_series = metrics
        .lines()
        .find(|l| l.starts_with("rewind_alerts_total{") && l.contains("severity=\"critical\""))
        .unwrap_or_else(|| panic!("critical alerts counted: {metrics}"));
    assert!(critical_series.ends_with(&format!(" {critical}")), "{critical_series}");

    // One email for the cycle, listing the alerts (the webhook's refusal does not re-send it).
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("[Rewind]"), "{}", mails[0]);
    assert!(mails[0].contains("privileged-role-assigned"), "{}", mails[0]);

    // Stored once each, listed by `rewind alerts`; the store is intact.
    let listed = setup.json(&["alerts", "--json"]);
    assert_eq!(listed["alerts"].as_array().unwrap().len(), alerts.len());
    let severe = setup.json(&["alerts", "--json", "--severity", "critical"]);
    assert_eq!(severe["alerts"].as_array().unwrap().len(), critical);
    // As people read them: one aligned row per alert (rows sorted: one cycle raised them all).
    let text = String::from_utf8(setup.run(&["alerts"]).stdout).unwrap();
    let mut rows: Vec<&str> = text.lines().collect();
    rows[1..].sort_unstable();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "YYYY-MM-DD hh:mm:ss");
    settings.bind(|| insta::assert_snapshot!("alerts", rows.join("\n")));
    assert!(setup.run(&["verify"]).status.success());
}

#[test]
fn fleet_needs_postgres_and_bad_settings_say_what_to_fix() {
    let setup = Setup::new(&["--preset", "tiny"]);
    let out = setup.run(&["watch", "--fleet", "--metrics-listen", "off"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PostgreSQL"));
    let out = setup.run(&["watch", "--interval", "soon", "--metrics-listen", "off"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("30s, 5m or 1h"));
    let out = setup.run(&["watch", "--email-to", "a@b.c", "--metrics-listen", "off"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REWIND_SMTP_URL"));
}

/// A fresh PostgreSQL database for one test.
fn postgres_store() -> String {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let admin = std::env::var("REWIND_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("rewind_fleet_{}", std::process::id());
    super::tokio_rt().block_on(async {
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    });
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// Per tenant, the time spans each worker held it: from "claimed" to the next event of that
/// worker about the tenant ("captured", "capture failed…") or, for a killed worker, its death.
type Spans = BTreeMap<String, Vec<(String, f64, f64)>>;

fn seconds(v: &Value) -> f64 {
    let t: jiff::Timestamp = v["timestamp"].as_str().unwrap().parse().unwrap();
    t.as_duration().as_secs_f64()
}

#[test]
fn three_fleet_workers_share_twenty_tenants_and_survive_one_killed_mid_capture() {
    let (mut emulator, info) =
        spawn_emulator(&["--preset", "tiny", "--tenants", "20", "--latency-ms", "40"]);
    let store = postgres_store();
    let reader =
        info["clients"].as_array().unwrap().iter().find(|c| c["access"] == "read").unwrap().clone();
    let base = |c: &mut Command| {
        c.env("REWIND_STORE", &store)
            .env("REWIND_GRAPH_URL", info["graph_url"].as_str().unwrap())
            .env("REWIND_AUTHORITY_URL", info["authority_url"].as_str().unwrap())
            .env("REWIND_CLIENT_ID", reader["client_id"].as_str().unwrap())
            .env("REWIND_CLIENT_SECRET", reader["client_secret"].as_str().unwrap())
            .env_remove("REWIND_TENANT_ID")
            .env_remove("REWIND_TENANT");
    };
    let tenants: Vec<String> = info["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    assert_eq!(tenants.len(), 20);
    for (i, id) in tenants.iter().enumerate() {
        let mut c = rewind();
        base(&mut c);
        let out = c
            .args(["tenant", "add", &format!("customer-{i:02}"), "--tenant-id", id])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let worker = |name: &str| {
        let mut c = rewind();
        base(&mut c);
        c.args([
            "watch",
            "--fleet",
            "--interval",
            "4s",
            "--lease",
            "3s",
            "--worker",
            name,
            "--tenants-at-once",
            "2",
            "--metrics-listen",
            "off",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let mut workers: Vec<(String, Child)> =
        ["w1", "w2", "w3"].iter().map(|n| (n.to_string(), worker(n))).collect();
    // w1 on its own channel, the survivors on one.
    let (w1_tx, w1_logs) = mpsc::channel();
    let (tx, logs) = mpsc::channel();
    for (name, child) in &mut workers {
        let to = if name == "w1" { w1_tx.clone() } else { tx.clone() };
        log_lines(child, name, to);
    }
    drop((w1_tx, tx));
    let mut events: Vec<(String, Value)> = Vec::new();

    // Let the first round get going, then kill w1 the moment it claims a tenant.
    let victim_claim = loop {
        let (w, v) = w1_logs.recv_timeout(Duration::from_mins(1)).expect("w1 claims tenants");
        events.push((w, v.clone()));
        if v["message"] == "claimed" {
            let captured_before =
                events.iter().filter(|(w, e)| w == "w1" && e["message"] == "captured").count();
            if captured_before >= 2 {
                break v;
            }
        }
    };
    workers[0].1.kill().unwrap();
    workers[0].1.wait().unwrap();
    let killed_at = jiff::Timestamp::now().as_duration().as_secs_f64();
    let victim = victim_claim["tenant"].as_str().unwrap().to_string();
    // Whatever w1 logged before it died (its reader ends with its stderr).
    events.extend(w1_logs.iter());
    assert!(
        !events.iter().any(|(w, e)| w == "w1"
            && e["message"] == "captured"
            && e["tenant"] == victim.as_str()
            && seconds(e) >= seconds(&victim_claim)),
        "w1 died in the middle of capturing {victim}"
    );

    // The others take the victim over and keep every tenant captured.
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut taken_over: Option<f64> = None;
    let mut captured_after: BTreeSet<String> = BTreeSet::new();
    while taken_over.is_none() || captured_after.len() < 20 {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok((w, v)) = logs.recv_timeout(left) else {
            break;
        };
        if v["message"] == "claimed" && v["tenant"] == victim.as_str() && taken_over.is_none() {
            taken_over = Some(seconds(&v));
        }
        if v["message"] == "captured" && seconds(&v) > killed_at {
            captured_after.insert(v["tenant"].as_str().unwrap().to_string());
        }
        events.push((w, v));
    }
    let taken_over = taken_over.expect("another worker claims the victim");
    assert!(
        taken_over - killed_at < 3.0 + 3.0,
        "taken over {:.1} s after the kill (lease 3 s)",
        taken_over - killed_at
    );
    assert_eq!(captured_after.len(), 20, "every tenant captured after the kill");
    for (name, child) in workers.iter_mut().skip(1) {
        let status = terminate(child);
        assert!(status.success(), "{name} stops cleanly: {status:?}");
    }
    // Everything the survivors logged until they exited.
    events.extend(logs.iter());

    // No tenant was ever held by two workers at once.
    let mut spans: Spans = BTreeMap::new();
    let mut open: BTreeMap<(String, String), f64> = BTreeMap::new();
    for (w, e) in &events {
        let Some(t) = e["tenant"].as_str() else {
            continue;
        };
        let key = (w.clone(), t.to_string());
        if e["message"] == "claimed" {
            open.insert(key, seconds(e));
        } else if let Some(start) = open.remove(&key) {
            spans.entry(t.to_string()).or_default().push((w.clone(), start, seconds(e)));
        }
    }
    for ((w, t), start) in open {
        let end = if w == "w1" { killed_at } else { f64::MAX };
        spans.entry(t).or_default().push((w, start, end));
    }
    assert_eq!(spans.len(), 20, "{spans:?}");
    let holders: BTreeSet<&str> = spans[&victim].iter().map(|s| s.0.as_str()).collect();
    assert!(holders.len() >= 2 && holders.contains("w1"), "{holders:?}");
    for (tenant, list) in &spans {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let overlap = a.1 < b.2 && b.1 < a.2;
                assert!(!(overlap && a.0 != b.0), "{tenant} held by {a:?} and {b:?}");
            }
        }
    }
    let _ = emulator.kill();
    let _ = emulator.wait();
}
