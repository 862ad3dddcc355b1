//! The HTTP edge: an axum router that serves the token endpoint, the Graph v1.0 surface and the
//! emulator's admin API (`/_emulator/…`) from one port, and [`start`] to run it in-process.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
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

use crate::client::Access;
use crate::error::GraphError;
use crate::faults::Faults;
use crate::persist::{self, StateError};
use crate::scenario::Scenario;
use crate::seed::{self, Preset, SeedOptions};
use crate::tenant::Tenant;
use crate::wire::{Body, GraphRequest, GraphResponse, JSON_CONTENT_TYPE, MAX_BODY_BYTES, Method};

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The tenant to seed (when there is no saved state to load).
    pub seed: SeedOptions,
    /// The preset the counts came from, if any (reported by `/_emulator/faults`).
    pub preset: Option<Preset>,
    /// Faults from the start.
    pub faults: Faults,
    /// A scenario to replay once the tenant is ready.
    pub scenario: Option<Scenario>,
    /// Load the tenant from this file if it exists, and save it there on shutdown.
    pub state: Option<PathBuf>,
    /// How many tenants to serve (seeds `seed`, `seed + 1`, …), for fleets: the clients are
    /// one multi-tenant app registration consented in each (same client id and secret).
    pub tenants: usize,
    /// The licence tier of every tenant served (a saved state keeps its own).
    pub license: crate::tenant::License,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: SeedOptions::default(),
            preset: None,
            faults: Faults::default(),
            scenario: None,
            state: None,
            tenants: 1,
            license: crate::tenant::License::default(),
        }
    }
}

/// Why an emulator could not start (or save its state).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The fault settings are out of range.
    #[error("invalid faults: {0}")]
    Faults(String),
    /// The tenant settings cannot be served together.
    #[error("{0}")]
    Tenants(String),
    /// The state file cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
}

/// What was fixed when the emulator started, reported beside the faults.
#[derive(Debug, Clone)]
struct Started {
    preset: Option<String>,
    seed: u64,
    scenario: Option<String>,
    seeded_in_ms: u128,
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
    /// Every tenant served, the first being `tenant_id` (more with `--tenants N`).
    #[serde(default)]
    pub tenants: Vec<String>,
}

impl EmulatorInfo {
    /// The client with the given access.
    pub fn client(&self, access: Access) -> Option<&ClientInfo> {
        self.clients.iter().find(|c| c.access == access)
    }

    /// The token endpoint of the emulated tenant (client credentials).
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority_url, self.tenant_id)
    }
}

#[derive(Clone)]
struct AppState {
    tenant: Arc<Mutex<Tenant>>,
    /// Every tenant served, the first being `tenant`, by lowercase tenant id.
    tenants: Arc<HashMap<String, Arc<Mutex<Tenant>>>>,
    base_url: Arc<str>,
    started: Arc<Started>,
}

