//! Graph's failures, told apart by what a caller should do about them: retry later (transient),
//! fix credentials (authentication), grant a permission (permission), or give up on this request
//! (permanent). Read from the error envelope's `code`, never from its message.

use serde_json::Value;

/// What kind of failure a response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 429 or a 5xx: try again after a while.
    Transient,
    /// 401: the token is missing, wrong or expired.
    Authentication,
    /// 403: the app lacks a permission.
    Permission,
    /// 404: the object is not there (or not yet, right after a create).
    NotFound,
    /// Anything else: the request is wrong and will stay wrong.
    Permanent,
}

/// A failed Graph request, as the service described it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Graph answered {status} {code}: {message}{}", request_id.as_deref().map(|r| format!(" (request-id {r})")).unwrap_or_default())]
pub struct GraphFailure {
    /// HTTP status.
    pub status: u16,
    /// Graph's error code (`Request_ResourceNotFound`, `Authorization_RequestDenied`, …).
    pub code: String,
    /// Graph's message.
    pub message: String,
    /// The `request-id` for a support ticket.
    pub request_id: Option<String>,
    /// `details[].code` entries (e.g. `NoBackingApplicationObject`).
    pub details: Vec<String>,
}

impl GraphFailure {
    /// Reads Graph's error envelope; a body that is not one still gives a failure with the status.
    pub fn from_response(status: u16, body: &[u8], request_id: Option<String>) -> GraphFailure {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &v["error"];
        let text = |x: &Value| x.as_str().unwrap_or_default().to_string();
        let code = match e {
            Value::Object(_) => text(&e["code"]),
            // The identity platform answers with {"error": "invalid_client", ...}.
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        let message =
            if e.is_object() { text(&e["message"]) } else { text(&v["error_description"]) };
        let details =
            e["details"].as_array().into_iter().flatten().map(|d| text(&d["code"])).collect();
        let request_id =
            request_id.or_else(|| e["innerError"]["request-id"].as_str().map(str::to_string));
        let message = if message.is_empty() {
            String::from_utf8_lossy(body).chars().take(200).collect()
        } else {
            message
        };
        GraphFailure { status, code, message, request_id, details }
    }

    /// What to do about it.
    pub fn kind(&self) -> FailureKind {
        match self.status {
            429 | 500..=599 => FailureKind::Transient,
            401 => FailureKind::Authentication,
            403 => FailureKind::Permission,
            404 => FailureKind::NotFound,
            _ if self.details.iter().any(|d| d == "NoBackingApplicationObject") => {
                FailureKind::Transient
            }
            _ => FailureKind::Permanent,
        }
    }

    /// Worth retrying.
    pub fn is_transient(&self) -> bool {
        self.kind() == FailureKind::Transient
    }

    /// The sync state or page token the request continued from is gone: the read must start
    /// again from its beginning (a delta round in full), not fail. Graph documents both forms —
    /// `410 Gone` (delta-query-overview.md, "resync") and a 4xx with a code such as
    /// `syncStateNotFound` for an expired delta token (errors.md lists `resyncRequired` and
    /// `syncStateNotFound`) — and `400 Directory_ExpiredPageToken` for a next link followed
    /// too late.
    pub fn is_resync(&self) -> bool {
        if self.status == 410 {
            return true;
        }
        if !(400..500).contains(&self.status) || matches!(self.status, 401 | 403 | 429) {
            return false;
        }
        let code = self.code.to_ascii_lowercase();
        ["syncstate", "resync", "pagetoken", "deltatoken", "skiptoken"]
            .iter()
            .any(|k| code.contains(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_of_an_expired_token_means_start_again() {
        let f = |status, code: &str| {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"x"}}}}"#);
            GraphFailure::from_response(status, body.as_bytes(), None).is_resync()
        };
        assert!(f(410, "resyncRequired"));
        assert!(f(410, ""));
        assert!(f(400, "syncStateNotFound"));
        assert!(f(404, "syncStateNotFound"));
        assert!(f(400, "resyncRequired"));
        assert!(f(400, "Directory_ExpiredPageToken"));
        assert!(!f(400, "Request_BadRequest"));
        assert!(!f(403, "syncStateNotFound"), "a refusal is not an expiry");
        assert!(!f(503, "syncStateNotFound"));
    }

    #[test]
    fn graph_envelopes_are_classified_by_status_and_code() {
        let body = br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"request-id":"r1"}}}"#;
        let f = GraphFailure::from_response(403, body, None);
        assert_eq!(
            (f.code.as_str(), f.request_id.as_deref(), f.kind()),
            ("Authorization_RequestDenied", Some("r1"), FailureKind::Permission)
        );
        assert!(f.to_string().contains("request-id r1"));
        let lag = br#"{"error":{"code":"Request_BadRequest","message":"x","details":[{"code":"NoBackingApplicationObject"}]}}"#;
        assert!(
            GraphFailure::from_response(400, lag, None).is_transient(),
            "replication lag is worth a retry"
        );
        assert!(GraphFailure::from_response(503, b"<html>", None).is_transient());
        assert_eq!(
            GraphFailure::from_response(
                400,
                br#"{"error":{"code":"Request_BadRequest","message":"bad"}}"#,
                None
            )
            .kind(),
            FailureKind::Permanent
        );
        let oauth = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"#;
        let f = GraphFailure::from_response(401, oauth, None);
        assert_eq!((f.code.as_str(), f.kind()), ("invalid_client", FailureKind::Authentication));
        assert!(f.message.starts_with("AADSTS7000215"));
    }
}
