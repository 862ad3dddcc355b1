//! The capture use case: read a tenant and commit one snapshot (DESIGN §5).
//!
//! The first capture (or `--full`) reads every kind in full: delta kinds with a full delta
//! round (which also yields the cursor for next time), others as paged lists, relationships
//! that delta does not carry (owners, administrative unit members) and contained objects
//! (federated credentials, app role assignments) by expanding their owners' lists — one
//! request per page, never one per object. Later captures resume the delta cursors, re-read
//! the small policy lists, and re-read relationships only of objects that were created or that
//! the audit log names, so their cost follows the changes, not the tenant.
//!
//! Versions stream into the store as they are read; the snapshot row, its version rows, the
//! cursors and the audit records are committed in one transaction at the end, so a capture that
//! fails or is killed leaves no snapshot and no advanced cursor.

mod assemble;
mod audit;
mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Instant;

use futures_util::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use rewind_msgraph::protocol::{BatchRequest, DeltaItem, DeltaRound, FailureKind, Page, Pager};
use rewind_msgraph::{ClientError, GraphClient};
use rewind_store::{
    AuditEntry, Manifest, NewSnapshot, ObjectKey, SnapshotInfo, Store, StoreError, TenantInfo,
    VersionChange,
};
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use assemble::{Built, Entry, Observed};
use source::{EXPAND_CAP, LINKS, PAGE, Source};

/// How to capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureOptions {
    /// Read everything in full even when cursors exist (reconciles anything delta missed).
    pub full: bool,
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureEvent {
    /// Objects of a kind read so far.
    Read {
        /// The kind.
        kind: Kind,
        /// Objects read so far.
        objects: u64,
    },
    /// Everything is read; the snapshot is being committed.
    Committing,
}

/// What a capture did.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureReport {
    /// The snapshot committed.
    pub snapshot: SnapshotInfo,
    /// Every kind was read in full.
    pub full: bool,
    /// Graph requests made.
    pub requests: u64,
    /// Of which answered 429.
    pub throttled: u64,
    /// Requests retried after a transient failure.
    pub retries: u64,
    /// Wall time.
    pub seconds: f64,
    /// Things that did not stop the capture but deserve a look.
    pub warnings: Vec<String>,
}

/// Why a capture failed; nothing was committed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Graph refused or failed a request.
    #[error("reading {what}: {source}{}", advice(.source, .permission))]
    Graph {
        /// What was being read.
        what: String,
        /// The permission that reads it.
        permission: &'static str,
        /// The failure.
        #[source]
        source: Box<ClientError>,
    },
    /// Graph answered with something that is not what the API promises.
    #[error("reading {what}: {problem}")]
    Malformed {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What kind of failure a capture error is, for exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Wrong or missing credentials.
    Authentication,
    /// The app lacks a permission.
    Permission,
    /// An endpoint could not be reached.
    Unreachable,
    /// Anything else.
    Other,
}

impl CaptureError {
    /// The class of failure.
    pub fn class(&self) -> FailureClass {
        match self {
            CaptureError::Graph { source, .. } => class_of(source),
            _ => FailureClass::Other,
        }
    }
}

fn class_of(source: &ClientError) -> FailureClass {
    match source {
        ClientError::Unreachable { .. } => FailureClass::Unreachable,
        ClientError::Certificate(_) => FailureClass::Authentication,
        ClientError::Graph(f) | ClientError::GaveUp { last: f, .. } => {
            // Token endpoint refusals carry OAuth codes (`invalid_client`, …), not a 401.
            if f.kind() == FailureKind::Authentication
                || f.code.starts_with("invalid_")
                || f.code == "unauthorized_client"
            {
                FailureClass::Authentication
            } else if f.kind() == FailureKind::Permission {
                FailureClass::Permission
            } else {
                FailureClass::Other
            }
        }
        ClientError::Malformed { .. } => FailureClass::Other,
    }
}

/// What to do about a failure, appended to its message.
fn advice(source: &ClientError, permission: &str) -> String {
    match class_of(source) {
        FailureClass::Authentication => " — check the tenant id, client id and secret or \
            certificate (REWIND_TENANT_ID, REWIND_CLIENT_ID, REWIND_CLIENT_SECRET or \
            REWIND_CLIENT_CERTIFICATE)"
            .into(),
        FailureClass::Permission => {
            format!(" — grant the app the application permission {permission} (with admin consent)")
        }
        FailureClass::Unreachable => {
            " — check REWIND_GRAPH_URL, REWIND_AUTHORITY_URL and the network".into()
        }
        FailureClass::Other => String::new(),
    }
}

