//! The client against the emulator over real HTTP: paging, delta rounds, `$batch`, errors told
//! apart by kind, retries through injected failures.

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

mod hostile;

use std::time::Duration;

use rewind_emulator::{Access, EmulatorConfig, RunningEmulator};
use rewind_msgraph::protocol::{BatchRequest, DeltaItem, FailureKind, RetryPolicy};
use rewind_msgraph::{ClientError, ClientOptions, Credential, Endpoints, GraphClient, Secret};
use serde_json::json;

async fn emulator() -> RunningEmulator {
    rewind_emulator::start(EmulatorConfig::default()).await.unwrap()
}

fn client(emu: &RunningEmulator, access: Access, secret: Option<&str>) -> GraphClient {
    let c = emu.info.client(access).unwrap();
    let endpoints = Endpoints {
        graph_url: emu.info.graph_url.clone(),
        authority_url: emu.info.authority_url.clone(),
        tenant_id: emu.info.tenant_id.clone(),
    };
    let credential = Credential::Secret {
        client_id: c.client_id.clone(),
        secret: Secret::new(secret.unwrap_or(&c.client_secret)),
    };
    let retry = RetryPolicy {
        base: Duration::from_millis(2),
        max_wait: Duration::from_millis(5),
        budget: Duration::from_secs(5),
        max_attempts: 30,
    };
    GraphClient::new(endpoints, credential, ClientOptions { retry, ..ClientOptions::default() })
        .unwrap()
}

#[tokio::test]
async fn lists_every_page_and_counts_its_requests() {
    let emu = emulator().await;
    let c = client(&emu, Access::Read, None);
    let users = c.list("/users?$top=10&$select=id,displayName").await.unwrap();
    assert_eq!(users.len(), 31);
    assert_eq!(c.stats().requests, 4, "one request per page of ten");
    let policies = c.list("/identity/conditionalAccess/policies").await.unwrap();
    assert_eq!(policies.len(), 7);
}

#[tokio::test]
async fn delta_rounds_report_changes_then_only_changes() {
    let emu = emulator().await;
    let reader = client(&emu, Access::Read, None);
    let writer = client(&emu, Access::Write, None);
    let (initial, link) = reader.delta("/groups/delta?$select=displayName,members").await.unwrap();
    assert_eq!(initial.len(), 15);
    let finance = initial
        .iter()
        .find_map(|i| match i {
            DeltaItem::Upsert(v) if v["displayName"] == "Finance" => {
                Some(v["id"].as_str().unwrap().to_string())
            }
            _ => None,
        })
        .unwrap();
    writer
        .write(
            reqwest::Method::PATCH,
            &format!("/groups/{finance}"),
            Some(&json!({"description": "changed"})),
        )
        .await
        .unwrap();
    let (changes, _) = reader.delta(&link).await.unwrap();
    assert_eq!(changes.len(), 1);
}

#[tokio::test]
async fn batches_go_twenty_at_a_time_and_report_each_response() {
    let emu = emulator().await;
    let writer = client(&emu, Access::Write, None);
    let (_, group) = writer.write(reqwest::Method::POST, "/groups", Some(&json!({"displayName": "Batch", "mailEnabled": false, "mailNickname": "batch", "securityEnabled": true}))).await.unwrap();
    let gid = group["id"].as_str().unwrap();
    let users = writer.list("/users?$select=id").await.unwrap();
    let requests: Vec<BatchRequest> = users.iter().take(25).map(|u| BatchRequest {
        method: "POST",
        url: format!("/groups/{gid}/members/$ref"),
        body: Some(json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", u["id"].as_str().unwrap())})),
    }).collect();
    let before = writer.stats().requests;
    let responses = writer.batch(&requests).await.unwrap();
    assert_eq!(writer.stats().requests - before, 2, "25 requests in two batches");
    assert!(responses.iter().all(|r| r.status == 204), "{responses:?}");
    assert_eq!(writer.list(&format!("/groups/{gid}/members")).await.unwrap().len(), 25);
}

#[tokio::test]
async fn failures_are_told_apart() {
    let emu = emulator().await;
    let reader = client(&emu, Access::Read, None);
    let err = reader
        .write(reqwest::Method::DELETE, "/identity/conditionalAccess/policies/x", None)
        .await
        .unwrap_err();
    assert!(matches!(&err, ClientError::Graph(f) if f.kind() == FailureKind::Permission), "{err}");
    let err = reader.get("/users/00000000-0000-0000-0000-000000000001").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Graph(f) if f.kind() == FailureKind::NotFound && f.code == "Request_ResourceNotFound")
    );
    let wrong = client(&emu, Access::Read, Some("wrong-secret"));
    let err = wrong.get("/users").await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Graph(f) if f.kind() == FailureKind::Authentication && f.message.contains("AADSTS7000215")),
        "{err}"
    );
    let nowhere = GraphClient::new(
        Endpoints {
            graph_url: "http://127.0.0.1:9".into(),
            authority_url: "http://127.0.0.1:9".into(),
            tenant_id: "t".into(),
        },
        Credential::Secret { client_id: "c".into(), secret: Secret::new("s") },
        ClientOptions::default(),
    )
    .unwrap();
    assert!(matches!(nowhere.get("/users").await.unwrap_err(), ClientError::Unreachable { .. }));
}

#[tokio::test]
async fn transient_failures_are_retried_until_they_pass() {
    let emu = emulator().await;
    emu.with_tenant(|t| {
        t.set_faults(rewind_emulator::Faults { error_rate: 0.5, ..Default::default() });
    });
    let reader = client(&emu, Access::Read, None);
    let users = reader.list("/users?$top=5").await.unwrap();
    assert_eq!(users.len(), 31);
    assert!(reader.stats().retries > 0, "half the requests failed and were retried");
    emu.with_tenant(|t| {
        t.set_faults(rewind_emulator::Faults { error_rate: 1.0, ..Default::default() });
    });
    let err = reader.get("/groups").await.unwrap_err();
    assert!(matches!(err, ClientError::GaveUp { .. }), "{err}");
}

#[tokio::test]
async fn certificate_credentials_sign_an_assertion() {
    let emu = emulator().await;
    let c = emu.info.client(Access::Read).unwrap();
    let endpoints = Endpoints {
        graph_url: emu.info.graph_url.clone(),
        authority_url: emu.info.authority_url.clone(),
        tenant_id: emu.info.tenant_id.clone(),
    };
    let pem = include_str!("../../../../fixtures/test-client.pem");
    let der: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    let writer = client(&emu, Access::Write, None);
    let cert =
        json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": der}]});
    writer
        .write(
            reqwest::Method::PATCH,
            &format!("/applications(appId='{}')", c.client_id),
            Some(&cert),
        )
        .await
        .unwrap();
    let credential =
        Credential::Certificate { client_id: c.client_id.clone(), pem: Secret::new(pem) };
    let client = GraphClient::new(endpoints.clone(), credential, ClientOptions::default()).unwrap();
    assert_eq!(client.list("/groups").await.unwrap().len(), 15);
    let broken =
        Credential::Certificate { client_id: c.client_id.clone(), pem: Secret::new("not a pem") };
    let client = GraphClient::new(endpoints, broken, ClientOptions::default()).unwrap();
    let err = client.get("/groups").await.unwrap_err();
    assert!(matches!(err, ClientError::Certificate(_)), "{err}");
    assert!(err.to_string().contains("CERTIFICATE"));
}
