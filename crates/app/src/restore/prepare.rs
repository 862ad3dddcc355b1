//! Planning a restore: the scope's desired state, closed over references, against the tenant
//! as the latest snapshot (taken just before) and the recycle bins show it.

use std::collections::{BTreeMap, BTreeSet};

use rewind_engine::restore::{Current, Plan, Wanted, plan};
use rewind_model::Kind;
use rewind_msgraph::GraphClient;
use rewind_store::{ObjectKey, SnapshotInfo, Store, TenantInfo};

use super::RestoreError;
use super::scope::{Scope, close_over_references, load, wanted};

/// A plan with what it was made from.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The plan.
    pub plan: Plan,
    /// Notes on how it was made (a recycle bin that could not be read…).
    pub warnings: Vec<String>,
}

/// Plans restoring `scope` to the `target` snapshot; `live` is a snapshot just taken.
pub async fn prepare(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    target: &SnapshotInfo,
    live: &SnapshotInfo,
    scope: &Scope,
) -> Result<Prepared, RestoreError> {
    let began = std::time::Instant::now();
    let phase = |name: &str| tracing::info!(phase = name, elapsed = ?began.elapsed(), "planning");
    // Each manifest is folded and checked on its own blocking thread: together they take the
    // time of one.
    let (live_manifest, target_manifest) =
        tokio::try_join!(store.manifest(tenant, live), store.manifest(tenant, target))?;
    let lineage = lineage(store, tenant, &live_manifest).await?;
    let target_manifest = translate(target_manifest, &lineage);
    phase("manifests");
    let mut wanted = wanted(store, tenant, scope, &target_manifest, &live_manifest, live).await?;
    for w in &mut wanted {
        if let Some(o) = &mut w.object {
            relabel(w.key.kind, o, &lineage);
        }
    }
    phase("desired state");
    // Everything that differs is already in `--all`: closing over references adds nothing.
    if *scope != Scope::All {
        close_over_references(store, &mut wanted, &target_manifest, &live_manifest).await?;
    }
    phase("references closed over");
    let mut temporary =
        temporary_assignments(store, &target_manifest, &live_manifest, &mut wanted).await?;
    temporary.extend(ended_eligibilities(&mut wanted, &live_manifest, live.taken_at));
    let mut prepared = against_live(client, store, &live_manifest, live, wanted, &phase).await?;
    prepared.plan.notices.extend(temporary);
    prepared.plan.notices.sort();
    Ok(prepared)
}

/// Role assignments that PIM granted for a time at the target (an activation of an
/// eligibility, an assignment with an end) and that are gone now — the activation ended, as
/// activations do: re-creating one through `roleAssignments` would make it permanent, so it
/// leaves the desired state and a notice says to grant it again in PIM. Matched to its
/// schedule by principal, role and scope (unifiedroleassignmentschedule.md).
async fn temporary_assignments(
    store: &Store,
    target: &rewind_store::Manifest,
    live: &rewind_store::Manifest,
    wanted: &mut Vec<Wanted>,
) -> Result<Vec<rewind_engine::restore::Notice>, RestoreError> {
    use serde_json::Value;
    let triple = |v: &Value| {
        ["principalId", "roleDefinitionId", "directoryScopeId"]
            .map(|k| v.get(k).and_then(Value::as_str).unwrap_or("").to_string())
    };
    let schedules: Vec<&rewind_model::ContentHash> = target
        .iter()
        .filter(|(k, _)| k.kind == Kind::RoleAssignmentSchedule)
        .map(|(_, h)| h)
        .collect();
    if schedules.is_empty() {
        return Ok(Vec::new());
    }
    let values = load(store, schedules.into_iter().map(Some)).await?;
    let granted_for_a_time: BTreeSet<[String; 3]> = values
        .values()
        .filter(|s| {
            s["assignmentType"] == "Activated"
                || !matches!(
                    s.pointer("/scheduleInfo/expiration/type").and_then(Value::as_str),
                    None | Some("noExpiration" | "notSpecified")
                )
        })
        .map(triple)
        .collect();
    Ok(take_out(
        wanted,
        |w| {
            w.key.kind == Kind::RoleAssignment
                && !live.contains_key(&w.key)
                && w.object.as_ref().is_some_and(|o| granted_for_a_time.contains(&triple(o)))
        },
        "granted for a time by PIM at the target time (an activation, or an assignment with an end) and ended since: not re-created as a permanent assignment; activate the eligibility, or assign it again in PIM with its end",
    ))
}

