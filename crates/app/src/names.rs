//! Names for references: the kind, key and display name of what a reference points at, at one
//! point of the timeline — so a diff says `excludeGroups lost "Break-glass accounts"` rather
//! than a GUID, and `check --refs` says which group went missing.

use std::collections::{BTreeSet, HashMap};

use rewind_model::{ContentHash, Kind, Target, display_name};
use rewind_store::{Manifest, ObjectKey, SnapshotId, Store, StoreError, TenantInfo};
use serde::Serialize;
use serde_json::Value;

/// What a reference points at, found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    /// The object's kind.
    pub kind: Kind,
    /// Its key.
    pub key: String,
    /// Its display name (the last one it had, when it no longer exists).
    pub name: Option<String>,
    /// Whether it exists at that point.
    pub exists: bool,
}

/// A referenced id and how it is referenced.
pub type Wanted = (Target, String);

/// The kinds a target may be.
fn candidates(target: Target) -> &'static [Kind] {
    match target {
        Target::Id(kind) => match kind {
            Kind::User => &[Kind::User],
            Kind::Group => &[Kind::Group],
            Kind::ServicePrincipal => &[Kind::ServicePrincipal],
            Kind::NamedLocation => &[Kind::NamedLocation],
            Kind::Application => &[Kind::Application],
            Kind::AuthenticationStrengthPolicy => &[Kind::AuthenticationStrengthPolicy],
            _ => &[],
        },
        Target::Principal => &[Kind::User, Kind::Group, Kind::ServicePrincipal],
        Target::RoleTemplate => &[Kind::RoleDefinition],
        Target::AppId => &[],
    }
}

/// Finds what each wanted reference points at, at `snapshot`. References to objects the
/// timeline never saw are left out; ones to objects deleted by then are `exists: false`.
pub async fn resolve(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    wanted: &BTreeSet<Wanted>,
) -> Result<HashMap<Wanted, Named>, StoreError> {
    let mut out = by_key(store, tenant, snapshot, wanted).await?;
    let unresolved = by_value(wanted, &out);
    if !unresolved.is_empty() {
        by_property(store, tenant, snapshot, None, &unresolved, &mut out).await?;
    }
    name_the_deleted(store, tenant, &mut out).await?;
    Ok(out)
}

/// Like [`resolve`], for many references against a whole state (`check --refs`, incoming
/// references): whether each target exists is looked up in `manifest`, and only references
/// that point at nothing are looked up in the timeline (to name what was deleted); targets
/// that exist carry no name, so no version of theirs is read.
pub async fn resolve_against(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    manifest: &Manifest,
    wanted: &BTreeSet<Wanted>,
) -> Result<HashMap<Wanted, Named>, StoreError> {
    let mut out = HashMap::new();
    for w in wanted {
        let hit = candidates(w.0)
            .iter()
            .map(|kind| ObjectKey::new(*kind, w.1.clone()))
            .find(|key| manifest.contains_key(key));
        if let Some(key) = hit {
            out.insert(w.clone(), Named { kind: key.kind, key: key.key, name: None, exists: true });
        }
    }
    let unresolved = by_value(wanted, &out);
    if !unresolved.is_empty() {
        by_property(store, tenant, snapshot, Some(manifest), &unresolved, &mut out).await?;
    }
    let missing: BTreeSet<Wanted> =
        wanted.iter().filter(|w| !out.contains_key(*w)).cloned().collect();
    out.extend(by_key(store, tenant, snapshot, &missing).await?);
    name_the_deleted(store, tenant, &mut out).await?;
    Ok(out)
}

