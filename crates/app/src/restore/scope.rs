//! Scopes: which objects a restore brings back, and the state wanted for each.

use std::collections::{BTreeMap, BTreeSet};

use rewind_engine::restore::{Version, Wanted, undo_actor, with_property};
use rewind_model::{ContentHash, Kind};
use rewind_store::{Manifest, ObjectKey, SnapshotInfo, Store, TenantInfo};
use serde_json::Value;

use super::RestoreError;
use crate::names;

/// What to restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every kind Rewind restores.
    All,
    /// Every object of these kinds.
    Kinds(Vec<Kind>),
    /// These objects (with the objects they contain, such as an application's federated
    /// credentials).
    Objects(Vec<ObjectKey>),
    /// One property of one object.
    Property {
        /// The object.
        object: ObjectKey,
        /// The dotted property path.
        path: String,
    },
    /// Everything one actor changed after a snapshot, keeping everyone else's changes.
    Actor {
        /// The actor as the timeline records it (a user principal name or an app's name).
        actor: String,
        /// Changes after this snapshot are undone.
        since: SnapshotInfo,
    },
}

/// Kinds a whole-tenant restore covers: all but what is kept only for analysis.
fn restorable(kind: Kind) -> bool {
    kind != Kind::UserAuthenticationMethods
}

/// The objects in scope with the state wanted for each, and why.
pub(super) async fn wanted(
    store: &Store,
    tenant: &TenantInfo,
    scope: &Scope,
    target: &Manifest,
    live: &Manifest,
    live_snapshot: &SnapshotInfo,
) -> Result<Vec<Wanted>, RestoreError> {
    match scope {
        Scope::All => whole(store, target, live, |_| true, "in scope (--all)").await,
        Scope::Kinds(kinds) => {
            whole(store, target, live, |k| kinds.contains(&k), "in scope (--kind)").await
        }
        Scope::Objects(objects) => {
            let keys: BTreeSet<&ObjectKey> =
                objects.iter().flat_map(|o| with_contained(o, target, live)).collect();
            let pairs =
                keys.into_iter().map(|k| (k.clone(), target.get(k).copied(), live.get(k).copied()));
            differing(store, pairs, "in scope (--object)").await
        }
        Scope::Property { object, path } => {
            let values = load(store, [target.get(object), live.get(object)]).await?;
            let (t, l) = (
                target.get(object).and_then(|h| values.get(h)),
                live.get(object).and_then(|h| values.get(h)),
            );
            let Some(now) = l else {
                return Err(RestoreError::Scope(format!(
                    "{} {} does not exist now; restore the whole object with --object instead of one property",
                    object.kind, object.key
                )));
            };
            let desired = with_property(Some(now), t, path);
            Ok(vec![Wanted {
                key: object.clone(),
                object: desired,
                reason: format!("in scope (--property {path})"),
            }])
        }
        Scope::Actor { actor, since } => by_actor(store, tenant, actor, since, live_snapshot).await,
    }
}

/// An object and, for one that contains others (federated credentials of an application, app
/// role assignments to a service principal), those it contains at either point.
fn with_contained<'m>(
    object: &'m ObjectKey,
    target: &'m Manifest,
    live: &'m Manifest,
) -> impl Iterator<Item = &'m ObjectKey> {
    let prefix = format!("{}/", object.key);
    let contained = [target, live].into_iter().flat_map(move |m| {
        let prefix = prefix.clone();
        m.keys().filter(move |k| k.key.starts_with(&prefix) && k.key.len() > prefix.len())
    });
    std::iter::once(object).chain(contained)
}

