//! Graph's error envelope: `{"error": {"code", "message", "innerError": {date, request-id,
//! client-request-id}}}` with the status and code Graph uses for each failure. Clients branch on
//! `code`, so the codes here follow `docs/reference/graph-api.md` §6.4.

use serde_json::{Value, json};

/// A failed Graph request, rendered by [`GraphError::to_body`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// Graph's error code, e.g. `Request_ResourceNotFound`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Extra `details[]` entries as `(code, message, target)`.
    pub details: Vec<(String, String, String)>,
    /// Extra response headers (e.g. `Location` on 410, `WWW-Authenticate` on 401).
    pub headers: Vec<(String, String)>,
}

impl GraphError {
    /// An error with status, code and message.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code: code.to_string(),
            message: message.into(),
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 400 `Request_BadRequest`, the directory's catch-all for invalid input.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request_BadRequest", message)
    }

    /// 400 `Request_UnsupportedQuery` for query options the resource does not support.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(400, "Request_UnsupportedQuery", message)
    }

    /// 404 `Request_ResourceNotFound` with Graph's message for a missing directory object.
    pub fn not_found(id: &str) -> Self {
        Self::new(
            404,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// 400 for a path no resource answers to.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            400,
            "BadRequest",
            format!("Resource not found for the segment '{}'.", last_segment(path)),
        )
    }

    /// 405 for a method the resource does not allow.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }

    /// 403 `Authorization_RequestDenied`.
    pub fn forbidden() -> Self {
        Self::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 401 `InvalidAuthenticationToken` with a `WWW-Authenticate` challenge.
    pub fn unauthenticated(message: &str) -> Self {
        let mut e = Self::new(401, "InvalidAuthenticationToken", message);
        e.headers.push((
            "WWW-Authenticate".into(),
            format!("Bearer realm=\"\", error=\"invalid_token\", error_description=\"{message}\""),
        ));
        e
    }

    /// Adds a `details[]` entry.
    #[must_use]
    pub fn with_detail(mut self, code: &str, message: &str, target: &str) -> Self {
        self.details.push((code.into(), message.into(), target.into()));
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.into(), value));
        self
    }

    /// The JSON body Graph sends for this error.
    pub fn to_body(&self, request_id: &str, client_request_id: &str, date: &str) -> Value {
        let mut error = json!({
            "code": self.code,
            "message": self.message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        });
        if !self.details.is_empty() {
            error["details"] = self
                .details
                .iter()
                .map(|(c, m, t)| json!({"code": c, "message": m, "target": t}))
                .collect();
        }
        json!({ "error": error })
    }
}

fn last_segment(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}
