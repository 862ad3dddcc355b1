//! The compare use case, which `changes`, `diff`, `refs`, `check`, `exposure` and `whatif`
//! share: points of the timeline (a snapshot, or the live tenant read fresh) and the objects
//! that differ between two of them, with both versions and who changed them. Between two
//! snapshots the differences are found from the version rows between them, so the cost follows
//! the changes, not the tenant.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;
use rewind_model::{Actor, ContentHash, display_name, references};
use rewind_store::{
    Change, Manifest, ObjectKey, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo,
};
use serde::Serialize;
use serde_json::Value;

use crate::live::Live;
use crate::names::{Named, Wanted, load, resolve};

mod changes;
mod diff;

pub use changes::{ChangesReport, ObjectChange};
pub use diff::{DiffReport, NotRead, ObjectDiff, PropertyDiff, Side};

/// A point to look at: a snapshot of the timeline, or the live tenant (held in a throwaway
/// store that lives as long as the point).
pub struct Point {
    /// The store holding it.
    pub store: Store,
    /// The tenant, as that store knows it.
    pub tenant: TenantInfo,
    /// The snapshot.
    pub snapshot: SnapshotInfo,
    live: Option<Live>,
}

impl Point {
    /// A snapshot of the timeline in `store`.
    pub fn snapshot(store: &Store, tenant: &TenantInfo, snapshot: &SnapshotInfo) -> Point {
        Point {
            store: store.clone(),
            tenant: tenant.clone(),
            snapshot: snapshot.clone(),
            live: None,
        }
    }

    /// The live tenant, read into its own throwaway store.
    pub fn live(live: Live) -> Point {
        Point {
            store: live.store.clone(),
            tenant: live.tenant.clone(),
            snapshot: live.snapshot.clone(),
            live: Some(live),
        }
    }

    /// Whether this is the live tenant.
    pub fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// How reports name the point: `{"snapshot", "taken_at"}`, or `{"live": true, "taken_at"}`.
    pub fn stamp(&self) -> PointStamp {
        let taken_at = self.snapshot.taken_at;
        if self.is_live() {
            PointStamp::Live { live: true, taken_at }
        } else {
            PointStamp::Snapshot { snapshot: self.snapshot.id, taken_at }
        }
    }

    /// How the point reads in text.
    pub fn label(&self) -> String {
        if self.is_live() {
            format!("live tenant ({})", self.snapshot.taken_at)
        } else {
            format!("snapshot {} ({})", self.snapshot.id, self.snapshot.taken_at)
        }
    }

    /// Every object at this point with its version.
    pub async fn manifest(&self) -> Result<Manifest, StoreError> {
        self.store.manifest(&self.tenant, &self.snapshot).await
    }
}

/// A point as reports name it (DESIGN §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PointStamp {
    /// The live tenant, read at `taken_at`.
    Live {
        /// Always true.
        live: bool,
        /// When it was read.
        taken_at: Timestamp,
    },
    /// A snapshot of the timeline.
    Snapshot {
        /// Its id.
        snapshot: SnapshotId,
        /// When it was taken.
        taken_at: Timestamp,
    },
}

/// Two points and what differs between them.
pub struct Compared {
    /// The earlier point (as given).
    pub from: Point,
    /// The later point (as given).
    pub to: Point,
    /// What differs, by object.
    pub objects: Vec<Difference>,
}

/// One object that differs.
pub struct Difference {
    /// The object.
    pub object: ObjectKey,
    /// Created, updated or deleted.
    pub change: Change,
    /// Its version at `from`.
    pub old: Option<Value>,
    /// Its version at `to`.
    pub new: Option<Value>,
    /// Who changed it in between.
    pub actors: Vec<Actor>,
}

impl Difference {
    /// The name people know it by, now or (deleted) then.
    pub fn display_name(&self) -> Option<String> {
        let v = self.new.as_ref().or(self.old.as_ref())?;
        display_name(v).map(str::to_string)
    }
}

