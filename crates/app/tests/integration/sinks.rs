//! Alert sinks against real sockets: a webhook receiver that fails twice gets the alert on the
//! third attempt, each attempt signed the same; one that refuses the request (4xx) is not
//! retried; an unreachable one is given up after the attempts.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rewind_app::watch::{Alert, SIGNATURE_HEADER, Webhook, sign};
use rewind_engine::risk::Severity;

/// A receiver answering `statuses` in turn (the last one forever); records signatures.
fn receiver(statuses: &[u16]) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = Arc::clone(&seen);
    let statuses = statuses.to_vec();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut len, mut signature) = (0usize, String::new());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if lower.starts_with(&SIGNATURE_HEADER.to_ascii_lowercase()) {
                    signature = line.split_once(':').unwrap().1.trim().to_string();
                }
                line.clear();
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            keep.lock().unwrap().push(signature);
            let status = statuses[i.min(statuses.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, seen)
}

fn alert() -> Alert {
    Alert {
        id: Some(rewind_store::AlertId(7)),
        tenant: "contoso".into(),
        tenant_id: "t".into(),
        rule: "new-actor".into(),
        severity: Severity::Medium,
        summary: "first change ever by Rogue".into(),
        explanation: "…".into(),
        object: None,
        actors: vec!["Rogue".into()],
        actor_identities: vec![rewind_model::Actor::named("Rogue")],
        snapshot: rewind_store::SnapshotId(3),
        taken_at: jiff::Timestamp::UNIX_EPOCH,
        detected_at: jiff::Timestamp::UNIX_EPOCH,
    }
}

fn quick(url: &str) -> Webhook {
    let mut w = Webhook::new(url, Some("key".into())).unwrap();
    w.backoff = Duration::from_millis(10);
    w
}

#[tokio::test]
async fn webhook_retries_failures_then_delivers_signed() {
    let (url, seen) = receiver(&[503, 500, 204]);
    quick(&url).post(&alert()).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let body = serde_json::to_vec(&alert()).unwrap();
    assert_eq!(seen, vec![sign("key", &body); 3]);
    assert!(seen[0].starts_with("sha256=") && seen[0].len() == 7 + 64);
}

#[tokio::test]
async fn webhook_gives_up_on_refusal_at_once_and_on_failure_after_its_attempts() {
    let (url, seen) = receiver(&[400]);
    let err = quick(&url).post(&alert()).await.unwrap_err();
    assert!(err.contains("400"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1, "a 4xx is final");

    let (url, seen) = receiver(&[502]);
    let err = quick(&url).post(&alert()).await.unwrap_err();
    assert!(err.contains("502"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 5, "five attempts");

    assert!(Webhook::new("ftp://example.com", None).is_err());
    assert!(Webhook::new("not a url", None).is_err());
}
