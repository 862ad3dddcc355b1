//! Reading a kind's own objects: singletons, paged lists and delta rounds, streamed into the
//! store as they arrive; and the audit log.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use rewind_msgraph::ClientError;
use rewind_msgraph::protocol::{BatchRequest, DeltaItem, DeltaRound, Page, Pager};
use rewind_store::{AuditEntry, ObjectKey, StoreError};
use serde_json::{Map, Value};

use super::assemble::{self, Built, Entry, Observed};
use super::source::{self, LINKS, PAGE, Source};
use super::{CaptureError, CaptureEvent, Run, audit, kind_label, malformed, no_key};

impl Run<'_> {
    /// Stores a built version (unless unchanged) and records it.
    pub(super) async fn keep(
        &self,
        kind: Kind,
        built: Built,
        seen: &mut Observed,
    ) -> Result<(), CaptureError> {
        let mut blobs = Vec::new();
        self.stage(kind, built, seen, &mut blobs);
        self.send(blobs).await
    }

    /// Hands blobs to the writer task.
    pub(super) async fn send(
        &self,
        blobs: Vec<(ContentHash, Vec<u8>)>,
    ) -> Result<(), CaptureError> {
        if blobs.is_empty() {
            return Ok(());
        }
        self.blobs.send(blobs).await.map_err(|_| {
            CaptureError::Store(StoreError::Corrupt("the blob writer stopped early".into()))
        })
    }

    pub(super) fn graph_error(kind: Kind, source: ClientError) -> CaptureError {
        CaptureError::Graph {
            what: kind_label(kind),
            permission: source::read_permission(kind),
            source: Box::new(source),
        }
    }

    pub(super) async fn page(&self, kind: Kind, url: &str) -> Result<Page, CaptureError> {
        self.client.page(url, PAGE).await.map_err(|e| Self::graph_error(kind, e))
    }

    /// Reads one kind's own objects (and those it carries inline).
    pub(super) async fn read_kind(
        &self,
        kind: Kind,
        cursor: Option<&String>,
    ) -> Result<Vec<KindRead>, CaptureError> {
        match source::source(kind) {
            Source::Singleton => {
                let raw = self
                    .client
                    .get(&source::start_url(kind))
                    .await
                    .map_err(|e| Self::graph_error(kind, e))?;
                self.singleton_from(kind, &raw).await
            }
            Source::List => {
                let read = || async {
                    let first = self.page(kind, &source::start_url(kind)).await?;
                    self.list_from(kind, first).await
                };
                Ok(vec![self.restarting(read).await?])
            }
            Source::Delta => Ok(vec![self.read_delta(kind, cursor).await?]),
            Source::Contained { .. } | Source::Protected | Source::Inline { .. } => Ok(Vec::new()),
        }
    }

    /// Singletons and policy lists: their first pages in one `$batch` (they are small, and a
    /// round trip each would be most of an incremental capture's requests). An answer that is
    /// not a success inside the batch (throttled, failed, refused) is read again on its own,
    /// with the client's retries and a typed error.
    pub(super) async fn read_small(&self, kinds: &[Kind]) -> Result<Vec<KindRead>, CaptureError> {
        let Some(first) = kinds.first() else {
            return Ok(Vec::new());
        };
        let requests: Vec<BatchRequest> = kinds
            .iter()
            .map(|k| BatchRequest { method: "GET", url: source::start_url(*k), body: None })
            .collect();
        let answers = self.client.batch(&requests).await.map_err(|e| CaptureError::Graph {
            what: "the policies and settings ($batch)".into(),
            permission: source::read_permission(*first),
            source: Box::new(e),
        })?;
        let mut out = Vec::with_capacity(kinds.len());
        for (kind, answer) in kinds.iter().copied().zip(answers) {
            match (answer.status, source::source(kind)) {
                (200, Source::Singleton) => {
                    out.extend(self.singleton_from(kind, &answer.body).await?);
                }
                (200, Source::List) => match Page::parse(answer.body.to_string().as_bytes()) {
                    Ok(page) => match self.list_from(kind, page).await {
                        // A later page's token expired: the list is read again on its own.
                        Err(CaptureError::Graph { source, .. }) if is_resync(&source) => {
                            out.extend(self.read_kind(kind, None).await?);
                        }
                        read => out.push(read?),
                    },
                    Err(e) => {
                        return Err(CaptureError::Malformed {
                            what: kind_label(kind),
                            problem: e.to_string(),
                        });
                    }
                },
                _ => out.extend(self.read_or_unavailable(kind).await?),
            }
        }
        Ok(out)
    }

    /// Reads a small kind on its own; a kind the tenant is not licensed for (or that Graph
    /// does not offer here) is recorded as unavailable instead of failing the capture — a P1
    /// tenant has no PIM, and must still be captured.
    async fn read_or_unavailable(&self, kind: Kind) -> Result<Vec<KindRead>, CaptureError> {
        match self.read_kind(kind, None).await {
            Err(CaptureError::Graph { source, .. }) if unavailable(&source).is_some() => {
                tracing::warn!(kind = kind.name(), error = %source, "the kind is not available in this tenant");
                Ok(vec![KindRead {
                    kind,
                    observed: Observed { unavailable: unavailable(&source), ..Observed::default() },
                    cursor: None,
                    held: None,
                }])
            }
            other => other,
        }
    }

    /// A singleton, and every kind it carries inline.
    async fn singleton_from(&self, kind: Kind, raw: &Value) -> Result<Vec<KindRead>, CaptureError> {
        let mut seen = Observed { complete: true, ..Observed::default() };
        let key = assemble::key_of(kind, raw).unwrap_or_else(|| kind.name().into());
        self.keep(kind, assemble::build(kind, key, raw), &mut seen).await?;
        (self.progress)(CaptureEvent::Read { kind, objects: 1 });
        let mut out = vec![KindRead { kind, observed: seen, cursor: None, held: None }];
        for inline in Kind::ALL {
            if let Source::Inline { parent, property } = source::source(inline)
                && parent == kind
            {
                out.push(self.inline_from(inline, property, raw).await?);
            }
        }
        Ok(out)
    }

    /// The objects a parent carries in `property`: all of them, so the kind is read in full.
    async fn inline_from(
        &self,
        kind: Kind,
        property: &str,
        parent: &Value,
    ) -> Result<KindRead, CaptureError> {
        let Some(items) = parent.get(property).and_then(Value::as_array) else {
            return Err(CaptureError::Malformed {
                what: kind_label(kind),
                problem: format!("the parent object carries no '{property}' array"),
            });
        };
        let mut seen = Observed { complete: true, ..Observed::default() };
        let mut blobs = Vec::new();
        for raw in items {
            let key = assemble::key_of(kind, raw).ok_or_else(|| no_key(kind))?;
            self.stage(kind, assemble::build(kind, key, raw), &mut seen, &mut blobs);
        }
        self.send(blobs).await?;
        (self.progress)(CaptureEvent::Read { kind, objects: seen.entries.len() as u64 });
        Ok(KindRead { kind, observed: seen, cursor: None, held: None })
    }

    /// A list from its first page on, following `@odata.nextLink`.
    async fn list_from(&self, kind: Kind, first: Page) -> Result<KindRead, CaptureError> {
        let mut seen = Observed { complete: true, ..Observed::default() };
        let mut page = Some(first);
        let mut pager = Pager::new(String::new());
        while let Some(current) = page.take() {
            let items = pager.feed(current).map_err(|e| malformed(kind, &e))?;
            let mut blobs = Vec::new();
            for raw in items {
                let key = assemble::key_of(kind, &raw).ok_or_else(|| no_key(kind))?;
                let built = assemble::build(kind, key, &raw);
                self.stage(kind, built, &mut seen, &mut blobs);
            }
            self.send(blobs).await?;
            (self.progress)(CaptureEvent::Read { kind, objects: seen.entries.len() as u64 });
            if let Some(url) = pager.next().map(str::to_string) {
                page = Some(self.page(kind, &url).await?);
            }
        }
        Ok(KindRead { kind, observed: seen, cursor: None, held: None })
    }

    /// Adds a built version to a page's blobs (unless unchanged) and records it.
    pub(super) fn stage(
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
        seen.entries.insert(built.key, Entry { hash, name: built.name });
    }

    /// A delta round: in full from the start URL, or the changes since `cursor`. A cursor or
    /// page token Graph no longer knows (410, `syncStateNotFound`, an expired page token — see
    /// [`rewind_msgraph::protocol::GraphFailure::is_resync`]) starts the kind again in full,
    /// as Graph asks; the full round then restarts on its own expired page tokens
    /// ([`Run::restarting`]) — a lost cursor is not one of its attempts.
    pub(super) async fn read_delta(
        &self,
        kind: Kind,
        cursor: Option<&String>,
    ) -> Result<KindRead, CaptureError> {
        if let Some(cursor) = cursor {
            match self.delta_round(kind, Some(cursor)).await {
                Err(CaptureError::Graph { source, what, .. }) if is_resync(&source) => {
                    tracing::info!(%what, error = %source, "Graph lost the delta round's state; reading the kind in full");
                }
                other => return other,
            }
        }
        self.restarting(|| self.delta_round(kind, None)).await
    }

    pub(super) async fn delta_round(
        &self,
        kind: Kind,
        cursor: Option<&String>,
    ) -> Result<KindRead, CaptureError> {
        let initial = cursor.is_none();
        let keeps_links =
            LINKS.iter().any(|(k, _)| *k == kind) || !source::delta_links(kind).is_empty();
        let mut seen = Observed { complete: initial, ..Observed::default() };
        let mut held = Held::default();
        let start = cursor.cloned().unwrap_or_else(|| source::start_url(kind));
        let mut round = DeltaRound::new(start);
        while let Some(url) = round.next().map(str::to_string) {
            let page = self.page(kind, &url).await?;
            let items = round.feed(page).map_err(|e| malformed(kind, &e))?;
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
                        for nav in source::delta_links(kind) {
                            if let Some(Value::Array(entries)) = item.get(&format!("{nav}@delta")) {
                                let ids = held
                                    .links_mut(nav)
                                    .entry(key.clone())
                                    .or_insert_with(|| assemble::held_ids(&value, nav));
                                // A large object comes again on the next page with more of its
                                // links: the set grows across its appearances.
                                assemble::apply_member_delta(ids, entries);
                            }
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
            (self.progress)(CaptureEvent::Read { kind, objects: read });
        }
        let link =
            round.delta_link().map(str::to_string).ok_or_else(|| CaptureError::Malformed {
                what: kind_label(kind),
                problem: "the delta round ended without a deltaLink".into(),
            })?;
        Ok(KindRead { kind, observed: seen, cursor: Some(link), held: keeps_links.then_some(held) })
    }

    /// Runs a paged read, and again from its first page when Graph lost the page token it
    /// continued from (`Directory_ExpiredPageToken`: next links of long reads expire), at most
    /// [`RESYNC_ATTEMPTS`] times. What the failed attempt read is dropped with it (blobs it
    /// stored are content-addressed and harmless).
    pub(super) async fn restarting<T, Fut>(&self, read: impl Fn() -> Fut) -> Result<T, CaptureError>
    where
        Fut: Future<Output = Result<T, CaptureError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match read().await {
                Err(CaptureError::Graph { source, what, .. })
                    if attempt < RESYNC_ATTEMPTS && is_resync(&source) =>
                {
                    tracing::info!(%what, error = %source, "Graph lost the read's state; reading again from the start");
                }
                other => return other,
            }
        }
    }

    /// The previous version of an object, as JSON, to merge a delta item into.
    pub(super) async fn previous(
        &self,
        kind: Kind,
        key: &str,
    ) -> Result<Map<String, Value>, CaptureError> {
        let Some(hash) = self.base.get(&ObjectKey::new(kind, key)) else {
            return Ok(Map::new());
        };
        match self.store.version(hash).await? {
            Value::Object(m) => Ok(m),
            _ => Ok(Map::new()),
        }
    }

    /// Audit records since `since` (all Graph still has on a first capture); a few minutes of
    /// overlap catch records that arrive late, and the store keeps each record once.
    pub(super) async fn read_audit(
        &self,
        since: Option<Timestamp>,
    ) -> Result<Vec<AuditEntry>, CaptureError> {
        let mut url = format!("/auditLogs/directoryAudits?$top={PAGE}");
        if let Some(t) = since {
            let from = t.saturating_sub(jiff::SignedDuration::from_mins(10)).unwrap_or(t);
            let _ =
                write!(url, "&$filter=activityDateTime ge {}", from.strftime("%Y-%m-%dT%H:%M:%SZ"));
        }
        let mut out = Vec::new();
        let mut pager = Pager::new(url);
        while let Some(next) = pager.next().map(str::to_string) {
            let page =
                self.client.page(&next, PAGE).await.map_err(|source| CaptureError::Graph {
                    what: "the directory audit log".into(),
                    permission: "AuditLog.Read.All",
                    source: Box::new(source),
                })?;
            let records = pager.feed(page).map_err(|e| CaptureError::Malformed {
                what: "the directory audit log (/auditLogs/directoryAudits)".into(),
                problem: e.to_string(),
            })?;
            out.extend(records.into_iter().filter_map(audit::entry));
        }
        Ok(out)
    }
}