/// The objects that differ between `from` and `to` (either may be the later one) and pass
/// `keep(object, actors)`.
pub async fn compare(
    from: Point,
    to: Point,
    keep: impl Fn(&ObjectKey, &[Actor]) -> bool,
) -> Result<Compared, StoreError> {
    let (before, after, actors) = if from.is_live() || to.is_live() {
        whole_states(&from, &to).await?
    } else {
        between_snapshots(&from, &to).await?
    };
    let mut wanted = Vec::new();
    for (key, b) in before {
        let a = after.get(&key).copied().flatten();
        let Some(change) = Change::between(b.as_ref(), a.as_ref()) else {
            continue;
        };
        let who = actors.get(&key).cloned().unwrap_or_default();
        if keep(&key, &who) {
            wanted.push((key, b, a, change, who));
        }
    }
    wanted.sort_by(|x, y| x.0.cmp(&y.0));
    let old_hashes: Vec<ContentHash> = wanted.iter().filter_map(|w| w.1).collect();
    let new_hashes: Vec<ContentHash> = wanted.iter().filter_map(|w| w.2).collect();
    let old = load(&from.store, &old_hashes).await?;
    let new = load(&to.store, &new_hashes).await?;
    let objects = wanted
        .into_iter()
        .map(|(object, b, a, change, actors)| Difference {
            object,
            change,
            old: b.and_then(|h| old.get(&h).cloned()),
            new: a.and_then(|h| new.get(&h).cloned()),
            actors,
        })
        .collect();
    Ok(Compared { from, to, objects })
}

type Versions = HashMap<ObjectKey, Option<ContentHash>>;
type Actors = std::collections::BTreeMap<ObjectKey, Vec<Actor>>;

/// Two snapshots of one timeline: only objects with a version row between them can differ.
async fn between_snapshots(
    from: &Point,
    to: &Point,
) -> Result<(Versions, Versions, Actors), StoreError> {
    let (store, tenant) = (&from.store, &from.tenant);
    let (lo, hi) = (from.snapshot.id.min(to.snapshot.id), from.snapshot.id.max(to.snapshot.id));
    let keys = store.changed_between(tenant, lo, hi).await?;
    let mut before = store.versions_at(tenant, &keys, from.snapshot.id).await?;
    for k in &keys {
        before.entry(k.clone()).or_insert(None);
    }
    let after = store.versions_at(tenant, &keys, to.snapshot.id).await?;
    let actors = store.actors_between(tenant, lo, hi).await?;
    Ok((before, after, actors))
}

/// A point of the timeline and the live tenant (in its own store): compare whole states; who
/// changed what comes from the timeline after its point and from the audit log read live.
async fn whole_states(
    from: &Point,
    to: &Point,
) -> Result<(Versions, Versions, Actors), StoreError> {
    let (a, b) = (from.manifest().await?, to.manifest().await?);
    let mut before: Versions = a.iter().map(|(k, h)| (k.clone(), Some(*h))).collect();
    for k in b.keys() {
        before.entry(k.clone()).or_insert(None);
    }
    let after: Versions = b.into_iter().map(|(k, h)| (k, Some(h))).collect();
    let mut actors = Actors::new();
    for p in [from, to] {
        let (lo, hi) = if p.is_live() {
            (SnapshotId::BEFORE_ALL, p.snapshot.id)
        } else {
            (p.snapshot.id, SnapshotId::AFTER_ALL)
        };
        for (k, who) in p.store.actors_between(&p.tenant, lo, hi).await? {
            let entry = actors.entry(k).or_default();
            for w in who {
                if !entry.contains(&w) {
                    entry.push(w);
                }
            }
        }
    }
    Ok((before, after, actors))
}

/// Names of everything the compared versions reference: old versions' references at `from`,
/// new versions' at `to`.
pub struct ReferenceNames {
    /// Names at `from`.
    pub old: HashMap<Wanted, Named>,
    /// Names at `to`.
    pub new: HashMap<Wanted, Named>,
}

impl ReferenceNames {
    /// The names `c`'s versions reference.
    pub async fn of(c: &Compared) -> Result<ReferenceNames, StoreError> {
        let wanted = |side: fn(&Difference) -> Option<&Value>| -> BTreeSet<Wanted> {
            c.objects
                .iter()
                .filter_map(|d| side(d).map(|v| references(d.object.kind, v)))
                .flatten()
                .map(|r| (r.target, r.id))
                .collect()
        };
        let (old, new) = (wanted(|d| d.old.as_ref()), wanted(|d| d.new.as_ref()));
        Ok(ReferenceNames {
            old: resolve(&c.from.store, &c.from.tenant, c.from.snapshot.id, &old).await?,
            new: resolve(&c.to.store, &c.to.tenant, c.to.snapshot.id, &new).await?,
        })
    }
}
