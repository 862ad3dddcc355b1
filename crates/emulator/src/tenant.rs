//! The state of one emulated tenant and the primitive operations every handler is built from.
//!
//! Objects are stored sparse, keyed by id in `BTreeMap`s so listing and paging are deterministic.
//! Every change to an object or a link is appended to a journal with a sequence number; delta
//! queries are answered from that journal, so their cost follows the number of changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::{SignedDuration, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::Client;
use crate::faults::{Faults, Stats, Throttle};
use crate::resource::{Coll, Singleton};
use crate::route::LinkKind;

/// Days an object stays in the directory recycle bin (and CA deleted items) before it is purged.
pub(crate) const RECYCLE_DAYS: i64 = 30;

/// A stored object: its properties as set, including `id` and, for derived types, `@odata.type`.
pub(crate) type Obj = Map<String, Value>;

/// The stored field that names a federated credential's application (Graph nests credentials
/// under `/applications/{id}`; the emulator keeps them in one collection).
pub(crate) const PARENT: &str = "_parent";

/// A soft-deleted directory object with the links it had, so a restore brings them back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Deleted {
    pub coll: Coll,
    pub obj: Obj,
    pub deleted_at: Timestamp,
    pub links: Vec<(LinkKind, String, String)>,
}

/// One journal entry: an object (or a link on it) changed at `seq`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Change {
    pub seq: u64,
    pub coll: Coll,
    pub id: String,
    /// For link changes on groups: the member (or owner) and whether it was added.
    pub link: Option<(String, bool)>,
    /// The link change is on the group's owners, not its members.
    #[serde(default)]
    pub owners: bool,
}

/// Who is calling: the app of an app-only token, or the user of a delegated one.
#[derive(Debug, Clone)]
pub(crate) enum Actor {
    App { app_id: String, display_name: String, service_principal_id: String },
    User { id: String, display_name: String, user_principal_name: String },
}

impl Actor {
    /// The audit record's `initiatedBy`.
    pub(crate) fn initiated_by(&self) -> Value {
        match self {
            Actor::App { app_id, display_name, service_principal_id } => serde_json::json!({
                "app": {"appId": app_id, "displayName": display_name,
                        "servicePrincipalId": service_principal_id, "servicePrincipalName": display_name},
                "user": null,
            }),
            Actor::User { id, display_name, user_principal_name } => serde_json::json!({
                "app": null,
                "user": {"id": id, "displayName": display_name, "userPrincipalName": user_principal_name,
                         "ipAddress": "203.0.113.10", "userType": "Member"},
            }),
        }
    }
}

/// The tenant's Entra ID licence tier. P1 (Microsoft 365 Business Premium, E3) has
/// Conditional Access but not Privileged Identity Management; P2 (E5) has both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum License {
    /// Entra ID P1.
    P1,
    /// Entra ID P2.
    #[default]
    P2,
}

impl std::str::FromStr for License {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "p1" => Ok(License::P1),
            "p2" => Ok(License::P2),
            _ => Err(format!("unknown licence '{s}'; use p1 or p2")),
        }
    }
}

/// The emulator's clock: real time plus an offset that the admin API moves forward.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Clock {
    offset: SignedDuration,
    /// When set, time stands still at this instant (plus `offset`): tests of time windows
    /// need it, and it makes a run reproducible.
    #[serde(default)]
    frozen_at: Option<Timestamp>,
}

impl Clock {
    pub(crate) fn now(self) -> Timestamp {
        let base = self.frozen_at.unwrap_or_else(Timestamp::now);
        base.saturating_add(self.offset).unwrap_or(Timestamp::MAX)
    }

    pub(crate) fn advance(&mut self, by: SignedDuration) {
        self.offset = self.offset.saturating_add(by);
    }
}

