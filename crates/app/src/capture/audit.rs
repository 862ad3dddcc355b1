//! Directory audit records: who did what to which objects, read with each capture and linked
//! to the changes they explain.

use std::collections::{BTreeMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use rewind_model::{Actor, ActorKind};
use rewind_store::{Amendment, AuditEntry, ObjectKey, RowAttribution, SnapshotId, VersionChange};
use serde_json::Value;

/// Reads one `directoryAudit` record; `None` when it lacks an id or a parsable time.
pub(crate) fn entry(raw: Value) -> Option<AuditEntry> {
    let record_id = raw.get("id")?.as_str()?.to_string();
    let activity_time: Timestamp = raw.get("activityDateTime")?.as_str()?.parse().ok()?;
    let activity =
        raw.get("activityDisplayName").and_then(Value::as_str).unwrap_or_default().to_string();
    let targets = raw
        .get("targetResources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    Some(AuditEntry {
        record_id,
        activity_time,
        activity,
        actor: Actor::from_audit(&raw),
        targets,
        raw,
    })
}

/// How far an audit record's time may lie outside the span in which a capture could have seen
/// its change: Graph's clock and this machine's differ, and a write takes seconds to become
/// visible to reads.
pub(crate) const CLOCK_SLACK: SignedDuration = SignedDuration::from_mins(2);

/// The span of activity times a snapshot's changes come from: after its parent's capture began
/// and up to its own capture's end, loosened by [`CLOCK_SLACK`] on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// When the parent's capture began (exclusive).
    pub(crate) after: Timestamp,
    /// When this capture ended (inclusive).
    pub(crate) until: Timestamp,
}

impl Window {
    /// The window of a snapshot whose parent's capture began at `parent` (none: a first
    /// capture, whose objects were first seen, not changed) and whose own capture ended at
    /// `end`.
    pub(crate) fn of(parent: Option<Timestamp>, end: Timestamp) -> Option<Window> {
        Some(Window { after: parent?, until: end })
    }

    /// How well a record at `t` fits: 0 inside the window, 1 within the slack of a change no
    /// record explains yet, 2 within the slack of one already explained; `None` outside.
    fn fit(self, t: Timestamp, explained: bool) -> Option<u8> {
        if self.after < t && t <= self.until {
            return Some(0);
        }
        let after = self.after.saturating_sub(CLOCK_SLACK).unwrap_or(self.after);
        let until = self.until.saturating_add(CLOCK_SLACK).unwrap_or(self.until);
        (after < t && t <= until).then_some(if explained { 2 } else { 1 })
    }
}

/// What attribution knows besides this capture's changes and records.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// Recent version rows, oldest first, with the window of their snapshot: a record that
    /// arrives after its change's snapshot explains a change there.
    pub(crate) rows: Vec<(RowAttribution, Window)>,
    /// The application ids Rewind's restores wrote with.
    pub(crate) writers: HashSet<String>,
}

/// Where a record's change is: an earlier snapshot's row, or one of this capture's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Slot {
    Earlier(usize),
    Now(usize),
}

