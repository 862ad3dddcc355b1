//! The two backends the behaviour suite runs against. `PostgreSQL` is the server on
//! 127.0.0.1:5432 (override with `REWIND_TEST_POSTGRES`); each test gets a fresh database, so
//! tests run in parallel. A missing server fails the tests: they never skip.

use std::path::PathBuf;

use rewind_store::{NewTenant, Store, StoreError, StoreKey};
use sqlx::Connection as _;

const DEFAULT_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub enum Db {
    Sqlite(PathBuf),
    Postgres { admin: String, url: String, name: String },
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = std::env::temp_dir().join(format!("rewind-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Db::Sqlite(dir.join("timeline.db"))
    }

    pub async fn postgres() -> Db {
        sqlx::any::install_default_drivers();
        let admin = std::env::var("REWIND_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN.into());
        let name = format!("rewind_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL must be running at {admin} (set REWIND_TEST_POSTGRES): {e}")
        });
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Db::Postgres { admin, url, name }
    }

    pub async fn open(&self, key: Option<&StoreKey>) -> Result<Store, StoreError> {
        match self {
            Db::Sqlite(path) => Store::open_sqlite(path, key).await,
            Db::Postgres { url, .. } => Store::open_postgres(url, key).await,
        }
    }

    pub async fn store(&self) -> Store {
        self.open(None).await.unwrap()
    }

    /// Runs raw SQL against the database behind the store, to damage it on purpose.
    /// A separate connection, as an intruder or a failing disk would have.
    pub async fn tamper(&self, sql: &str) {
        let url = match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres { url, .. } => url.clone(),
        };
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }

    /// One number from the database behind the store, read on a separate connection.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let url = match self {
            Db::Sqlite(path) => format!("sqlite://{}", path.display()),
            Db::Postgres { url, .. } => url.clone(),
        };
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
        conn.close().await.unwrap();
        n
    }

    pub async fn cleanup(self, store: Store) {
        store.close().await;
        match self {
            Db::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
            Db::Postgres { admin, name, .. } => {
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        }
    }
}

/// Runs an async test function against `SQLite` and against `PostgreSQL`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::db::Db::sqlite()).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(crate::db::Db::postgres().await).await;
            }
        }
    )*};
}
pub(crate) use on_both;

/// A tenant to add, named `name`, at an address nothing answers on.
pub fn spec(name: &str) -> NewTenant {
    NewTenant {
        tenant_id: format!("{name}-0000-0000-0000-000000000000"),
        name: name.into(),
        graph_url: "http://127.0.0.1:1".into(),
        authority_url: "http://127.0.0.1:1".into(),
        client_id: None,
    }
}
