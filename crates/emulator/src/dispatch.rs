//! One Graph request in, one Graph response out: authentication, authorisation, routing and the
//! response headers Graph sends. Synchronous and free of HTTP types so that `$batch`, the fuzz
//! target and the axum edge all go through the same code.

use serde_json::{Map, Value};

use rand::Rng as _;

use crate::error::GraphError;
use crate::faults::{self, Service};
use crate::ops;
use crate::permission;
use crate::query::Query;
use crate::route::{self, Route, Scope};
use crate::schema::RenderOptions;
use crate::tenant::{Actor, Tenant, format_time};

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
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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
        GraphResponse {
            status,
            headers: Vec::new(),
            body: Body::Json(v),
        }
    }

    pub(crate) fn no_content() -> Self {
        GraphResponse {
            status: 204,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }
}

/// What a handler knows about the request it serves.
pub(crate) struct Ctx<'a> {
    pub base_url: &'a str,
    pub path: &'a str,
    pub query: Query,
    pub actor: Actor,
    pub render: RenderOptions,
    pub req: &'a GraphRequest,
    pub depth: u8,
}

impl Ctx<'_> {
    /// The request body as a JSON object, or Graph's error for anything else.
    pub(crate) fn body_object(&self) -> Result<Map<String, Value>, GraphError> {
        if self.req.body.iter().all(u8::is_ascii_whitespace) {
            return Err(GraphError::bad_request(
                "Empty Payload. JSON content expected.",
            ));
        }
        match serde_json::from_slice::<Value>(&self.req.body) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(GraphError::bad_request(
                "The request body must be a JSON object.",
            )),
            Err(e) => Err(GraphError::bad_request(format!(
                "Unable to read JSON request payload: {e}."
            ))),
        }
    }

    /// The `ConsistencyLevel: eventual` header is present.
    pub(crate) fn eventual(&self) -> bool {
        self.req
            .header("consistencylevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }
}

impl Tenant {
    /// Serves one request. Never panics on any input; every failure is a Graph error response.
    pub fn handle(&mut self, base_url: &str, req: &GraphRequest) -> GraphResponse {
        self.handle_at_depth(base_url, req, 0)
    }

    pub(crate) fn handle_at_depth(
        &mut self,
        base_url: &str,
        req: &GraphRequest,
        depth: u8,
    ) -> GraphResponse {
        let request_id = self.new_guid();
        let client_request_id = req
            .header("client-request-id")
            .unwrap_or(&request_id)
            .to_string();
        self.stats.requests += 1;
        let mut resp = match self.serve(base_url, req, depth) {
            Ok(r) => r,
            Err(e) => self.error_response(&e, &request_id, &client_request_id),
        };
        if resp.status == 429 {
            self.stats.throttled += 1;
        }
        resp.headers.push(("request-id".into(), request_id.clone()));
        resp.headers
            .push(("client-request-id".into(), client_request_id));
        resp.headers.push((
            "x-ms-ags-diagnostic".into(),
            r#"{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"rewind-emulator"}}"#.into(),
        ));
        resp
    }

    pub(crate) fn error_response(
        &self,
        e: &GraphError,
        request_id: &str,
        client_request_id: &str,
    ) -> GraphResponse {
        let date = format_time(self.now()).trim_end_matches('Z').to_string();
        GraphResponse {
            status: e.status,
            headers: e.headers.clone(),
            body: Body::Json(e.to_body(request_id, client_request_id, &date)),
        }
    }

    fn serve(
        &mut self,
        base_url: &str,
        req: &GraphRequest,
        depth: u8,
    ) -> Result<GraphResponse, GraphError> {
        self.purge_expired();
        let claims = self.verify_bearer(req.header("authorization"))?;
        let route = route::parse(&req.path)?;
        let write = req.method.is_write();
        if !permission::satisfied(&claims.permissions(), permission::required(&route, write)) {
            return Err(GraphError::forbidden());
        }
        if self.license == crate::tenant::License::P1
            && matches!(route, Route::Collection(c, _) | Route::Item(c, _, _) if c.is_pim())
        {
            // PIM needs Entra ID P2 or ID Governance (privilegedidentitymanagementv3-overview.md,
            // "License requirements"); without it Graph answers 400 AadPremiumLicenseRequired,
            // as the capture conformance review found. Reports use another code on non-premium
            // tenants (Authentication_RequestFromNonPremiumTenantOrB2CTenant): the client
            // treats both as "not available here".
            return Err(GraphError::new(
                400,
                "AadPremiumLicenseRequired",
                "The tenant needs an AAD Premium 2 license.",
            ));
        }
        let query = Query::parse(&req.query)?;
        if query.skiptoken.is_some() && self.faults.expire_page_tokens > 0 {
            self.faults.expire_page_tokens -= 1;
            return Err(GraphError::new(
                400,
                "Directory_ExpiredPageToken",
                "The specified page token value has expired and can no longer be included in your request.",
            ));
        }
        let listing =
            matches!(route, Route::Collection(_, Scope::All)) && req.method == Method::Get;
        if !query.expand.is_empty() && !listing {
            return Err(GraphError::unsupported_query(
                "This emulator supports $expand only when listing a collection.",
            ));
        }
        let units = self.apply_faults(&route, req.method, &query, &claims.appid)?;
        let include_evolvable = req.header("prefer").is_some_and(|p| {
            p.to_ascii_lowercase()
                .contains("include-unknown-enum-members")
        });
        let ctx = Ctx {
            base_url,
            path: &req.path,
            query,
            actor: self.actor_of(&claims),
            render: RenderOptions { include_evolvable },
            req,
            depth,
        };
        let mut resp = ops::route(self, &ctx, &route)?;
        if write && route != Route::Batch && self.fails_after_commit() {
            return Err(GraphError::new(
                500,
                "UnknownError",
                "An internal server error occurred; the request may or may not have been applied.",
            ));
        }
        if let Some(units) = units {
            resp.headers
                .push(("x-ms-resource-unit".into(), units.to_string()));
        }
        Ok(resp)
    }

    /// Whether this applied write is answered with an error anyway
    /// ([`crate::Faults::error_after_commit_rate`]).
    fn fails_after_commit(&mut self) -> bool {
        let rate = self.faults.error_after_commit_rate;
        let fails = rate > 0.0 && self.rng.random::<f64>() < rate;
        if fails {
            self.stats.failed_after_commit += 1;
        }
        fails
    }

    /// Injected errors and throttling, before the request is served. Returns the resource
    /// units charged when the request is a directory request.
    fn apply_faults(
        &mut self,
        route: &Route,
        method: Method,
        query: &Query,
        app: &str,
    ) -> Result<Option<u64>, GraphError> {
        let Some(service) = faults::service_of(route) else {
            return Ok(None);
        };
        if self.faults.error_rate > 0.0 && self.rng.random::<f64>() < self.faults.error_rate {
            self.stats.injected_errors += 1;
            let status = if self.rng.random::<bool>() { 503 } else { 504 };
            let code = if status == 503 {
                "serviceNotAvailable"
            } else {
                "gatewayTimeout"
            };
            return Err(GraphError::new(status, code, "The service is temporarily unavailable. Retry after the time in the Retry-After header.")
                .with_header("Retry-After", "1".into()));
        }
        if service != Service::Directory && !self.faults.throttle {
            return Ok(None);
        }
        let units = faults::resource_units(route, method, query.select.is_some(), query.top);
        if self.faults.throttle {
            let limit = faults::directory_limit(self.count(crate::resource::Coll::Users));
            let now = self.now();
            self.throttle
                .charge(service, app, now, units, method.is_write(), limit)?;
        }
        if service == Service::Directory {
            self.stats.resource_units += units;
            return Ok(Some(units));
        }
        Ok(None)
    }
}
