//! One restore per tenant at a time. Two restores planned against the same tenant would each
//! write what the other undoes; the second is refused at once, naming who holds the first.
//!
//! `SQLite`: an OS file lock on `<store>.restore-<tenant>.lock`, which also holds the holder's
//! description. `PostgreSQL`: a session advisory lock on `(RESTORE_LOCKS, tenant)`, its holder
//! named in the connection's `application_name`. Both are released when the process ends,
//! however it ends.

use std::io::{Read as _, Seek as _, Write as _};

use jiff::Timestamp;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::lock::StoreLock;
use crate::schema::Dialect;
use crate::store::Store;
use crate::tenant::TenantInfo;

/// The first key of restore locks (`"rwnd"`); the second is the tenant.
const RESTORE_LOCKS: i32 = 0x7277_6e64;

impl Store {
    /// Takes the tenant's restore lock for `holder` (a person-readable description: host and
    /// process), or fails with a conflict naming whoever holds it.
    pub async fn lock_restore(
        &self,
        tenant: &TenantInfo,
        holder: &str,
    ) -> Result<StoreLock, StoreError> {
        let holder =
            format!("{holder} since {}", Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC"));
        let busy = |by: &str| {
            StoreError::Conflict(format!(
                "a restore of tenant '{}' is already running ({by}); wait for it to finish, or \
                 stop it and run `rewind restore --resume`",
                tenant.name
            ))
        };
        match self.dialect {
            Dialect::Sqlite => {
                let mut file = self.open_named_lock(&format!("restore-{}", tenant.id))?;
                match file.try_lock() {
                    Ok(()) => {
                        file.set_len(0)?;
                        file.rewind()?;
                        file.write_all(holder.as_bytes())?;
                        Ok(StoreLock::file(file))
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        let mut by = String::new();
                        file.read_to_string(&mut by)?;
                        Err(busy(if by.is_empty() { "held by another process" } else { &by }))
                    }
                    Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
                }
            }
            Dialect::Postgres => {
                let key = i32::try_from(tenant.id).unwrap_or(i32::MAX);
                let mut c = self.db.acquire().await?;
                let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1, $2)")
                    .bind(RESTORE_LOCKS)
                    .bind(key)
                    .fetch_one(&mut *c)
                    .await?
                    .try_get(0)?;
                if got {
                    let name: String = holder.chars().take(63).collect();
                    sqlx::query("SELECT set_config('application_name', $1, false)")
                        .bind(name)
                        .execute(&mut *c)
                        .await?;
                    return Ok(StoreLock::connection(c));
                }
                let by: Option<String> = sqlx::query(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                     WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 \
                     AND l.objid::bigint = $2 AND l.objsubid = 2",
                )
                .bind(i64::from(RESTORE_LOCKS))
                .bind(i64::from(key))
                .fetch_optional(&mut *c)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
                Err(busy(by.as_deref().unwrap_or("held by another process")))
            }
        }
    }
}