/// Takes the objects `gone` picks out of `wanted`, with a notice each saying `detail`.
fn take_out(
    wanted: &mut Vec<Wanted>,
    gone: impl Fn(&Wanted) -> bool,
    detail: &str,
) -> Vec<rewind_engine::restore::Notice> {
    let mut notices = Vec::new();
    wanted.retain(|w| {
        let out = gone(w);
        if out {
            notices.push(rewind_engine::restore::Notice {
                notice: rewind_engine::restore::NoticeKind::NotRestorable,
                kind: w.key.kind,
                id: w.key.key.clone(),
                display_name: None,
                detail: detail.to_string(),
            });
        }
        !out
    });
    notices
}

/// PIM eligibilities wanted back whose end has passed by `now`: granting one again would
/// give a role the target time had already limited, so it leaves the desired state with a
/// notice (Graph refuses a schedule that ends in the past anyway).
fn ended_eligibilities(
    wanted: &mut Vec<Wanted>,
    live: &rewind_store::Manifest,
    now: jiff::Timestamp,
) -> Vec<rewind_engine::restore::Notice> {
    let ended = |o: &serde_json::Value| {
        o.pointer("/scheduleInfo/expiration/endDateTime")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|end| end <= now)
    };
    take_out(
        wanted,
        |w| {
            w.key.kind == Kind::RoleEligibilitySchedule
                && !live.contains_key(&w.key)
                && w.object.as_ref().is_some_and(ended)
        },
        "a PIM eligibility whose end has passed since the target time: not granted again; assign it in PIM with a new end if it is still wanted",
    )
}

/// Plans again, against the tenant as `live` shows it, the desired state of a plan made
/// earlier (a plan file): the steps come from the desired state, never from the file, so a
/// step added to a reviewed file, or a name changed in it, cannot run.
pub async fn replan(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    live: &SnapshotInfo,
    desired: &[rewind_engine::restore::Desired],
) -> Result<Prepared, RestoreError> {
    let live_manifest = store.manifest(tenant, live).await?;
    let wanted = desired
        .iter()
        .map(|d| Wanted {
            key: ObjectKey::new(d.kind, d.id.clone()),
            object: d.object.clone(),
            reason: "in the reviewed plan".into(),
        })
        .collect();
    against_live(client, store, &live_manifest, live, wanted, &|_| {}).await
}

/// The second half of planning: the wanted objects against the live state and the bins.
async fn against_live(
    client: &GraphClient,
    store: &Store,
    live_manifest: &rewind_store::Manifest,
    live: &SnapshotInfo,
    mut wanted: Vec<Wanted>,
    phase: &dyn Fn(&str),
) -> Result<Prepared, RestoreError> {
    let mut warnings = Vec::new();
    // A kind the latest capture could not read (no licence for it) has no live state to plan
    // against, and Graph would refuse its writes: it is left out, and said so.
    let unreadable: BTreeMap<Kind, rewind_store::Unavailable> =
        live.counts.iter().filter_map(|(kind, c)| Some((*kind, c.unavailable?))).collect();
    wanted.retain(|w| !unreadable.contains_key(&w.key.kind));
    warnings.extend(unreadable.iter().map(|(kind, why)| {
        format!(
            "{} is not restored: the tenant cannot be read for it ({})",
            kind.name(),
            why.describe()
        )
    }));
    let missing: Vec<&ObjectKey> = wanted
        .iter()
        .filter(|w| w.object.is_some() && !live_manifest.contains_key(&w.key))
        .map(|w| &w.key)
        .collect();
    let recycle_bin = recycle_bin(client, &missing, &mut warnings).await?;
    phase("recycle bins");
    relink_referrers(store, &mut wanted, live_manifest, &recycle_bin).await?;
    phase("referrers");
    let values = load(store, wanted.iter().map(|w| live_manifest.get(&w.key))).await?;
    let live_values: BTreeMap<ObjectKey, serde_json::Value> = wanted
        .iter()
        .filter_map(|w| {
            let h = live_manifest.get(&w.key)?;
            Some((w.key.clone(), values.get(h)?.clone()))
        })
        .collect();
    phase("live values");
    let current = Current { live: live_values, recycle_bin };
    let plan = plan(wanted, &current);
    phase("plan");
    Ok(Prepared { plan, warnings })
}