/// One emulated Entra tenant. It serialises (for `--state`) without its derived and run-time
/// parts: the reverse link index, fault settings, counters and throttle windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub(crate) tenant_id: String,
    pub(crate) domain: String,
    pub(crate) objects: BTreeMap<Coll, BTreeMap<String, Obj>>,
    pub(crate) singletons: BTreeMap<Singleton, Obj>,
    pub(crate) links: BTreeMap<LinkKind, BTreeMap<String, BTreeSet<String>>>,
    /// The reverse of `links`: for each object, what links to it. Derived, never saved.
    #[serde(skip)]
    pub(crate) sign_in_names: HashMap<String, String>,
    #[serde(skip)]
    pub(crate) linked_from: BTreeMap<LinkKind, BTreeMap<String, BTreeSet<String>>>,
    pub(crate) recycle_bin: BTreeMap<String, Deleted>,
    pub(crate) ca_deleted: BTreeMap<Coll, BTreeMap<String, (Obj, Timestamp)>>,
    pub(crate) audit: Vec<Obj>,
    pub(crate) journal: Vec<Change>,
    pub(crate) seq: u64,
    pub(crate) clock: Clock,
    #[serde(skip, default = "placeholder_rng")]
    pub(crate) rng: ChaCha8Rng,
    pub(crate) clients: Vec<Client>,
    /// SHA-256 of each secret `addPassword` issued, by the credential's `keyId`: an app created
    /// through Graph signs in with its own secret, as in Entra (which keeps secrets hashed too).
    #[serde(default)]
    pub(crate) issued_secrets: BTreeMap<String, String>,
    pub(crate) signing_key: [u8; 32],
    /// Registered authentication methods per user (`/users/{id}/authentication/methods`).
    pub(crate) auth_methods: BTreeMap<String, Vec<Obj>>,
    /// What each scenario did, once it ran.
    pub(crate) scenarios: BTreeMap<String, crate::report::ScenarioReport>,
    /// The Entra ID licence tier, which decides what Graph serves.
    #[serde(default)]
    pub(crate) license: License,
    #[serde(skip)]
    pub(crate) faults: Faults,
    #[serde(skip)]
    pub(crate) stats: Stats,
    #[serde(skip)]
    pub(crate) throttle: Throttle,
    /// When objects created through the API were created, for replication lag.
    #[serde(skip)]
    pub(crate) created_at: HashMap<String, Timestamp>,
    /// Requests refused because of replication lag (counted where only `&self` is at hand).
    #[serde(skip)]
    pub(crate) lag_hits: Counter,
}

