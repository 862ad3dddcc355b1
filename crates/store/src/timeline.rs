//! Writing and reading the timeline: blobs, snapshots with their version rows, cursors and
//! audit records, and the views built from them (a manifest at a snapshot, an object's history).
//! This file holds the vocabulary and the row helpers; each way of using the timeline is a
//! submodule.

mod blobs;
mod commit;
mod read;
mod search;

use std::collections::BTreeMap;

use jiff::Timestamp;
use rewind_model::{Actor, ContentHash, Kind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::columns::opt_hash;
use crate::error::StoreError;
pub use crate::ids::SnapshotId;
use crate::manifest::{Change, ObjectKey};
use crate::schema::Dialect;
use crate::store::micros;

/// Rows per multi-row `INSERT`: well under both dialects' limits on bound values.
const ROWS_PER_INSERT: usize = 500;

/// Objects and changes of one kind in one snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// Objects of the kind after the snapshot.
    pub objects: u64,
    /// Created since the parent.
    pub created: u64,
    /// Updated since the parent.
    pub updated: u64,
    /// Deleted since the parent.
    pub deleted: u64,
    /// Set when the capture could not read the kind (and kept its last known state): Graph
    /// refuses it in this tenant, for example for want of a licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<Unavailable>,
}

impl KindCounts {
    /// Counts one change.
    pub(crate) fn count(&mut self, change: Change) {
        match change {
            Change::Created => self.created += 1,
            Change::Updated => self.updated += 1,
            Change::Deleted => self.deleted += 1,
        }
    }
}

/// Why a capture could not read a kind in this tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unavailable {
    /// The tenant lacks the licence the kind needs (PIM needs Entra ID P2 or ID Governance:
    /// Graph answers `AadPremiumLicenseRequired`).
    LicenseRequired,
    /// Graph does not offer the kind in this tenant or cloud.
    NotOffered,
}

impl Unavailable {
    /// The code scripts read (as serialised): `license-required`, `not-offered`.
    pub fn code(self) -> &'static str {
        match self {
            Unavailable::LicenseRequired => "license-required",
            Unavailable::NotOffered => "not-offered",
        }
    }

    /// What a person reads.
    pub fn describe(self) -> &'static str {
        match self {
            Unavailable::LicenseRequired => {
                "the tenant lacks the licence it needs (Entra ID P2 or ID Governance for PIM)"
            }
            Unavailable::NotOffered => "Graph does not offer it in this tenant",
        }
    }
}

/// A stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// Its id, unique in the store.
    pub id: SnapshotId,
    /// The store's number of its tenant.
    #[serde(skip)]
    pub tenant: i64,
    /// When the capture began.
    pub taken_at: Timestamp,
    /// The previous snapshot of the tenant.
    pub parent: Option<SnapshotId>,
    /// The hash of its manifest.
    pub manifest: ContentHash,
    /// Its chain hash.
    pub chain: ContentHash,
    /// The blob of the audit records this capture read (a JSON array), if any.
    pub audit: Option<ContentHash>,
    /// Every kind was read in full (a restore point).
    pub complete: bool,
    /// Objects in the tenant at this point.
    pub objects: u64,
    /// Per kind, objects and changes.
    pub counts: BTreeMap<Kind, KindCounts>,
    /// Graph requests the capture made.
    pub requests: u64,
    /// How long the capture took.
    pub millis: u64,
}

impl SnapshotInfo {
    /// Changes of every kind together.
    pub fn totals(&self) -> KindCounts {
        self.counts.values().fold(KindCounts::default(), |a, c| KindCounts {
            objects: a.objects + c.objects,
            created: a.created + c.created,
            updated: a.updated + c.updated,
            deleted: a.deleted + c.deleted,
            unavailable: None,
        })
    }
}

