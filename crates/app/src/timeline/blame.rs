//! `rewind blame --json`: for each property, the version that set its value.

use jiff::Timestamp;
use rewind_engine::Blamed;
use rewind_model::{Actor, Kind};
use rewind_store::{Change, ObjectKey, SnapshotId, VersionRecord};
use serde::Serialize;
use serde_json::Value;

use super::actor_labels;

/// An object's properties (of its current or, once deleted, last version), each with the change
/// that set it.
#[derive(Debug, Clone, Serialize)]
pub struct BlameReport {
    /// The object's kind.
    pub kind: Kind,
    /// Its key within the kind (the Graph id, or `parent/child`).
    pub id: String,
    /// Its display name, if it has one.
    pub display_name: Option<String>,
    /// Whether the object is deleted (its last version is blamed).
    pub deleted: bool,
    /// Every leaf property, in path order.
    pub properties: Vec<BlamedProperty>,
}

/// One property: its path and value, and the snapshot, change and actors that set it.
#[derive(Debug, Clone, Serialize)]
pub struct BlamedProperty {
    /// The dotted property path.
    pub path: String,
    /// Its current value.
    pub value: Value,
    /// The snapshot that set it.
    pub snapshot: SnapshotId,
    /// When that snapshot was taken.
    pub taken_at: Timestamp,
    /// What that snapshot did to the object.
    pub change: Change,
    /// Who made that change, as names.
    pub actors: Vec<String>,
    /// Who made that change, in full.
    pub actor_identities: Vec<Actor>,
}

impl BlameReport {
    /// `blamed` indexes into `history` (oldest first), as [`rewind_engine::blame`] returns it.
    pub fn new(
        object: &ObjectKey,
        name: Option<String>,
        history: &[VersionRecord],
        blamed: Vec<Blamed>,
    ) -> Self {
        BlameReport {
            kind: object.kind,
            id: object.key.clone(),
            display_name: name,
            deleted: history.last().is_some_and(|v| v.hash.is_none()),
            properties: blamed
                .into_iter()
                .map(|b| {
                    let set_by = &history[b.set_by];
                    BlamedProperty::new(b, set_by)
                })
                .collect(),
        }
    }
}

impl BlamedProperty {
    fn new(b: Blamed, v: &VersionRecord) -> Self {
        BlamedProperty {
            path: b.path,
            value: b.value,
            snapshot: v.snapshot,
            taken_at: v.taken_at,
            change: v.change,
            actors: actor_labels(&v.actors),
            actor_identities: v.actors.clone(),
        }
    }
}
