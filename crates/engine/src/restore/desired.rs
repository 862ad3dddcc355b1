//! The desired state of an object under the narrower scopes: one property put back, or one
//! actor's changes undone while everyone else's stay.

use std::collections::BTreeMap;

use rewind_model::Kind;
use serde_json::{Map, Value};

use crate::diff::property_changes;

/// `live` with the property at `path` (dotted) as it is in `target` (removed if `target` lacks
/// it). `None` when the object does not exist now: a property cannot be put on nothing.
pub fn with_property(live: Option<&Value>, target: Option<&Value>, path: &str) -> Option<Value> {
    let mut out = live?.clone();
    set_path(&mut out, path, target.and_then(|t| get_path(t, path)).cloned());
    Some(out)
}

/// The value at a dotted path.
pub fn get_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |v, seg| v.get(seg))
}

/// Sets (or with `None` removes) the value at a dotted path, creating objects on the way.
pub fn set_path(v: &mut Value, path: &str, value: Option<Value>) {
    let mut segments: Vec<&str> = path.split('.').collect();
    let Some(last) = segments.pop() else { return };
    let mut here = v;
    for seg in segments {
        if !here.is_object() {
            *here = Value::Object(Map::new());
        }
        let Some(map) = here.as_object_mut() else {
            return;
        };
        here = map.entry(seg.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    if !here.is_object() {
        *here = Value::Object(Map::new());
    }
    if let Some(map) = here.as_object_mut() {
        match value {
            Some(x) => {
                map.insert(last.to_string(), x);
            }
            None => {
                map.shift_remove(last);
            }
        }
    }
}

/// One version in the chain an actor undo walks: the object after a snapshot, and whether the
/// actor was among those who changed it in that snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// The object after the snapshot; `None` when deleted.
    pub object: Option<Value>,
    /// The actor changed it then.
    pub by_actor: bool,
}

/// What one actor's changes to one object were, as undo operations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Undo {
    /// Put this property back to its value before the actor (`None`: it was unset).
    Set(String),
    /// Put back an element the actor removed from a set-like array.
    Add(String, String),
    /// Take out an element the actor added.
    Remove(String, String),
}

/// The object with everything `actor` changed since `before` undone and every other change
/// kept: `chain` is the object's versions after `before`, oldest first, the last one being
/// now. A property (or, in a set-like array, an element) someone else changed after the actor
/// keeps their value. An object the actor created is deleted; one the actor deleted comes
/// back as it was.
pub fn undo_actor(before: Option<&Value>, chain: &[Version]) -> Option<Value> {
    let now = chain.last().map_or(before, |v| v.object.as_ref());
    let mut undo: BTreeMap<Undo, Option<Value>> = BTreeMap::new();
    let mut prev = before;
    for v in chain {
        match (prev, v.object.as_ref()) {
            (None, Some(_)) if v.by_actor && before.is_none() => return None,
            (Some(p), None) if v.by_actor => {
                return now.cloned().or_else(|| Some(p.clone()));
            }
            (Some(p), Some(n)) => record(&mut undo, p, n, v.by_actor),
            _ => {}
        }
        prev = v.object.as_ref();
    }
    let mut out = now?.clone();
    for (op, value) in undo {
        match op {
            Undo::Set(path) => set_path(&mut out, &path, value),
            Undo::Add(path, elem) => edit_set(&mut out, &path, &elem, true),
            Undo::Remove(path, elem) => edit_set(&mut out, &path, &elem, false),
        }
    }
    Some(out)
}

fn record(undo: &mut BTreeMap<Undo, Option<Value>>, old: &Value, new: &Value, by_actor: bool) {
    for c in property_changes(old, new) {
        let elements = !c.added.is_empty() || !c.removed.is_empty();
        if !elements {
            let op = Undo::Set(c.path.clone());
            if by_actor {
                undo.entry(op).or_insert(c.old);
            } else {
                undo.remove(&op);
            }
            continue;
        }
        for (list, put_back) in [(&c.removed, true), (&c.added, false)] {
            for e in list {
                let key = e.to_string();
                let (mine, undone) = if put_back {
                    (Undo::Add(c.path.clone(), key.clone()), Undo::Remove(c.path.clone(), key))
                } else {
                    (Undo::Remove(c.path.clone(), key.clone()), Undo::Add(c.path.clone(), key))
                };
                if by_actor {
                    // The actor reverting their own earlier edit cancels it.
                    if undo.remove(&undone).is_none() {
                        undo.insert(mine, None);
                    }
                } else {
                    undo.remove(&undone);
                }
            }
        }
    }
}