/// One object's change in a new snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionChange {
    /// The object.
    pub object: ObjectKey,
    /// Its new version; `None` when it was deleted.
    pub hash: Option<ContentHash>,
    /// Its display name, to find it by (the last known name when deleted).
    pub name: Option<String>,
    /// What happened.
    pub change: Change,
    /// Who did it: the initiators of the audit records that explain it (none: unknown).
    pub actors: Vec<Actor>,
    /// Those audit records' ids; each record explains at most one change of an object.
    pub records: Vec<String>,
}

/// Audit records that explain a change of an earlier snapshot, found by a later capture
/// (Entra delivers audit records minutes after the change): kept with the later snapshot, so
/// history is only ever added to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amendment {
    /// The object.
    pub object: ObjectKey,
    /// The snapshot of the change it explains.
    pub version: SnapshotId,
    /// The records' initiators.
    pub actors: Vec<Actor>,
    /// The records' ids.
    pub records: Vec<String>,
}

/// A directory audit record as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Graph's record id.
    pub record_id: String,
    /// When the activity happened.
    pub activity_time: Timestamp,
    /// `activityDisplayName`.
    pub activity: String,
    /// Who initiated it; `None` when the record names no one.
    pub actor: Option<Actor>,
    /// Ids of the objects it touched.
    pub targets: Vec<String>,
    /// The record as Graph returned it.
    pub raw: Value,
}

/// A snapshot to commit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSnapshot {
    /// When the capture began.
    pub taken_at: Timestamp,
    /// Every object that changed since the parent.
    pub changes: Vec<VersionChange>,
    /// Delta links to resume from next time.
    pub cursors: Vec<(Kind, String)>,
    /// Audit records read by this capture (records an earlier snapshot keeps are dropped).
    pub audit: Vec<AuditEntry>,
    /// Late records explaining changes of earlier snapshots.
    pub amendments: Vec<Amendment>,
    /// Kinds whose delta cursors go: an import replaced their state, so the next capture
    /// must read them in full to see the tenant as it is.
    pub drop_cursors: Vec<Kind>,
    /// The git commit an import of a git history took this snapshot from: a later run goes on
    /// after it.
    pub import_mark: Option<String>,
    /// Kinds the capture could not read, and why: their last known state is kept and the
    /// snapshot's counts say they were not read.
    pub unavailable: BTreeMap<Kind, Unavailable>,
    /// Graph requests made.
    pub requests: u64,
    /// How long it took.
    pub millis: u64,
}

/// One version in an object's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRecord {
    /// The snapshot that recorded it.
    pub snapshot: SnapshotId,
    /// That snapshot's time.
    pub taken_at: Timestamp,
    /// The version; `None` when the object was deleted.
    pub hash: Option<ContentHash>,
    /// Its display name then.
    pub name: Option<String>,
    /// What happened.
    pub change: Change,
    /// Who did it (with what later-delivered audit records added).
    pub actors: Vec<Actor>,
    /// The audit records that explain it.
    pub records: Vec<String>,
}

const SNAPSHOT_COLUMNS: &str = "id, tenant, taken_at, parent, manifest, chain, audit, complete, \
                                objects, counts, requests, millis";

/// Appends `(…), (…)` placeholders for `rows` rows of `cols` values: `$n` for `PostgreSQL`,
/// plain `?` for `SQLite`, whose driver would otherwise look every `$n` up by name (a third of
/// a large capture's time went there).
pub(crate) fn push_placeholders(sql: &mut String, dialect: Dialect, rows: usize, cols: usize) {
    push_placeholders_after(sql, dialect, 0, rows, cols);
}

/// Like `push_placeholders`, after `before` parameters already in the statement (which `SQLite`
/// must then write as `?` too).
pub(crate) fn push_placeholders_after(
    sql: &mut String,
    dialect: Dialect,
    before: usize,
    rows: usize,
    cols: usize,
) {
    use std::fmt::Write as _;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            match dialect {
                Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => {
                    let _ = write!(sql, "${}", before + r * cols + c + 1);
                }
            }
        }
        sql.push(')');
    }
}

