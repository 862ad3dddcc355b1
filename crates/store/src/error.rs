//! What can go wrong with a store, each message saying what to do about it.

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be opened or answered with an error.
    #[error("store database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database cannot be reached or opened at all (nothing listening, no such file or
    /// folder, not a database); the reason is the first attempt's, in words.
    #[error("{0}")]
    Unavailable(String),
    /// There is no store where one was expected (reading commands never create one).
    #[error("{0}")]
    NotAStore(String),
    /// The store was written by a newer Rewind.
    #[error(
        "this store has schema version {found}, newer than this Rewind understands ({known}); upgrade Rewind"
    )]
    TooNew {
        /// The store's version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A key problem: missing, wrong, malformed, or given for an unencrypted store.
    #[error("store key: {0}")]
    Key(String),
    /// A file beside the database (a lock, a temporary store) cannot be used.
    #[error("store file: {0}")]
    Io(#[from] std::io::Error),
    /// Stored data does not match its address or cannot be read back.
    #[error("store data is damaged: {0}")]
    Corrupt(String),
    /// A snapshot a command would read does not match its hash chain: something changed or
    /// removed what was stored.
    #[error(
        "snapshot {snapshot} of tenant '{tenant}' is damaged ({what}): nothing was done; run `rewind verify` to see everything wrong, then `rewind capture --full` for a snapshot to rely on"
    )]
    Damaged {
        /// The tenant's name.
        tenant: String,
        /// The snapshot.
        snapshot: crate::SnapshotId,
        /// What does not match.
        what: String,
    },
    /// No such tenant, snapshot or object.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored (a tenant name taken, a concurrent capture).
    #[error("{0}")]
    Conflict(String),
    /// This backend cannot do what was asked (a fleet needs `PostgreSQL`).
    #[error("{0}")]
    Unsupported(String),
}
