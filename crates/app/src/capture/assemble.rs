//! Turning what Graph returned into versions and changes: keys and names, relationships put
//! into their owner's version, delta items merged into the previous version, and the changes
//! between the previous snapshot and what was read. Pure; the capture drives it.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::{Canonical, ContentHash, Kind, canonicalize};
use rewind_store::{Change, Manifest, ObjectKey, VersionChange};
use serde_json::{Map, Value};

/// A version ready to store.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub key: String,
    pub canonical: Canonical,
    pub name: Option<String>,
}

/// What is known of one object after reading: its version hash and display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub hash: ContentHash,
    pub name: Option<String>,
}

/// What a capture learned about one kind.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// Objects read (all of them when `complete`).
    pub entries: BTreeMap<String, Entry>,
    /// Objects reported gone (delta rounds, refreshed parents).
    pub removed: BTreeSet<String>,
    /// `entries` holds every object of the kind: what is missing was deleted.
    pub complete: bool,
    /// Graph would not let the kind be read here: nothing was observed, the last known state
    /// stands.
    pub unavailable: Option<rewind_store::Unavailable>,
}

/// The key of an object as read, or `None` when Graph sent an object without one.
pub(crate) fn key_of(kind: Kind, raw: &Value) -> Option<String> {
    match raw.get(kind.key_property()).and_then(Value::as_str) {
        Some(k) if !k.is_empty() => Some(k.to_string()),
        _ if kind.is_singleton() => Some(kind.name().to_string()),
        _ => None,
    }
}

