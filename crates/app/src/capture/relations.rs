//! Relationships Graph's delta does not carry (owners, administrative unit members) and
//! contained objects (federated credentials, app role assignments): read in full by expanding
//! lists, or again for just the objects that may have changed.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::{ContentHash, Kind};
use rewind_msgraph::ClientError;
use rewind_msgraph::protocol::{BatchRequest, FailureKind, Pager};
use rewind_store::ObjectKey;
use serde_json::{Map, Value};

use super::assemble::{self, Observed};
use super::objects::Held;
use super::source::{self, EXPAND_CAP, PAGE, Source};
use super::{CaptureError, CaptureEvent, Run, malformed, no_key};

impl Run<'_> {
    /// Every owner's related ids, by expanding the owners' list (full capture).
    pub(super) async fn read_links(
        &self,
        kind: Kind,
        nav: &str,
    ) -> Result<(Kind, BTreeMap<String, Vec<String>>), CaptureError> {
        let mut found = BTreeMap::new();
        let mut capped = Vec::new();
        let mut pager = Pager::new(format!("{}&$top={PAGE}", source::links_url(kind, nav)));
        while let Some(url) = pager.next().map(str::to_string) {
            let page = self.page(kind, &url).await?;
            for owner in pager.feed(page).map_err(|e| malformed(kind, &e))? {
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

    /// One object's relationship in full, following pages (again from the first when a page
    /// token expires).
    pub(super) async fn relationship(
        &self,
        kind: Kind,
        id: &str,
        nav: &str,
    ) -> Result<Vec<Value>, CaptureError> {
        self.restarting(|| self.relationship_once(kind, id, nav)).await
    }

    async fn relationship_once(
        &self,
        kind: Kind,
        id: &str,
        nav: &str,
    ) -> Result<Vec<Value>, CaptureError> {
        let mut out = Vec::new();
        let mut pager = Pager::new(source::relationship_url(kind, id, nav));
        while let Some(url) = pager.next().map(str::to_string) {
            match self.client.page(&url, PAGE).await {
                Ok(page) => out.extend(pager.feed(page).map_err(|e| malformed(kind, &e))?),
                // Deleted since it was listed: it has nothing any more.
                Err(ClientError::Graph(f)) if f.kind() == FailureKind::NotFound => break,
                Err(e) => return Err(Self::graph_error(kind, e)),
            }
        }
        Ok(out)
    }

    /// Relationships of many objects, twenty to a `$batch`; a failed or paged answer is read
    /// again on its own (with the client's retries).
    pub(super) async fn relationships(
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
            self.client.batch(&requests).await.map_err(|e| Self::graph_error(kind, e))?
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
    pub(super) async fn refresh_links(
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
        let mut targets: BTreeSet<String> = self
            .touched(kind, seen, named)
            .into_iter()
            .filter(|id| !seen.removed.contains(id))
            .collect();
        // Objects read for the first time have no previous relationship to keep: read it
        // (a group created and given an owner since the last capture).
        targets.extend(
            held.values
                .keys()
                .filter(|k| !self.base.contains_key(&ObjectKey::new(kind, k.as_str())))
                .cloned(),
        );
        for id in &targets {
            if !held.values.contains_key(id) {
                let prev = self.previous(kind, id).await?;
                if !prev.is_empty() {
                    held.values.insert(id.clone(), prev);
                }
            }
        }
        let targets: Vec<String> =
            targets.into_iter().filter(|id| held.values.contains_key(id)).collect();
        Ok(self
            .relationships(kind, &targets, nav)
            .await?
            .into_iter()
            .map(|(id, items)| (id, assemble::ids(&Value::Array(items))))
            .collect())
    }

    /// Objects of `kind` that this capture created or removed, or that the audit log names.
    pub(super) fn touched(
        &self,
        kind: Kind,
        seen: &Observed,
        named: &BTreeSet<String>,
    ) -> BTreeSet<String> {
        let start = ObjectKey::new(kind, "");
        let known =
            self.base.range(start..).take_while(|(k, _)| k.kind == kind).map(|(k, _)| &k.key);
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
    pub(super) async fn read_contained_full(
        &self,
        kind: Kind,
    ) -> Result<(Kind, Observed), CaptureError> {
        let Source::Contained { parent, nav } = source::source(kind) else {
            return Ok((kind, Observed::default()));
        };
        let mut seen = Observed { complete: true, ..Observed::default() };
        let mut capped = Vec::new();
        let mut pager = Pager::new(format!("{}&$top={PAGE}", source::start_url(kind)));
        while let Some(url) = pager.next().map(str::to_string) {
            let mut blobs = Vec::new();
            let page = self.page(kind, &url).await?;
            for p in pager.feed(page).map_err(|e| malformed(kind, &e))? {
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
            (self.progress)(CaptureEvent::Read { kind, objects: seen.entries.len() as u64 });
        }
        for pid in capped {
            let children = self.relationship(parent, &pid, nav).await?;
            let mut blobs = Vec::new();
            self.stage_children(kind, &pid, children, &mut seen, &mut blobs)?;
            self.send(blobs).await?;
        }
        Ok((kind, seen))
    }

    pub(super) fn stage_children(
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
            let built = assemble::build(kind, rewind_model::key::join(parent, &id), &child);
            self.stage(kind, built, seen, blobs);
        }
        Ok(())
    }

    /// Principals removed in this capture, and what new (or restored) ones own.
    pub(super) async fn principal_lifecycle(
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
            for items in self.relationships(kind, &new, "ownedObjects").await?.into_values() {
                out.owned_by_new.extend(assemble::ids(&Value::Array(items)));
            }
        }
        Ok(out)
    }

    /// Objects of `kind` whose `prop` held one of `gone` (from what was read this time, or
    /// from their previous version).
    pub(super) async fn holders_of(
        &self,
        kind: Kind,
        prop: &str,
        held: &Held,
        gone: &BTreeSet<String>,
    ) -> Result<Vec<String>, CaptureError> {
        let holds =
            |v: &Map<String, Value>| assemble::held_ids(v, prop).iter().any(|id| gone.contains(id));
        let mut out: Vec<String> =
            held.values.iter().filter(|(_, v)| holds(v)).map(|(k, _)| k.clone()).collect();
        let start = ObjectKey::new(kind, "");
        let previous: Vec<(&String, ContentHash)> = self
            .base
            .range(start..)
            .take_while(|(k, _)| k.kind == kind)
            .filter(|(k, _)| !held.values.contains_key(&k.key))
            .map(|(k, h)| (&k.key, *h))
            .collect();
        // Read in batches: a deleted principal may have owned any of thousands of objects.
        for chunk in previous.chunks(2_000) {
            let hashes: Vec<ContentHash> = chunk.iter().map(|(_, h)| *h).collect();
            let blobs: std::collections::HashMap<ContentHash, Vec<u8>> =
                self.store.blobs(&hashes).await?.into_iter().collect();
            for (key, hash) in chunk {
                let prev = blobs
                    .get(hash)
                    .and_then(|b| serde_json::from_slice::<Map<String, Value>>(b).ok());
                if prev.is_some_and(|p| holds(&p)) {
                    out.push((*key).clone());
                }
            }
        }
        Ok(out)
    }
}

/// Principals that appeared or went away in this capture.
#[derive(Debug, Default)]
pub(super) struct Lifecycle {
    /// Users, groups and service principals removed.
    pub(super) removed: BTreeSet<String>,
    /// What new (or restored) users and service principals own.
    pub(super) owned_by_new: BTreeSet<String>,
}
