//! The protocol on reqwest: tokens fetched and renewed, requests bounded per tenant by a
//! semaphore, transient failures retried as `RetryPolicy` decides, counters kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

use crate::protocol::{
    AccessToken, BatchRequest, BatchResponse, CertificateError, DeltaItem, DeltaRound,
    GraphFailure, PREFER, Page, PageError, Pager, RetryDecision, RetryPolicy, assertion_form,
    batch_bodies, client_assertion, parse_batch_response, parse_retry_after, secret_form,
};

/// Where a tenant's Graph and identity platform live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Graph's base URL, without `/v1.0`.
    pub graph_url: String,
    /// The identity platform's base URL, without the tenant.
    pub authority_url: String,
    /// The tenant id or domain.
    pub tenant_id: String,
}

impl Endpoints {
    /// Microsoft's public cloud for a tenant.
    pub fn public_cloud(tenant_id: impl Into<String>) -> Endpoints {
        Endpoints {
            graph_url: "https://graph.microsoft.com".into(),
            authority_url: "https://login.microsoftonline.com".into(),
            tenant_id: tenant_id.into(),
        }
    }

    fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority_url.trim_end_matches('/'), self.tenant_id)
    }

    /// Whether an absolute URL is under Graph's base URL: the only place the client sends its
    /// token (a next link or a stored cursor pointing elsewhere is refused, not followed).
    pub fn is_graph(&self, url: &str) -> bool {
        let base = self.graph_url.trim_end_matches('/');
        url.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// An absolute URL for a path relative to `/v1.0`, or the URL itself when it is absolute
    /// (next and delta links are followed verbatim).
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!(
                "{}/v1.0/{}",
                self.graph_url.trim_end_matches('/'),
                path_or_url.trim_start_matches('/')
            )
        }
    }
}

/// A secret that never reaches logs or output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }

    /// The secret itself, for the one place that must hand it on (a database driver); the
    /// long name keeps every use visible in review.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A client secret.
    Secret {
        /// The application (client) id.
        client_id: String,
        /// The secret.
        secret: Secret,
    },
    /// A certificate: a PEM with the RSA private key and the certificate, used to sign a JWT
    /// client assertion for each token.
    Certificate {
        /// The application (client) id.
        client_id: String,
        /// The PEM text.
        pem: Secret,
    },
}

impl Credential {
    /// The application (client) id.
    pub fn client_id(&self) -> &str {
        match self {
            Credential::Secret { client_id, .. } | Credential::Certificate { client_id, .. } => {
                client_id
            }
        }
    }

    /// The token request form, signing an assertion for certificates.
    fn token_form(&self, token_url: &str) -> Result<Vec<(&'static str, String)>, ClientError> {
        match self {
            Credential::Secret { client_id, secret } => Ok(secret_form(client_id, secret.expose())),
            Credential::Certificate { client_id, pem } => {
                let jti = format!("{:032x}", rand::rng().random::<u128>());
                let now = jiff::Timestamp::now().as_second();
                let assertion = client_assertion(pem.expose(), client_id, token_url, &jti, now)?;
                Ok(assertion_form(client_id, &assertion))
            }
        }
    }
}