/// Objects an earlier restore created anew and that still exist: old id → new id. A restore
/// to a point before them treats the new object as the old one.
async fn lineage(
    store: &Store,
    tenant: &TenantInfo,
    live: &rewind_store::Manifest,
) -> Result<BTreeMap<String, ObjectKey>, RestoreError> {
    let mut out = BTreeMap::new();
    for l in store.lineage(tenant).await? {
        let new = ObjectKey::new(l.kind, l.new_key.clone());
        if live.contains_key(&new) {
            out.insert(l.old_key, new);
        }
    }
    // Chains (restored twice) resolve to the newest.
    let resolved: BTreeMap<String, ObjectKey> = out
        .keys()
        .map(|old| {
            let mut k = out[old].clone();
            let mut hops = 0;
            while let Some(next) = out.get(&k.key).filter(|_| hops < 16) {
                k = next.clone();
                hops += 1;
            }
            (old.clone(), k)
        })
        .collect();
    Ok(resolved)
}

/// A manifest with objects that were created anew under their new keys.
fn translate(
    manifest: rewind_store::Manifest,
    lineage: &BTreeMap<String, ObjectKey>,
) -> rewind_store::Manifest {
    if lineage.is_empty() {
        return manifest;
    }
    manifest
        .into_iter()
        .map(|(k, h)| match lineage.get(&k.key).filter(|n| n.kind == k.kind) {
            Some(new) => (new.clone(), h),
            None => (k, h),
        })
        .collect()
}

/// Rewrites the references of `object` to objects created anew to their new ids.
fn relabel(kind: Kind, object: &mut serde_json::Value, lineage: &BTreeMap<String, ObjectKey>) {
    if lineage.is_empty() {
        return;
    }
    let mut changed = false;
    for r in rewind_model::references(kind, object) {
        if let Some(new) = lineage.get(&r.id) {
            let leaf = rewind_model::key::own_id(&new.key).to_string();
            changed |= rewind_engine::restore::set_reference(object, &r.path, &leaf);
        }
    }
    if changed {
        *object = rewind_model::canonicalize(kind, object).into_value();
    }
}

/// Kinds whose objects name others by id in their properties (not through links) and keep
/// naming them after those are deleted: the ones to re-link when what they name is created
/// anew. Small collections, read whole.
const REFERRERS: [Kind; 5] = [
    Kind::ConditionalAccessPolicy,
    Kind::RoleAssignment,
    Kind::AppRoleAssignment,
    Kind::OAuth2PermissionGrant,
    Kind::AuthenticationMethodConfiguration,
];

/// Adds to `wanted`, as they are now, the live objects that name an object the plan will
/// create anew, so that the planner re-links them to its new id.
async fn relink_referrers(
    store: &Store,
    wanted: &mut Vec<Wanted>,
    live: &rewind_store::Manifest,
    recycle_bin: &BTreeMap<ObjectKey, Option<serde_json::Value>>,
) -> Result<(), RestoreError> {
    let recreated: BTreeSet<&str> = wanted
        .iter()
        .filter(|w| {
            w.object.is_some() && !live.contains_key(&w.key) && !recycle_bin.contains_key(&w.key)
        })
        .map(|w| w.key.key.as_str())
        .collect();
    if recreated.is_empty() {
        return Ok(());
    }
    let already: BTreeSet<&ObjectKey> = wanted.iter().map(|w| &w.key).collect();
    let candidates: Vec<(&ObjectKey, &rewind_model::ContentHash)> =
        live.iter().filter(|(k, _)| REFERRERS.contains(&k.kind) && !already.contains(k)).collect();
    let values = load(store, candidates.iter().map(|(_, h)| Some(*h))).await?;
    let mut found = Vec::new();
    for (key, hash) in candidates {
        let Some(value) = values.get(hash) else {
            continue;
        };
        let names: Vec<String> = rewind_model::references(key.kind, value)
            .into_iter()
            .filter(|r| recreated.contains(r.id.as_str()))
            .map(|r| format!("{} {}", r.path, r.id))
            .collect();
        if !names.is_empty() {
            found.push(Wanted {
                key: key.clone(),
                object: Some(value.clone()),
                reason: format!("names objects created anew ({})", names.join(", ")),
            });
        }
    }
    wanted.extend(found);
    Ok(())
}

