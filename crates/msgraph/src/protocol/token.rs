//! The identity platform's client-credentials exchange: the form to send and the token that
//! comes back, cached until shortly before it expires.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::error::GraphFailure;

/// Tokens are renewed this long before they expire, so none expires in flight.
const RENEW_BEFORE: SignedDuration = SignedDuration::from_mins(5);

/// The scope of every Graph token: all application permissions granted to the app.
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// The form of a client-credentials request with a secret.
pub fn secret_form(client_id: &str, client_secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        ("client_id", client_id.into()),
        ("client_secret", client_secret.into()),
        ("scope", GRAPH_SCOPE.into()),
    ]
}

/// An access token and when it must be renewed.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    renew_at: Timestamp,
}

impl std::fmt::Debug for AccessToken {
    /// Never prints the token itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("renew_at", &self.renew_at).finish_non_exhaustive()
    }
}

impl AccessToken {
    /// Reads a token response received at `now`; an error response becomes its failure.
    pub fn parse(status: u16, body: &[u8], now: Timestamp) -> Result<AccessToken, GraphFailure> {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        match (status, v["access_token"].as_str(), v["expires_in"].as_i64()) {
            (200, Some(t), Some(secs)) => Ok(AccessToken {
                secret: t.to_string(),
                renew_at: now
                    .saturating_add(SignedDuration::from_secs(secs) - RENEW_BEFORE)
                    .unwrap_or(now),
            }),
            _ => Err(GraphFailure::from_response(
                if status == 200 { 502 } else { status },
                body,
                None,
            )),
        }
    }

    /// The bearer value.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Still good at `now`.
    pub fn is_fresh(&self, now: Timestamp) -> bool {
        now < self.renew_at
    }

    /// The application permissions the token grants (its `roles` claim), read without
    /// checking the signature: only to tell a person what is missing before Graph refuses.
    /// `None` when the token is not a JWT Rewind can read (Graph may issue opaque ones), so
    /// callers skip the check rather than guess.
    pub fn roles(&self) -> Option<Vec<String>> {
        use base64::Engine as _;
        let payload = self.secret.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: Value = serde_json::from_slice(&bytes).ok()?;
        Some(
            claims
                .get("roles")
                .and_then(Value::as_array)
                .map(|roles| roles.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_claims_and_opaque_tokens_have_none() {
        use base64::Engine as _;
        let now: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"roles":["Policy.Read.All","Group.ReadWrite.All"],"tid":"t"}"#);
        let body = format!(r#"{{"expires_in":3599,"access_token":"e30.{claims}.sig"}}"#);
        let t = AccessToken::parse(200, body.as_bytes(), now).unwrap();
        assert_eq!(t.roles(), Some(vec!["Policy.Read.All".into(), "Group.ReadWrite.All".into()]));
        let bare = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"tid":"t"}"#);
        let body = format!(r#"{{"expires_in":3599,"access_token":"e30.{bare}.sig"}}"#);
        let t = AccessToken::parse(200, body.as_bytes(), now).unwrap();
        assert_eq!(t.roles(), Some(Vec::new()));
        let t = AccessToken::parse(200, br#"{"expires_in":1,"access_token":"opaque"}"#, now);
        assert_eq!(t.unwrap().roles(), None);
    }

    #[test]
    fn tokens_are_renewed_before_they_expire_and_errors_keep_their_code() {
        let now: Timestamp = "2026-11-27T12:00:00Z".parse().unwrap();
        let t = AccessToken::parse(
            200,
            br#"{"token_type":"Bearer","expires_in":3599,"access_token":"abc"}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.secret(), "abc");
        assert!(t.is_fresh(now + SignedDuration::from_mins(50)));
        assert!(!t.is_fresh(now + SignedDuration::from_mins(56)));
        assert!(!format!("{t:?}").contains("abc"), "tokens never reach logs");
        let e = AccessToken::parse(401, br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#, now).unwrap_err();
        assert_eq!(e.code, "invalid_client");
    }
}
