//! The versioned schema: migrations per dialect, applied in order, each in its own transaction,
//! recorded in `schema_migrations`. A store with a migration this build does not know was
//! written by a newer Rewind and is refused rather than misread.

use sqlx::{AnyPool, Row as _};

use crate::error::StoreError;
use crate::store::Dialect;

struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "timeline: tenants, blobs, snapshots, versions, cursors, audit",
    sqlite: include_str!("../migrations/sqlite/0001_timeline.sql"),
    postgres: include_str!("../migrations/postgres/0001_timeline.sql"),
}];

/// The newest schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

/// Brings the schema up to date; refuses a newer one.
pub(crate) async fn migrate(db: &AnyPool, dialect: Dialect) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
    )
    .execute(db)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    if let Some(&found) = applied.iter().max().filter(|v| **v > SCHEMA_VERSION) {
        return Err(StoreError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match dialect {
            Dialect::Sqlite => m.sqlite,
            Dialect::Postgres => m.postgres,
        };
        let mut tx = db.begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)")
            .bind(m.version)
            .bind(m.description)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}