/// Every object whose version differs between the two points, of kinds `keep` selects.
async fn whole(
    store: &Store,
    target: &Manifest,
    live: &Manifest,
    keep: impl Fn(Kind) -> bool,
    reason: &str,
) -> Result<Vec<Wanted>, RestoreError> {
    let keys: BTreeSet<&ObjectKey> =
        target.keys().chain(live.keys()).filter(|k| restorable(k.kind) && keep(k.kind)).collect();
    let pairs = keys
        .into_iter()
        .map(|k| (k.clone(), target.get(k).copied(), live.get(k).copied()))
        .filter(|(_, t, l)| t != l);
    differing(store, pairs, reason).await
}

/// Wanted entries for `(object, target version, live version)`, those that differ only.
async fn differing(
    store: &Store,
    pairs: impl Iterator<Item = (ObjectKey, Option<ContentHash>, Option<ContentHash>)>,
    reason: &str,
) -> Result<Vec<Wanted>, RestoreError> {
    let pairs: Vec<_> = pairs.filter(|(_, t, l)| t != l).collect();
    let values = load(store, pairs.iter().map(|(_, t, _)| t.as_ref())).await?;
    Ok(pairs
        .into_iter()
        .map(|(key, t, _)| Wanted {
            key,
            object: t.and_then(|h| values.get(&h).cloned()),
            reason: reason.to_string(),
        })
        .collect())
}

pub(super) async fn load<'h>(
    store: &Store,
    hashes: impl IntoIterator<Item = Option<&'h ContentHash>>,
) -> Result<std::collections::HashMap<ContentHash, Value>, RestoreError> {
    let mut wanted: Vec<ContentHash> = hashes.into_iter().flatten().copied().collect();
    wanted.sort_unstable();
    wanted.dedup();
    Ok(names::load(store, &wanted).await?)
}

/// Objects `actor` changed after `since`, each with the actor's changes undone.
async fn by_actor(
    store: &Store,
    tenant: &TenantInfo,
    actor: &str,
    since: &SnapshotInfo,
    live: &SnapshotInfo,
) -> Result<Vec<Wanted>, RestoreError> {
    let actors = store.actors_between(tenant, since.id, live.id).await?;
    let named = crate::locate::resolve_actor(actor, actors.values().flatten())
        .map_err(|e| RestoreError::Scope(e.to_string()))?;
    let touched: Vec<&ObjectKey> = match &named {
        Some(who) => actors
            .iter()
            .filter(|(k, by)| restorable(k.kind) && by.iter().any(|a| a.same_identity(who)))
            .map(|(k, _)| k)
            .collect(),
        None => Vec::new(),
    };
    let Some(who) = named.filter(|_| !touched.is_empty()) else {
        let mut known: Vec<String> = Vec::new();
        for a in actors.values().flatten() {
            let d = crate::locate::describe_actor(a);
            if !known.contains(&d) {
                known.push(d);
            }
        }
        return Err(RestoreError::Scope(format!(
            "'{actor}' changed nothing after {}; actors in that time: {}",
            since.taken_at,
            if known.is_empty() { "none".to_string() } else { known.join("; ") }
        )));
    };
    let mut out = Vec::with_capacity(touched.len());
    for key in touched {
        let history = store.history(tenant, key).await?;
        let before = history.iter().rev().find(|v| v.snapshot <= since.id).and_then(|v| v.hash);
        let after: Vec<_> =
            history.iter().filter(|v| v.snapshot > since.id && v.snapshot <= live.id).collect();
        let values =
            load(store, after.iter().map(|v| v.hash.as_ref()).chain([before.as_ref()])).await?;
        let chain: Vec<Version> = after
            .iter()
            .map(|v| Version {
                object: v.hash.and_then(|h| values.get(&h).cloned()),
                by_actor: v.actors.iter().any(|a| a.same_identity(&who)),
            })
            .collect();
        let before = before.and_then(|h| values.get(&h));
        let now = chain.last().and_then(|v| v.object.clone());
        let desired = undo_actor(before, &chain);
        if desired != now {
            out.push(Wanted {
                key: key.clone(),
                object: desired,
                reason: format!("changed by {}", who.label()),
            });
        }
    }
    Ok(out)
}