impl AppState {
    /// The first tenant (the admin API's, and the only one without `--tenants`).
    fn lock(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant with this id, or the first (which then answers as Entra does for a tenant
    /// it does not know).
    fn lock_of(&self, tenant_id: Option<&str>) -> MutexGuard<'_, Tenant> {
        tenant_id
            .and_then(|id| self.tenants.get(&id.to_ascii_lowercase()))
            .unwrap_or(&self.tenant)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn each(&self, mut f: impl FnMut(&mut Tenant)) {
        for t in self.tenants.values() {
            f(&mut t.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }
}

/// The `tid` claim of a bearer token, read without checking it: it only picks the tenant,
/// which then checks the token in full.
fn token_tenant(headers: &[(String, String)]) -> Option<String> {
    let value = headers.iter().find(|(k, _)| k == "authorization")?.1.as_str();
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    let payload = token.trim().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("tid")?.as_str().map(str::to_string)
}

/// An emulator serving in the background of the current tokio runtime.
pub struct RunningEmulator {
    /// Connection details.
    pub info: EmulatorInfo,
    /// The bound address.
    pub addr: SocketAddr,
    tenant: Arc<Mutex<Tenant>>,
    state: Option<PathBuf>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningEmulator {
    /// Runs `f` on the tenant, for tests and the admin API.
    pub fn with_tenant<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut self.tenant.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops serving, waits for the server task to end, and saves the tenant when a state file
    /// was given.
    pub async fn shutdown(mut self) -> Result<(), StateError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
        match &self.state {
            Some(path) => {
                persist::save(&self.tenant.lock().unwrap_or_else(PoisonError::into_inner), path)
            }
            None => Ok(()),
        }
    }

    /// Serves until the task ends (it ends only on shutdown).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Loads or seeds a tenant, replays the scenario if one was asked for, binds the listener and
/// serves in the background.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
    config.faults.validate().map_err(StartError::Faults)?;
    if config.tenants > 1 && config.state.is_some() {
        return Err(StartError::Tenants(
            "--state keeps one tenant; use it without --tenants".into(),
        ));
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind { addr: config.listen, source })?;
    let addr =
        listener.local_addr().map_err(|source| StartError::Bind { addr: config.listen, source })?;
    let base_url: Arc<str> = Arc::from(format!("http://{addr}"));
    let clock = std::time::Instant::now();
    let mut tenant = match &config.state {
        Some(path) if path.exists() => persist::load(path)?,
        _ => {
            let mut t = seed::build(&config.seed);
            t.set_license(config.license);
            crate::ops::pim::start_of_day(&mut t);
            t
        }
    };
    let mut others = Vec::new();
    for i in 1..config.tenants {
        let mut t = seed::build(&SeedOptions {
            seed: config.seed.seed.wrapping_add(i as u64),
            ..config.seed.clone()
        });
        seed::share_clients(&mut t, &tenant.clients);
        t.set_faults(config.faults.clone());
        t.set_license(config.license);
        crate::ops::pim::start_of_day(&mut t);
        others.push(t);
    }
    let seeded_in_ms = clock.elapsed().as_millis();
    if let Some(s) = config.scenario {
        tenant.run_scenario(&base_url, s);
    }
    tenant.set_faults(config.faults.clone());
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
        tenants: std::iter::once(&tenant)
            .chain(&others)
            .map(|t| t.tenant_id().to_string())
            .collect(),
    };
    let started = Started {
        preset: config.preset.map(|p| p.name().to_string()),
        seed: config.seed.seed,
        scenario: config.scenario.map(|s| s.name().to_string()),
        seeded_in_ms,
    };
    let tenant = Arc::new(Mutex::new(tenant));
    let mut tenants: HashMap<String, Arc<Mutex<Tenant>>> = others
        .into_iter()
        .map(|t| (t.tenant_id().to_ascii_lowercase(), Arc::new(Mutex::new(t))))
        .collect();
    tenants.insert(info.tenant_id.to_ascii_lowercase(), Arc::clone(&tenant));
    let app = router(AppState {
        tenant: Arc::clone(&tenant),
        tenants: Arc::new(tenants),
        base_url,
        started: Arc::new(started),
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
    Ok(RunningEmulator { info, addr, tenant, state: config.state, stop: Some(stop), task })
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/v1.0/{*path}", any(graph))
        .route("/_emulator/info", get(info))
        .route("/_emulator/clock", post(clock))
        .route("/_emulator/faults", get(get_faults).put(put_faults))
        .route("/_emulator/stats", get(get_stats).delete(reset_stats))
        .route("/_emulator/scenarios", get(list_scenarios))
        .route("/_emulator/scenarios/{name}", get(describe_scenario).post(run_scenario))
        .route("/_emulator/tenants/{tenant}/scenarios/{name}", post(run_scenario_in))
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
    let basic =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(parse_basic);
    let mut t = state.lock_of(Some(&tenant));
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
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, no-cache"));
    resp
}

fn parse_basic(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn graph(State(state): State<AppState>, Path(path): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
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
    let tid = token_tenant(&headers);
    let latency = state.lock_of(tid.as_deref()).faults().latency_ms;
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let request =
        GraphRequest { method, path: format!("/{path}"), query, headers, body: bytes.to_vec() };
    let response = state.lock_of(tid.as_deref()).handle(&state.base_url, &request);
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
        Body::Json(v) => {
            (Some(JSON_CONTENT_TYPE), AxumBody::from(serde_json::to_vec(&v).unwrap_or_default()))
        }
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
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    for (k, v) in r.headers {
        if let (Ok(name), Ok(value)) =
            (header::HeaderName::try_from(k.as_str()), HeaderValue::from_str(&v))
        {
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
    let body = json!({"tenant_id": t.tenant_id(), "domain": t.domain(), "now": crate::tenant::format_time(t.now()),
        "objects": counts, "seeded_in_ms": state.started.seeded_in_ms});
    drop(t);
    axum::Json(body).into_response()
}

/// `POST /_emulator/clock`: `{"advanceSeconds": N}` moves the clock forward; `{"freeze": true}`
/// stops it (only `advanceSeconds` moves it then) and `{"freeze": false}` lets it run again.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClockRequest {
    #[serde(default)]
    advance_seconds: i64,
    freeze: Option<bool>,
}

async fn clock(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let parsed: Result<ClockRequest, _> = serde_json::from_slice(&body);
    match parsed {
        Ok(req) if req.advance_seconds >= 0 => {
            let mut t = state.lock();
            if let Some(frozen) = req.freeze {
                t.freeze_clock(frozen);
            }
            t.advance_clock(jiff::SignedDuration::from_secs(req.advance_seconds));
            let now = crate::tenant::format_time(t.now());
            drop(t);
            axum::Json(json!({ "now": now })).into_response()
        }
        _ => admin_error(
            "send {\"advanceSeconds\": N} with N >= 0 and/or {\"freeze\": true|false}; the clock only moves forward",
        ),
    }
}

/// `GET/PUT /_emulator/faults`: the fault settings beside what was fixed at start, with the
/// names of the `rewind emulator` flags.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultDoc {
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    latency_ms: u64,
    #[serde(default)]
    error_rate: f64,
    #[serde(default)]
    error_after_commit_rate: f64,
    #[serde(default)]
    replication_lag_ms: u64,
    #[serde(default)]
    audit_latency_s: u64,
    #[serde(default)]
    expire_page_tokens: u64,
    #[serde(default)]
    throttle: bool,
}

impl FaultDoc {
    fn faults(&self) -> Faults {
        Faults {
            latency_ms: self.latency_ms,
            error_rate: self.error_rate,
            error_after_commit_rate: self.error_after_commit_rate,
            replication_lag_ms: self.replication_lag_ms,
            audit_latency_s: self.audit_latency_s,
            expire_page_tokens: self.expire_page_tokens,
            throttle: self.throttle,
        }
    }
}

impl AppState {
    fn fault_doc(&self, f: &Faults) -> FaultDoc {
        FaultDoc {
            preset: self.started.preset.clone(),
            seed: Some(self.started.seed),
            scenario: self.started.scenario.clone(),
            latency_ms: f.latency_ms,
            error_rate: f.error_rate,
            error_after_commit_rate: f.error_after_commit_rate,
            replication_lag_ms: f.replication_lag_ms,
            audit_latency_s: f.audit_latency_s,
            expire_page_tokens: f.expire_page_tokens,
            throttle: f.throttle,
        }
    }
}

async fn get_faults(State(state): State<AppState>) -> Response {
    let faults = state.lock().faults().clone();
    axum::Json(state.fault_doc(&faults)).into_response()
}

async fn put_faults(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let doc: FaultDoc = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return admin_error(&format!("invalid faults document: {e}")),
    };
    let fixed = [
        ("preset", &doc.preset, &state.started.preset),
        ("scenario", &doc.scenario, &state.started.scenario),
    ];
    for (name, given, actual) in fixed {
        if given.is_some() && given != actual {
            return admin_error(&format!(
                "{name} is fixed when the emulator starts; restart it to change {name}"
            ));
        }
    }
    if doc.seed.is_some_and(|s| s != state.started.seed) {
        return admin_error("seed is fixed when the emulator starts; restart it to change seed");
    }
    let faults = doc.faults();
    if let Err(e) = faults.validate() {
        return admin_error(&e);
    }
    state.each(|t| t.set_faults(faults.clone()));
    axum::Json(state.fault_doc(&faults)).into_response()
}

async fn list_scenarios(State(state): State<AppState>) -> Response {
    let t = state.lock();
    let all: Vec<Value> = Scenario::ALL
        .iter()
        .map(|s| {
            let r = t.scenario_report(*s);
            json!({"name": r.name, "description": r.description, "ran": r.ran, "steps": r.steps.len()})
        })
        .collect();
    drop(t);
    axum::Json(json!({ "scenarios": all })).into_response()
}

fn scenario_named(name: &str) -> Result<Scenario, Box<Response>> {
    name.parse::<Scenario>().map_err(|e| {
        Box::new((StatusCode::NOT_FOUND, axum::Json(json!({ "error": e }))).into_response())
    })
}

async fn describe_scenario(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match scenario_named(&name) {
        Ok(s) => axum::Json(state.lock().scenario_report(s)).into_response(),
        Err(resp) => *resp,
    }
}

async fn run_scenario(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match scenario_named(&name) {
        Ok(s) => {
            let report = state.lock().run_scenario(&state.base_url, s);
            axum::Json(report).into_response()
        }
        Err(resp) => *resp,
    }
}

/// `POST /_emulator/tenants/{tenant}/scenarios/{name}`: replays a scenario in one of the
/// tenants `--tenants N` serves.
async fn run_scenario_in(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Response {
    let Some(t) = state.tenants.get(&tenant.to_ascii_lowercase()) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": format!("no tenant '{tenant}' is served here") })),
        )
            .into_response();
    };
    match scenario_named(&name) {
        Ok(s) => {
            let report =
                t.lock().unwrap_or_else(PoisonError::into_inner).run_scenario(&state.base_url, s);
            axum::Json(report).into_response()
        }
        Err(resp) => *resp,
    }
}

async fn get_stats(State(state): State<AppState>) -> Response {
    axum::Json(state.lock().stats()).into_response()
}

async fn reset_stats(State(state): State<AppState>) -> Response {
    state.lock().reset_stats();
    StatusCode::NO_CONTENT.into_response()
}

fn admin_error(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": message }))).into_response()
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
