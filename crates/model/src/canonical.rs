//! Canonical versions: the form in which an object's configuration is stored, compared and
//! hashed, so that equal configuration always gives equal bytes.
//!
//! 1. `OData` annotations go (`@odata.context`, `@odata.id`, `prop@odata.type`, …), except
//!    `@odata.type` itself, which names derived types; so do bound-action advertisements
//!    (`#microsoft.graph.restore`).
//! 2. The key (`id`, or `tenantId` for partners) goes at the top level: it is the object's
//!    address, kept beside the version.
//! 3. Volatile and server-stamped values go: creation, modification, deletion, renewal and
//!    sign-in times, and other values the service recomputes (`policyVersion`). They change
//!    without anyone changing configuration, or cannot be restored.
//! 4. An expanded authentication strength inside CA grant controls shrinks to its `id`: the
//!    strength is an object of its own, versioned on its own.
//! 5. `null`, empty arrays and objects left empty go: Graph treats them as unset.
//! 6. Flags enums are joined with `,` and no spaces, as Graph emits them.
//! 7. Arrays are sets (sorted by their canonical JSON) except the few whose order means
//!    something.
//! 8. Keys are sorted; the bytes are compact JSON.
//!
//! The result is idempotent: canonicalising a canonical value changes nothing.

use serde_json::{Map, Value};

use crate::hash::ContentHash;
use crate::kind::Kind;

/// Properties removed at every level: volatile or stamped by the service.
const VOLATILE: &[&str] = &[
    "createdDateTime",
    "modifiedDateTime",
    "lastModifiedDateTime",
    "deletedDateTime",
    "renewedDateTime",
    "expirationDateTime",
    "lastPasswordChangeDateTime",
    "signInSessionsValidFromDateTime",
    "refreshTokensValidFromDateTime",
    "signInActivity",
    "onPremisesLastSyncDateTime",
    "externalUserStateChangeDateTime",
    "policyVersion",
];

/// Properties whose value is a flags enum (one string of comma-joined members).
const FLAGS: &[&str] = &[
    "guestOrExternalUserTypes",
    "transferMethods",
    "insiderRiskLevels",
    "requirementsSatisfied",
    "allowedCombinations",
    "appliesToCombinations",
];

/// Arrays whose order is meaningful, kept as given.
const ORDERED: &[&str] = &["businessPhones", "otherMails"];

/// Whether an array property keeps its order (every other array is a set).
pub fn is_ordered_array(property: &str) -> bool {
    ORDERED.contains(&property)
}

/// A canonical version: a JSON value in canonical form, with its bytes and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    value: Value,
    bytes: Vec<u8>,
}

impl Canonical {
    /// The canonical JSON value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The canonical bytes: compact JSON with sorted keys.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The content hash of the bytes.
    pub fn hash(&self) -> ContentHash {
        ContentHash::of(&self.bytes)
    }

    /// Consumes the version, returning its value.
    pub fn into_value(self) -> Value {
        self.value
    }
}

/// Canonicalises an object of `kind` as read from Graph or an export.
pub fn canonicalize(kind: Kind, object: &Value) -> Canonical {
    let mut value = strip(object, None);
    if let Value::Object(top) = &mut value {
        top.shift_remove(kind.key_property());
        if kind == Kind::ConditionalAccessPolicy {
            shrink_strength(top);
        }
    }
    let value = prune(value).map_or_else(|| Value::Object(Map::new()), |v| sort(v, None));
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    Canonical { value, bytes }
}

/// Steps 1, 3 and 6, recursively. `key` is the property holding `v`.
fn strip(v: &Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| keep_key(k))
                .map(|(k, x)| (k.clone(), strip(x, Some(k))))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|i| strip(i, key)).collect()),
        Value::String(s) if key.is_some_and(|k| FLAGS.contains(&k)) => Value::String(join_flags(s)),
        other => other.clone(),
    }
}