/// Whether a failure says the tenant cannot have the kind, rather than that the app may not
/// read it: licence codes (`AadPremiumLicenseRequired` for PIM without P2, documented in the
/// PIM API's error list) and a feature Graph does not offer in the tenant.
pub(super) fn unavailable(e: &ClientError) -> Option<rewind_store::Unavailable> {
    let ClientError::Graph(f) = e else {
        return None;
    };
    let code = f.code.to_ascii_lowercase();
    if code.contains("license") || code.contains("nonpremium") {
        Some(rewind_store::Unavailable::LicenseRequired)
    } else if f.status == 400 && code.contains("featurenotenabled") {
        Some(rewind_store::Unavailable::NotOffered)
    } else {
        None
    }
}

/// Attempts at a read whose page tokens Graph keeps expiring before it is given up: enough for
/// a long read on a busy service, few enough that a server expiring every token fails the
/// capture with its error instead of holding it.
const RESYNC_ATTEMPTS: u32 = 5;

/// Graph lost the state a read continued from: start again (see [`rewind_msgraph::protocol::GraphFailure::is_resync`]).
pub(super) fn is_resync(e: &ClientError) -> bool {
    matches!(e, ClientError::Graph(f) if f.is_resync())
}

/// Objects read and kept for their relationships before they are built.
#[derive(Debug, Default)]
pub(super) struct Held {
    pub(super) values: BTreeMap<String, Map<String, Value>>,
    pub(super) members: BTreeMap<String, BTreeSet<String>>,
    /// Owners from `owners@delta` (groups, whose delta tracks them when selected).
    pub(super) owners: BTreeMap<String, BTreeSet<String>>,
}

impl Held {
    pub(super) fn links_mut(&mut self, nav: &str) -> &mut BTreeMap<String, BTreeSet<String>> {
        if nav == "owners" { &mut self.owners } else { &mut self.members }
    }
}

/// One kind's own objects as read.
pub(super) struct KindRead {
    pub(super) kind: Kind,
    pub(super) observed: Observed,
    pub(super) cursor: Option<String>,
    pub(super) held: Option<Held>,
}
