//! The state of one emulated tenant and the primitive operations every handler is built from.
//!
//! Objects are stored sparse, keyed by id in `BTreeMap`s so listing and paging are deterministic.
//! Every change to an object or a link is appended to a journal with a sequence number; delta
//! queries are answered from that journal, so their cost follows the number of changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};

use crate::auth::Client;
use crate::resource::{Coll, Singleton};
use crate::route::LinkKind;

/// Days an object stays in the directory recycle bin (and CA deleted items) before it is purged.
pub(crate) const RECYCLE_DAYS: i64 = 30;

/// A stored object: its properties as set, including `id` and, for derived types, `@odata.type`.
pub(crate) type Obj = Map<String, Value>;

/// A soft-deleted directory object with the links it had, so a restore brings them back.
#[derive(Debug, Clone)]
pub(crate) struct Deleted {
    pub coll: Coll,
    pub obj: Obj,
    pub deleted_at: Timestamp,
    pub links: Vec<(LinkKind, String, String)>,
}

/// One journal entry: an object (or a link on it) changed at `seq`.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub seq: u64,
    pub coll: Coll,
    pub id: String,
    /// For link changes on groups: the member and whether it was added.
    pub link: Option<(String, bool)>,
}

/// Who is calling: the client whose token was presented.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub app_id: String,
    pub display_name: String,
    pub service_principal_id: String,
}

/// The emulator's clock: real time plus an offset that the admin API moves forward.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Clock {
    offset: SignedDuration,
}

impl Clock {
    pub(crate) fn now(self) -> Timestamp {
        Timestamp::now()
            .saturating_add(self.offset)
            .unwrap_or(Timestamp::MAX)
    }

    pub(crate) fn advance(&mut self, by: SignedDuration) {
        self.offset = self.offset.saturating_add(by);
    }
}

/// One emulated Entra tenant.
#[derive(Debug)]
pub struct Tenant {
    pub(crate) tenant_id: String,
    pub(crate) domain: String,
    pub(crate) objects: HashMap<Coll, BTreeMap<String, Obj>>,
    pub(crate) singletons: HashMap<Singleton, Obj>,
    pub(crate) links: HashMap<LinkKind, BTreeMap<String, BTreeSet<String>>>,
    pub(crate) recycle_bin: BTreeMap<String, Deleted>,
    pub(crate) ca_deleted: HashMap<Coll, BTreeMap<String, (Obj, Timestamp)>>,
    pub(crate) audit: Vec<Obj>,
    pub(crate) journal: Vec<Change>,
    pub(crate) seq: u64,
    pub(crate) clock: Clock,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) clients: Vec<Client>,
    pub(crate) signing_key: [u8; 32],
}

