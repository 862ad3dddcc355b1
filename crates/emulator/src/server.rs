//! The HTTP edge: an axum router that serves the token endpoint, the Graph v1.0 surface and the
//! emulator's admin API (`/_emulator/…`) from one port, and [`start`] to run it in-process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::Access;
use crate::dispatch::{Body, GraphRequest, GraphResponse, MAX_BODY_BYTES, Method};
use crate::error::GraphError;
use crate::seed::{self, SeedOptions};
use crate::tenant::Tenant;

/// The content type Graph sends with JSON bodies.
pub const JSON_CONTENT_TYPE: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The tenant to seed.
    pub seed: SeedOptions,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: SeedOptions::default(),
        }
    }
}

/// One configured client, as printed for scripts (DESIGN §8.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClientInfo {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`.
    pub client_secret: String,
    /// `read` or `write`.
    pub access: Access,
}

/// What a running emulator serves, printed as the first stdout line of `rewind emulator`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EmulatorInfo {
    /// Base URL of the Graph surface (append `/v1.0`).
    pub graph_url: String,
    /// Base URL of the identity platform (append `/{tenant}/oauth2/v2.0/token`).
    pub authority_url: String,
    /// The tenant id.
    pub tenant_id: String,
    /// The configured clients.
    pub clients: Vec<ClientInfo>,
}

impl EmulatorInfo {
    /// The client with the given access.
    pub fn client(&self, access: Access) -> Option<&ClientInfo> {
        self.clients.iter().find(|c| c.access == access)
    }
}

#[derive(Clone)]
struct AppState {
    tenant: Arc<Mutex<Tenant>>,
    base_url: Arc<str>,
}

impl AppState {
    fn lock(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An emulator serving in the background of the current tokio runtime.
pub struct RunningEmulator {
    /// Connection details.
    pub info: EmulatorInfo,
    /// The bound address.
    pub addr: SocketAddr,
    tenant: Arc<Mutex<Tenant>>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    /// Runs `f` on the tenant, for tests and the admin API.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut self.tenant.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }

    /// Serves until the task ends (it ends only on shutdown).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Seeds a tenant, binds the listener and serves in the background.
pub async fn start(config: EmulatorConfig) -> std::io::Result<RunningEmulator> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let base_url: Arc<str> = Arc::from(format!("http://{addr}"));
    let tenant = seed::build(&config.seed);
    let info = EmulatorInfo {
        graph_url: base_url.to_string(),
        authority_url: base_url.to_string(),
        tenant_id: tenant.tenant_id().to_string(),
        clients: tenant
            .clients
            .iter()
            .map(|c| ClientInfo {
                client_id: c.client_id.clone(),
                client_secret: c.client_secret.clone(),
                access: c.access,
            })
            .collect(),
    };
    let tenant = Arc::new(Mutex::new(tenant));
    let app = router(AppState {
        tenant: Arc::clone(&tenant),
        base_url,
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "emulator server stopped");
        }
    });
    Ok(RunningEmulator {
        info,
        addr,
        tenant,
        stop: Some(stop),
        task,
    })
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/{*path}", any(graph))
        .route("/_emulator/info", get(info))
        .route("/_emulator/clock", post(clock))
        .fallback(not_served)
        .with_state(state)
}

async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_basic);
    let mut t = state.lock();
    let result = t.issue_token(&tenant, &form, basic);
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => {
            let trace = t.new_guid();
            let when = crate::tenant::format_time(t.now());
            (
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
                e.to_body(&trace, &when),
            )
        }
    };
    drop(t);
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn graph(State(state): State<AppState>, Path(path): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect();
    let query: Vec<(String, String)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let Some(method) = Method::parse(parts.method.as_str()) else {
        return error_only(&state, &GraphError::method_not_allowed());
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return error_only(
            &state,
            &GraphError::new(
                413,
                "Request_EntityTooLarge",
                format!(
                    "The request body is larger than the {MAX_BODY_BYTES} bytes Microsoft Graph accepts."
                ),
            ),
        );
    };
    let request = GraphRequest {
        method,
        path: format!("/{path}"),
        query,
        headers,
        body: bytes.to_vec(),
    };
    let response = state.lock().handle(&state.base_url, &request);
    to_http(response)
}

fn error_only(state: &AppState, e: &GraphError) -> Response {
    let t = state.lock();
    let id = uuid::Uuid::new_v4().to_string();
    let resp = t.error_response(e, &id, &id);
    drop(t);
    to_http(resp)
}

fn to_http(r: GraphResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, body) = match r.body {
        Body::Json(v) => (
            Some(JSON_CONTENT_TYPE),
            AxumBody::from(serde_json::to_vec(&v).unwrap_or_default()),
        ),
        Body::Text(s) => (Some("text/plain"), AxumBody::from(s)),
        Body::Empty => (None, AxumBody::empty()),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    if let Some(ct) = content_type {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    h.insert("odata-version", HeaderValue::from_static("4.0"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    for (k, v) in r.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(k.as_str()),
            HeaderValue::from_str(&v),
        ) {
            h.insert(name, value);
        }
    }
    resp
}

async fn info(State(state): State<AppState>) -> Response {
    let t = state.lock();
    let counts: serde_json::Map<String, Value> = crate::resource::Coll::ALL
        .iter()
        .map(|c| (c.context_path().to_string(), Value::from(t.count(*c))))
        .collect();
    let body = json!({"tenant_id": t.tenant_id(), "domain": t.domain(), "now": crate::tenant::format_time(t.now()), "objects": counts});
    drop(t);
    axum::Json(body).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockRequest {
    advance_seconds: i64,
}

async fn clock(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let parsed: Result<ClockRequest, _> = serde_json::from_slice(&body);
    match parsed {
        Ok(req) if req.advance_seconds >= 0 => {
            let mut t = state.lock();
            t.advance_clock(jiff::SignedDuration::from_secs(req.advance_seconds));
            let now = crate::tenant::format_time(t.now());
            drop(t);
            axum::Json(json!({ "now": now })).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "send {\"advanceSeconds\": N} with N >= 0; the clock only moves forward"}))).into_response(),
    }
}

async fn not_served(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let e = if path.starts_with("/beta") {
        GraphError::new(
            400,
            "BadRequest",
            "The emulator serves Microsoft Graph v1.0 only; use /v1.0.",
        )
    } else {
        GraphError::new(
            404,
            "NotFound",
            format!(
                "Nothing is served at '{path}'. Graph is at /v1.0, tokens at /{{tenant}}/oauth2/v2.0/token."
            ),
        )
    };
    error_only(&state, &e)
}
