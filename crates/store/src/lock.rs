//! The store lock. Writers that add data (capture, import) hold it shared; `forget`, which
//! deletes blobs nothing references, holds it exclusively. Without it a capture could find a
//! blob present, skip writing it, and commit a reference to it just after `forget` deleted it.
//!
//! `SQLite`: an OS file lock on `<store>.lock` (released by the OS when a process dies).
//! `PostgreSQL`: a session advisory lock on a connection held for the guard's life (released by
//! the server when the connection closes, however the process ends).

use std::fs::{File, OpenOptions};

use sqlx::Row as _;
use sqlx::pool::PoolConnection;

use crate::error::StoreError;
use crate::schema::Dialect;
use crate::store::Store;

/// The advisory lock key (`"rewind" ` as a number).
const ADVISORY_KEY: i64 = 0x7265_7769_6e64;

/// Held while it lives.
pub struct StoreLock {
    _file: Option<File>,
    connection: Option<PoolConnection<sqlx::Any>>,
}

impl StoreLock {
    /// A lock held through an OS file lock on `file`.
    pub(crate) fn file(file: File) -> StoreLock {
        StoreLock { _file: Some(file), connection: None }
    }

    /// A lock held by a session of `connection` (closed when the lock is dropped).
    pub(crate) fn connection(connection: PoolConnection<sqlx::Any>) -> StoreLock {
        StoreLock { _file: None, connection: Some(connection) }
    }

    /// Lets go now. Dropping the lock closes its `PostgreSQL` connection, and the server frees
    /// the lock only once that session's process has exited — a moment later; a process that
    /// takes the same lock again right away releases it here first, and the server has freed
    /// it when this returns.
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Some(mut c) = self.connection.take() {
            sqlx::query("SELECT pg_advisory_unlock_all()").execute(&mut *c).await?;
            drop(c.detach());
        }
        Ok(())
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        // Close the connection rather than return it to the pool still holding the lock.
        if let Some(c) = self.connection.take() {
            drop(c.detach());
        }
    }
}

impl Store {
    /// Waits for and takes the lock shared (captures and imports; many at once).
    pub async fn lock_shared(&self) -> Result<StoreLock, StoreError> {
        match self.dialect {
            Dialect::Sqlite => {
                let file = self.open_lock_file()?;
                let file = tokio::task::spawn_blocking(move || file.lock_shared().map(|()| file))
                    .await
                    .map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
                Ok(StoreLock { _file: Some(file), connection: None })
            }
            Dialect::Postgres => {
                let mut c = self.db.acquire().await?;
                sqlx::query("SELECT pg_advisory_lock_shared($1)")
                    .bind(ADVISORY_KEY)
                    .execute(&mut *c)
                    .await?;
                Ok(StoreLock { _file: None, connection: Some(c) })
            }
        }
    }

    /// Takes the lock exclusively, or fails at once with a conflict when a capture, import or
    /// another `forget` holds it.
    pub async fn try_lock_exclusive(&self) -> Result<StoreLock, StoreError> {
        let busy = || {
            StoreError::Conflict(
                "a capture, import or forget is running on this store; try again when it finishes"
                    .into(),
            )
        };
        match self.dialect {
            Dialect::Sqlite => {
                let file = self.open_lock_file()?;
                match file.try_lock() {
                    Ok(()) => Ok(StoreLock { _file: Some(file), connection: None }),
                    Err(std::fs::TryLockError::WouldBlock) => Err(busy()),
                    Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
                }
            }
            Dialect::Postgres => {
                let mut c = self.db.acquire().await?;
                let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
                    .bind(ADVISORY_KEY)
                    .fetch_one(&mut *c)
                    .await?
                    .try_get(0)?;
                if got { Ok(StoreLock { _file: None, connection: Some(c) }) } else { Err(busy()) }
            }
        }
    }

    fn open_lock_file(&self) -> Result<File, StoreError> {
        let db = self
            .path
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("a SQLite store without its path".into()))?;
        let mut path = db.as_os_str().to_owned();
        path.push(".lock");
        Ok(OpenOptions::new().create(true).truncate(false).write(true).open(path)?)
    }

    /// `<store>.<name>.lock` beside a `SQLite` store, readable and writable.
    pub(crate) fn open_named_lock(&self, name: &str) -> Result<File, StoreError> {
        let db = self
            .path
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("a SQLite store without its path".into()))?;
        let mut path = db.as_os_str().to_owned();
        path.push(format!(".{name}.lock"));
        Ok(OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?)
    }
}
