//! `rewind history --json`: every version of one object.

use jiff::Timestamp;
use rewind_model::{Actor, ContentHash, Kind};
use rewind_store::{Change, ObjectKey, SnapshotId, VersionRecord};
use serde::Serialize;

use super::actor_labels;

/// An object and its versions, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    /// The object's kind.
    pub kind: Kind,
    /// Its key within the kind (the Graph id, or `parent/child`).
    pub id: String,
    /// Its versions, oldest first.
    pub versions: Vec<VersionEntry>,
}

/// One version: its snapshot, content hash (none once deleted), name, change and who made it —
/// `actors` as names (the scripting contract) and `actor_identities` in full.
#[derive(Debug, Clone, Serialize)]
pub struct VersionEntry {
    /// The snapshot that recorded it.
    pub snapshot: SnapshotId,
    /// When that snapshot was taken.
    pub taken_at: Timestamp,
    /// The version's content hash; none once deleted.
    pub hash: Option<ContentHash>,
    /// Its display name then.
    pub name: Option<String>,
    /// What happened to the object.
    pub change: Change,
    /// Who made that change, as names.
    pub actors: Vec<String>,
    /// The audit records that explain the change.
    pub records: Vec<String>,
    /// Who made that change, in full.
    pub actor_identities: Vec<Actor>,
}

impl HistoryReport {
    /// The report of `object`'s `versions` (oldest first).
    pub fn new(object: &ObjectKey, versions: &[VersionRecord]) -> Self {
        HistoryReport {
            kind: object.kind,
            id: object.key.clone(),
            versions: versions.iter().map(VersionEntry::from).collect(),
        }
    }
}

impl From<&VersionRecord> for VersionEntry {
    fn from(v: &VersionRecord) -> Self {
        VersionEntry {
            snapshot: v.snapshot,
            taken_at: v.taken_at,
            hash: v.hash,
            name: v.name.clone(),
            change: v.change,
            actors: actor_labels(&v.actors),
            records: v.records.clone(),
            actor_identities: v.actors.clone(),
        }
    }
}
