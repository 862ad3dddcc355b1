//! Rewind's timeline store (docs/design/store-format.md): versions as zstd-compressed,
//! optionally encrypted blobs addressed by the BLAKE3 hash of their canonical bytes; a
//! per-object timeline of changes; snapshots that commit to a manifest hash and to their
//! parent in a hash chain; delta cursors and audit records committed in the same transaction as
//! the snapshot they belong to, so that a snapshot is complete or invisible.
//!
//! One [`Store`] serves both dialects: `SQLite` (one file, WAL; the default) and `PostgreSQL`
//! (fleets). Queries are written once in the SQL both understand, with `$n` placeholders;
//! the schema is versioned per dialect under `migrations/`.

mod attribution;
mod bulk;
mod chain;
mod columns;
mod error;
mod forget;
mod ids;
mod integrity;
mod journal;
mod journal_types;
mod ledger;
mod lock;
mod manifest;
mod points;
mod restore_lock;
mod retention;
mod schema;
mod seal;
mod store;
mod tenant;
mod timeline;
mod verify;
mod watch;

pub use attribution::RowAttribution;
pub use error::StoreError;
pub use forget::ForgetReport;
pub use ids::{AlertId, RestoreId, SnapshotId};
pub use journal::{LineageRecord, RestoreRecord, StepRecord};
pub use journal_types::{RestoreStatus, StepState};
pub use lock::StoreLock;
pub use manifest::{Change, Manifest, ObjectKey, apply, chain_hash, manifest_hash};
pub use retention::{Decision, KeepPolicy, select};
pub use schema::Dialect;
pub use seal::StoreKey;
pub use store::Store;
pub use tenant::{NewTenant, TenantInfo};
pub use timeline::{
    Amendment, AuditEntry, KindCounts, NewSnapshot, SnapshotInfo, Unavailable, VersionChange,
    VersionRecord,
};
pub use verify::{ChainHead, Problem, VerifyReport};
pub use watch::{AlertRecord, NewAlert};
