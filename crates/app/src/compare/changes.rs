//! `rewind changes --json`: the objects that differ between two points and the property paths
//! that changed.

use rewind_model::{Actor, Kind};
use rewind_store::Change;
use serde::Serialize;

use super::{Compared, Difference, PointStamp};
use crate::timeline::actor_labels;

/// What changed between two points, object by object.
#[derive(Debug, Clone, Serialize)]
pub struct ChangesReport {
    /// The earlier point.
    pub from: PointStamp,
    /// The later point.
    pub to: PointStamp,
    /// The objects that differ, in key order.
    pub changes: Vec<ObjectChange>,
}

/// One object's change (DESIGN §8.1).
#[derive(Debug, Clone, Serialize)]
pub struct ObjectChange {
    /// The object's kind.
    pub kind: Kind,
    /// Its key.
    pub id: String,
    /// Its display name, now or (deleted) then.
    pub display_name: Option<String>,
    /// Created, updated or deleted.
    pub change: Change,
    /// The property paths that changed (none for a created or deleted object).
    pub paths: Vec<String>,
    /// Who changed it, as names.
    pub actors: Vec<String>,
    /// Who changed it, in full.
    pub actor_identities: Vec<Actor>,
}

impl ChangesReport {
    /// The report of `compared`.
    pub fn new(compared: &Compared) -> Self {
        ChangesReport {
            from: compared.from.stamp(),
            to: compared.to.stamp(),
            changes: compared.objects.iter().map(ObjectChange::from).collect(),
        }
    }
}

impl From<&Difference> for ObjectChange {
    fn from(d: &Difference) -> Self {
        ObjectChange {
            kind: d.object.kind,
            id: d.object.key.clone(),
            display_name: d.display_name(),
            change: d.change,
            paths: match (&d.old, &d.new) {
                (Some(o), Some(n)) => {
                    rewind_engine::property_changes(o, n).into_iter().map(|c| c.path).collect()
                }
                _ => Vec::new(),
            },
            actors: actor_labels(&d.actors),
            actor_identities: d.actors.clone(),
        }
    }
}
