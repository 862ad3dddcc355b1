//! Starts an emulator and talks to it like a Graph client would.

use rewind_emulator::{Access, EmulatorConfig, RunningEmulator, SeedOptions};
use serde_json::Value;

pub struct Harness {
    pub emu: RunningEmulator,
    pub http: reqwest::Client,
    pub reader: String,
    pub writer: String,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn read(r: reqwest::Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with_users(25).await
    }

    pub async fn with_users(users: usize) -> Harness {
        let seed = SeedOptions { seed: 7, users, ..SeedOptions::default() };
        Self::with_config(EmulatorConfig { seed, ..EmulatorConfig::default() }).await
    }

    pub async fn with_config(config: EmulatorConfig) -> Harness {
        let emu = rewind_emulator::start(config).await.expect("emulator starts");
        let http = reqwest::Client::new();
        let mut h = Harness { emu, http, reader: String::new(), writer: String::new() };
        h.reader = h.token(Access::Read).await;
        h.writer = h.token(Access::Write).await;
        h
    }

    /// Serves one request in-process with a token, for loops too long for HTTP.
    pub fn direct(
        &self,
        token: &str,
        method: rewind_emulator::Method,
        path: &str,
    ) -> rewind_emulator::GraphResponse {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let req = rewind_emulator::GraphRequest {
            method,
            path: path.to_string(),
            query: form_urlencoded_pairs(query),
            headers: vec![("authorization".into(), format!("Bearer {token}"))],
            body: Vec::new(),
        };
        let base = self.emu.info.graph_url.clone();
        self.emu.with_tenant(|t| t.handle(&base, &req))
    }

    /// Puts fault settings through the admin API.
    pub async fn set_faults(&self, faults: &Value) -> Reply {
        let r = self
            .http
            .put(format!("{}/_emulator/faults", self.emu.info.graph_url))
            .json(faults)
            .send()
            .await
            .expect("faults");
        Reply::read(r).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1.0{}", self.emu.info.graph_url, path)
    }

    pub fn token_url(&self) -> String {
        self.emu.info.token_url()
    }

    /// The client id (appId) of one of the emulator's clients.
    pub fn client_id(&self, access: Access) -> String {
        self.emu.info.client(access).expect("client").client_id.clone()
    }

    pub async fn token(&self, access: Access) -> String {
        rewind_emulator::testing::token_for(&self.http, &self.emu.info, access).await
    }

    pub async fn send(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = if path.starts_with("http") { path.to_string() } else { self.url(path) };
        let mut req = self.http.request(method, url);
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.expect("request");
        Reply::read(r).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(&self.reader, reqwest::Method::GET, path, None, &[]).await
    }

    /// `GET` with a read token issued now: after the emulator clock has moved past the
    /// harness's own tokens.
    pub async fn get_fresh(&self, path: &str) -> Reply {
        let token = self.token(Access::Read).await;
        self.send(&token, reqwest::Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(&self.writer, reqwest::Method::POST, path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(&self.writer, reqwest::Method::PATCH, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(&self.writer, reqwest::Method::DELETE, path, None, &[]).await
    }

    /// Follows `@odata.nextLink` to the end and returns every item.
    pub async fn get_all(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut next = Some(self.url(path));
        while let Some(url) = next {
            let r = self.send(&self.reader, reqwest::Method::GET, &url, None, &[]).await;
            assert_eq!(r.status, 200, "{url}: {}", r.text);
            items.extend(r.body["value"].as_array().cloned().unwrap_or_default());
            next = r.body["@odata.nextLink"].as_str().map(str::to_string);
        }
        items
    }

    /// The id of the first object of a list whose `displayName` equals `name`.
    pub async fn id_named(&self, path: &str, name: &str) -> String {
        self.get_all(path)
            .await
            .iter()
            .find(|o| o["displayName"] == name)
            .and_then(|o| o["id"].as_str())
            .unwrap_or_else(|| panic!("no {name} in {path}"))
            .to_string()
    }

    pub async fn new_user(&self, nick: &str) -> String {
        let domain = self.emu.with_tenant(|t| t.domain().to_string());
        let r = self
            .post("/users", &serde_json::json!({
                "accountEnabled": true, "displayName": nick, "mailNickname": nick,
                "userPrincipalName": format!("{nick}@{domain}"),
                "passwordProfile": {"forceChangePasswordNextSignIn": true, "password": "Xq7!rewind-Test"}
            }))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_str().expect("id").to_string()
    }
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%20", " ")))
        .collect()
}
