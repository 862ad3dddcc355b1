//! A running emulator, a Graph client for its read app and a fresh store.

use std::path::PathBuf;

use rewind_app::{CaptureOptions, CaptureReport};
use rewind_emulator::{Access, EmulatorConfig, RunningEmulator, SeedOptions};
use rewind_msgraph::{ClientOptions, Credential, Endpoints, GraphClient, Secret};
use rewind_store::{Manifest, NewTenant, Store, TenantInfo};
use serde_json::Value;
use sqlx::Connection as _;

pub struct Env {
    pub emulator: RunningEmulator,
    pub http: reqwest::Client,
    dir: PathBuf,
}

impl Env {
    pub async fn start(seed: SeedOptions) -> Env {
        let emulator = rewind_emulator::start(EmulatorConfig { seed, ..EmulatorConfig::default() })
            .await
            .unwrap();
        Env::with(emulator)
    }

    /// An environment around an emulator started as a test needs it.
    pub fn with(emulator: RunningEmulator) -> Env {
        let dir = std::env::temp_dir().join(format!("rewind-app-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Env { emulator, http: reqwest::Client::new(), dir }
    }

    pub fn endpoints(&self) -> Endpoints {
        let info = &self.emulator.info;
        Endpoints {
            graph_url: info.graph_url.clone(),
            authority_url: info.authority_url.clone(),
            tenant_id: info.tenant_id.clone(),
        }
    }

    pub fn credential(&self, access: Access) -> Credential {
        let c = self.emulator.info.client(access).unwrap();
        Credential::Secret {
            client_id: c.client_id.clone(),
            secret: Secret::new(c.client_secret.clone()),
        }
    }

    pub fn reader(&self) -> GraphClient {
        GraphClient::new(self.endpoints(), self.credential(Access::Read), ClientOptions::default())
            .unwrap()
    }

    /// A fresh `SQLite` store in this test's directory.
    pub async fn sqlite(&self, name: &str) -> Store {
        Store::open_sqlite(&self.dir.join(format!("{name}.db")), None).await.unwrap()
    }

    /// A fresh `PostgreSQL` database on the CI server, and its name for [`Env::drop_postgres`].
    pub async fn postgres(&self) -> (Store, String) {
        sqlx::any::install_default_drivers();
        let admin = std::env::var("REWIND_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("rewind_app_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::AnyConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL must run at {admin}: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        let base = admin.rsplit_once('/').unwrap().0;
        let store = Store::open_postgres(&format!("{base}/{name}"), None).await.unwrap();
        (store, name)
    }

    pub async fn drop_postgres(&self, store: Store, name: &str) {
        store.close().await;
        let admin = std::env::var("REWIND_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }

    pub async fn tenant(&self, store: &Store) -> TenantInfo {
        let e = self.endpoints();
        if let Some(t) = store.tenant(&e.tenant_id).await.unwrap() {
            return t;
        }
        store
            .add_tenant(&NewTenant {
                tenant_id: e.tenant_id.clone(),
                name: "contoso".into(),
                graph_url: e.graph_url,
                authority_url: e.authority_url,
                client_id: None,
            })
            .await
            .unwrap()
    }

    pub async fn capture(&self, client: &GraphClient, store: &Store, full: bool) -> CaptureReport {
        let tenant = self.tenant(store).await;
        rewind_app::capture(
            client,
            store,
            &tenant,
            CaptureOptions { full, ..CaptureOptions::default() },
            &|_| {},
        )
        .await
        .unwrap()
    }

    /// The manifest of the latest snapshot.
    pub async fn manifest(&self, store: &Store) -> Manifest {
        let tenant = self.tenant(store).await;
        let latest = store.latest(&tenant).await.unwrap().unwrap();
        store.manifest(&tenant, &latest).await.unwrap()
    }

    /// The keys whose versions differ between two manifests, or that only one holds.
    pub fn differing(got: &Manifest, want: &Manifest) -> Vec<rewind_store::ObjectKey> {
        want.iter()
            .filter(|(k, v)| got.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(got.keys().filter(|k| !want.contains_key(*k)).cloned())
            .collect()
    }

    /// Calls the emulator's admin API.
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: &Value) -> Value {
        let url = format!("{}{path}", self.emulator.info.graph_url);
        let r = self.http.request(method, url).json(body).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    /// A token of the write app, to change the tenant as an administrator would.
    pub async fn writer_token(&self) -> String {
        rewind_emulator::testing::token_for(&self.http, &self.emulator.info, Access::Write).await
    }

    /// A Graph call as the write app; returns status and body.
    pub async fn graph(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let token = self.writer_token().await;
        let mut req = self
            .http
            .request(method, format!("{}/v1.0{path}", self.emulator.info.graph_url))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

impl Env {
    /// Takes an application permission away from the read app, as an administrator could.
    pub async fn revoke_read_permission(&self, permission: &str) {
        let reader = self.emulator.info.client(Access::Read).unwrap().client_id.clone();
        let (_, sp) = self
            .graph(reqwest::Method::GET, &format!("/servicePrincipals(appId='{reader}')"), None)
            .await;
        let sp = sp["id"].as_str().unwrap().to_string();
        let (_, graph) = self
            .graph(
                reqwest::Method::GET,
                "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
                None,
            )
            .await;
        let role = graph["appRoles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["value"] == permission)
            .unwrap()["id"]
            .clone();
        let (_, grants) = self
            .graph(
                reqwest::Method::GET,
                &format!("/servicePrincipals/{sp}/appRoleAssignments"),
                None,
            )
            .await;
        let grant: &Value =
            grants["value"].as_array().unwrap().iter().find(|g| g["appRoleId"] == role).unwrap();
        let (s, _) = self
            .graph(
                reqwest::Method::DELETE,
                &format!(
                    "/servicePrincipals/{sp}/appRoleAssignments/{}",
                    grant["id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(s, 204);
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