/// Objects the desired state names that exist at the target but not now: brought back too
/// (a restored policy brings the group it excludes), and so is the service principal of an
/// application brought back — Graph deletes the two together but restores only what is asked
/// (directory-deleteditems-restore.md). Repeated until nothing new is named.
pub(super) async fn close_over_references(
    store: &Store,
    wanted: &mut Vec<Wanted>,
    target: &Manifest,
    live: &Manifest,
) -> Result<(), RestoreError> {
    let mut have: BTreeSet<ObjectKey> = wanted.iter().map(|w| w.key.clone()).collect();
    let mut from = 0;
    loop {
        let mut needed: BTreeMap<ObjectKey, String> = BTreeMap::new();
        for w in &wanted[from..] {
            let Some(object) = &w.object else { continue };
            for r in rewind_model::references(w.key.kind, object) {
                let Some(key) = resolve(r.target, &r.id, target) else {
                    continue;
                };
                if !live.contains_key(&key) && !have.contains(&key) && restorable(key.kind) {
                    let name = rewind_model::display_name(object).unwrap_or(&w.key.key);
                    needed.entry(key).or_insert_with(|| {
                        format!("named by {} '{name}' ({})", w.key.kind, r.path)
                    });
                }
            }
        }
        for (key, reason) in service_principals(store, &wanted[from..], target, live).await? {
            if !have.contains(&key) {
                needed.entry(key).or_insert(reason);
            }
        }
        if needed.is_empty() {
            return Ok(());
        }
        from = wanted.len();
        let values = load(store, needed.keys().map(|k| target.get(k))).await?;
        for (key, reason) in needed {
            have.insert(key.clone());
            let object = target.get(&key).and_then(|h| values.get(h).cloned());
            wanted.push(Wanted { key, object, reason });
        }
    }
}

/// The service principals, missing now, of the applications among `wanted` that are missing
/// now, with why each is brought back.
async fn service_principals(
    store: &Store,
    wanted: &[Wanted],
    target: &Manifest,
    live: &Manifest,
) -> Result<Vec<(ObjectKey, String)>, RestoreError> {
    let apps: BTreeMap<&str, &Wanted> = wanted
        .iter()
        .filter(|w| w.key.kind == Kind::Application && !live.contains_key(&w.key))
        .filter_map(|w| Some((w.object.as_ref()?.get("appId")?.as_str()?, w)))
        .collect();
    if apps.is_empty() {
        return Ok(Vec::new());
    }
    let gone: Vec<(&ObjectKey, &ContentHash)> = target
        .iter()
        .filter(|(k, _)| k.kind == Kind::ServicePrincipal && !live.contains_key(*k))
        .collect();
    let values = load(store, gone.iter().map(|(_, h)| Some(*h))).await?;
    Ok(gone
        .into_iter()
        .filter_map(|(key, hash)| {
            let app_id = values.get(hash)?.get("appId")?.as_str()?;
            let app = apps.get(app_id)?;
            let name =
                app.object.as_ref().and_then(rewind_model::display_name).unwrap_or(&app.key.key);
            Some((
                key.clone(),
                format!("the service principal of application '{name}', which comes back"),
            ))
        })
        .collect())
}

/// The object a reference names, if the target state has it.
fn resolve(target: rewind_model::Target, id: &str, manifest: &Manifest) -> Option<ObjectKey> {
    use rewind_model::Target;
    let candidates: &[Kind] = match target {
        Target::Id(kind) => {
            return Some(ObjectKey::new(kind, id)).filter(|k| manifest.contains_key(k));
        }
        Target::Principal => &[Kind::User, Kind::Group, Kind::ServicePrincipal],
        Target::RoleTemplate => &[Kind::RoleDefinition],
        Target::AppId => &[],
    };
    candidates.iter().map(|k| ObjectKey::new(*k, id)).find(|k| manifest.contains_key(k))
}