/// Tuning.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Requests in flight at once for this tenant.
    pub concurrency: usize,
    /// When and how long to retry.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            concurrency: 4,
            retry: RetryPolicy::default(),
            timeout: Duration::from_mins(1),
        }
    }
}

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Graph answered with an error that retrying will not fix.
    #[error(transparent)]
    Graph(#[from] GraphFailure),
    /// Graph kept failing transiently until the retry budget ran out.
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: GraphFailure,
    },
    /// The endpoint could not be reached.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The certificate credential cannot be used.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// A link pointed away from Graph's base URL; following it would hand the token over.
    #[error("refusing to send the Graph token to {url}: it is not under {graph_url}")]
    ForeignUrl {
        /// The URL.
        url: String,
        /// The configured Graph base URL.
        graph_url: String,
    },
    /// The server answered with a redirect. Rewind follows none: a redirect from the token
    /// endpoint would send the client secret elsewhere, and one from Graph would send the token
    /// (or make an empty answer from another server look like the tenant's).
    #[error(
        "{url} answered {status} redirecting to {location}; Rewind follows no redirect — check REWIND_GRAPH_URL and REWIND_AUTHORITY_URL point at the service itself"
    )]
    Redirected {
        /// The URL requested.
        url: String,
        /// The redirect status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// A response body was larger than any Graph answer.
    #[error("{url} sent more than {limit} bytes in one response; no Graph answer is that large")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A response did not have the expected shape.
    #[error("unexpected response from {url}: {source}")]
    Malformed {
        /// The URL.
        url: String,
        /// What is wrong.
        #[source]
        source: PageError,
    },
}

/// Counters of a client's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent to Graph (token requests not counted).
    pub requests: u64,
    /// Responses that were 429.
    pub throttled: u64,
    /// Requests sent again after a transient failure.
    pub retries: u64,
}

/// A Microsoft Graph client for one tenant.
pub struct GraphClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    credential: Credential,
    options: ClientOptions,
    token: Mutex<Option<AccessToken>>,
    limit: Arc<Semaphore>,
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    last_url: std::sync::Mutex<Option<String>>,
}

/// Which failed requests [`GraphClient::execute_with`] sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Every transient failure (throttling, 5xx): reads and idempotent writes.
    Transient,
    /// Only throttling, which Graph answers before doing anything: creates.
    Unapplied,
}

