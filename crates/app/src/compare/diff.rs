//! `rewind diff --json`: the properties that differ with their old and new values, and the
//! objects they reference named as they were at each point.

use std::collections::BTreeMap;

use rewind_engine::PropertyChange;
use rewind_model::{Actor, Kind, references};
use rewind_store::{Change, Unavailable};
use serde::Serialize;
use serde_json::Value;

use super::{Compared, Difference, PointStamp, ReferenceNames};
use crate::names::Named;
use crate::timeline::actor_labels;

/// The differing properties of every object that differs between two points.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// The earlier point.
    pub from: PointStamp,
    /// The later point.
    pub to: PointStamp,
    /// The objects that differ, in key order.
    pub objects: Vec<ObjectDiff>,
    /// The kinds a side could not read: it holds their last state known before, so a
    /// difference in them may not show.
    pub not_read: Vec<NotRead>,
}

/// One object's differing properties.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectDiff {
    /// The object's kind.
    pub kind: Kind,
    /// Its key.
    pub id: String,
    /// Its display name, now or (deleted) then.
    pub display_name: Option<String>,
    /// Created, updated or deleted.
    pub change: Change,
    /// Who changed it, as names.
    pub actors: Vec<String>,
    /// Who changed it, in full.
    pub actor_identities: Vec<Actor>,
    /// Every property that differs, in path order.
    pub properties: Vec<PropertyDiff>,
}

/// One property's change, with the ids under it named.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyDiff {
    /// The change.
    #[serde(flatten)]
    pub change: PropertyChange,
    /// The referenced ids under the property, named: old values' at the earlier point, new
    /// values' at the later.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<String, Named>,
}

/// Which point of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The earlier point.
    From,
    /// The later point.
    To,
}

/// A kind one side could not read (a tenant without the licence for PIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NotRead {
    /// Which side.
    pub side: Side,
    /// The kind.
    pub kind: Kind,
    /// Why.
    pub reason: Unavailable,
}

impl DiffReport {
    /// The report of `compared`, with the references named by `names`.
    pub fn new(compared: &Compared, names: &ReferenceNames) -> Self {
        DiffReport {
            from: compared.from.stamp(),
            to: compared.to.stamp(),
            objects: compared.objects.iter().map(|d| ObjectDiff::new(d, names)).collect(),
            not_read: not_read(compared),
        }
    }
}

impl ObjectDiff {
    /// Every property that differs (from nothing for a created object, to nothing for a
    /// deleted one), with the referenced ids under it named.
    fn new(d: &Difference, names: &ReferenceNames) -> Self {
        let empty = Value::Object(serde_json::Map::new());
        let old = d.old.as_ref().unwrap_or(&empty);
        let new = d.new.as_ref().unwrap_or(&empty);
        let refs = (references(d.object.kind, old), references(d.object.kind, new));
        let properties = rewind_engine::property_changes(old, new)
            .into_iter()
            .map(|change| PropertyDiff { names: named_under(&change.path, &refs, names), change })
            .collect();
        ObjectDiff {
            kind: d.object.kind,
            id: d.object.key.clone(),
            display_name: d.display_name(),
            change: d.change,
            actors: actor_labels(&d.actors),
            actor_identities: d.actors.clone(),
            properties,
        }
    }
}

/// The references (old, new) under `path`, named at their side's point.
fn named_under(
    path: &str,
    (old, new): &(Vec<rewind_model::Reference>, Vec<rewind_model::Reference>),
    names: &ReferenceNames,
) -> BTreeMap<String, Named> {
    let mut named = BTreeMap::new();
    for (refs, side) in [(old, &names.old), (new, &names.new)] {
        for r in refs.iter().filter(|r| under(&r.path, path)) {
            if let Some(n) = side.get(&(r.target, r.id.clone())) {
                named.insert(r.id.clone(), n.clone());
            }
        }
    }
    named
}

/// Whether reference path `at` (`a.b[2].id`) lies at or under property path `property`.
fn under(at: &str, property: &str) -> bool {
    at.strip_prefix(property).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// The kinds each side of `c` could not read.
fn not_read(c: &Compared) -> Vec<NotRead> {
    [(Side::From, &c.from), (Side::To, &c.to)]
        .into_iter()
        .flat_map(|(side, point)| {
            point.snapshot.counts.iter().filter_map(move |(kind, n)| {
                Some(NotRead { side, kind: *kind, reason: n.unavailable? })
            })
        })
        .collect()
}