/// Each wanted reference's target by key among its candidate kinds, named from its version.
async fn by_key(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    wanted: &BTreeSet<Wanted>,
) -> Result<HashMap<Wanted, Named>, StoreError> {
    let mut keys = Vec::new();
    for (target, id) in wanted {
        for kind in candidates(*target) {
            keys.push(ObjectKey::new(*kind, id.clone()));
        }
    }
    let found = store.versions_at(tenant, &keys, snapshot).await?;
    let hashes: Vec<ContentHash> = found.values().flatten().copied().collect();
    let values = load(store, &hashes).await?;
    let mut out = HashMap::new();
    for w in wanted {
        let hit = candidates(w.0).iter().find_map(|kind| {
            let key = ObjectKey::new(*kind, w.1.clone());
            found.get(&key).map(|h| (key, *h))
        });
        if let Some((key, hash)) = hit {
            let name = hash.and_then(|h| values.get(&h)).and_then(display_name).map(str::to_string);
            out.insert(
                w.clone(),
                Named { kind: key.kind, key: key.key, name, exists: hash.is_some() },
            );
        }
    }
    Ok(out)
}

/// References by application id or role template id not yet found to exist.
fn by_value<'a>(wanted: &'a BTreeSet<Wanted>, out: &HashMap<Wanted, Named>) -> Vec<&'a Wanted> {
    wanted
        .iter()
        .filter(|w| out.get(*w).is_none_or(|n| !n.exists))
        .filter(|w| matches!(w.0, Target::AppId | Target::RoleTemplate))
        .collect()
}

/// Names targets that no longer exist by the last name they had.
async fn name_the_deleted(
    store: &Store,
    tenant: &TenantInfo,
    out: &mut HashMap<Wanted, Named>,
) -> Result<(), StoreError> {
    for n in out.values_mut().filter(|n| !n.exists && n.name.is_none()) {
        n.name = last_name(store, tenant, &ObjectKey::new(n.kind, n.key.clone())).await?;
    }
    Ok(())
}

/// Application ids and role template ids name objects by a property, not their key: look
/// through the kinds that carry it (in `manifest` when the whole state is at hand).
async fn by_property(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    manifest: Option<&Manifest>,
    wanted: &[&Wanted],
    out: &mut HashMap<Wanted, Named>,
) -> Result<(), StoreError> {
    let searches: [(Target, Kind, &str); 3] = [
        (Target::AppId, Kind::Application, "appId"),
        (Target::AppId, Kind::ServicePrincipal, "appId"),
        (Target::RoleTemplate, Kind::RoleDefinition, "templateId"),
    ];
    for (target, kind, property) in searches {
        if !wanted.iter().any(|w| w.0 == target) {
            continue;
        }
        let present: Manifest = match manifest {
            Some(m) => {
                m.iter().filter(|(k, _)| k.kind == kind).map(|(k, h)| (k.clone(), *h)).collect()
            }
            None => store.kind_at(tenant, kind, snapshot).await?,
        };
        let hashes: Vec<ContentHash> = present.values().copied().collect();
        let values = load(store, &hashes).await?;
        for (key, hash) in &present {
            let Some(v) = values.get(hash) else { continue };
            let Some(id) = v.get(property).and_then(Value::as_str) else {
                continue;
            };
            let w = (target, id.to_string());
            if wanted.contains(&&w) && out.get(&w).is_none_or(|n| !n.exists) {
                out.insert(
                    w,
                    Named {
                        kind,
                        key: key.key.clone(),
                        name: display_name(v).map(str::to_string),
                        exists: true,
                    },
                );
            }
        }
    }
    Ok(())
}

/// The display name an object had in its last version.
async fn last_name(
    store: &Store,
    tenant: &TenantInfo,
    key: &ObjectKey,
) -> Result<Option<String>, StoreError> {
    let history = store.history(tenant, key).await?;
    Ok(history.iter().rev().find_map(|v| v.name.clone()))
}

/// The versions with these hashes, parsed.
pub async fn load(
    store: &Store,
    hashes: &[ContentHash],
) -> Result<HashMap<ContentHash, Value>, StoreError> {
    let mut out = HashMap::with_capacity(hashes.len());
    // Large batches: SQLite stores read each through SQLite directly (one connection each).
    for chunk in hashes.chunks(16_384) {
        for (h, bytes) in store.blobs(chunk).await? {
            let v = serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("version {}: {e}", h.to_hex())))?;
            out.insert(h, v);
        }
    }
    Ok(out)
}