impl GraphClient {
    /// A client; no request is made until one is needed.
    pub fn new(
        endpoints: Endpoints,
        credential: Credential,
        options: ClientOptions,
    ) -> Result<GraphClient, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rewind/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Unreachable {
                url: endpoints.graph_url.clone(),
                source,
            })?;
        let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
        Ok(GraphClient {
            http,
            endpoints,
            credential,
            options,
            token: Mutex::new(None),
            limit,
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            last_url: std::sync::Mutex::new(None),
        })
    }

    /// The endpoints this client talks to.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The application (client) id it signs in as.
    pub fn client_id(&self) -> &str {
        self.credential.client_id()
    }

    /// Requests this client sends at once.
    pub fn concurrency(&self) -> usize {
        self.options.concurrency
    }

    /// Counters so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.requests.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    /// The URL of the last request sent, to say where a read that ran out of time was.
    pub fn last_url(&self) -> Option<String> {
        self.last_url.lock().map_or(None, |u| u.as_ref().map(|u| redact_query(u)))
    }

    /// The application permissions this client's token grants (signing in if needed); `None`
    /// when the token does not say (see [`AccessToken::roles`]).
    pub async fn granted_roles(&self) -> Result<Option<Vec<String>>, ClientError> {
        self.bearer(false).await?;
        Ok(self.token.lock().await.as_ref().and_then(AccessToken::roles))
    }

    async fn bearer(&self, force: bool) -> Result<String, ClientError> {
        let mut guard = self.token.lock().await;
        let now = jiff::Timestamp::now();
        if let Some(t) = guard.as_ref().filter(|t| !force && t.is_fresh(now)) {
            return Ok(t.secret().to_string());
        }
        let url = self.endpoints.token_url();
        let form = self.credential.token_form(&url)?;
        let resp = self
            .http
            .post(&url)
            .form(&form)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable { url: url.clone(), source })?;
        let status = resp.status().as_u16();
        refuse_redirect(&url, &resp)?;
        let body = read_body(resp, &url).await?;
        let token = AccessToken::parse(status, &body, now)?;
        let value = token.secret().to_string();
        *guard = Some(token);
        Ok(value)
    }

    /// Sends a request, retrying transient failures; returns status and body of a success.
    async fn execute(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        prefer: &str,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        self.execute_with(method, url, body, prefer, Replay::Transient).await
    }

    /// [`GraphClient::execute`], with what may be sent again.
    async fn execute_with(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        prefer: &str,
        replay: Replay,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let _permit = self.limit.acquire().await.map_err(|_| ClientError::GaveUp {
            attempts: 0,
            last: GraphFailure {
                status: 0,
                code: "closed".into(),
                message: "client closed".into(),
                request_id: None,
                details: Vec::new(),
            },
        })?;
        if !self.endpoints.is_graph(url) {
            return Err(ClientError::ForeignUrl {
                url: url.to_string(),
                graph_url: self.endpoints.graph_url.clone(),
            });
        }
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.bearer(false).await?;
            let mut req =
                self.http.request(method.clone(), url).bearer_auth(token).header("Prefer", prefer);
            if let Some(b) = body {
                req = req.json(b);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = self.last_url.lock() {
                *last = Some(url.to_string());
            }
            let resp = req
                .send()
                .await
                .map_err(|source| ClientError::Unreachable { url: url.to_string(), source })?;
            let status = resp.status().as_u16();
            let header =
                |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
            let (retry_after, request_id) = (header("retry-after"), header("request-id"));
            refuse_redirect(url, &resp)?;
            let bytes = read_body(resp, url).await?;
            if status < 300 {
                return Ok((status, bytes));
            }
            let failure = GraphFailure::from_response(status, &bytes, request_id);
            if status == 401 && !refreshed {
                refreshed = true;
                self.bearer(true).await?;
                continue;
            }
            if status == 429 {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
            let unapplied = status == 429;
            if !failure.is_transient() || (replay == Replay::Unapplied && !unapplied) {
                return Err(ClientError::Graph(failure));
            }
            let server_wait =
                retry_after.as_deref().and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
            let jitter: f64 = rand::rng().random();
            match self.options.retry.decide(attempt, waited, server_wait, jitter) {
                RetryDecision::RetryAfter(wait) => {
                    tracing::debug!(%url, status, ?wait, attempt, "retrying");
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                RetryDecision::GiveUp => {
                    tracing::warn!(%url, status, attempts = attempt, elapsed = ?started.elapsed(), "giving up");
                    return Err(ClientError::GaveUp { attempts: attempt, last: failure });
                }
            }
        }
    }

    /// `GET` one JSON document.
    pub async fn get(&self, path_or_url: &str) -> Result<Value, ClientError> {
        let url = self.endpoints.url(path_or_url);
        let (_, body) = self.execute(reqwest::Method::GET, &url, None, PREFER).await?;
        serde_json::from_slice(&body)
            .map_err(|e| ClientError::Malformed { url, source: PageError::NotJson(e.to_string()) })
    }

    /// `GET` one page of a collection.
    pub async fn page(&self, path_or_url: &str, max_page: usize) -> Result<Page, ClientError> {
        let url = self.endpoints.url(path_or_url);
        let prefer = format!("{PREFER}, odata.maxpagesize={max_page}");
        let (_, body) = self.execute(reqwest::Method::GET, &url, None, &prefer).await?;
        Page::parse(&body).map_err(|source| ClientError::Malformed { url, source })
    }

    /// Every item of a collection, following `@odata.nextLink` to the end.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, ClientError> {
        let mut pager = Pager::new(self.endpoints.url(path));
        let mut items = Vec::new();
        while let Some(url) = pager.next().map(str::to_string) {
            let page = self.page(&url, 999).await?;
            items
                .extend(pager.feed(page).map_err(|source| ClientError::Malformed { url, source })?);
        }
        Ok(items)
    }

    /// One delta round from `start` (`/users/delta` or a previous delta link): the changes and
    /// the delta link of the next round.
    pub async fn delta(&self, start: &str) -> Result<(Vec<DeltaItem>, String), ClientError> {
        let mut round = DeltaRound::new(self.endpoints.url(start));
        let mut items = Vec::new();
        while let Some(url) = round.next().map(str::to_string) {
            let page = self.page(&url, 999).await?;
            items
                .extend(round.feed(page).map_err(|source| ClientError::Malformed { url, source })?);
        }
        let link = round.delta_link().unwrap_or_default().to_string();
        Ok((items, link))
    }

    /// A write (`POST`, `PATCH`, `DELETE`); returns the status and the JSON body, if any.
    pub async fn write(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let url = self.endpoints.url(path);
        let (status, bytes) = self.execute(method, &url, body, PREFER).await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// A `POST` that creates: Graph may apply it and still answer 5xx (or the connection may
    /// drop after it was applied), so only throttling — which Graph never applies — is sent
    /// again here. Any other failure is returned, for the caller to look for the object before
    /// creating it again (best-practices-concept.md: retry only idempotent requests).
    pub async fn create(&self, path: &str, body: &Value) -> Result<(u16, Value), ClientError> {
        let url = self.endpoints.url(path);
        let (status, bytes) = self
            .execute_with(reqwest::Method::POST, &url, Some(body), PREFER, Replay::Unapplied)
            .await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// Sends requests through `$batch`, twenty at a time; returns one response per request, in
    /// the order given. Inner failures are reported, not retried.
    pub async fn batch(
        &self,
        requests: &[BatchRequest],
    ) -> Result<Vec<BatchResponse>, ClientError> {
        let url = self.endpoints.url("/$batch");
        let mut out: Vec<Option<BatchResponse>> = vec![None; requests.len()];
        for body in batch_bodies(requests) {
            let (_, bytes) = self.execute(reqwest::Method::POST, &url, Some(&body), PREFER).await?;
            let parsed = parse_batch_response(&bytes)
                .map_err(|source| ClientError::Malformed { url: url.clone(), source })?;
            for (i, resp) in parsed {
                if let Some(slot) = out.get_mut(i) {
                    *slot = Some(resp);
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or(BatchResponse { status: 0, retry_after: None, body: Value::Null }))
            .collect())
    }
}

/// The largest response body read: Graph's pages of 999 objects are a few MiB, a `$batch` of
/// twenty such pages a few tens; anything larger is not Graph and would exhaust memory.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A URL without its query: skip and delta tokens are long and say nothing to a person.
fn redact_query(url: &str) -> String {
    url.split_once('?').map_or(url, |(path, _)| path).to_string()
}

/// A redirect is an error (the client is built to follow none).
fn refuse_redirect(url: &str, resp: &reqwest::Response) -> Result<(), ClientError> {
    let status = resp.status();
    if !status.is_redirection() {
        return Ok(());
    }
    let location = resp
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(no Location)")
        .to_string();
    Err(ClientError::Redirected { url: url.to_string(), status: status.as_u16(), location })
}

/// Reads a body chunk by chunk, refusing one over [`MAX_RESPONSE_BYTES`] before it is held.
async fn read_body(mut resp: reqwest::Response, url: &str) -> Result<Vec<u8>, ClientError> {
    let too_large = || ClientError::TooLarge { url: url.to_string(), limit: MAX_RESPONSE_BYTES };
    let announced = resp.content_length().unwrap_or(0);
    if usize::try_from(announced).map_or(true, |n| n > MAX_RESPONSE_BYTES) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|source| ClientError::Unreachable { url: url.to_string(), source })?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::Endpoints;

    #[test]
    fn the_token_goes_only_under_the_graph_base_url() {
        let e = Endpoints {
            graph_url: "https://graph.microsoft.com/".into(),
            ..Endpoints::public_cloud("t")
        };
        assert!(e.is_graph("https://graph.microsoft.com/v1.0/users?$skiptoken=x"));
        assert!(e.is_graph(&e.url("/users/delta")));
        assert!(!e.is_graph("https://graph.microsoft.com.evil.example/v1.0/users"));
        assert!(!e.is_graph("http://127.0.0.1:9/v1.0/users"));
    }
}