impl Tenant {
    /// An empty tenant; [`crate::seed`] fills it.
    pub(crate) fn empty(seed: u64, tenant_id: String, domain: String) -> Tenant {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let signing_key: [u8; 32] = rng.random();
        Tenant {
            tenant_id,
            domain,
            objects: BTreeMap::new(),
            singletons: BTreeMap::new(),
            links: BTreeMap::new(),
            linked_from: BTreeMap::new(),
            sign_in_names: HashMap::new(),
            recycle_bin: BTreeMap::new(),
            ca_deleted: BTreeMap::new(),
            audit: Vec::new(),
            journal: Vec::new(),
            seq: 0,
            clock: Clock::default(),
            rng,
            clients: Vec::new(),
            issued_secrets: BTreeMap::new(),
            signing_key,
            auth_methods: BTreeMap::new(),
            scenarios: BTreeMap::new(),
            license: License::default(),
            faults: Faults::default(),
            stats: Stats::default(),
            throttle: Throttle::default(),
            created_at: HashMap::new(),
            lag_hits: Counter::default(),
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

    /// Rebuilds what a saved tenant does not carry: the reverse link index and a generator
    /// seeded from the saved state, so ids keep coming from a deterministic stream.
    pub(crate) fn after_load(&mut self) {
        let mut reseed = [0u8; 8];
        reseed.copy_from_slice(&self.signing_key[..8]);
        self.rng = ChaCha8Rng::seed_from_u64(u64::from_le_bytes(reseed) ^ self.seq);
        let mut index: BTreeMap<LinkKind, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (kind, map) in &self.links {
            for (holder, set) in map {
                for other in set {
                    index
                        .entry(*kind)
                        .or_default()
                        .entry(other.clone())
                        .or_default()
                        .insert(holder.clone());
                }
            }
        }
        self.linked_from = index;
        let users: Vec<(String, Obj)> = self
            .coll(Coll::Users)
            .iter()
            .map(|(id, o)| (id.clone(), o.clone()))
            .chain(
                self.recycle_bin
                    .iter()
                    .filter(|(_, d)| d.coll == Coll::Users)
                    .map(|(id, d)| (id.clone(), d.obj.clone())),
            )
            .collect();
        for (id, o) in users {
            self.index_sign_in_name(&id, &o);
        }
    }

    /// The number of links of a kind (group memberships, ownerships).
    pub fn link_count(&self, kind: LinkKind) -> usize {
        self.links.get(&kind).map_or(0, |m| m.values().map(BTreeSet::len).sum())
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
    /// The emulator's time as audit records carry it (sub-second).
    pub(crate) fn now_precise_string(&self) -> String {
        format_precise_time(self.now())
    }

    pub(crate) fn now_string(&self) -> String {
        format_time(self.now())
    }

    /// A fresh random GUID from the tenant's seeded generator (deterministic per seed).
    pub(crate) fn new_guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
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
        if coll == Coll::Users {
            self.index_sign_in_name(id, &obj);
        }
        self.objects.entry(coll).or_default().insert(id.to_string(), obj);
        self.journal_change(coll, id, None);
    }

    fn index_sign_in_name(&mut self, id: &str, obj: &Obj) {
        if let Some(upn) = obj.get("userPrincipalName").and_then(Value::as_str) {
            self.sign_in_names.insert(upn.to_ascii_lowercase(), id.to_string());
        }
    }

    /// The user, live or in the recycle bin, that holds a sign-in name. The index may hold
    /// stale entries (a renamed or purged user); they are checked against the object here.
    pub(crate) fn sign_in_name_owner(&self, upn: &str) -> Option<&str> {
        let owner = self.sign_in_names.get(&upn.to_ascii_lowercase())?;
        let holds = |o: &Obj| {
            o.get("userPrincipalName")
                .and_then(Value::as_str)
                .is_some_and(|u| u.eq_ignore_ascii_case(upn))
        };
        let live = self.get(Coll::Users, owner).is_some_and(holds);
        let binned =
            self.recycle_bin.get(owner).is_some_and(|d| d.coll == Coll::Users && holds(&d.obj));
        (live || binned).then_some(owner.as_str())
    }

    /// Removes an object and journals the change.
    pub(crate) fn take(&mut self, coll: Coll, id: &str) -> Option<Obj> {
        let obj = self.objects.get_mut(&coll)?.remove(id)?;
        self.journal_change(coll, id, None);
        Some(obj)
    }

    pub(crate) fn journal_change(&mut self, coll: Coll, id: &str, link: Option<(String, bool)>) {
        self.journal_link(coll, id, link, false);
    }

    fn journal_link(&mut self, coll: Coll, id: &str, link: Option<(String, bool)>, owners: bool) {
        self.seq += 1;
        self.journal.push(Change { seq: self.seq, coll, id: id.to_string(), link, owners });
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
            None if coll == Coll::Users && key.contains('@') => {
                let owner = self.sign_in_name_owner(key)?;
                return self.get(coll, owner).map(|_| owner.to_string());
            }
            None => return None,
        };
        self.coll(coll)
            .iter()
            .find(|(_, o)| {
                o.get(prop).and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(value))
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
        if added {
            self.linked_from
                .entry(kind)
                .or_default()
                .entry(other.to_string())
                .or_default()
                .insert(id.to_string());
            match kind {
                LinkKind::Members => self.journal_change(coll, id, Some((other.to_string(), true))),
                // Group delta tracks owners when they are selected (group-delta.md).
                LinkKind::Owners if coll == Coll::Groups => {
                    self.journal_link(coll, id, Some((other.to_string(), true)), true);
                }
                LinkKind::Owners => {}
            }
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
        if removed {
            if let Some(holders) = self.linked_from.get_mut(&kind).and_then(|m| m.get_mut(other)) {
                holders.remove(id);
            }
            match kind {
                LinkKind::Members => {
                    self.journal_change(coll, id, Some((other.to_string(), false)));
                }
                LinkKind::Owners if coll == Coll::Groups => {
                    self.journal_link(coll, id, Some((other.to_string(), false)), true);
                }
                LinkKind::Owners => {}
            }
        }
        removed
    }

    /// The objects that link to `id` (the groups it is a member of, the objects it owns).
    pub(crate) fn holders_of(&self, kind: LinkKind, id: &str) -> Vec<String> {
        self.linked_from
            .get(&kind)
            .and_then(|m| m.get(id))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes every link to or from `id`, returning them as `(kind, holder, other)`.
    pub(crate) fn detach_links(&mut self, id: &str) -> Vec<(LinkKind, String, String)> {
        let mut detached = Vec::new();
        for kind in [LinkKind::Members, LinkKind::Owners] {
            if let Some(own) = self.link_set(kind, id) {
                detached.extend(own.iter().map(|o| (kind, id.to_string(), o.clone())));
            }
            detached.extend(
                self.holders_of(kind, id)
                    .into_iter()
                    .filter(|h| h != id)
                    .map(|h| (kind, h, id.to_string())),
            );
        }
        for (kind, holder, other) in &detached {
            let coll = self.directory_object(holder).map_or(Coll::Groups, |(c, _)| c);
            self.remove_link(coll, *kind, holder, other);
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

    /// True while an object created through the API is still replicating and so invisible.
    pub(crate) fn is_lagging(&self, id: &str) -> bool {
        let lag = self.faults.replication_lag_ms;
        if lag == 0 {
            return false;
        }
        self.created_at.get(id).is_some_and(|at| {
            self.now().as_millisecond() - at.as_millisecond()
                < i64::try_from(lag).unwrap_or(i64::MAX)
        })
    }

    /// [`Tenant::is_lagging`], counting a refusal in the stats when it is.
    pub(crate) fn refuse_lagging(&self, id: &str) -> bool {
        let lagging = self.is_lagging(id);
        if lagging {
            self.lag_hits.bump();
        }
        lagging
    }

    /// The current fault settings.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the fault settings.
    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    /// Sets the licence tier.
    pub fn set_license(&mut self, license: License) {
        self.license = license;
    }

    /// The request counters, with replication-lag refusals folded in.
    pub fn stats(&self) -> Stats {
        Stats { lagged: self.stats.lagged + self.lag_hits.get(), ..self.stats.clone() }
    }

    /// Sets every counter back to zero.
    pub fn reset_stats(&mut self) {
        self.stats = Stats::default();
        self.lag_hits = Counter::default();
    }

    /// Stops (or restarts) the emulator clock; while stopped only [`Tenant::advance_clock`]
    /// moves it.
    pub fn freeze_clock(&mut self, frozen: bool) {
        let now = self.now();
        self.clock = if frozen {
            Clock { offset: SignedDuration::ZERO, frozen_at: Some(now) }
        } else {
            Clock { offset: now.duration_since(Timestamp::now()), frozen_at: None }
        };
    }
}

/// A JSON object literal as a map (anything else is empty).
pub(crate) fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A counter bumped where only `&Tenant` is at hand (a refusal noticed while resolving a
/// key); atomic so that the tenant stays `Sync`.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Clone for Counter {
    fn clone(&self) -> Self {
        Counter(AtomicU64::new(self.get()))
    }
}

/// The generator a loaded tenant starts with until [`Tenant::after_load`] reseeds it.
fn placeholder_rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(0)
}

/// Formats a time the way Graph does: `2024-05-01T08:30:00Z`.
/// A time as Graph writes audit records' `activityDateTime`: seven fractional digits
/// (`2018-01-09T17:50:41.7329049Z`, graph-api.md §2.18), so records seconds apart keep their
/// order and their place between two captures.
pub(crate) fn format_precise_time(t: Timestamp) -> String {
    let ticks = t.subsec_nanosecond() / 100;
    format!("{}.{ticks:07}Z", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

pub(crate) fn format_time(t: Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target keeps a seeded tenant in a `static`; a tenant must stay shareable.
    #[test]
    fn a_tenant_is_send_and_sync() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Tenant>();
    }
}
