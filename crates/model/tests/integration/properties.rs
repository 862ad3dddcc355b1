//! Invariants of canonicalisation, as properties over arbitrary JSON.

use proptest::prelude::*;
use rewind_model::{Kind, canonicalize};
use serde_json::{Map, Value};

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z0-9 ,]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn reversed_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m.iter().rev() {
                out.insert(k.clone(), reversed_keys(x));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().rev().map(reversed_keys).collect()),
        other => other.clone(),
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

proptest! {
    /// Canonicalising a canonical value changes nothing.
    #[test]
    fn canonicalisation_is_idempotent(k in kind(), v in json()) {
        let once = canonicalize(k, &v);
        let twice = canonicalize(k, once.value());
        prop_assert_eq!(once.bytes(), twice.bytes());
    }

    /// Key order (and the order of set-like arrays) does not change the hash.
    #[test]
    fn key_and_array_order_do_not_matter(k in prop::sample::select(vec![Kind::ConditionalAccessPolicy, Kind::Group, Kind::NamedLocation]), v in json()) {
        prop_assert_eq!(canonicalize(k, &v).hash(), canonicalize(k, &reversed_keys(&v)).hash());
    }

    /// Volatile fields and OData annotations do not change the hash.
    #[test]
    fn volatile_fields_and_annotations_do_not_matter(k in kind(), v in json(), stamp in "[0-9:TZ-]{0,20}") {
        let Value::Object(mut m) = v else { return Ok(()) };
        let before = canonicalize(k, &Value::Object(m.clone())).hash();
        m.insert("modifiedDateTime".into(), Value::String(stamp.clone()));
        m.insert("@odata.context".into(), Value::String(stamp.clone()));
        m.insert("displayName@odata.type".into(), Value::String("#String".into()));
        m.insert(k.key_property().into(), Value::String(stamp));
        prop_assert_eq!(before, canonicalize(k, &Value::Object(m)).hash());
    }
}
