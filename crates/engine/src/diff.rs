//! The difference between two canonical versions of an object, property by property.
//!
//! Versions are canonical (`rewind_model::canonicalize`): keys sorted, set-like arrays sorted,
//! be compared as wholes: an array that differs is one changed property, reported with its old
//! and new values (the elements added and removed follow from them). Objects are compared
//! member by member, so a change deep inside a policy is reported at its full path
//! (`conditions.users.excludeGroups`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One property that differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyChange {
    /// The dotted path (`conditions.users.includeGroups`).
    pub path: String,
    /// Its value before; `None` when it was not set.
    pub old: Option<Value>,
    /// Its value after; `None` when it is no longer set.
    pub new: Option<Value>,
    /// For a set-like array: the elements in `new` that are not in `old`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Value>,
    /// For a set-like array: the elements in `old` that are not in `new`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Value>,
}

impl PropertyChange {
    fn new(path: &str, old: Option<&Value>, new: Option<&Value>) -> PropertyChange {
        let name = path.rsplit('.').next().unwrap_or(path);
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        if let (Some(a), Some(b)) = (set(old), set(new))
            && !rewind_model::is_ordered_array(name)
        {
            added = missing_from(b, a);
            removed = missing_from(a, b);
        }
        PropertyChange {
            path: path.to_string(),
            old: old.cloned(),
            new: new.cloned(),
            added,
            removed,
        }
    }
}

/// The elements of `xs` that `ys` lacks, in `xs`'s order. Linear: a group of a hundred
/// thousand members is compared through a hash set of their JSON, not element by element.
fn missing_from(xs: &[Value], ys: &[Value]) -> Vec<Value> {
    if xs.len().saturating_mul(ys.len()) <= 1024 {
        return xs.iter().filter(|x| !ys.contains(x)).cloned().collect();
    }
    let have: std::collections::HashSet<String> = ys.iter().map(Value::to_string).collect();
    xs.iter().filter(|x| !have.contains(&x.to_string())).cloned().collect()
}

/// The elements of an array value; an absent value is the empty set.
fn set(v: Option<&Value>) -> Option<&[Value]> {
    match v {
        Some(Value::Array(items)) => Some(items.as_slice()),
        None => Some(&[]),
        Some(_) => None,
    }
}

/// Every property that differs between `old` and `new`, in path order.
pub fn property_changes(old: &Value, new: &Value) -> Vec<PropertyChange> {
    let mut out = Vec::new();
    walk("", Some(old), Some(new), &mut out);
    out
}

fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<PropertyChange>) {
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => members(path, a, b, out),
        (a, b) if a == b => {}
        (a, b) => out.push(PropertyChange::new(path, a, b)),
    }
}

fn members(
    path: &str,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    out: &mut Vec<PropertyChange>,
) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let child = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        walk(&child, a.get(k), b.get(k), out);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_changes_are_reported_at_their_full_path() {
        let old = json!({"displayName": "MFA", "state": "enabled",
            "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["bg"]}}});
        let new = json!({"displayName": "MFA", "state": "enabledForReportingButNotEnforced",
            "conditions": {"users": {"includeUsers": ["All"]}}, "sessionControls": {"signInFrequency": {"value": 1}}});
        let changes = property_changes(&old, &new);
        assert_eq!(changes[0].removed, vec![json!("bg")]);
        let got: Vec<(String, Option<Value>, Option<Value>)> =
            changes.into_iter().map(|c| (c.path, c.old, c.new)).collect();
        assert_eq!(
            got,
            vec![
                ("conditions.users.excludeGroups".into(), Some(json!(["bg"])), None),
                ("sessionControls".into(), None, Some(json!({"signInFrequency": {"value": 1}}))),
                (
                    "state".into(),
                    Some(json!("enabled")),
                    Some(json!("enabledForReportingButNotEnforced"))
                ),
            ]
        );
    }

    #[test]
    fn set_like_arrays_list_elements_added_and_removed_ordered_ones_do_not() {
        let old = json!({"excludeGroups": ["a", "b"], "businessPhones": ["1", "2"]});
        let new = json!({"excludeGroups": ["b", "c"], "businessPhones": ["2", "1"]});
        let changes = property_changes(&old, &new);
        assert_eq!(changes[1].path, "excludeGroups");
        assert_eq!(
            (&changes[1].added, &changes[1].removed),
            (&vec![json!("c")], &vec![json!("a")])
        );
        assert_eq!(changes[0].path, "businessPhones");
        assert!(changes[0].added.is_empty() && changes[0].removed.is_empty());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(Value::from),
            (0i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Sets `path` in `v` to `value` (or removes it), creating objects on the way.
    fn apply(v: &mut Value, path: &str, value: Option<&Value>) {
        if path.is_empty() {
            *v = value.cloned().unwrap_or(Value::Null);
            return;
        }
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        if !v.is_object() {
            *v = Value::Object(Map::new());
        }
        let Some(m) = v.as_object_mut() else { return };
        if rest.is_empty() {
            match value {
                Some(x) => {
                    m.insert(head.to_string(), x.clone());
                }
                None => {
                    m.remove(head);
                }
            }
        } else {
            apply(m.entry(head.to_string()).or_insert(Value::Null), rest, value);
        }
    }

    proptest! {
        #[test]
        fn no_difference_with_itself(v in json_value()) {
            prop_assert!(property_changes(&v, &v).is_empty());
        }

        #[test]
        fn applying_the_changes_turns_old_into_new(
            a in prop::collection::btree_map("[a-d]", json_value(), 0..4),
            b in prop::collection::btree_map("[a-d]", json_value(), 0..4),
        ) {
            let old = Value::Object(a.into_iter().collect());
            let new = Value::Object(b.into_iter().collect());
            let mut patched = old.clone();
            for c in property_changes(&old, &new) {
                prop_assert_eq!(c.old.as_ref(), lookup(&old, &c.path));
                apply(&mut patched, &c.path, c.new.as_ref());
            }
            prop_assert_eq!(strip_empty(patched), strip_empty(new));
        }

        #[test]
        fn added_and_removed_elements_turn_the_old_set_into_the_new(
            a in prop::collection::vec(0i64..6, 0..6),
            b in prop::collection::vec(0i64..6, 0..6),
        ) {
            let (old, new) = (json!({"s": a}), json!({"s": b}));
            for c in property_changes(&old, &new) {
                let mut got: Vec<Value> = c.old.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
                got.retain(|x| !c.removed.contains(x));
                got.extend(c.added.iter().cloned());
                let want: Vec<Value> = c.new.as_ref().and_then(Value::as_array).cloned().unwrap_or_default();
                prop_assert!(got.iter().all(|x| want.contains(x)) && want.iter().all(|x| got.contains(x)));
            }
        }
    }

    fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
        path.split('.').try_fold(v, |v, k| v.get(k))
    }

    /// Objects emptied by removals compare equal to absent ones.
    fn strip_empty(v: Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, strip_empty(v)))
                    .filter(|(_, v)| !matches!(v, Value::Object(m) if m.is_empty()))
                    .collect(),
            ),
            other => other,
        }
    }
}
