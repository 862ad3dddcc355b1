//! The token endpoint and the bearer check: secrets, Basic auth, JWT client assertions, 401 and
//! 403 as Graph answers them, permissions that follow app role assignments, token expiry.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use rewind_emulator::Access;
use serde_json::{Value, json};

use crate::harness::Harness;

async fn token_reply(h: &Harness, form: &[(&str, &str)]) -> (u16, Value) {
    let r = h.http.post(h.token_url()).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn token_errors_name_what_to_fix() {
    let h = Harness::start().await;
    let c = h.emu.info.client(Access::Read).unwrap().clone();
    let scope = "https://graph.microsoft.com/.default";
    let (s, v) = token_reply(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", "wrong"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_client")));
    assert!(v["error_description"].as_str().unwrap().starts_with("AADSTS7000215"));
    let (s, v) = token_reply(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "nope"),
            ("client_secret", "x"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unauthorized_client")));
    let (s, v) = token_reply(
        &h,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("scope", "User.Read"),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_scope")));
    let (s, v) = token_reply(
        &h,
        &[
            ("grant_type", "password"),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unsupported_grant_type")));
    let r = h
        .http
        .post(format!("{}/other-tenant/oauth2/v2.0/token", h.emu.info.authority_url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", c.client_id.as_str()),
            ("client_secret", c.client_secret.as_str()),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error_codes"][0], 90002);
}

/// The fixture certificate's base64 DER, as `keyCredentials[].key` carries it.
fn certificate_der_base64(pem: &str) -> String {
    pem.lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect()
}

fn sign_assertion(pem: &str, client_id: &str, aud: &str, alg: jsonwebtoken::Algorithm) -> String {
    let now = jiff::Timestamp::now().as_second();
    let mut header = jsonwebtoken::Header::new(alg);
    header.x5t_s256 = Some("thumbprint".into());
    let claims = json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": "1", "nbf": now, "iat": now, "exp": now + 600});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn basic_auth_and_signed_client_assertions_are_accepted() {
    let h = Harness::start().await;
    let c = h.emu.info.client(Access::Read).unwrap().clone();
    let r = h
        .http
        .post(h.token_url())
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let pem = include_str!("../../../../fixtures/test-client.pem");
    let form = |a: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", c.client_id.clone()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", a.to_string()),
            ("scope", "https://graph.microsoft.com/.default".to_string()),
        ]
    };
    let good = sign_assertion(pem, &c.client_id, &h.token_url(), jsonwebtoken::Algorithm::PS256);
    let r = h.http.post(h.token_url()).form(&form(&good)).send().await.unwrap();
    assert_eq!(r.status(), 401, "no certificate is registered yet");
    assert!(r.text().await.unwrap().contains("no certificate in keyCredentials"));

    let reader_app = format!("/applications(appId='{}')", c.client_id);
    let cert = json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "displayName": "CN=rewind-test-client",
        "key": certificate_der_base64(pem)}]});
    assert_eq!(h.patch(&reader_app, &cert).await.status, 204);
    for alg in [jsonwebtoken::Algorithm::PS256, jsonwebtoken::Algorithm::RS256] {
        let r = h
            .http
            .post(h.token_url())
            .form(&form(&sign_assertion(pem, &c.client_id, &h.token_url(), alg)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{alg:?}");
        let token = r.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(claims["appidacr"], "2", "certificate-authenticated");
    }
    let forged = format!("{}.c2lnbmF0dXJl", good.rsplit_once('.').unwrap().0);
    let r = h.http.post(h.token_url()).form(&form(&forged)).send().await.unwrap();
    assert_eq!(r.status(), 401, "a forged signature is refused");
    let elsewhere = sign_assertion(
        pem,
        &c.client_id,
        "https://login.microsoftonline.com/elsewhere/oauth2/v2.0/token",
        jsonwebtoken::Algorithm::PS256,
    );
    let r = h.http.post(h.token_url()).form(&form(&elsewhere)).send().await.unwrap();
    assert_eq!(r.status(), 401, "the audience must be this endpoint");
}

#[tokio::test]
async fn missing_bad_and_expired_tokens_get_401() {
    let h = Harness::start().await;
    let r = h.send("", Method::GET, "/users", None, &[]).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    assert!(r.header("www-authenticate").is_some());
    let r = h.send("not.a.token", Method::GET, "/users", None, &[]).await;
    assert_eq!((r.status, r.code()), (401, "InvalidAuthenticationToken"));
    h.emu.with_tenant(|t| t.advance_clock(jiff::SignedDuration::from_hours(2)));
    let r = h.get("/users").await;
    assert_eq!(r.status, 401);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn reader_cannot_write_and_writer_can() {
    let h = Harness::start().await;
    let body = json!({"displayName": "x", "mailEnabled": false, "mailNickname": "x", "securityEnabled": true});
    let r = h.send(&h.reader, Method::POST, "/groups", Some(&body), &[]).await;
    assert_eq!((r.status, r.code()), (403, "Authorization_RequestDenied"));
    assert_eq!(r.body["error"]["message"], "Insufficient privileges to complete the operation.");
    let r = h.post("/groups", &body).await;
    assert_eq!(r.status, 201);
    let r = h
        .send(&h.reader, Method::DELETE, "/identity/conditionalAccess/policies/x", None, &[])
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn roles_come_from_app_role_assignments_on_graph() {
    let h = Harness::start().await;
    let reader_sp = h
        .emu
        .with_tenant(|t| t.clients().to_vec())
        .into_iter()
        .find(|c| c.access == Access::Read)
        .unwrap()
        .service_principal_id;
    let assignments =
        h.get_all(&format!("/servicePrincipals/{reader_sp}/appRoleAssignments")).await;
    let audit = assignments
        .iter()
        .find(|a| a["appRoleId"] == "246dd0d5-5bd0-4def-940b-0421030a5b68")
        .expect("Policy.Read.All granted");
    let graph_sp = audit["resourceId"].as_str().unwrap().to_string();
    let r = h
        .send(
            &h.writer,
            Method::DELETE,
            &format!(
                "/servicePrincipals/{graph_sp}/appRoleAssignedTo/{}",
                audit["id"].as_str().unwrap()
            ),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let policies = "/identity/conditionalAccess/policies";
    assert_eq!(h.get(policies).await.status, 200, "an issued token keeps its roles");
    let fresh = h.token(Access::Read).await;
    let r = h.send(&fresh, Method::GET, policies, None, &[]).await;
    assert_eq!(r.status, 403);
}