/// Links records to the changes they explain. For each object a record targets (a contained
/// object also through its parent's id), the record explains one change: the one whose
/// snapshot's window best holds the record's time (inside it; else within the clock slack,
/// a change nothing explains yet first), the earliest on a tie, and never one that the same
/// record already explains. A change no record explains keeps no actor (unknown), never a
/// bystander's. Records that explain changes of earlier snapshots (Entra delivers audit
/// records minutes late) come back as amendments. Apps Rewind restored with are Rewind.
pub(crate) fn attribute(
    changes: &mut [VersionChange],
    records: &[AuditEntry],
    known: &Known,
    window: Option<Window>,
) -> Vec<Amendment> {
    let mut used: HashSet<(ObjectKey, String)> = known
        .rows
        .iter()
        .flat_map(|(r, _)| r.records.iter().map(|id| (r.object.clone(), id.clone())))
        .collect();
    let mut explained: HashSet<Slot> = known
        .rows
        .iter()
        .enumerate()
        .filter(|(_, (r, _))| !r.records.is_empty())
        .map(|(i, _)| Slot::Earlier(i))
        .collect();
    let mut ordered: Vec<&AuditEntry> = records.iter().filter(|r| r.actor.is_some()).collect();
    ordered.sort_by(|a, b| (a.activity_time, &a.record_id).cmp(&(b.activity_time, &b.record_id)));
    ordered.dedup_by(|a, b| a.record_id == b.record_id);
    let mut late: BTreeMap<(ObjectKey, SnapshotId), Amendment> = BTreeMap::new();
    for record in ordered {
        let names =
            |key: &ObjectKey| key.key.split('/').any(|id| record.targets.iter().any(|t| t == id));
        let mut best: BTreeMap<ObjectKey, (u8, Slot)> = BTreeMap::new();
        let mut consider = |object: &ObjectKey, slot: Slot, w: Window| {
            let fresh = !used.contains(&(object.clone(), record.record_id.clone()));
            if let Some(fit) =
                w.fit(record.activity_time, explained.contains(&slot)).filter(|_| fresh)
            {
                let entry = best.entry(object.clone()).or_insert((fit, slot));
                if (fit, slot) < *entry {
                    *entry = (fit, slot);
                }
            }
        };
        for (i, (row, w)) in known.rows.iter().enumerate() {
            if names(&row.object) {
                consider(&row.object, Slot::Earlier(i), *w);
            }
        }
        if let Some(w) = window {
            for (i, c) in changes.iter().enumerate() {
                if names(&c.object) {
                    consider(&c.object, Slot::Now(i), w);
                }
            }
        }
        for (object, (_, slot)) in best {
            used.insert((object, record.record_id.clone()));
            explained.insert(slot);
            match slot {
                Slot::Now(i) => {
                    let c = &mut changes[i];
                    add(&mut c.actors, &mut c.records, record, &known.writers);
                }
                Slot::Earlier(i) => {
                    let row = &known.rows[i].0;
                    let a = late.entry((row.object.clone(), row.snapshot)).or_insert_with(|| {
                        Amendment {
                            object: row.object.clone(),
                            version: row.snapshot,
                            actors: Vec::new(),
                            records: Vec::new(),
                        }
                    });
                    add(&mut a.actors, &mut a.records, record, &known.writers);
                }
            }
        }
    }
    late.into_values().collect()
}

/// Adds a record's initiator and id to a change's attribution.
fn add(
    actors: &mut Vec<Actor>,
    records: &mut Vec<String>,
    record: &AuditEntry,
    writers: &HashSet<String>,
) {
    let Some(mut actor) = record.actor.clone() else {
        return;
    };
    if actor.app_id.as_ref().is_some_and(|app| writers.contains(&app.to_ascii_lowercase())) {
        actor.kind = ActorKind::Rewind;
    }
    if !actors.contains(&actor) {
        actors.push(actor);
    }
    if !records.contains(&record.record_id) {
        records.push(record.record_id.clone());
    }
}

#[cfg(test)]
mod tests {
    use rewind_model::Kind;
    use rewind_store::{Change, ObjectKey};
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> Timestamp {
        format!("2026-11-28T{s}Z").parse().unwrap()
    }

    fn record(id: &str, time: &str, app: &str, target: &str) -> AuditEntry {
        entry(json!({"id": id, "activityDateTime": format!("2026-11-28T{time}Z"),
            "activityDisplayName": "Update", "initiatedBy": {"user": null,
            "app": {"appId": format!("app-{app}"), "displayName": app, "servicePrincipalId": format!("sp-{app}")}},
            "targetResources": [{"id": target}]}))
        .unwrap()
    }

    fn change(kind: Kind, key: &str) -> VersionChange {
        VersionChange {
            object: ObjectKey::new(kind, key),
            hash: None,
            name: None,
            change: Change::Updated,
            actors: vec![],
            records: vec![],
        }
    }

    fn labels(c: &VersionChange) -> Vec<String> {
        c.actors.iter().map(Actor::label).collect()
    }

    #[test]
    fn records_name_users_and_apps_as_identities() {
        let by_user = entry(json!({"id": "r1", "activityDateTime": "2026-11-28T01:00:00Z",
            "initiatedBy": {"app": null, "user": {"id": "u9", "userPrincipalName": "admin@contoso.com"}},
            "targetResources": [{"id": "u1"}]}))
        .unwrap();
        let actor = by_user.actor.unwrap();
        assert_eq!((actor.kind, actor.label().as_str()), (ActorKind::User, "admin@contoso.com"));
        assert_eq!(actor.id.as_deref(), Some("u9"));
        assert!(entry(json!({"id": "r3"})).is_none());
    }

