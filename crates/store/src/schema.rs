//! The versioned schema: migrations per dialect, applied in order, each in its own transaction,
//! recorded in `schema_migrations`. A store with a migration this build does not know was
//! written by a newer Rewind and is refused rather than misread.

use sqlx::{AnyConnection, AnyPool, Row as _};

use crate::error::StoreError;

/// The SQL dialect behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// One `SQLite` file in WAL mode.
    Sqlite,
    /// A `PostgreSQL` database.
    Postgres,
}

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "timeline: tenants, blobs, snapshots, versions, cursors, audit",
        sqlite: include_str!("../migrations/sqlite/0001_timeline.sql"),
        postgres: include_str!("../migrations/postgres/0001_timeline.sql"),
    },
    Migration {
        version: 2,
        description: "restore journals and lineage",
        sqlite: include_str!("../migrations/sqlite/0002_restores.sql"),
        postgres: include_str!("../migrations/postgres/0002_restores.sql"),
    },
    Migration {
        version: 3,
        description: "watch: alerts, known actors, watch state and leases",
        sqlite: include_str!("../migrations/sqlite/0003_watch.sql"),
        postgres: include_str!("../migrations/postgres/0003_watch.sql"),
    },
    Migration {
        version: 4,
        description: "attribution by identity; chain v2 over everything stored about a snapshot",
        sqlite: include_str!("../migrations/sqlite/0004_attribution.sql"),
        postgres: include_str!("../migrations/postgres/0004_attribution.sql"),
    },
];

/// The newest schema version this build writes.
pub const SCHEMA_VERSION: i64 = 4;

/// An arbitrary key for `PostgreSQL`'s advisory lock that serialises migrations ("rewind").
const MIGRATION_LOCK: i64 = 0x7265_7769_6e64;

/// Whether the database already holds a Rewind store (its migrations table).
pub(crate) async fn is_store(db: &AnyPool) -> Result<bool, StoreError> {
    Ok(sqlx::query("SELECT version FROM schema_migrations LIMIT 1")
        .fetch_optional(db)
        .await
        .is_ok())
}

/// Brings the schema up to date; refuses a newer one. Safe when several processes open a new
/// store at once (a fleet starting): migrations run one process at a time, under `PostgreSQL`'s
/// advisory lock or `SQLite`'s write lock, and each re-checks what is applied once it holds it.
pub(crate) async fn migrate(db: &AnyPool, dialect: Dialect) -> Result<(), StoreError> {
    let mut conn = db.acquire().await?;
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    let result = migrate_on(&mut conn, dialect).await;
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn migrate_on(conn: &mut AnyConnection, dialect: Dialect) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    if let Some(&found) = applied.iter().max().filter(|v| **v > SCHEMA_VERSION) {
        return Err(StoreError::TooNew { found, known: SCHEMA_VERSION });
    }
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        // SQLite: take the write lock up front, so a concurrent opener waits here.
        let begin = match dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        sqlx::raw_sql(begin).execute(&mut *conn).await?;
        match apply(conn, dialect, m).await {
            Ok(()) => {
                sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            }
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Applies one migration inside the open transaction, unless another process just did.
async fn apply(
    conn: &mut AnyConnection,
    dialect: Dialect,
    m: &Migration,
) -> Result<(), StoreError> {
    let done = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
        .bind(m.version)
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    if done {
        return Ok(());
    }
    let sql = match dialect {
        Dialect::Sqlite => m.sqlite,
        Dialect::Postgres => m.postgres,
    };
    sqlx::raw_sql(sql).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)")
        .bind(m.version)
        .bind(m.description)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
