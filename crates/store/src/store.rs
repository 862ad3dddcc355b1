//! Opening a store, its key check, and the tenants it holds.

use std::path::Path;
use std::str::FromStr as _;

use jiff::Timestamp;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions as _, Connection as _, Executor as _, Row as _};

use crate::error::StoreError;
use crate::schema::{self, Dialect};
use crate::seal::{Sealer, StoreKey};
use crate::tenant::{NewTenant, TenantInfo};

/// Opens one connection before the pool does: a pool retries a failing connection until its
/// timeout (30 s) and then says only "pool timed out", while the first attempt knows why
/// (connection refused, no such folder, not a database).
async fn probe(options: &AnyConnectOptions, dialect: Dialect) -> Result<(), StoreError> {
    let mut conn = options.connect().await.map_err(unavailable)?;
    if dialect == Dialect::Sqlite {
        // SQLite opens any file lazily; reading its schema finds one that is not a database.
        conn.execute("SELECT count(*) FROM sqlite_master").await.map_err(unavailable)?;
    }
    conn.close().await?;
    Ok(())
}

/// The reason a database could not be opened, in words, without the layers around it.
fn unavailable(e: sqlx::Error) -> StoreError {
    let reason = match e {
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Tls(tls) => format!("TLS: {tls}"),
        other => other.to_string(),
    };
    StoreError::Unavailable(reason.to_lowercase())
}

/// A timeline store. Cheap to clone; every clone shares the connection pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: AnyPool,
    pub(crate) dialect: Dialect,
    pub(crate) sealer: Sealer,
    /// `SQLite`: the database file (bulk reads open it directly; the lock file sits beside it).
    pub(crate) path: Option<std::path::PathBuf>,
    /// Snapshots whose chain this process has checked, so that reading one again costs nothing.
    pub(crate) checked: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
}

pub(crate) const TENANT_COLUMNS: &str =
    "id, tenant_id, name, graph_url, authority_url, client_id, created_at";

impl Store {
    /// Opens (creating when absent) a `SQLite` store file.
    pub async fn open_sqlite(path: &Path, key: Option<&StoreKey>) -> Result<Store, StoreError> {
        Store::sqlite(path, key, true).await
    }

    /// Opens a `SQLite` store that must already exist: reading commands never leave an empty
    /// store behind a mistyped path, and an empty or foreign file is refused.
    pub async fn open_sqlite_existing(
        path: &Path,
        key: Option<&StoreKey>,
    ) -> Result<Store, StoreError> {
        match std::fs::metadata(path) {
            Err(_) => Err(StoreError::NotAStore(format!(
                "there is no store at {}: run `rewind capture` (or `rewind import`) to start one, or set REWIND_STORE",
                path.display()
            ))),
            Ok(m) if m.len() == 0 => Err(StoreError::NotAStore(format!(
                "{} is empty, not a Rewind store",
                path.display()
            ))),
            Ok(_) => Store::sqlite(path, key, false).await,
        }
    }

    async fn sqlite(
        path: &Path,
        key: Option<&StoreKey>,
        create: bool,
    ) -> Result<Store, StoreError> {
        let text = path.to_string_lossy();
        let escaped: String = text
            .chars()
            .map(|c| match c {
                '%' => "%25".to_string(),
                '?' => "%3F".to_string(),
                '#' => "%23".to_string(),
                c => c.to_string(),
            })
            .collect();
        let mode = if create { "rwc" } else { "rw" };
        let url = format!("sqlite://{escaped}?mode={mode}");
        let mut store = Store::connect(&url, Dialect::Sqlite, key, create).await?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// Opens a `PostgreSQL` store (creating its tables when absent).
    pub async fn open_postgres(url: &str, key: Option<&StoreKey>) -> Result<Store, StoreError> {
        Store::connect(url, Dialect::Postgres, key, true).await
    }

    /// Opens a `PostgreSQL` store that must already hold Rewind's tables.
    pub async fn open_postgres_existing(
        url: &str,
        key: Option<&StoreKey>,
    ) -> Result<Store, StoreError> {
        Store::connect(url, Dialect::Postgres, key, false).await
    }

    async fn connect(
        url: &str,
        dialect: Dialect,
        key: Option<&StoreKey>,
        create: bool,
    ) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        // Long scans (verify, a large manifest) are expected; they are not warnings for users.
        let options = AnyConnectOptions::from_str(url)?
            .log_slow_statements(log::LevelFilter::Debug, std::time::Duration::from_secs(1));
        probe(&options, dialect).await?;
        let pool = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 4,
                Dialect::Postgres => 8,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        if !create && !schema::is_store(&pool).await? {
            return Err(StoreError::NotAStore(
                "the database holds no Rewind store: run `rewind capture` (or `rewind import`) to start one".into(),
            ));
        }
        schema::migrate(&pool, dialect).await?;
        let store = Store {
            db: pool,
            dialect,
            sealer: Sealer::new(key),
            path: None,
            checked: std::sync::Arc::default(),
        };
        store.check_key(key).await?;
        store.backfill_ledger().await?;
        Ok(store)
    }