    /// The bug this replaces: the overlap re-read the attacker's records, and Rewind's fix was
    /// credited to both. Only records inside the window, not used before, explain a change.
    #[test]
    fn only_records_of_the_window_explain_a_change() {
        let attacker = record("r1", "01:00:00", "Contoso Automation", "p1");
        let fix = record("r2", "01:20:00", "Rewind Writer", "p1");
        let mut changes =
            vec![change(Kind::ConditionalAccessPolicy, "p1"), change(Kind::Group, "g1")];
        let known =
            Known { writers: HashSet::from(["app-rewind writer".to_string()]), ..Known::default() };
        let window = Window::of(Some(at("01:10:00")), at("01:21:00"));
        let late = attribute(&mut changes, &[attacker, fix], &known, window);
        assert!(late.is_empty());
        assert_eq!(labels(&changes[0]), ["Rewind Writer"]);
        assert_eq!(changes[0].actors[0].kind, ActorKind::Rewind);
        assert_eq!(changes[0].records, ["r2"]);
        assert!(changes[1].actors.is_empty(), "no record names g1: unknown");
    }

    #[test]
    fn a_first_capture_credits_nobody() {
        let mut changes = vec![change(Kind::ConditionalAccessPolicy, "p1")];
        let r = record("r1", "01:00:00", "Contoso Automation", "p1");
        attribute(&mut changes, &[r], &Known::default(), Window::of(None, at("01:30:00")));
        assert!(changes[0].actors.is_empty());
    }

    #[test]
    fn a_record_used_once_is_not_used_again() {
        let earlier = RowAttribution {
            object: ObjectKey::new(Kind::ConditionalAccessPolicy, "p1"),
            snapshot: SnapshotId(2),
            records: vec!["r1".into()],
        };
        let known = Known {
            rows: vec![(earlier, Window { after: at("00:55:00"), until: at("01:01:00") })],
            writers: HashSet::new(),
        };
        // Read again in the overlap, with a capture right after: inside the slack, but used.
        let mut changes = vec![change(Kind::ConditionalAccessPolicy, "p1")];
        let r1 = record("r1", "01:00:30", "Contoso Automation", "p1");
        let late = attribute(
            &mut changes,
            &[r1],
            &known,
            Window::of(Some(at("01:01:00")), at("01:02:00")),
        );
        assert!(late.is_empty() && changes[0].actors.is_empty());
    }

    /// Entra delivers records minutes late and in no particular order: a record that reaches a
    /// later capture amends the change of the snapshot whose window holds its time.
    #[test]
    fn late_records_amend_the_change_they_explain() {
        let earlier = RowAttribution {
            object: ObjectKey::new(Kind::Group, "g1"),
            snapshot: SnapshotId(7),
            records: vec![],
        };
        let known = Known {
            rows: vec![(earlier, Window { after: at("01:00:00"), until: at("01:05:10") })],
            writers: HashSet::new(),
        };
        let mut changes = vec![change(Kind::Group, "g1")];
        let records =
            [record("r9", "01:07:00", "HR Sync", "g1"), record("r8", "01:04:00", "Script", "g1")];
        let late = attribute(
            &mut changes,
            &records,
            &known,
            Window::of(Some(at("01:05:00")), at("01:10:00")),
        );
        assert_eq!(late.len(), 1);
        assert_eq!(
            (late[0].version, late[0].records.as_slice()),
            (SnapshotId(7), &["r8".to_string()][..])
        );
        assert_eq!(late[0].actors[0].label(), "Script");
        assert_eq!(labels(&changes[0]), ["HR Sync"]);
    }

    #[test]
    fn a_contained_object_is_named_through_its_parent() {
        let mut changes = vec![change(Kind::FederatedIdentityCredential, "app1/f1")];
        let r = record("r2", "01:00:01", "HR Sync", "app1");
        attribute(
            &mut changes,
            &[r],
            &Known::default(),
            Window::of(Some(at("00:59:00")), at("01:01:00")),
        );
        assert_eq!(labels(&changes[0]), ["HR Sync"]);
    }
}
