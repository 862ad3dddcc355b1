//! Verification (DESIGN §6.6): after applying, the tenant as a fresh snapshot shows it is
//! compared with the desired state, object by object, on what a restore can write. Objects a
//! person must handle (listed as notices) are left out; objects created anew are compared under
//! their new ids, with every reference remapped.

use std::collections::{BTreeMap, BTreeSet};

use rewind_engine::restore::{
    Desired, Notice, NoticeKind, Plan, Writable, create_body, follow_app_id, links, set_reference,
    writable,
};
use rewind_engine::{PropertyChange, property_changes};
use rewind_model::{Kind, canonicalize, references};
use rewind_store::{ObjectKey, SnapshotInfo, Store, TenantInfo};
use serde::Serialize;
use serde_json::Value;

use super::RestoreError;
use super::scope::load;

/// An object that is not as the plan wanted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// Its kind.
    pub kind: Kind,
    /// Its key (the new one when created anew).
    pub id: String,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What is wrong: `missing`, `still exists` or `differs`.
    pub problem: String,
    /// For `differs`: each property, as it is (`old`) and as wanted (`new`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<PropertyChange>,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Every object in scope is as wanted.
    pub converged: bool,
    /// Those that are not.
    pub differences: Vec<Difference>,
    /// Objects compared.
    pub compared: usize,
}

/// What of an object a restore writes and so can be held to: its writable properties and links
/// (assignments: what identifies them).
fn comparable(kind: Kind, object: &Value) -> Value {
    let mut out = if writable(kind) == Writable::Replace {
        let keep =
            ["principalId", "roleDefinitionId", "directoryScopeId", "resourceId", "appRoleId"];
        Value::Object(
            keep.iter().filter_map(|k| Some(((*k).to_string(), object.get(*k)?.clone()))).collect(),
        )
    } else {
        create_body(kind, object)
    };
    if let (Some(o), Some(src)) = (out.as_object_mut(), object.as_object()) {
        for l in links(kind) {
            if let Some(v) = src.get(*l) {
                o.insert((*l).to_string(), v.clone());
            }
        }
    }
    out
}

/// Compares the tenant at `after` with the plan's desired state; `lineage` maps old ids to new.
pub async fn verify(
    store: &Store,
    tenant: &TenantInfo,
    plan: &Plan,
    after: &SnapshotInfo,
    lineage: &BTreeMap<String, String>,
) -> Result<Verification, RestoreError> {
    let manifest = store.manifest(tenant, after).await?;
    let checked = checked(plan, lineage);
    let values = load(store, checked.iter().map(|(_, k)| manifest.get(k))).await?;
    let mut differences = Vec::new();
    for (d, key) in &checked {
        let actual = manifest.get(key).and_then(|h| values.get(h));
        differences.extend(difference(d, key, actual, lineage));
    }
    Ok(Verification { converged: differences.is_empty(), compared: checked.len(), differences })
}

/// The desired objects a restore can be held to, each with its key as it is now: not those
/// the plan says must be done by hand elsewhere, nor kinds Graph never lets a client write.
fn checked<'p>(
    plan: &'p Plan,
    lineage: &BTreeMap<String, String>,
) -> Vec<(&'p Desired, ObjectKey)> {
    let by_hand =
        |n: &&Notice| matches!(n.notice, NoticeKind::RestoreOnPremises | NoticeKind::NotRestorable);
    let excused: BTreeSet<(Kind, &str)> =
        plan.notices.iter().filter(by_hand).map(|n| (n.kind, n.id.as_str())).collect();
    let now_key = |key: &str| -> String {
        let parts = key.split('/').map(|part| lineage.get(part).map_or(part, String::as_str));
        parts.collect::<Vec<_>>().join("/")
    };
    plan.desired
        .iter()
        .filter(|d| !excused.contains(&(d.kind, d.id.as_str())))
        .filter(|d| writable(d.kind) != Writable::Never)
        .map(|d| (d, ObjectKey::new(d.kind, now_key(&d.id))))
        .collect()
}

/// How the object at `key` differs from what the plan wanted of it, if it does.
fn difference(
    d: &Desired,
    key: &ObjectKey,
    actual: Option<&Value>,
    lineage: &BTreeMap<String, String>,
) -> Option<Difference> {
    let (problem, properties) = match (&d.object, actual) {
        (None, None) => return None,
        (None, Some(_)) => ("still exists", Vec::new()),
        (Some(_), None) => ("missing", Vec::new()),
        (Some(want), Some(have)) => {
            let want = comparable(d.kind, &remapped(d.kind, want, lineage));
            let props = property_changes(&comparable(d.kind, have), &want);
            if props.is_empty() {
                return None;
            }
            ("differs", props)
        }
    };
    let name = d.object.as_ref().and_then(rewind_model::display_name).map(str::to_string);
    let (kind, id, problem) = (d.kind, key.key.clone(), problem.to_string());
    Some(Difference { kind, id, display_name: name, problem, properties })
}

/// `object` with every reference to an object created anew pointing at its new id (and an
/// application's own `api://{appId}` URIs at its new appId).
fn remapped(kind: Kind, object: &Value, lineage: &BTreeMap<String, String>) -> Value {
    let mut out = object.clone();
    let mut changed = false;
    for r in references(kind, object) {
        if let Some(new) = lineage.get(&r.id) {
            changed |= set_reference(&mut out, &r.path, new);
        }
    }
    if let Some(old) = object.get("appId").and_then(Value::as_str)
        && let Some(new) = lineage.get(old)
    {
        changed |= follow_app_id(kind, &mut out, old, new);
    }
    if changed { canonicalize(kind, &out).into_value() } else { out }
}