/// Where deleted objects of a kind wait to be restored, if Graph keeps them.
fn bin_path(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::User => "/directory/deletedItems/microsoft.graph.user",
        Kind::Group => "/directory/deletedItems/microsoft.graph.group",
        Kind::Application => "/directory/deletedItems/microsoft.graph.application",
        Kind::ServicePrincipal => "/directory/deletedItems/microsoft.graph.servicePrincipal",
        Kind::AdministrativeUnit => "/directory/deletedItems/microsoft.graph.administrativeUnit",
        Kind::ConditionalAccessPolicy => "/identity/conditionalAccess/deletedItems/policies",
        Kind::NamedLocation => "/identity/conditionalAccess/deletedItems/namedLocations",
        _ => return None,
    })
}

/// Which of the `missing` objects lie in a recycle bin, and as what (canonical, read with the
/// properties capture reads): each bin listed once. A restore brings an object back as the bin
/// holds it, so the planner compares that with the target.
async fn recycle_bin(
    client: &GraphClient,
    missing: &[&ObjectKey],
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<ObjectKey, Option<serde_json::Value>>, RestoreError> {
    let kinds: BTreeSet<Kind> = missing.iter().map(|k| k.kind).collect();
    let mut out = BTreeMap::new();
    for kind in kinds {
        let Some(path) = bin_path(kind) else { continue };
        let query = crate::capture::select_query(kind);
        let listed = match client.list(&format!("{path}{query}")).await {
            Ok(items) => items,
            Err(rewind_msgraph::ClientError::Graph(f)) if matches!(f.status, 400 | 403 | 404) => {
                warnings.push(format!(
                    "cannot read the deleted {kind}s ({}): deleted ones are created anew instead of restored",
                    f.message
                ));
                continue;
            }
            Err(e) => {
                return Err(RestoreError::Graph {
                    what: format!("deleted {kind}s"),
                    source: Box::new(e),
                });
            }
        };
        let held: BTreeMap<&str, &serde_json::Value> = listed
            .iter()
            .filter_map(|v| Some((v.get("id").and_then(serde_json::Value::as_str)?, v)))
            .collect();
        for key in missing.iter().filter(|k| k.kind == kind) {
            if let Some(raw) = held.get(key.key.as_str()) {
                let mut canonical = rewind_model::canonicalize(kind, raw).into_value();
                // The directory bin is listed through a type cast, which stamps every item with
                // its type; capture reads these kinds without it.
                if path.starts_with("/directory/")
                    && let Some(o) = canonical.as_object_mut()
                {
                    o.shift_remove("@odata.type");
                }
                out.insert((*key).clone(), Some(canonical));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_eligibility_that_has_ended_is_not_granted_again() {
        let eligibility = |end: &str| Wanted {
            key: ObjectKey::new(Kind::RoleEligibilitySchedule, format!("e-{end}")),
            object: Some(json!({"principalId": "u1", "roleDefinitionId": "r1",
                "scheduleInfo": {"expiration": {"type": "afterDateTime", "endDateTime": end}}})),
            reason: "in scope".into(),
        };
        let mut wanted =
            vec![eligibility("2026-01-01T00:00:00Z"), eligibility("2027-01-01T00:00:00Z")];
        let now: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let notices = ended_eligibilities(&mut wanted, &rewind_store::Manifest::new(), now);
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted[0].key.key, "e-2027-01-01T00:00:00Z");
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].id, "e-2026-01-01T00:00:00Z");
    }
}