/// Adds or removes one element (given as JSON text) of the set-like array at `path`.
fn edit_set(v: &mut Value, path: &str, element: &str, add: bool) {
    let Ok(e) = serde_json::from_str::<Value>(element) else {
        return;
    };
    let mut items: Vec<Value> =
        get_path(v, path).and_then(Value::as_array).cloned().unwrap_or_default();
    items.retain(|x| *x != e);
    if add {
        items.push(e);
        items.sort_by_key(Value::to_string);
    }
    let value = (!items.is_empty()).then_some(Value::Array(items));
    set_path(v, path, value);
}

/// Writes `id` at a reference path as [`rewind_model::references`] reports them
/// (`conditions.users.excludeGroups[2]`, `includeTargets[0].id`, `principalId`). Returns whether
/// the path existed.
pub fn set_reference(v: &mut Value, path: &str, id: &str) -> bool {
    let mut here = v;
    for segment in path.split('.') {
        let (name, index) = match segment.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let Some(next) = here.get_mut(name) else {
            return false;
        };
        here = match index {
            Some(i) => match next.get_mut(i) {
                Some(x) => x,
                None => return false,
            },
            None => next,
        };
    }
    *here = Value::String(id.to_string());
    true
}

/// Rewrites the names an application or its service principal derives from the appId —
/// `identifierUris` (`api://{appId}`) and `servicePrincipalNames` — from `old` to `new`, for
/// an application created anew. Returns whether anything changed.
pub fn follow_app_id(kind: Kind, v: &mut Value, old: &str, new: &str) -> bool {
    let field = match kind {
        Kind::Application => "identifierUris",
        Kind::ServicePrincipal => "servicePrincipalNames",
        _ => return false,
    };
    let Some(names) = v.get_mut(field).and_then(Value::as_array_mut) else {
        return false;
    };
    let mut changed = false;
    for n in names.iter_mut() {
        if let Some(s) = n.as_str().filter(|s| s.contains(old)) {
            *n = Value::String(s.replace(old, new));
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v(object: Value, by_actor: bool) -> Version {
        Version { object: Some(object), by_actor }
    }

    #[test]
    fn an_actors_changes_are_undone_and_others_kept() {
        let before = json!({"displayName": "CA001", "state": "enabled",
            "conditions": {"users": {"excludeUsers": ["bg1", "bg2"]}}});
        let chain = [
            // The attacker removes bg1 and switches the policy off.
            v(
                json!({"displayName": "CA001", "state": "disabled",
                "conditions": {"users": {"excludeUsers": ["bg2"]}}}),
                true,
            ),
            // An administrator renames it and adds an exclusion.
            v(
                json!({"displayName": "CA001 renamed", "state": "disabled",
                "conditions": {"users": {"excludeUsers": ["bg2", "ops"]}}}),
                false,
            ),
        ];
        assert_eq!(
            undo_actor(Some(&before), &chain),
            Some(json!({"displayName": "CA001 renamed", "state": "enabled",
                "conditions": {"users": {"excludeUsers": ["bg1", "bg2", "ops"]}}}))
        );
    }

    #[test]
    fn a_later_change_by_someone_else_wins() {
        let before = json!({"department": "Sales"});
        let chain = [
            v(json!({"department": "Unassigned"}), true),
            v(json!({"department": "Finance"}), false),
        ];
        assert_eq!(undo_actor(Some(&before), &chain), Some(json!({"department": "Finance"})));
    }

    #[test]
    fn created_by_the_actor_goes_deleted_by_the_actor_comes_back() {
        let chain = [v(json!({"displayName": "Block all"}), true)];
        assert_eq!(undo_actor(None, &chain), None);
        let before = json!({"displayName": "G"});
        let gone = [Version { object: None, by_actor: true }];
        assert_eq!(undo_actor(Some(&before), &gone), Some(before.clone()));
    }

    #[test]
    fn one_property_is_put_back() {
        let live = json!({"state": "disabled", "displayName": "new"});
        let target = json!({"state": "enabled", "displayName": "old"});
        assert_eq!(
            with_property(Some(&live), Some(&target), "state"),
            Some(json!({"state": "enabled", "displayName": "new"}))
        );
        assert_eq!(with_property(None, Some(&target), "state"), None);
    }
}
