//! Blame: for each property of an object's current version, the version that set its value —
//! what an administrator asks first ("who turned this off, and when?").

use serde_json::Value;

use crate::diff::property_changes;

/// One property of the last version and the version that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct Blamed {
    /// The dotted path; objects are walked, arrays and scalars are leaves.
    pub path: String,
    /// Its current value.
    pub value: Value,
    /// The index (into the versions given) of the version that set it.
    pub set_by: usize,
}

/// Blames every leaf (in path order) of the last present version of `versions` (oldest first; `None` where the
/// object was deleted). A property set when the object was first seen (or re-created) is
/// blamed on that version. Empty when the object is absent in every version.
pub fn blame(versions: &[Option<&Value>]) -> Vec<Blamed> {
    let Some(last) = versions.iter().rposition(Option::is_some) else {
        return Vec::new();
    };
    let empty = Value::Object(serde_json::Map::new());
    // The last version that changed each path, up to `last`.
    let mut set: Vec<(String, usize)> = Vec::new();
    for i in 0..=last {
        let before = if i == 0 { None } else { versions[i - 1] };
        let (a, b) = (before.unwrap_or(&empty), versions[i].unwrap_or(&empty));
        for c in property_changes(a, b) {
            set.retain(|(p, _)| p != &c.path);
            set.push((c.path, i));
        }
    }
    let mut out = Vec::new();
    if let Some(value) = versions[last] {
        leaves("", value, &mut |path, value| {
            let set_by =
                set.iter().filter(|(p, _)| covers(p, path)).map(|(_, i)| *i).max().unwrap_or(0);
            out.push(Blamed { path: path.to_string(), value: value.clone(), set_by });
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Whether a change at `changed` set the value at `leaf` (the same path or an ancestor).
fn covers(changed: &str, leaf: &str) -> bool {
    changed.is_empty()
        || leaf.strip_prefix(changed).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

fn leaves(path: &str, v: &Value, f: &mut impl FnMut(&str, &Value)) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                leaves(&p, child, f);
            }
        }
        other => f(path, other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn blamed(versions: &[Option<Value>]) -> Vec<(String, usize)> {
        let refs: Vec<Option<&Value>> = versions.iter().map(Option::as_ref).collect();
        blame(&refs).into_iter().map(|b| (b.path, b.set_by)).collect()
    }

    #[test]
    fn each_property_is_blamed_on_the_version_that_last_set_it() {
        let v0 = json!({"displayName": "MFA", "state": "enabled", "conditions": {"users": {"includeUsers": ["All"]}}});
        let v1 = json!({"displayName": "MFA", "state": "disabled", "conditions": {"users": {"includeUsers": ["All"]}}});
        let v2 = json!({"displayName": "MFA", "state": "disabled", "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["bg"]}},
                        "sessionControls": {"signInFrequency": {"value": 1, "type": "hours"}}});
        assert_eq!(
            blamed(&[Some(v0), Some(v1), Some(v2)]),
            vec![
                ("conditions.users.excludeGroups".into(), 2),
                ("conditions.users.includeUsers".into(), 0),
                ("displayName".into(), 0),
                ("sessionControls.signInFrequency.type".into(), 2),
                ("sessionControls.signInFrequency.value".into(), 2),
                ("state".into(), 1),
            ]
        );
    }

    #[test]
    fn a_recreated_object_is_blamed_on_its_recreation_and_a_deleted_one_on_its_last_version() {
        let v = json!({"displayName": "Finance"});
        assert_eq!(
            blamed(&[Some(v.clone()), None, Some(v.clone())]),
            vec![("displayName".into(), 2)]
        );
        assert_eq!(blamed(&[Some(v.clone()), None]), vec![("displayName".into(), 0)]);
        assert!(blamed(&[None]).is_empty());
    }
}