/// Steps 7 and 8, last, so that nothing after them can disturb the order.
fn sort(v: Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, x)| {
                        let x = sort(x, Some(&k));
                        (k, x)
                    })
                    .collect(),
            )
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(|i| sort(i, key)).collect();
            if !key.is_some_and(|k| ORDERED.contains(&k)) {
                items.sort_by_cached_key(|i| serde_json::to_string(i).unwrap_or_default());
            }
            Value::Array(items)
        }
        other => other,
    }
}

fn keep_key(k: &str) -> bool {
    if k == "@odata.type" {
        return true;
    }
    !(k.starts_with('#') || k.contains("@odata.") || VOLATILE.contains(&k))
}

fn join_flags(s: &str) -> String {
    s.split(',').map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(",")
}

/// Step 4: `grantControls.authenticationStrength` keeps only its `id`.
fn shrink_strength(top: &mut Map<String, Value>) {
    let Some(Value::Object(grant)) = top.get_mut("grantControls") else {
        return;
    };
    let Some(strength) = grant.get_mut("authenticationStrength") else {
        return;
    };
    if let Some(id) = strength.get("id").cloned() {
        let mut only = Map::new();
        only.insert("id".into(), id);
        *strength = Value::Object(only);
    }
}

/// Step 5: drops nulls, empty arrays and objects left empty; `None` when nothing remains.
fn prune(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(map) => {
            let out: Map<String, Value> =
                map.into_iter().filter_map(|(k, v)| prune(v).map(|v| (k, v))).collect();
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let out: Vec<Value> = items.into_iter().filter_map(prune).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn annotations_volatile_values_and_empties_go() {
        let raw = json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#x", "id": "p1",
            "displayName": "MFA", "modifiedDateTime": "2024-01-01T00:00:00Z",
            "modifiedDateTime@odata.type": "#DateTimeOffset", "#microsoft.graph.restore": {"title": "x"},
            "conditions": {"users": {"includeUsers": ["b", "a"], "excludeUsers": []}, "platforms": null},
            "grantControls": {"authenticationStrength": {"id": "s1", "displayName": "Phishing-resistant MFA",
                "allowedCombinations": ["fido2"]}, "builtInControls": []},
            "sessionControls": null,
        });
        let c = canonicalize(Kind::ConditionalAccessPolicy, &raw);
        assert_eq!(
            c.value(),
            &json!({"conditions": {"users": {"includeUsers": ["a", "b"]}},
            "displayName": "MFA", "grantControls": {"authenticationStrength": {"id": "s1"}}})
        );
        assert_eq!(
            std::str::from_utf8(c.bytes()).unwrap(),
            r#"{"conditions":{"users":{"includeUsers":["a","b"]}},"displayName":"MFA","grantControls":{"authenticationStrength":{"id":"s1"}}}"#
        );
    }

    #[test]
    fn flags_lose_their_spaces_and_derived_types_keep_odata_type() {
        let raw = json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "l",
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"}],
            "x": {"guestOrExternalUserTypes": "internalGuest, b2bCollaborationGuest"}});
        let c = canonicalize(Kind::NamedLocation, &raw);
        assert_eq!(c.value()["@odata.type"], "#microsoft.graph.ipNamedLocation");
        assert_eq!(c.value()["ipRanges"][0]["@odata.type"], "#microsoft.graph.iPv4CidrRange");
        assert_eq!(
            c.value()["x"]["guestOrExternalUserTypes"],
            "internalGuest,b2bCollaborationGuest"
        );
    }

    #[test]
    fn partners_lose_their_tenant_id_key_and_keep_ordered_arrays() {
        let c = canonicalize(
            Kind::CrossTenantAccessPolicyConfigurationPartner,
            &json!({"tenantId": "t", "isServiceProvider": true}),
        );
        assert_eq!(c.value(), &json!({"isServiceProvider": true}));
        let u = canonicalize(Kind::User, &json!({"id": "u", "businessPhones": ["2", "1"]}));
        assert_eq!(u.value()["businessPhones"], json!(["2", "1"]));
    }
}