/// The name people know an object by.
pub(crate) fn name_of(raw: &Value) -> Option<String> {
    ["displayName", "userPrincipalName", "principalDisplayName"]
        .iter()
        .find_map(|k| raw.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}

/// Builds the version of an object. The methods policy comes back with its method
/// configurations inline; they are versioned as a kind of their own, so they go.
pub(crate) fn build(kind: Kind, key: String, raw: &Value) -> Built {
    let name = name_of(raw);
    let canonical = if kind == Kind::AuthenticationMethodsPolicy {
        let mut trimmed = raw.clone();
        if let Some(m) = trimmed.as_object_mut() {
            m.shift_remove("authenticationMethodConfigurations");
        }
        canonicalize(kind, &trimmed)
    } else {
        canonicalize(kind, raw)
    };
    Built { key, canonical, name }
}

/// Merges a delta item into the previous version: the item carries at least the changed
/// properties, `null` for a cleared one; annotations (`members@delta`) are handled apart.
pub(crate) fn merge(prev: &mut Map<String, Value>, item: &Map<String, Value>) {
    for (k, v) in item {
        if k.contains('@') {
            continue;
        }
        if v.is_null() {
            prev.shift_remove(k);
        } else {
            prev.insert(k.clone(), v.clone());
        }
    }
}

/// Applies `members@delta` entries to a member set: added ids join, `@removed` ones leave.
pub(crate) fn apply_member_delta(members: &mut BTreeSet<String>, entries: &[Value]) {
    for e in entries {
        let Some(id) = e.get("id").and_then(Value::as_str) else {
            continue;
        };
        if e.get("@removed").is_some() {
            members.remove(id);
        } else {
            members.insert(id.to_string());
        }
    }
}

/// The ids in an expanded relationship (`[{"@odata.type": …, "id": …}]`).
pub(crate) fn ids(related: &Value) -> Vec<String> {
    related
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The ids a previous version holds in a relationship property.
pub(crate) fn held_ids(prev: &Map<String, Value>, prop: &str) -> BTreeSet<String> {
    prev.get(prop)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The changes of one kind between the previous snapshot and what was read.
pub(crate) fn changes(kind: Kind, base: &Manifest, observed: &Observed) -> Vec<VersionChange> {
    let mut out = Vec::new();
    let change =
        |key: &str, hash: Option<ContentHash>, name: Option<String>, c: Change| VersionChange {
            object: ObjectKey::new(kind, key),
            hash,
            name,
            change: c,
            actors: Vec::new(),
            records: Vec::new(),
        };
    for (key, entry) in &observed.entries {
        let before = base.get(&ObjectKey::new(kind, key.as_str()));
        if let Some(c) = Change::between(before, Some(&entry.hash)) {
            out.push(change(key, Some(entry.hash), entry.name.clone(), c));
        }
    }
    let start = ObjectKey::new(kind, "");
    for (k, _) in base.range(start..).take_while(|(k, _)| k.kind == kind) {
        let gone = if observed.complete {
            !observed.entries.contains_key(&k.key)
        } else {
            observed.removed.contains(&k.key) && !observed.entries.contains_key(&k.key)
        };
        if gone {
            out.push(change(&k.key, None, None, Change::Deleted));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: &Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn merging_sets_clears_and_ignores_annotations() {
        let mut prev = obj(&json!({"displayName": "A", "jobTitle": "Dev", "city": "Oslo"}));
        merge(
            &mut prev,
            &obj(&json!({"id": "u", "jobTitle": null, "city": "Bergen", "manager@delta": []})),
        );
        assert_eq!(Value::Object(prev), json!({"displayName": "A", "city": "Bergen", "id": "u"}));
    }

    #[test]
    fn member_deltas_add_and_remove() {
        let mut m: BTreeSet<String> = ["a".to_string(), "b".to_string()].into();
        apply_member_delta(
            &mut m,
            &[json!({"id": "c"}), json!({"id": "a", "@removed": {"reason": "deleted"}})],
        );
        assert_eq!(m.into_iter().collect::<Vec<_>>(), ["b", "c"]);
    }

    #[test]
    fn changes_compare_with_the_base_by_hash() {
        let h = |s: &str| ContentHash::of(s.as_bytes());
        let mut base = Manifest::new();
        base.insert(ObjectKey::new(Kind::User, "kept"), h("1"));
        base.insert(ObjectKey::new(Kind::User, "edited"), h("2"));
        base.insert(ObjectKey::new(Kind::User, "gone"), h("3"));
        base.insert(ObjectKey::new(Kind::Group, "other kind"), h("4"));
        let entry = |s: &str| Entry { hash: h(s), name: None };
        let mut seen = Observed { complete: true, ..Observed::default() };
        seen.entries.insert("kept".into(), entry("1"));
        seen.entries.insert("edited".into(), entry("2b"));
        seen.entries.insert("new".into(), entry("5"));
        let summary = |cs: Vec<VersionChange>| {
            cs.into_iter().map(|c| (c.object.key, c.change)).collect::<Vec<_>>()
        };
        assert_eq!(
            summary(changes(Kind::User, &base, &seen)),
            [
                ("edited".to_string(), Change::Updated),
                ("new".to_string(), Change::Created),
                ("gone".to_string(), Change::Deleted)
            ]
        );
        // A delta round only removes what it reports removed.
        seen.complete = false;
        seen.removed.insert("kept".into());
        seen.entries.remove("kept");
        let got = summary(changes(Kind::User, &base, &seen));
        assert!(got.contains(&("kept".to_string(), Change::Deleted)));
        assert!(!got.iter().any(|(k, _)| k == "gone"));
    }

    #[test]
    fn keys_names_and_the_methods_policy() {
        assert_eq!(key_of(Kind::User, &json!({"id": "u1"})), Some("u1".into()));
        assert_eq!(key_of(Kind::User, &json!({"displayName": "x"})), None);
        assert_eq!(
            key_of(Kind::CrossTenantAccessPolicyConfigurationDefault, &json!({})),
            Some("crossTenantAccessPolicyConfigurationDefault".into())
        );
        let b = build(
            Kind::AuthenticationMethodsPolicy,
            "p".into(),
            &json!({"id": "p", "displayName": "Methods", "authenticationMethodConfigurations": [{"id": "Fido2"}]}),
        );
        assert_eq!(b.canonical.value(), &json!({"displayName": "Methods"}));
        assert_eq!(b.name.as_deref(), Some("Methods"));
    }
}
