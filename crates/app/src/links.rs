//! The references between objects at one point: every edge, what points at one object, and
//! the references that point at nothing (a CA policy excluding a group that was deleted, a
//! role assignment of a deleted principal) — what `refs` and `check --refs` report.

use std::collections::{BTreeSet, HashMap};

use rewind_model::{ContentHash, Reference, Target, display_name, references, refers};
use rewind_store::{ObjectKey, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo};
use serde::Serialize;
use serde_json::Value;

use crate::compare::{Point, PointStamp};
use crate::names::{Named, load, resolve, resolve_against};

/// One reference of one object.
#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    /// The referencing object.
    pub from: ObjectKey,
    /// Its display name.
    pub from_name: Option<String>,
    /// The reference.
    pub reference: Reference,
}

/// A reference and what it points at, if anything.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedEdge {
    /// The reference.
    #[serde(flatten)]
    pub edge: Edge,
    /// What it points at: `None` when the timeline never saw it; `exists: false` when it was
    /// deleted.
    pub target: Option<Named>,
}

impl ResolvedEdge {
    /// Whether it points at nothing that exists.
    pub fn dangling(&self) -> bool {
        self.target.as_ref().is_none_or(|t| !t.exists)
    }
}

/// Every reference of every object at `snapshot`, with what it points at (named only when it
/// points at nothing that exists).
pub async fn edges_at(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: &SnapshotInfo,
) -> Result<Vec<ResolvedEdge>, StoreError> {
    let manifest = store.manifest(tenant, snapshot).await?;
    let referring: Vec<(&ObjectKey, &ContentHash)> =
        manifest.iter().filter(|(k, _)| refers(k.kind)).collect();
    let mut edges = Vec::new();
    for batch in referring.chunks(16_384) {
        let hashes: Vec<ContentHash> = batch.iter().map(|(_, h)| **h).collect();
        let values = load(store, &hashes).await?;
        for (key, hash) in batch {
            let Some(v) = values.get(*hash) else { continue };
            edges.extend(edges_of(key, v));
        }
    }
    let wanted: BTreeSet<(Target, String)> =
        edges.iter().map(|e| (e.reference.target, e.reference.id.clone())).collect();
    let named = resolve_against(store, tenant, snapshot.id, &manifest, &wanted).await?;
    Ok(attach(edges, &named))
}

/// The references of one object.
pub fn edges_of(key: &ObjectKey, value: &Value) -> Vec<Edge> {
    let from_name = display_name(value).map(str::to_string);
    references(key.kind, value)
        .into_iter()
        .map(|reference| Edge { from: key.clone(), from_name: from_name.clone(), reference })
        .collect()
}

/// Resolves what each edge points at.
pub async fn resolve_edges(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    edges: Vec<Edge>,
) -> Result<Vec<ResolvedEdge>, StoreError> {
    let wanted: BTreeSet<(Target, String)> =
        edges.iter().map(|e| (e.reference.target, e.reference.id.clone())).collect();
    let named = resolve(store, tenant, snapshot, &wanted).await?;
    Ok(attach(edges, &named))
}

fn attach(edges: Vec<Edge>, named: &HashMap<(Target, String), Named>) -> Vec<ResolvedEdge> {
    edges
        .into_iter()
        .map(|edge| {
            let target = named.get(&(edge.reference.target, edge.reference.id.clone())).cloned();
            ResolvedEdge { edge, target }
        })
        .collect()
}

/// Whether `edge` points at the object `key`.
pub fn points_at(edge: &ResolvedEdge, key: &ObjectKey) -> bool {
    edge.target.as_ref().is_some_and(|t| t.kind == key.kind && t.key == key.key)
}

/// `rewind refs --json`: what an object references and what references it, at one point.
#[derive(Debug, Clone, Serialize)]
pub struct RefsReport {
    /// The object's kind.
    pub kind: rewind_model::Kind,
    /// Its key.
    pub id: String,
    /// Its display name, if it has one.
    pub display_name: Option<String>,
    /// The point looked at.
    pub at: PointStamp,
    /// What it references.
    pub references: Vec<ResolvedEdge>,
    /// What references it.
    pub referenced_by: Vec<ResolvedEdge>,
}

impl RefsReport {
    /// The refs use case (`rewind refs`): what `object` references and what references it at
    /// `at`; `None` when it does not exist there.
    pub async fn at(
        at: &Point,
        object: ObjectKey,
        display_name: Option<String>,
    ) -> Result<Option<RefsReport>, StoreError> {
        let (store, tenant, snapshot) = (&at.store, &at.tenant, &at.snapshot);
        let found = store.versions_at(tenant, std::slice::from_ref(&object), snapshot.id).await?;
        let Some(Some(hash)) = found.get(&object).copied() else { return Ok(None) };
        let value = load(store, &[hash]).await?.remove(&hash).unwrap_or_default();
        let edges = edges_of(&object, &value);
        let references = resolve_edges(store, tenant, snapshot.id, edges).await?;
        let all = edges_at(store, tenant, snapshot).await?;
        let referenced_by = all.into_iter().filter(|e| points_at(e, &object)).collect();
        let (kind, id, at) = (object.kind, object.key, at.stamp());
        Ok(Some(RefsReport { kind, id, display_name, at, references, referenced_by }))
    }
}

/// `rewind check --refs --json`: the references that point at nothing, at one point.
#[derive(Debug, Clone, Serialize)]
pub struct DanglingReport {
    /// The point looked at.
    pub at: PointStamp,
    /// Whether every reference points at something.
    pub ok: bool,
    /// The references that do not.
    pub dangling: Vec<ResolvedEdge>,
}

impl DanglingReport {
    /// The report of `dangling` at `at`.
    pub fn new(at: PointStamp, dangling: Vec<ResolvedEdge>) -> Self {
        DanglingReport { at, ok: dangling.is_empty(), dangling }
    }
}