impl Tenant {
    /// An empty tenant; [`crate::seed`] fills it.
    pub(crate) fn empty(seed: u64, tenant_id: String, domain: String) -> Tenant {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let signing_key: [u8; 32] = rng.random();
        Tenant {
            tenant_id,
            domain,
            objects: HashMap::new(),
            singletons: HashMap::new(),
            links: HashMap::new(),
            recycle_bin: BTreeMap::new(),
            ca_deleted: HashMap::new(),
            audit: Vec::new(),
            journal: Vec::new(),
            seq: 0,
            clock: Clock::default(),
            rng,
            clients: Vec::new(),
            signing_key,
        }
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The initial (`*.onmicrosoft.com`) domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The clients configured in this tenant.
    pub fn clients(&self) -> &[Client] {
        &self.clients
    }

    /// The number of live objects in a collection.
    pub fn count(&self, coll: Coll) -> usize {
        self.objects.get(&coll).map_or(0, BTreeMap::len)
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// `now` as Graph prints it: RFC 3339 in UTC, whole seconds.
    pub(crate) fn now_string(&self) -> String {
        format_time(self.now())
    }

    /// A fresh random GUID from the tenant's seeded generator (deterministic per seed).
    pub(crate) fn new_guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// A fresh opaque id in the style of role and app role assignment ids.
    pub(crate) fn new_opaque_id(&mut self) -> String {
        use base64::Engine as _;
        let bytes: [u8; 32] = self.rng.random();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    pub(crate) fn coll(&self, coll: Coll) -> &BTreeMap<String, Obj> {
        static EMPTY: BTreeMap<String, Obj> = BTreeMap::new();
        self.objects.get(&coll).unwrap_or(&EMPTY)
    }

    pub(crate) fn get(&self, coll: Coll, id: &str) -> Option<&Obj> {
        self.objects.get(&coll)?.get(id)
    }

    /// Inserts or replaces an object and journals the change.
    pub(crate) fn put(&mut self, coll: Coll, id: &str, obj: Obj) {
        self.objects
            .entry(coll)
            .or_default()
            .insert(id.to_string(), obj);
        self.journal_change(coll, id, None);
    }

    /// Removes an object and journals the change.
    pub(crate) fn take(&mut self, coll: Coll, id: &str) -> Option<Obj> {
        let obj = self.objects.get_mut(&coll)?.remove(id)?;
        self.journal_change(coll, id, None);
        Some(obj)
    }

    pub(crate) fn journal_change(&mut self, coll: Coll, id: &str, link: Option<(String, bool)>) {
        self.seq += 1;
        self.journal.push(Change {
            seq: self.seq,
            coll,
            id: id.to_string(),
            link,
        });
    }

    /// Finds a live directory object of any type by id.
    pub(crate) fn directory_object(&self, id: &str) -> Option<(Coll, &Obj)> {
        [
            Coll::Users,
            Coll::Groups,
            Coll::ServicePrincipals,
            Coll::Applications,
            Coll::AdministrativeUnits,
        ]
        .into_iter()
        .find_map(|c| self.get(c, id).map(|o| (c, o)))
    }

    /// Resolves a path key to an id: users also by `userPrincipalName`, applications and service
    /// principals also by `appId='…'`.
    pub(crate) fn resolve_key(&self, coll: Coll, key: &str) -> Option<String> {
        if self.get(coll, key).is_some() {
            return Some(key.to_string());
        }
        let (prop, value) = match key.strip_prefix("appId=") {
            Some(app_id) => ("appId", app_id),
            None if coll == Coll::Users && key.contains('@') => ("userPrincipalName", key),
            None => return None,
        };
        self.coll(coll)
            .iter()
            .find(|(_, o)| {
                o.get(prop)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(value))
            })
            .map(|(id, _)| id.clone())
    }

    pub(crate) fn link_set(&self, kind: LinkKind, id: &str) -> Option<&BTreeSet<String>> {
        self.links.get(&kind)?.get(id)
    }

    /// Adds a link; false when it already existed.
    pub(crate) fn add_link(&mut self, coll: Coll, kind: LinkKind, id: &str, other: &str) -> bool {
        let added = self
            .links
            .entry(kind)
            .or_default()
            .entry(id.to_string())
            .or_default()
            .insert(other.to_string());
        if added && kind == LinkKind::Members {
            self.journal_change(coll, id, Some((other.to_string(), true)));
        }
        added
    }

    /// Removes a link; false when it did not exist.
    pub(crate) fn remove_link(
        &mut self,
        coll: Coll,
        kind: LinkKind,
        id: &str,
        other: &str,
    ) -> bool {
        let removed = self
            .links
            .get_mut(&kind)
            .and_then(|m| m.get_mut(id))
            .is_some_and(|set| set.remove(other));
        if removed && kind == LinkKind::Members {
            self.journal_change(coll, id, Some((other.to_string(), false)));
        }
        removed
    }

    /// Removes every link to or from `id`, returning them as `(kind, holder, other)`.
    pub(crate) fn detach_links(&mut self, id: &str) -> Vec<(LinkKind, String, String)> {
        let mut detached = Vec::new();
        for kind in [LinkKind::Members, LinkKind::Owners] {
            let Some(map) = self.links.get(&kind) else {
                continue;
            };
            if let Some(own) = map.get(id) {
                detached.extend(own.iter().map(|o| (kind, id.to_string(), o.clone())));
            }
            for (holder, set) in map {
                if holder != id && set.contains(id) {
                    detached.push((kind, holder.clone(), id.to_string()));
                }
            }
        }
        for (kind, holder, other) in &detached {
            let coll = self
                .directory_object(holder)
                .map_or(Coll::Groups, |(c, _)| c);
            self.remove_link(coll, *kind, holder, other);
        }
        if let Some(map) = self.links.get_mut(&LinkKind::Members) {
            map.remove(id);
        }
        if let Some(map) = self.links.get_mut(&LinkKind::Owners) {
            map.remove(id);
        }
        detached
    }

    /// Drops recycle-bin and CA deleted items older than the retention window.
    pub(crate) fn purge_expired(&mut self) {
        let cutoff = self.now() - SignedDuration::from_hours(24 * RECYCLE_DAYS);
        let expired: Vec<String> = self
            .recycle_bin
            .iter()
            .filter(|(_, d)| d.deleted_at < cutoff)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(d) = self.recycle_bin.remove(&id) {
                self.journal_change(d.coll, &id, None);
            }
        }
        for items in self.ca_deleted.values_mut() {
            items.retain(|_, (_, at)| *at >= cutoff);
        }
    }

    /// Moves the emulator clock forward (recycle-bin purge, token and delta-link expiry).
    pub fn advance_clock(&mut self, by: SignedDuration) {
        self.clock.advance(by);
        self.purge_expired();
    }
}

/// Formats a time the way Graph does: `2024-05-01T08:30:00Z`.
pub(crate) fn format_time(t: Timestamp) -> String {
    t.round(jiff::Unit::Second)
        .unwrap_or(t)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}