/// One capture's shared state.
struct Run<'a> {
    client: &'a GraphClient,
    store: &'a Store,
    base: &'a Manifest,
    blobs: mpsc::Sender<Vec<(ContentHash, Vec<u8>)>>,
    progress: &'a (dyn Fn(CaptureEvent) + Sync),
}

/// Reads the tenant and commits a snapshot.
pub async fn capture(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    options: CaptureOptions,
    progress: &(dyn Fn(CaptureEvent) + Sync),
) -> Result<CaptureReport, CaptureError> {
    let started = Instant::now();
    let stats_before = client.stats();
    let taken_at = Timestamp::now();
    let base = store.latest(tenant).await?;
    let base_manifest = match &base {
        Some(b) => store.manifest(tenant, b).await?,
        None => Manifest::new(),
    };
    let full = options.full || base.is_none();
    let cursors = if full {
        BTreeMap::new()
    } else {
        store.cursors(tenant).await?
    };
    let (tx, rx) = mpsc::channel(8);
    let writer = tokio::spawn(write_blobs(store.clone(), rx));
    let run = Run {
        client,
        store,
        base: &base_manifest,
        blobs: tx,
        progress,
    };
    let mut warnings = Vec::new();
    let since = store.last_audit_time(tenant).await?;
    let read = run.read_all(full, &cursors, since).await;
    drop(run);
    let written = writer
        .await
        .map_err(|e| StoreError::Corrupt(format!("the blob writer stopped: {e}")))?;
    let Read {
        observed,
        cursors: new_cursors,
        records,
        audit_warning,
    } = read?;
    written?;
    warnings.extend(audit_warning);

    let mut changes: Vec<VersionChange> = observed
        .iter()
        .flat_map(|(kind, seen)| assemble::changes(*kind, &base_manifest, seen))
        .collect();
    audit::attribute(&mut changes, &records);
    progress(CaptureEvent::Committing);
    let stats = client.stats();
    let requests = stats.requests - stats_before.requests;
    let new = NewSnapshot {
        taken_at,
        changes,
        cursors: new_cursors,
        audit: records,
        requests,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    let snapshot = store
        .commit(tenant, base.as_ref(), &base_manifest, &new)
        .await?;
    Ok(CaptureReport {
        snapshot,
        full,
        requests,
        throttled: stats.throttled - stats_before.throttled,
        retries: stats.retries - stats_before.retries,
        seconds: started.elapsed().as_secs_f64(),
        warnings,
    })
}

/// Writes blobs as the readers produce them, in the order they arrive.
async fn write_blobs(
    store: Store,
    mut rx: mpsc::Receiver<Vec<(ContentHash, Vec<u8>)>>,
) -> Result<(), CaptureError> {
    while let Some(batch) = rx.recv().await {
        store.put_blobs(&batch).await?;
    }
    Ok(())
}

/// Everything a capture read.
struct Read {
    observed: BTreeMap<Kind, Observed>,
    cursors: Vec<(Kind, String)>,
    records: Vec<AuditEntry>,
    audit_warning: Option<String>,
}

impl Run<'_> {
    /// Reads every kind; returns what was observed per kind and the new delta links.
    async fn read_all(
        &self,
        full: bool,
        cursors: &BTreeMap<Kind, String>,
        audit_since: Option<Timestamp>,
    ) -> Result<Read, CaptureError> {
        // Phase one: every kind's own objects, and in a full capture the relationships and
        // contained objects. Each is a chain of pages that cannot run in parallel with itself;
        // chains run as many at a time as the client sends requests, longest first, so that
        // the longest chain always has a slot and the capture takes about as long as its
        // requests divided by the concurrency (not as long as the sum of its longest chains).
        let mut chains: Vec<(u64, Chain)> = Kind::ALL
            .into_iter()
            .filter(|k| !matches!(source::source(*k), Source::Contained { .. }))
            .map(|k| (self.pages_of(k, source::source(k), full), Chain::Kind(k)))
            .collect();
        if full {
            for (k, nav) in LINKS {
                chains.push((self.expanded_pages(*k), Chain::Links(*k, nav)));
            }
            for k in Kind::ALL {
                if let Source::Contained { parent, .. } = source::source(k) {
                    chains.push((self.expanded_pages(parent), Chain::Contained(k)));
                }
            }
        }
        chains.sort_by_key(|(pages, _)| std::cmp::Reverse(*pages));
        let runs = chains.into_iter().map(|(_, chain)| {
            let cursor = if full {
                None
            } else {
                cursors.get(&chain.kind())
            };
            self.run_chain(chain, cursor)
        });
        let phase_one = futures_util::stream::iter(runs)
            .buffer_unordered(self.client.concurrency().max(1))
            .try_collect::<Vec<Done>>();
        // The audit log is read alongside: only phase two needs it.
        let audit = async {
            match self.read_audit(audit_since).await {
                Ok(records) => Ok((records, None)),
                Err(e) if e.class() == FailureClass::Permission => Ok((
                    Vec::new(),
                    Some(format!("{e}; changes are stored without attribution")),
                )),
                Err(e) => Err(e),
            }
        };
        let (done, (records, audit_warning)) = tokio::try_join!(phase_one, audit)?;
        let named: BTreeSet<String> = records.iter().flat_map(|r| r.targets.clone()).collect();
        let named = &named;
        let (mut direct, mut links, mut contained) = (Vec::new(), Vec::new(), Vec::new());
        for d in done {
            match d {
                Done::Kind(r) => direct.push(r),
                Done::Links(k, found) => links.push((k, found)),
                Done::Contained(k, seen) => contained.push((k, seen)),
            }
        }

        let mut observed = BTreeMap::new();
        let mut new_cursors = Vec::new();
        let mut held: BTreeMap<Kind, Held> = BTreeMap::new();
        for r in direct {
            if let Some(link) = r.cursor {
                new_cursors.push((r.kind, link));
            }
            if let Some(h) = r.held {
                held.insert(r.kind, h);
            }
            observed.insert(r.kind, r.observed);
        }
        let mut links: BTreeMap<Kind, BTreeMap<String, Vec<String>>> = links.into_iter().collect();

        // Phase two: objects that keep relationships get them and are built. A kind read in
        // full (first capture, `--full`, or an expired cursor) gets its relationships in full.
        // Otherwise relationships are read again for the objects the audit log names, for
        // those a new (or restored) principal owns, and for those that held a principal that
        // went away: Entra drops and restores such links without a record of their own.
        let lifecycle = if full {
            Lifecycle::default()
        } else {
            self.principal_lifecycle(&observed).await?
        };
        for (kind, nav) in LINKS {
            let Some(mut h) = held.remove(kind) else {
                continue;
            };
            let seen = observed.entry(*kind).or_default();
            let found = match links.remove(kind) {
                Some(all) => all,
                None if seen.complete => self.read_links(*kind, nav).await?.1,
                None => {
                    self.refresh_links(*kind, nav, &mut h, seen, named, &lifecycle)
                        .await?
                }
            };
            let whole = seen.complete;
            for (key, mut value) in std::mem::take(&mut h.values) {
                if whole || found.contains_key(&key) {
                    let ids = found.get(&key).cloned().unwrap_or_default();
                    value.insert((*nav).to_string(), Value::from(ids));
                }
                if let Some(members) = h.members.remove(&key) {
                    value.insert("members".into(), Value::from_iter(members));
                }
                let built = assemble::build(*kind, key, &Value::Object(value));
                self.keep(*kind, built, seen).await?;
            }
        }
        for (kind, seen) in contained {
            observed.insert(kind, seen);
        }
        for kind in Kind::ALL {
            let Source::Contained { parent, nav } = source::source(kind) else {
                continue;
            };
            if observed.contains_key(&kind) {
                continue;
            }
            let parent_seen = observed.get(&parent);
            let seen = if parent_seen.is_some_and(|p| p.complete) {
                self.read_contained_full(kind).await?.1
            } else {
                let parents = parent_seen.map(|o| self.touched(parent, o, named));
                self.refresh_contained(kind, parent, nav, parents.unwrap_or_default())
                    .await?
            };
            observed.insert(kind, seen);
        }
        Ok(Read {
            observed,
            cursors: new_cursors,
            records,
            audit_warning,
        })
    }

    /// Runs one chain of pages.
    async fn run_chain(&self, chain: Chain, cursor: Option<&String>) -> Result<Done, CaptureError> {
        Ok(match chain {
            Chain::Kind(k) => Done::Kind(self.read_kind(k, cursor).await?),
            Chain::Links(k, nav) => {
                let (k, found) = self.read_links(k, nav).await?;
                Done::Links(k, found)
            }
            Chain::Contained(k) => {
                let (k, seen) = self.read_contained_full(k).await?;
                Done::Contained(k, seen)
            }
        })
    }

    /// Pages a kind's own read is expected to take, from the previous snapshot's counts (a
    /// first capture guesses by kind: the directory is large, policies are small).
    fn pages_of(&self, kind: Kind, source: Source, full: bool) -> u64 {
        let known = self.count(kind);
        let guess = match kind {
            Kind::User => 100_000,
            Kind::Group => 20_000,
            Kind::Application | Kind::ServicePrincipal => 5_000,
            _ => 1,
        };
        let n = if self.base.is_empty() { guess } else { known };
        match source {
            Source::Delta if !full => 1,
            _ => n.div_ceil(PAGE as u64).max(1),
        }
    }

    /// Pages an expanded list of `kind` is expected to take (100 objects a page).
    fn expanded_pages(&self, kind: Kind) -> u64 {
        let n = if self.base.is_empty() {
            self.pages_of(kind, Source::List, true) * PAGE as u64
        } else {
            self.count(kind)
        };
        n.div_ceil(source::EXPAND_PAGE as u64).max(1)
    }

    /// Objects of `kind` in the previous snapshot.
    fn count(&self, kind: Kind) -> u64 {
        let start = ObjectKey::new(kind, "");
        self.base
            .range(start..)
            .take_while(|(k, _)| k.kind == kind)
            .count() as u64
    }

    /// Stores a built version (unless unchanged) and records it.
    async fn keep(
        &self,
        kind: Kind,
        built: Built,
        seen: &mut Observed,
    ) -> Result<(), CaptureError> {
        let hash = built.canonical.hash();
        if self.base.get(&ObjectKey::new(kind, built.key.as_str())) != Some(&hash) {
            self.send(vec![(hash, built.canonical.bytes().to_vec())])
                .await?;
        }
        seen.entries.insert(
            built.key,
            Entry {
                hash,
                name: built.name,
            },
        );
        Ok(())
    }

    async fn send(&self, blobs: Vec<(ContentHash, Vec<u8>)>) -> Result<(), CaptureError> {
        if blobs.is_empty() {
            return Ok(());
        }
        self.blobs.send(blobs).await.map_err(|_| {
            CaptureError::Store(StoreError::Corrupt("the blob writer stopped early".into()))
        })
    }

    fn graph_error(kind: Kind, source: ClientError) -> CaptureError {
        CaptureError::Graph {
            what: kind_label(kind),
            permission: source::read_permission(kind),
            source: Box::new(source),
        }
    }

    async fn page(&self, kind: Kind, url: &str) -> Result<Page, CaptureError> {
        self.client
            .page(url, PAGE)
            .await
            .map_err(|e| Self::graph_error(kind, e))
    }

    /// Reads one kind's own objects.
    async fn read_kind(
        &self,
        kind: Kind,
        cursor: Option<&String>,
    ) -> Result<KindRead, CaptureError> {
        match source::source(kind) {
            Source::Singleton => {
                let raw = self
                    .client
                    .get(&source::start_url(kind))
                    .await
                    .map_err(|e| Self::graph_error(kind, e))?;
                let mut seen = Observed {
                    complete: true,
                    ..Observed::default()
                };
                let key = assemble::key_of(kind, &raw).unwrap_or_else(|| kind.name().into());
                self.keep(kind, assemble::build(kind, key, &raw), &mut seen)
                    .await?;
                (self.progress)(CaptureEvent::Read { kind, objects: 1 });
                Ok(KindRead {
                    kind,
                    observed: seen,
                    cursor: None,
                    held: None,
                })
            }
            Source::List => {
                let mut seen = Observed {
                    complete: true,
                    ..Observed::default()
                };
                let mut pager = Pager::new(source::start_url(kind));
                while let Some(url) = pager.next().map(str::to_string) {
                    let items = pager.feed(self.page(kind, &url).await?);
                    let mut blobs = Vec::new();
                    for raw in items {
                        let key = assemble::key_of(kind, &raw).ok_or_else(|| no_key(kind))?;
                        let built = assemble::build(kind, key, &raw);
                        self.stage(kind, built, &mut seen, &mut blobs);
                    }
                    self.send(blobs).await?;
                    (self.progress)(CaptureEvent::Read {
                        kind,
                        objects: seen.entries.len() as u64,
                    });
                }
                Ok(KindRead {
                    kind,
                    observed: seen,
                    cursor: None,
                    held: None,
                })
            }
            Source::Delta => self.read_delta(kind, cursor).await,
            Source::Contained { .. } => Ok(KindRead {
                kind,
                observed: Observed::default(),
                cursor: None,
                held: None,
            }),
        }
    }

    /// Adds a built version to a page's blobs (unless unchanged) and records it.
    fn stage(
        &self,
        kind: Kind,
        built: Built,
        seen: &mut Observed,
        blobs: &mut Vec<(ContentHash, Vec<u8>)>,
    ) {
        let hash = built.canonical.hash();
        if self.base.get(&ObjectKey::new(kind, built.key.as_str())) != Some(&hash) {
            blobs.push((hash, built.canonical.bytes().to_vec()));
        }
        seen.entries.insert(
            built.key,
            Entry {
                hash,
                name: built.name,
            },
        );
    }

    /// A delta round: in full from the start URL, or the changes since `cursor`. An expired
    /// cursor (410) falls back to a full round, as Graph asks.
    async fn read_delta(
        &self,
        kind: Kind,
        cursor: Option<&String>,
    ) -> Result<KindRead, CaptureError> {
        match self.delta_round(kind, cursor).await {
            Err(CaptureError::Graph { source, .. })
                if cursor.is_some()
                    && matches!(source.as_ref(), ClientError::Graph(f) if f.status == 410) =>
            {
                tracing::info!(kind = kind.name(), "delta token expired; reading in full");
                self.delta_round(kind, None).await
            }
            other => other,
        }
    }

    async fn delta_round(
        &self,
        kind: Kind,
        cursor: Option<&String>,
    ) -> Result<KindRead, CaptureError> {
        let initial = cursor.is_none();
        let keeps_links = LINKS.iter().any(|(k, _)| *k == kind) || kind == Kind::Group;
        let mut seen = Observed {
            complete: initial,
            ..Observed::default()
        };
        let mut held = Held::default();
        let start = cursor.cloned().unwrap_or_else(|| source::start_url(kind));
        let mut round = DeltaRound::new(start);
        while let Some(url) = round.next().map(str::to_string) {
            let page = self.page(kind, &url).await?;
            let items = round.feed(page).map_err(|e| CaptureError::Malformed {
                what: kind_label(kind),
                problem: e.to_string(),
            })?;
            let mut blobs = Vec::new();
            for item in items {
                match item {
                    DeltaItem::Removed { id, .. } => {
                        held.values.remove(&id);
                        seen.entries.remove(&id);
                        seen.removed.insert(id);
                    }
                    DeltaItem::Upsert(raw) => {
                        let key = assemble::key_of(kind, &raw).ok_or_else(|| no_key(kind))?;
                        seen.removed.remove(&key);
                        let Value::Object(item) = raw else { continue };
                        let mut value = match held.values.remove(&key) {
                            Some(v) => v,
                            None if initial => Map::new(),
                            None => self.previous(kind, &key).await?,
                        };
                        assemble::merge(&mut value, &item);
                        if let Some(Value::Array(entries)) = item.get("members@delta") {
                            let members = held
                                .members
                                .entry(key.clone())
                                .or_insert_with(|| assemble::held_ids(&value, "members"));
                            assemble::apply_member_delta(members, entries);
                        }
                        if keeps_links {
                            held.values.insert(key, value);
                        } else {
                            let built = assemble::build(kind, key, &Value::Object(value));
                            self.stage(kind, built, &mut seen, &mut blobs);
                        }
                    }
                }
            }
            self.send(blobs).await?;
            let read = (seen.entries.len() + held.values.len()) as u64;
            (self.progress)(CaptureEvent::Read {
                kind,
                objects: read,
            });
        }
        let link =
            round
                .delta_link()
                .map(str::to_string)
                .ok_or_else(|| CaptureError::Malformed {
                    what: kind_label(kind),
                    problem: "the delta round ended without a deltaLink".into(),
                })?;
        Ok(KindRead {
            kind,
            observed: seen,
            cursor: Some(link),
            held: keeps_links.then_some(held),
        })
    }

    /// The previous version of an object, as JSON, to merge a delta item into.
    async fn previous(&self, kind: Kind, key: &str) -> Result<Map<String, Value>, CaptureError> {
        let Some(hash) = self.base.get(&ObjectKey::new(kind, key)) else {
            return Ok(Map::new());
        };
        match self.store.version(hash).await? {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    }

    /// Every owner's related ids, by expanding the owners' list (full capture).
    async fn read_links(
        &self,
        kind: Kind,
        nav: &str,
    ) -> Result<(Kind, BTreeMap<String, Vec<String>>), CaptureError> {
        let mut found = BTreeMap::new();
        let mut capped = Vec::new();
        let mut pager = Pager::new(format!("{}&$top={PAGE}", source::links_url(kind, nav)));
        while let Some(url) = pager.next().map(str::to_string) {
            for owner in pager.feed(self.page(kind, &url).await?) {
                let Some(id) = assemble::key_of(kind, &owner) else {
                    continue;
                };
                let ids = assemble::ids(&owner[nav]);
                if ids.len() >= EXPAND_CAP {
                    capped.push(id.clone());
                }
                found.insert(id, ids);
            }
        }
        for id in capped {
            let all = self.relationship(kind, &id, nav).await?;
            found.insert(id, assemble::ids(&Value::Array(all)));
        }
        Ok((kind, found))
    }

    /// One object's relationship in full, following pages.
    async fn relationship(
        &self,
        kind: Kind,
        id: &str,
        nav: &str,
    ) -> Result<Vec<Value>, CaptureError> {
        let mut out = Vec::new();
        let mut pager = Pager::new(source::relationship_url(kind, id, nav));
        while let Some(url) = pager.next().map(str::to_string) {
            match self.client.page(&url, PAGE).await {
                Ok(page) => out.extend(pager.feed(page)),
                // Deleted since it was listed: it has nothing any more.
                Err(ClientError::Graph(f)) if f.kind() == FailureKind::NotFound => break,
                Err(e) => return Err(Self::graph_error(kind, e)),
            }
        }
        Ok(out)
    }

    /// Relationships of many objects, twenty to a `$batch`; a failed or paged answer is read
    /// again on its own (with the client's retries).
    async fn relationships(
        &self,
        kind: Kind,
        ids: &[String],
        nav: &str,
    ) -> Result<BTreeMap<String, Vec<Value>>, CaptureError> {
        let requests: Vec<BatchRequest> = ids
            .iter()
            .map(|id| BatchRequest {
                method: "GET",
                url: source::relationship_url(kind, id, nav),
                body: None,
            })
            .collect();
        let answers = if requests.is_empty() {
            Vec::new()
        } else {
            self.client
                .batch(&requests)
                .await
                .map_err(|e| Self::graph_error(kind, e))?
        };
        let mut out = BTreeMap::new();
        for (id, answer) in ids.iter().zip(answers) {
            let complete = answer.status == 200 && answer.body.get("@odata.nextLink").is_none();
            let items = if complete {
                answer.body["value"].as_array().cloned().unwrap_or_default()
            } else if answer.status == 404 {
                Vec::new()
            } else {
                self.relationship(kind, id, nav).await?
            };
            out.insert(id.clone(), items);
        }
        Ok(out)
    }

    /// Incremental: the relationship of owners that were created or that the audit log names
    /// is read again; the others keep what their previous version holds.
    async fn refresh_links(
        &self,
        kind: Kind,
        nav: &str,
        held: &mut Held,
        seen: &Observed,
        named: &BTreeSet<String>,
        lifecycle: &Lifecycle,
    ) -> Result<BTreeMap<String, Vec<String>>, CaptureError> {
        let mut named = named.clone();
        named.extend(lifecycle.owned_by_new.iter().cloned());
        if !lifecycle.removed.is_empty() {
            named.extend(self.holders_of(kind, nav, held, &lifecycle.removed).await?);
        }
        let named = &named;
        let targets: Vec<String> = self
            .touched(kind, seen, named)
            .into_iter()
            .filter(|id| !seen.removed.contains(id))
            .collect();
        for id in &targets {
            if !held.values.contains_key(id) {
                let prev = self.previous(kind, id).await?;
                if !prev.is_empty() {
                    held.values.insert(id.clone(), prev);
                }
            }
        }
        let targets: Vec<String> = targets
            .into_iter()
            .filter(|id| held.values.contains_key(id))
            .collect();
        Ok(self
            .relationships(kind, &targets, nav)
            .await?
            .into_iter()
            .map(|(id, items)| (id, assemble::ids(&Value::Array(items))))
            .collect())
    }

    /// Objects of `kind` that this capture created, updated, or that the audit log names.
    fn touched(&self, kind: Kind, seen: &Observed, named: &BTreeSet<String>) -> BTreeSet<String> {
        let start = ObjectKey::new(kind, "");
        let known = self
            .base
            .range(start..)
            .take_while(|(k, _)| k.kind == kind)
            .map(|(k, _)| &k.key);
        let mut out: BTreeSet<String> = known.filter(|k| named.contains(*k)).cloned().collect();
        out.extend(
            seen.entries
                .keys()
                .filter(|k| {
                    named.contains(*k) || !self.base.contains_key(&ObjectKey::new(kind, k.as_str()))
                })
                .cloned(),
        );
        out.extend(seen.removed.iter().cloned());
        out
    }

    /// Every contained object, by expanding the parents' list (full capture).
    async fn read_contained_full(&self, kind: Kind) -> Result<(Kind, Observed), CaptureError> {
        let Source::Contained { parent, nav } = source::source(kind) else {
            return Ok((kind, Observed::default()));
        };
        let mut seen = Observed {
            complete: true,
            ..Observed::default()
        };
        let mut capped = Vec::new();
        let mut pager = Pager::new(format!("{}&$top={PAGE}", source::start_url(kind)));
        while let Some(url) = pager.next().map(str::to_string) {
            let mut blobs = Vec::new();
            for p in pager.feed(self.page(kind, &url).await?) {
                let Some(pid) = assemble::key_of(parent, &p) else {
                    continue;
                };
                let children = p[nav].as_array().cloned().unwrap_or_default();
                if children.len() >= EXPAND_CAP {
                    capped.push(pid.clone());
                }
                self.stage_children(kind, &pid, children, &mut seen, &mut blobs)?;
            }
            self.send(blobs).await?;
            (self.progress)(CaptureEvent::Read {
                kind,
                objects: seen.entries.len() as u64,
            });
        }
        for pid in capped {
            let children = self.relationship(parent, &pid, nav).await?;
            let mut blobs = Vec::new();
            self.stage_children(kind, &pid, children, &mut seen, &mut blobs)?;
            self.send(blobs).await?;
        }
        Ok((kind, seen))
    }

    fn stage_children(
        &self,
        kind: Kind,
        parent: &str,
        children: Vec<Value>,
        seen: &mut Observed,
        blobs: &mut Vec<(ContentHash, Vec<u8>)>,
    ) -> Result<(), CaptureError> {
        for mut child in children {
            let id = assemble::key_of(kind, &child).ok_or_else(|| no_key(kind))?;
            if kind == Kind::FederatedIdentityCredential {
                child["application"] = Value::String(parent.to_string());
            }
            let built = assemble::build(kind, assemble::contained_key(parent, &id), &child);
            self.stage(kind, built, seen, blobs);
        }
        Ok(())
    }

    /// Incremental: the contained objects of parents that changed or that the audit log names
    /// are read again; those of removed parents go.
    async fn refresh_contained(
        &self,
        kind: Kind,
        parent: Kind,
        nav: &str,
        parents: BTreeSet<String>,
    ) -> Result<Observed, CaptureError> {
        let mut seen = Observed::default();
        let ids: Vec<String> = parents.into_iter().collect();
        let found = self.relationships(parent, &ids, nav).await?;
        let mut blobs = Vec::new();
        for pid in &ids {
            let prefix = ObjectKey::new(kind, format!("{pid}/"));
            for (k, _) in self
                .base
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.kind == kind && k.key.starts_with(&prefix.key))
            {
                seen.removed.insert(k.key.clone());
            }
            let children = found.get(pid).cloned().unwrap_or_default();
            self.stage_children(kind, pid, children, &mut seen, &mut blobs)?;
        }
        self.send(blobs).await?;
        Ok(seen)
    }

    /// Audit records since `since` (all Graph still has on a first capture); a few minutes of
    /// overlap catch records that arrive late, and the store keeps each record once.
    async fn read_audit(&self, since: Option<Timestamp>) -> Result<Vec<AuditEntry>, CaptureError> {
        let mut url = format!("/auditLogs/directoryAudits?$top={PAGE}");
        if let Some(t) = since {
            let from = t
                .saturating_sub(jiff::SignedDuration::from_mins(10))
                .unwrap_or(t);
            let _ = write!(
                url,
                "&$filter=activityDateTime ge {}",
                from.strftime("%Y-%m-%dT%H:%M:%SZ")
            );
        }
        let mut out = Vec::new();
        let mut pager = Pager::new(url);
        while let Some(next) = pager.next().map(str::to_string) {
            let page =
                self.client
                    .page(&next, PAGE)
                    .await
                    .map_err(|source| CaptureError::Graph {
                        what: "the directory audit log".into(),
                        permission: "AuditLog.Read.All",
                        source: Box::new(source),
                    })?;
            out.extend(pager.feed(page).into_iter().filter_map(audit::entry));
        }
        Ok(out)
    }
}

