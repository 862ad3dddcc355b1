//! `rewind show --json`: one object's configuration at a snapshot.

use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use rewind_store::{ObjectKey, SnapshotId, SnapshotInfo};
use serde::Serialize;
use serde_json::Value;

/// An object at a snapshot: its version's hash and its canonical JSON.
#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    /// The object's kind.
    pub kind: Kind,
    /// Its key within the kind (the Graph id, or `parent/child`).
    pub id: String,
    /// The snapshot asked for.
    pub snapshot: SnapshotId,
    /// When it was taken.
    pub taken_at: Timestamp,
    /// The version's content hash.
    pub version: ContentHash,
    /// The canonical JSON, with its key property.
    pub object: Value,
}

impl ShowReport {
    /// `object` at `snapshot`: its `version` and canonical `value`.
    pub fn new(
        object: &ObjectKey,
        snapshot: &SnapshotInfo,
        version: ContentHash,
        value: Value,
    ) -> Self {
        ShowReport {
            kind: object.kind,
            id: object.key.clone(),
            snapshot: snapshot.id,
            taken_at: snapshot.taken_at,
            version,
            object: value,
        }
    }
}
