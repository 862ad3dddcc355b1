//! The Graph surface's wire types: a request in, a response out, free of HTTP types so that
//! `$batch`, the fuzz target and the axum edge share them.

use serde_json::Value;

/// The content type Graph sends with JSON bodies.
pub const JSON_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Largest request body Graph accepts (4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An HTTP method the Graph surface uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PATCH
    Patch,
    /// PUT
    Put,
    /// DELETE
    Delete,
}

impl Method {
    /// Parses a method name; `None` for methods Graph does not serve.
    pub fn parse(s: &str) -> Option<Method> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PATCH" => Some(Method::Patch),
            "PUT" => Some(Method::Put),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }

    /// True for methods that change state.
    pub fn is_write(self) -> bool {
        self != Method::Get
    }
}

/// A request to the Graph surface, path relative to `/v1.0`.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    /// Method.
    pub method: Method,
    /// Path after `/v1.0`, e.g. `/users/{id}`.
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers with lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Raw body bytes, if any.
    pub body: Vec<u8>,
}

impl GraphRequest {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The body of a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `application/json`.
    Json(Value),
    /// `text/plain` (e.g. `/$count`).
    Text(String),
    /// No body (204).
    Empty,
}

/// A Graph response.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, in addition to the ones every response gets.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

impl GraphResponse {
    pub(crate) fn json(status: u16, v: Value) -> Self {
        GraphResponse { status, headers: Vec::new(), body: Body::Json(v) }
    }

    pub(crate) fn no_content() -> Self {
        GraphResponse { status: 204, headers: Vec::new(), body: Body::Empty }
    }
}
