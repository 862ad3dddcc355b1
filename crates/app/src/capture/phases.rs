//! The two phases of reading: every kind's own objects (chains of pages, scheduled longest
//! first), then the relationships of the objects that keep them.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use rewind_model::Kind;
use rewind_store::ObjectKey;
use serde_json::Value;

use super::assemble::{self, Observed};
use super::objects::{Held, KindRead};
use super::relations::Lifecycle;
use super::source::{self, LINKS, PAGE, Source};

/// Versions handed to the blob writer at once when they are built outside a page.
const BLOB_BATCH: usize = 500;
use super::{CaptureError, FailureClass, Read, Run};

impl Run<'_> {
    /// Reads every kind; returns what was observed per kind and the new delta links.
    pub(super) async fn read_all(
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
            .filter(|k| matches!(source::source(*k), Source::Delta))
            .map(|k| (self.pages_of(k, source::source(k), full), Chain::Kind(k)))
            .collect();
        chains.push((1, Chain::Small));
        if full {
            for (k, nav) in LINKS {
                chains.push((self.expanded_pages(*k), Chain::Links(*k, nav)));
            }
        }
        // Federated credentials and app role assignments are read in full by every capture,
        // not only for the objects the audit log names: the log is minutes late, so it cannot
        // vouch for the last minutes before any capture, and those are the minutes an
        // attacker's credential matters most (docs/design/capture.md, "Contained objects").
        for k in Kind::ALL {
            if let Source::Contained { parent, .. } = source::source(k) {
                chains.push((self.expanded_pages(parent), Chain::Contained(k)));
            }
        }
        chains.sort_by_key(|(pages, _)| std::cmp::Reverse(*pages));
        let runs = chains.into_iter().map(|(_, chain)| {
            let cursor = match chain {
                Chain::Kind(k) if !full => cursors.get(&k),
                _ => None,
            };
            self.run_chain(chain, cursor)
        });
        let phase_one = futures_util::stream::iter(runs)
            .buffer_unordered(self.client.concurrency().max(1))
            .try_collect::<Vec<Done>>();
        // The audit log is read alongside: only phase two needs it.
        let audit = async {
            match self.restarting(|| self.read_audit(audit_since)).await {
                Ok(records) => Ok((records, None)),
                Err(e) if e.class() == FailureClass::Permission => {
                    Ok((Vec::new(), Some(format!("{e}; changes are stored without attribution"))))
                }
                Err(e) => Err(e),
            }
        };
        let (done, (records, audit_warning)) = tokio::try_join!(phase_one, audit)?;
        let named: BTreeSet<String> = records.iter().flat_map(|r| r.targets.clone()).collect();
        let observed = self.phase_two(full, done, &named).await?;
        Ok(Read { observed: observed.0, cursors: observed.1, records, audit_warning })
    }

    /// Phase two: objects that keep relationships get them and are built. A kind read in full
    /// (first capture, `--full`, or an expired cursor) gets its relationships in full.
    /// Otherwise relationships are read again for the objects the audit log names, for those a
    /// new (or restored) principal owns, and for those that held a principal that went away:
    /// Entra drops and restores such links without a record of their own.
    async fn phase_two(
        &self,
        full: bool,
        done: Vec<Done>,
        named: &BTreeSet<String>,
    ) -> Result<(BTreeMap<Kind, Observed>, Vec<(Kind, String)>), CaptureError> {
        let mut observed = BTreeMap::new();
        let mut cursors = Vec::new();
        let mut held: BTreeMap<Kind, Held> = BTreeMap::new();
        let mut links: BTreeMap<Kind, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for d in done {
            match d {
                Done::Kinds(reads) => {
                    for r in reads {
                        cursors.extend(
                            r.cursor.map(|link| (r.kind, source::tag_cursor(r.kind, &link))),
                        );
                        if let Some(h) = r.held {
                            held.insert(r.kind, h);
                        }
                        observed.insert(r.kind, r.observed);
                    }
                }
                Done::Links(k, found) => {
                    links.insert(k, found);
                }
                Done::Contained(k, seen) => {
                    observed.insert(k, seen);
                }
            }
        }
        let lifecycle =
            if full { Lifecycle::default() } else { self.principal_lifecycle(&observed).await? };
        for (kind, nav) in LINKS {
            let Some(mut h) = held.remove(kind) else {
                continue;
            };
            let seen = observed.entry(*kind).or_default();
            let found = match links.remove(kind) {
                Some(all) => all,
                None if seen.complete => self.restarting(|| self.read_links(*kind, nav)).await?.1,
                None => self.refresh_links(*kind, nav, &mut h, seen, named, &lifecycle).await?,
            };
            self.build_held(*kind, Some((nav, &found)), h, seen).await?;
        }
        // Groups and administrative units got their links with their own delta round.
        for (kind, h) in held {
            let seen = observed.entry(kind).or_default();
            self.build_held(kind, None, h, seen).await?;
        }
        Ok((observed, cursors))
    }

    /// Builds held objects with their expanded relationship (all of them when the kind was read
    /// in full, else those in `found`) and the links their delta carried, and stores them.
    async fn build_held(
        &self,
        kind: Kind,
        expanded: Option<(&str, &BTreeMap<String, Vec<String>>)>,
        mut held: Held,
        seen: &mut Observed,
    ) -> Result<(), CaptureError> {
        let whole = seen.complete;
        let mut blobs = Vec::new();
        for (key, mut value) in std::mem::take(&mut held.values) {
            if let Some((nav, found)) = expanded
                && (whole || found.contains_key(&key))
            {
                let ids = found.get(&key).cloned().unwrap_or_default();
                value.insert(nav.to_string(), Value::from(ids));
            }
            for nav in source::delta_links(kind) {
                match held.links_mut(nav).remove(&key) {
                    Some(ids) => value.insert((*nav).to_string(), Value::from_iter(ids)),
                    // A round in full that named none: there are none.
                    None if whole => value.insert((*nav).to_string(), Value::Array(Vec::new())),
                    // A later round without the annotation: the previous links stand.
                    None => None,
                };
            }
            let built = assemble::build(kind, key, &Value::Object(value));
            self.stage(kind, built, seen, &mut blobs);
            if blobs.len() >= BLOB_BATCH {
                self.send(std::mem::take(&mut blobs)).await?;
            }
        }
        self.send(blobs).await
    }

    /// Runs one chain of pages.
    pub(super) async fn run_chain(
        &self,
        chain: Chain,
        cursor: Option<&String>,
    ) -> Result<Done, CaptureError> {
        Ok(match chain {
            Chain::Kind(k) => Done::Kinds(self.read_kind(k, cursor).await?),
            Chain::Small => {
                let kinds: Vec<Kind> = Kind::ALL
                    .into_iter()
                    .filter(|k| matches!(source::source(*k), Source::Singleton | Source::List))
                    .collect();
                Done::Kinds(self.read_small(&kinds).await?)
            }
            Chain::Links(k, nav) => {
                let (k, found) = self.restarting(|| self.read_links(k, nav)).await?;
                Done::Links(k, found)
            }
            Chain::Contained(k) => {
                let (k, seen) = self.restarting(|| self.read_contained_full(k)).await?;
                Done::Contained(k, seen)
            }
        })
    }

    /// Pages a kind's own read is expected to take, from the previous snapshot's counts (a
    /// first capture guesses by kind: the directory is large, policies are small).
    pub(super) fn pages_of(&self, kind: Kind, source: Source, full: bool) -> u64 {
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
    pub(super) fn expanded_pages(&self, kind: Kind) -> u64 {
        let n = if self.base.is_empty() {
            self.pages_of(kind, Source::List, true) * PAGE as u64
        } else {
            self.count(kind)
        };
        n.div_ceil(source::EXPAND_PAGE as u64).max(1)
    }

    /// Objects of `kind` in the previous snapshot.
    pub(super) fn count(&self, kind: Kind) -> u64 {
        let start = ObjectKey::new(kind, "");
        self.base.range(start..).take_while(|(k, _)| k.kind == kind).count() as u64
    }
}

/// One chain of pages of the first phase.
#[derive(Debug, Clone, Copy)]
pub(super) enum Chain {
    /// A delta kind's round.
    Kind(Kind),
    /// Every singleton and policy list, first pages batched together.
    Small,
    /// An expanded relationship of a kind.
    Links(Kind, &'static str),
    /// A contained kind, by expanding its parents.
    Contained(Kind),
}

/// What a chain read.
pub(super) enum Done {
    Kinds(Vec<KindRead>),
    Links(Kind, BTreeMap<String, Vec<String>>),
    Contained(Kind, Observed),
}
