//! Names for the ids a plan shows, so that a reader sees `group "Finance"` and not a GUID.

use std::collections::{BTreeSet, HashMap};

use rewind_engine::restore::{Plan, Step};
use rewind_model::{Kind, Target};
use rewind_store::{ObjectKey, SnapshotInfo, Store, StoreError, TenantInfo};
use serde_json::Value;

/// Names for the ids a plan shows: members and owners it links, objects it creates anew, and
/// the principal and role of each assignment (as they are now, or were, for deleted ones).
pub async fn plan_names(
    store: &Store,
    tenant: &TenantInfo,
    live: &SnapshotInfo,
    plan: &Plan,
) -> Result<HashMap<String, String>, StoreError> {
    let mut wanted = shown_ids(plan);
    let current = current_assignments(store, tenant, live, plan).await?;
    let desired = plan.desired.iter().filter(|d| is_assignment(d.kind));
    let objects = desired.filter_map(|d| d.object.as_ref()).chain(current.iter().map(|(_, o)| o));
    for o in objects {
        if let Some(p) = o.get("principalId").and_then(Value::as_str) {
            wanted.insert((Target::Principal, p.to_string()));
        }
        if let Some(r) = o.get("roleDefinitionId").and_then(Value::as_str) {
            wanted.insert((Target::RoleTemplate, r.to_string()));
        }
    }
    let found = crate::names::resolve(store, tenant, live.id, &wanted).await?;
    let mut out: HashMap<String, String> = found
        .into_iter()
        .filter_map(|((_, id), n)| Some((id, format!("{} \"{}\"", n.kind, n.name?))))
        .collect();
    // An assignment reads as "role → principal".
    for (key, o) in &current {
        let part = |k: &str| {
            o.get(k).and_then(Value::as_str).and_then(|id| out.get(id).cloned()).unwrap_or_default()
        };
        let label = format!("{} → {}", part("roleDefinitionId"), part("principalId"));
        out.insert(key.key.clone(), label.trim_start_matches(" → ").to_string());
    }
    Ok(out)
}

fn is_assignment(kind: Kind) -> bool {
    matches!(kind, Kind::RoleAssignment | Kind::AppRoleAssignment)
}

/// The ids the plan's steps name: link targets, objects created anew, and the ids a step's
/// property changes add or remove (a policy's excluded groups).
fn shown_ids(plan: &Plan) -> BTreeSet<(Target, String)> {
    let mut wanted = BTreeSet::new();
    for s in &plan.steps {
        if let Some(l) = &s.link {
            wanted.insert((Target::Principal, l.target.clone()));
        }
        for r in &s.remaps {
            wanted.insert((Target::Id(r.kind), r.from.clone()));
        }
    }
    let desired: HashMap<(Kind, &str), &Value> = plan
        .desired
        .iter()
        .filter_map(|d| Some(((d.kind, d.id.as_str()), d.object.as_ref()?)))
        .collect();
    for s in plan.steps.iter().filter(|s| !s.changes.is_empty()) {
        if let Some(o) = desired.get(&(s.kind, s.id.as_str())) {
            wanted
                .extend(rewind_model::references(s.kind, o).into_iter().map(|r| (r.target, r.id)));
        }
    }
    wanted
}

/// The assignments the plan touches, as they are in the tenant (deleted ones left out).
async fn current_assignments(
    store: &Store,
    tenant: &TenantInfo,
    live: &SnapshotInfo,
    plan: &Plan,
) -> Result<Vec<(ObjectKey, Value)>, StoreError> {
    let keys: Vec<ObjectKey> =
        plan.steps.iter().filter(|s| is_assignment(s.kind)).map(Step::object).collect();
    let versions = store.versions_at(tenant, &keys, live.id).await?;
    let mut out = Vec::with_capacity(versions.len());
    for (key, hash) in versions {
        if let Some(hash) = hash {
            out.push((key, store.version(&hash).await?));
        }
    }
    Ok(out)
}
