//! What `changes` and `diff` share: the objects that differ between two snapshots, with both
//! versions and who changed them. Found from the version rows between the two snapshots, so the
//! cost follows the changes, not the tenant.

use std::collections::HashMap;

use rewind_app::locate::{TimeSpec, snapshot_for};
use rewind_model::ContentHash;
use rewind_store::{Change, ObjectKey, SnapshotInfo, Store, TenantInfo};
use serde_json::{Value, json};

use super::session::usage;

/// Two points and what differs between them.
pub struct Compared {
    pub from: SnapshotInfo,
    pub to: SnapshotInfo,
    pub objects: Vec<Difference>,
}

/// One object that differs.
pub struct Difference {
    pub object: ObjectKey,
    pub change: Change,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub actors: Vec<String>,
}

impl Difference {
    /// The name people know it by, now or (deleted) then.
    pub fn display_name(&self) -> Option<String> {
        let v = self.new.as_ref().or(self.old.as_ref())?;
        [
            "displayName",
            "userPrincipalName",
            "principalDisplayName",
            "name",
        ]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .map(str::to_string)
    }
}

/// A point of the timeline as given on the command line (`live` is not yet supported).
pub async fn point(
    store: &Store,
    tenant: &TenantInfo,
    t: Option<&str>,
) -> anyhow::Result<SnapshotInfo> {
    let now = jiff::Timestamp::now();
    let spec = match t {
        Some(t) if t.eq_ignore_ascii_case("live") => {
            return Err(usage(
                "comparing with the live tenant is not built yet: run `rewind capture` and compare with the latest snapshot (leave out --to)",
            ));
        }
        Some(t) => t.parse::<TimeSpec>().map_err(usage)?,
        None => TimeSpec::At(now),
    };
    snapshot_for(store, tenant, spec, now).await.map_err(usage)
}

/// The objects that differ between `from` and `to` (either may be the later one) and pass
/// `keep(object, actors)`.
pub async fn compare(
    store: &Store,
    tenant: &TenantInfo,
    from: SnapshotInfo,
    to: SnapshotInfo,
    keep: impl Fn(&ObjectKey, &[String]) -> bool,
) -> anyhow::Result<Compared> {
    let (lo, hi) = (from.id.min(to.id), from.id.max(to.id));
    let keys = store.changed_between(tenant, lo, hi).await?;
    let before = store.manifest(tenant, &from).await?;
    let after = store.manifest(tenant, &to).await?;
    let actors = store.actors_between(tenant, lo, hi).await?;
    let mut wanted = Vec::new();
    for key in keys {
        let (b, a) = (before.get(&key).copied(), after.get(&key).copied());
        let Some(change) = Change::between(b.as_ref(), a.as_ref()) else {
            continue;
        };
        let who = actors.get(&key).cloned().unwrap_or_default();
        if keep(&key, &who) {
            wanted.push((key, b, a, change, who));
        }
    }
    let hashes: Vec<ContentHash> = wanted
        .iter()
        .flat_map(|(_, b, a, _, _)| [*b, *a])
        .flatten()
        .collect();
    let mut versions: HashMap<ContentHash, Value> = HashMap::new();
    for chunk in hashes.chunks(2_000) {
        for (h, bytes) in store.blobs(chunk).await? {
            versions.insert(h, serde_json::from_slice(&bytes)?);
        }
    }
    let version = |h: Option<ContentHash>| h.and_then(|h| versions.get(&h).cloned());
    let objects = wanted
        .into_iter()
        .map(|(object, b, a, change, actors)| Difference {
            object,
            change,
            old: version(b),
            new: version(a),
            actors,
        })
        .collect();
    Ok(Compared { from, to, objects })
}

/// `{"snapshot", "taken_at"}` of a point.
pub fn point_json(s: &SnapshotInfo) -> Value {
    json!({"snapshot": s.id, "taken_at": s.taken_at})
}