/// Principals that appeared or went away in this capture.
#[derive(Debug, Default)]
struct Lifecycle {
    /// Users, groups and service principals removed.
    removed: BTreeSet<String>,
    /// What new (or restored) users and service principals own.
    owned_by_new: BTreeSet<String>,
}

impl Run<'_> {
    async fn principal_lifecycle(
        &self,
        observed: &BTreeMap<Kind, Observed>,
    ) -> Result<Lifecycle, CaptureError> {
        let mut out = Lifecycle::default();
        for kind in [Kind::User, Kind::Group, Kind::ServicePrincipal] {
            if let Some(o) = observed.get(&kind) {
                out.removed.extend(o.removed.iter().cloned());
            }
        }
        for kind in [Kind::User, Kind::ServicePrincipal] {
            let Some(o) = observed.get(&kind) else {
                continue;
            };
            let new: Vec<String> = o
                .entries
                .keys()
                .filter(|k| !self.base.contains_key(&ObjectKey::new(kind, k.as_str())))
                .cloned()
                .collect();
            for items in self
                .relationships(kind, &new, "ownedObjects")
                .await?
                .into_values()
            {
                out.owned_by_new.extend(assemble::ids(&Value::Array(items)));
            }
        }
        Ok(out)
    }

    /// Objects of `kind` whose `prop` held one of `gone` (from what was read this time, or
    /// from their previous version).
    async fn holders_of(
        &self,
        kind: Kind,
        prop: &str,
        held: &Held,
        gone: &BTreeSet<String>,
    ) -> Result<Vec<String>, CaptureError> {
        let holds = |v: &Map<String, Value>| {
            assemble::held_ids(v, prop)
                .iter()
                .any(|id| gone.contains(id))
        };
        let mut out: Vec<String> = held
            .values
            .iter()
            .filter(|(_, v)| holds(v))
            .map(|(k, _)| k.clone())
            .collect();
        let start = ObjectKey::new(kind, "");
        for (k, hash) in self.base.range(start..).take_while(|(k, _)| k.kind == kind) {
            if held.values.contains_key(&k.key) {
                continue;
            }
            if let Value::Object(prev) = self.store.version(hash).await?
                && holds(&prev)
            {
                out.push(k.key.clone());
            }
        }
        Ok(out)
    }
}

/// One chain of pages of the first phase.
#[derive(Debug, Clone, Copy)]
enum Chain {
    Kind(Kind),
    Links(Kind, &'static str),
    Contained(Kind),
}

impl Chain {
    fn kind(self) -> Kind {
        match self {
            Chain::Kind(k) | Chain::Links(k, _) | Chain::Contained(k) => k,
        }
    }
}

/// What a chain read.
enum Done {
    Kind(KindRead),
    Links(Kind, BTreeMap<String, Vec<String>>),
    Contained(Kind, Observed),
}

/// Objects read and kept for their relationships before they are built.
#[derive(Debug, Default)]
struct Held {
    values: BTreeMap<String, Map<String, Value>>,
    members: BTreeMap<String, BTreeSet<String>>,
}

/// One kind's own objects as read.
struct KindRead {
    kind: Kind,
    observed: Observed,
    cursor: Option<String>,
    held: Option<Held>,
}

fn kind_label(kind: Kind) -> String {
    format!("{} ({})", kind.name(), kind.graph_path())
}

fn no_key(kind: Kind) -> CaptureError {
    CaptureError::Malformed {
        what: kind_label(kind),
        problem: format!("an object has no '{}'", kind.key_property()),
    }
}