pub(crate) fn snapshot_row(r: &AnyRow) -> Result<SnapshotInfo, StoreError> {
    let counts: String = r.try_get("counts")?;
    let hash = |col: &str| -> Result<ContentHash, StoreError> {
        let b: Vec<u8> = r.try_get(col)?;
        ContentHash::from_slice(&b)
            .ok_or_else(|| StoreError::Corrupt(format!("snapshot {col} is not 32 bytes")))
    };
    Ok(SnapshotInfo {
        id: r.try_get("id")?,
        tenant: r.try_get("tenant")?,
        taken_at: micros(r.try_get("taken_at")?)?,
        parent: r.try_get("parent")?,
        manifest: hash("manifest")?,
        chain: hash("chain")?,
        audit: opt_hash(r.try_get("audit")?)?,
        complete: r.try_get::<i64, _>("complete")? != 0,
        objects: u64::try_from(r.try_get::<i64, _>("objects")?).unwrap_or(0),
        counts: serde_json::from_str(&counts)
            .map_err(|e| StoreError::Corrupt(format!("snapshot counts: {e}")))?,
        requests: u64::try_from(r.try_get::<i64, _>("requests")?).unwrap_or(0),
        millis: u64::try_from(r.try_get::<i64, _>("millis")?).unwrap_or(0),
    })
}

/// `(kind, key, hash)` columns 0–2 of a versions row.
pub(crate) fn version_key(r: &AnyRow) -> Result<(ObjectKey, Option<ContentHash>), StoreError> {
    let kind: String = r.try_get(0)?;
    let kind = Kind::from_name(&kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in versions")))?;
    Ok((ObjectKey::new(kind, r.try_get::<String, _>(1)?), opt_hash(r.try_get(2)?)?))
}

/// The `id`s of a JSON array of audit records.
pub(crate) fn record_ids(records: &Value) -> Vec<String> {
    records
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn parse_list(s: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("a stored list: {e}")))
}

/// A `records` column: a JSON list of audit record ids, or NULL (rows written before records
/// were kept).
pub(crate) fn parse_records(s: Option<String>) -> Result<Vec<String>, StoreError> {
    s.map_or_else(|| Ok(Vec::new()), |s| parse_list(&s))
}

/// Actors as stored: a JSON list of identities.
pub(crate) fn actors_text(actors: &[Actor]) -> String {
    serde_json::to_string(actors).unwrap_or_else(|_| "[]".into())
}

/// A stored list of actors: identities, or plain names written before identities were kept.
pub(crate) fn parse_actors_text(s: &str) -> Result<Vec<Actor>, StoreError> {
    let value: Value = serde_json::from_str(s)
        .map_err(|e| StoreError::Corrupt(format!("a stored list of actors: {e}")))?;
    rewind_model::parse_actors(&value)
        .ok_or_else(|| StoreError::Corrupt(format!("a stored list of actors is malformed: {s}")))
}

/// Adds `more` to `actors`, each identity once.
pub(crate) fn merge_actors(actors: &mut Vec<Actor>, more: Vec<Actor>) {
    for a in more {
        if !actors.contains(&a) {
            actors.push(a);
        }
    }
}

/// An object key from a stored kind name and key.
pub(crate) fn object_key(kind: &str, key: String) -> Result<ObjectKey, StoreError> {
    let kind = Kind::from_name(kind)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{kind}' in versions")))?;
    Ok(ObjectKey::new(kind, key))
}

/// Where the last imported git commit of a tenant is kept (`meta`).
pub(crate) fn import_mark_key(tenant: i64) -> String {
    format!("git-import:{tenant}")
}

/// The delta cursors a snapshot commits, as the chain keeps them: kind → BLAKE3 of the link,
/// as a JSON object in kind order.
pub(crate) fn cursor_digests(cursors: &[(Kind, String)]) -> String {
    let map: BTreeMap<&str, String> = cursors
        .iter()
        .map(|(k, link)| (k.name(), blake3::hash(link.as_bytes()).to_hex().to_string()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}
