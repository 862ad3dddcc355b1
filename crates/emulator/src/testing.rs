//! Support for tests and benchmarks that talk to a running emulator over HTTP (the `testing`
//! feature): one way to get a token, instead of a copy in every test crate. Panics with a
//! message on failure, as test helpers do.

#![expect(
    clippy::expect_used,
    reason = "test support: a failed token fetch fails the test that asked"
)]

use serde_json::Value;

use crate::server::EmulatorInfo;

/// An access token for the client `(client id, secret)` from the emulator's token endpoint,
/// by client credentials, as Rewind's own client gets one.
pub async fn token(http: &reqwest::Client, info: &EmulatorInfo, client: (&str, &str)) -> String {
    let (client_id, secret) = client;
    let response = http
        .post(info.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("the token endpoint answers");
    assert_eq!(response.status(), 200, "token for client {client_id}");
    let body: Value = response.json().await.expect("a JSON token response");
    body["access_token"].as_str().expect("an access_token in the token response").to_string()
}

/// An access token for the emulator's client with this access.
pub async fn token_for(
    http: &reqwest::Client,
    info: &EmulatorInfo,
    access: crate::client::Access,
) -> String {
    let c = info.client(access).expect("the emulator has this client");
    token(http, info, (&c.client_id, &c.client_secret)).await
}