    /// The dialect behind this store.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether blobs are encrypted.
    pub fn encrypted(&self) -> bool {
        self.sealer.encrypted()
    }

    /// A MAC over a restore plan's bytes, keyed from the store key (hex), so that a plan file
    /// written by this store can be told from one written or edited by someone without the
    /// key. `None` for a store without a key.
    pub fn plan_mac(&self, plan: &[u8]) -> Option<String> {
        self.sealer.plan_mac(plan).map(|h| h.to_hex().to_string())
    }

    /// Whether `mac` is this store's MAC of `plan` (compared in constant time). Always false
    /// for a store without a key.
    pub fn plan_mac_matches(&self, plan: &[u8], mac: &str) -> bool {
        let Ok(given) = blake3::Hash::from_hex(mac) else {
            return false;
        };
        self.sealer.plan_mac(plan).is_some_and(|m| m == given)
    }

    /// Records the encryption mode on first use; afterwards, refuses a missing, unexpected or
    /// wrong key before anything is read or written.
    async fn check_key(&self, key: Option<&StoreKey>) -> Result<(), StoreError> {
        let stored = sqlx::query("SELECT value FROM meta WHERE key = 'key_check'")
            .fetch_optional(&self.db)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?;
        let wanted = key.map_or_else(|| "none".to_string(), StoreKey::check_value);
        match stored {
            None => {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ('key_check', $1) ON CONFLICT (key) DO NOTHING",
                )
                .bind(&wanted)
                .execute(&self.db)
                .await?;
                Ok(())
            }
            Some(s) if s == wanted => Ok(()),
            Some(s) if s == "none" => Err(StoreError::Key(
                "this store is not encrypted; unset REWIND_STORE_KEY and --store-key-file".into(),
            )),
            Some(_) if key.is_none() => Err(StoreError::Key(
                "this store is encrypted; set REWIND_STORE_KEY or --store-key-file to its key"
                    .into(),
            )),
            Some(_) => Err(StoreError::Key("the key given is not this store's key".into())),
        }
    }

    /// Adds a tenant; its name and tenant id must be new to the store.
    pub async fn add_tenant(&self, t: &NewTenant) -> Result<TenantInfo, StoreError> {
        if self.tenant(&t.name).await?.is_some() || self.tenant(&t.tenant_id).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "the store already has a tenant named '{}' or with id {}",
                t.name, t.tenant_id
            )));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO tenants (tenant_id, name, graph_url, authority_url, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TENANT_COLUMNS}"
        ))
        .bind(&t.tenant_id)
        .bind(&t.name)
        .bind(&t.graph_url)
        .bind(&t.authority_url)
        .bind(t.client_id.as_deref())
        .bind(Timestamp::now().as_microsecond())
        .fetch_one(&self.db)
        .await?;
        tenant_row(&row)
    }

    /// Every tenant, by name.
    pub async fn tenants(&self) -> Result<Vec<TenantInfo>, StoreError> {
        sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name"))
            .fetch_all(&self.db)
            .await?
            .iter()
            .map(tenant_row)
            .collect()
    }

    /// The tenant with this name or tenant id.
    pub async fn tenant(&self, name_or_id: &str) -> Result<Option<TenantInfo>, StoreError> {
        sqlx::query(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants WHERE name = $1 OR tenant_id = $1"
        ))
        .bind(name_or_id)
        .fetch_optional(&self.db)
        .await?
        .as_ref()
        .map(tenant_row)
        .transpose()
    }

    /// Removes a tenant with its whole timeline (snapshots, versions, cursors) and restores. Blobs
    /// other tenants may share stay until retention collects what nothing references.
    pub async fn remove_tenant(&self, tenant: &TenantInfo) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "DELETE FROM restore_steps WHERE restore IN (SELECT id FROM restores WHERE tenant = $1)",
        )
        .bind(tenant.id)
        .execute(&mut *tx)
        .await?;
        for table in [
            "alerts",
            "known_actors",
            "amendments",
            "ledger",
            "watch_state",
            "lineage",
            "restores",
            "versions",
            "cursors",
            "snapshots",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant = $1"))
                .bind(tenant.id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM tenants WHERE id = $1").bind(tenant.id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

pub(crate) fn tenant_row(r: &sqlx::any::AnyRow) -> Result<TenantInfo, StoreError> {
    Ok(TenantInfo {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        graph_url: r.try_get("graph_url")?,
        authority_url: r.try_get("authority_url")?,
        client_id: r.try_get("client_id")?,
        created_at: micros(r.try_get("created_at")?)?,
    })
}

/// A stored time (microseconds since the epoch).
pub(crate) fn micros(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us)
        .map_err(|e| StoreError::Corrupt(format!("a stored time {us} is out of range: {e}")))
}
