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
        f.debug_struct("AccessToken")
            .field("renew_at", &self.renew_at)
            .finish_non_exhaustive()
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
