//! Import: exported trees (Rewind's, EntraExporter's, loose files such as `fixtures/corpus`)
//! and git histories of them become snapshots, so years of kept exports join the timeline.
//!
//! Reading a tree is pure ([`read_tree`]): each file's place in the tree (`rewind_model::layout`)
//! or, failing that, its content (`@odata.type`, its shape) says its kind; UTF-8 and UTF-16
//! (PowerShell's `Out-File`), with or without a byte-order mark, are read. Every problem is
//! reported against its file, and a tree with any problem is not stored at all.
//!
//! A snapshot made from a tree holds the tree's objects for the kinds it covers; kinds it does
//! not cover keep their state from the snapshot before (an export of only Conditional Access
//! does not delete every user).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use rewind_model::layout::{Place, place};
use rewind_model::{ContentHash, Kind, parse_json};
use rewind_store::{
    Change, NewSnapshot, ObjectKey, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo,
    VersionChange,
};
use serde::Serialize;
use serde_json::Value;

use crate::capture::assemble::{build, key_of};
use crate::timeline::Changes;

/// One file of a tree: its path relative to the tree's root (`/`-separated) and its bytes.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where it is.
    pub path: String,
    /// What it holds.
    pub bytes: Vec<u8>,
}

/// A problem with one file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileProblem {
    /// The file.
    pub path: String,
    /// What is wrong, and what to do.
    pub problem: String,
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.problem)
    }
}

/// `rewind import --json`: the snapshots an import stored, in order.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// One entry per tree (per commit, from git).
    pub imported: Vec<ImportedSnapshot>,
}

/// One stored snapshot of an imported tree.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedSnapshot {
    /// The snapshot's id.
    pub snapshot: SnapshotId,
    /// The time it was given.
    pub taken_at: Timestamp,
    /// Objects in it.
    pub objects: u64,
    /// The git commit it came from, if any.
    pub commit: Option<String>,
    /// Objects it created, updated and deleted.
    pub changes: Changes,
    /// Files of things Rewind does not keep, counted per directory.
    pub not_kept: BTreeMap<String, usize>,
}

impl ImportedSnapshot {
    /// The entry of `snapshot`, stored from `tree` (of `commit`).
    pub fn new(snapshot: &SnapshotInfo, tree: &Tree, commit: Option<String>) -> Self {
        ImportedSnapshot {
            snapshot: snapshot.id,
            taken_at: snapshot.taken_at,
            objects: snapshot.objects,
            commit,
            changes: snapshot.totals().into(),
            not_kept: tree.not_kept.clone(),
        }
    }
}

/// A tree, read.
#[derive(Debug, Default)]
pub struct Tree {
    /// Every object, canonical, with its display name and the file it came from.
    pub objects: BTreeMap<ObjectKey, (rewind_model::Canonical, Option<String>, String)>,
    /// The kinds the tree covers.
    pub kinds: BTreeSet<Kind>,
    /// Files of things Rewind does not keep, counted per directory.
    pub not_kept: BTreeMap<String, usize>,
    /// Every problem found.
    pub problems: Vec<FileProblem>,
}

/// Reads a tree's files into objects.
pub fn read_tree(files: &[SourceFile]) -> Tree {
    let mut reader = TreeReader::default();
    for f in files.iter().filter(|f| is_json_file(&f.path)) {
        if let Err(problem) = reader.read(f) {
            reader.tree.problems.push(FileProblem { path: f.path.clone(), problem });
        }
    }
    reader.finish()
}

/// A `.json` file outside hidden directories (`.git`, `.github`).
fn is_json_file(path: &str) -> bool {
    let hidden = path.split('/').any(|p| p.starts_with('.'));
    let ext = std::path::Path::new(path).extension();
    !hidden && ext.is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// A tree being read: its objects as read, and the link entries to attach to them once every
/// object is in.
#[derive(Default)]
struct TreeReader {
    tree: Tree,
    /// Objects by key, with the file each came from.
    raw: BTreeMap<ObjectKey, (Value, String)>,
    /// (parent, property, id, file) of every link entry.
    links: Vec<(ObjectKey, &'static str, String, String)>,
}

impl TreeReader {
    /// Reads one file; what is wrong with it, if anything.
    fn read(&mut self, f: &SourceFile) -> Result<(), String> {
        let value = parse_json(&f.bytes).map_err(|e| e.to_string())?;
        match place(&f.path) {
            Place::NotKept(dir) => *self.tree.not_kept.entry(dir).or_default() += 1,
            Place::Link { kind, parent, property } => {
                let id = value.get("id").and_then(Value::as_str);
                let id = id.ok_or_else(|| format!("a {property} entry without an 'id'"))?;
                let parent = ObjectKey::new(kind, parent);
                self.links.push((parent, property, id.to_string(), f.path.clone()));
            }
            Place::Object { kind, parent } => self.objects(kind, parent.as_deref(), value, f)?,
            Place::Unknown => self.detected(value, f)?,
        }
        Ok(())
    }

    /// The objects of a file in its kind's directory: one object, or a list of them.
    fn objects(
        &mut self,
        kind: Kind,
        parent: Option<&str>,
        value: Value,
        f: &SourceFile,
    ) -> Result<(), String> {
        let items = match value {
            Value::Array(items) => {
                if let Some(bad) = items.iter().find(|i| !i.is_object()) {
                    let bad = kind_of_json(bad);
                    return Err(format!("holds a list with {bad}, not a list of JSON objects"));
                }
                items
            }
            other => vec![other],
        };
        for item in items {
            let added = keyed(kind, parent, &item, &f.path)
                .and_then(|key| add(&mut self.raw, key, item, &f.path));
            if let Err(problem) = added {
                self.tree.problems.push(FileProblem { path: f.path.clone(), problem });
            }
        }
        Ok(())
    }

    /// An object outside the directories of the kinds, recognised by its content.
    fn detected(&mut self, value: Value, f: &SourceFile) -> Result<(), String> {
        match Kind::detect(&value) {
            Some(kind) if kind_dir_is_contained(kind) => {
                let dir = rewind_model::layout::kind_dir(kind);
                Err(format!("a {kind} belongs under its parent's directory ({dir})"))
            }
            Some(kind) => {
                let key = keyed(kind, None, &value, &f.path)?;
                add(&mut self.raw, key, value, &f.path)
            }
            None => Err("cannot tell what kind of object this is: it has no @odata.type and matches no kind Rewind keeps; put it in the directory of its kind (as EntraExporter does, e.g. Identity/Conditional/AccessPolicies/)".into()),
        }
    }

    /// Attaches the link entries to their parents and builds every object.
    fn finish(mut self) -> Tree {
        for (parent, property, id, path) in std::mem::take(&mut self.links) {
            if let Some((Value::Object(m), _)) = self.raw.get_mut(&parent) {
                let list = m.entry(property).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = list {
                    items.push(Value::String(id));
                }
            } else {
                let (kind, key) = (parent.kind, &parent.key);
                let problem =
                    format!("lists a {property} entry of {kind} {key}, which is not in the tree");
                self.tree.problems.push(FileProblem { path, problem });
            }
        }
        for (key, (value, path)) in self.raw {
            self.tree.kinds.insert(key.kind);
            let built = build(key.kind, key.key.clone(), &value);
            self.tree.objects.insert(key, (built.canonical, built.name, path));
        }
        self.tree
    }
}

fn kind_dir_is_contained(kind: Kind) -> bool {
    rewind_model::layout::kind_dir(kind).contains("/*/")
}

/// The key of an object read from `path`: its id (its parent's and its own for contained
/// kinds); objects without one (templates) are keyed by their file's name.
fn keyed(kind: Kind, parent: Option<&str>, value: &Value, path: &str) -> Result<ObjectKey, String> {
    if !value.is_object() {
        return Err(format!("holds {}, not a JSON object", kind_of_json(value)));
    }
    let own = key_of(kind, value).or_else(|| {
        (parent.is_none() && !kind_dir_is_contained(kind)).then(|| {
            let name = path.rsplit('/').next().unwrap_or(path);
            name.strip_suffix(".json")
                .or_else(|| name.strip_suffix(".JSON"))
                .unwrap_or(name)
                .to_string()
        })
    });
    match (own, parent) {
        (Some(k), Some(p)) if k.starts_with(&format!("{p}/")) => Ok(ObjectKey::new(kind, k)),
        (Some(k), Some(p)) => Ok(ObjectKey::new(kind, format!("{p}/{k}"))),
        (Some(k), None) => Ok(ObjectKey::new(kind, k)),
        (None, _) => Err(format!("a {kind} without '{}'", kind.key_property())),
    }
}

fn kind_of_json(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Adds an object read from `path`, refusing a second object with the same key.
fn add(
    raw: &mut BTreeMap<ObjectKey, (Value, String)>,
    key: ObjectKey,
    value: Value,
    path: &str,
) -> Result<(), String> {
    if let Some((_, first)) = raw.get(&key) {
        return Err(format!("duplicate {} '{}': {first} has the same id", key.kind, key.key));
    }
    raw.insert(key, (value, path.to_string()));
    Ok(())
}

/// Why an import stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Files with problems; nothing of the tree was stored.
    #[error("{} file(s) cannot be imported; nothing was stored:\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Files(Vec<FileProblem>),
    /// The tree holds no object of a kind Rewind keeps.
    #[error("no object of a kind Rewind keeps was found; nothing was stored")]
    Empty,
    /// Snapshots are kept in time order.
    #[error(
        "the snapshot would be taken at {taken_at}, not after the latest one ({latest}); import older exports into a new tenant of the store first, or give --taken-at"
    )]
    OutOfOrder {
        /// The time asked for.
        taken_at: Timestamp,
        /// The latest snapshot's time.
        latest: Timestamp,
    },
    /// The tenant is captured: a tree would replace the captured state of its kinds.
    #[error(
        "tenant '{tenant}' has captures: this tree would replace the captured state of {} and delete what the tree lacks; pass --replace-kinds if that is meant (the next capture then reads those kinds in full), or import into a store of its own (REWIND_STORE=imported.db)",
        .kinds.join(", ")
    )]
    Captured {
        /// The tenant's name.
        tenant: String,
        /// The kinds the tree holds.
        kinds: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a tree goes into the timeline.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The tenant may have captures: the tree's kinds replace their captured state, and their
    /// delta cursors go so the next capture reads them in full.
    pub replace_kinds: bool,
    /// The git commit the tree comes from (kept so that a later run goes on after it).
    pub commit: Option<String>,
}

/// Stores a tree as a snapshot taken at `taken_at`: its objects replace the state of the kinds
/// in `kinds` (objects of those kinds not in the tree are deleted), other kinds carry over.
pub async fn import_tree(
    store: &Store,
    tenant: &TenantInfo,
    tree: &Tree,
    kinds: &BTreeSet<Kind>,
    taken_at: Timestamp,
    options: &ImportOptions,
) -> Result<SnapshotInfo, ImportError> {
    if !tree.problems.is_empty() {
        return Err(ImportError::Files(tree.problems.clone()));
    }
    if tree.objects.is_empty() {
        return Err(ImportError::Empty);
    }
    let _lock = store.lock_shared().await?;
    let drop_cursors = cursors_to_drop(store, tenant, kinds, options).await?;
    let base = store.latest(tenant).await?;
    if let Some(b) = base.as_ref().filter(|b| b.taken_at >= taken_at) {
        return Err(ImportError::OutOfOrder { taken_at, latest: b.taken_at });
    }
    let base_manifest = match &base {
        Some(b) => store.manifest(tenant, b).await?,
        None => rewind_store::Manifest::new(),
    };
    let (changes, blobs) = tree_changes(tree, &base_manifest, kinds);
    for chunk in blobs.chunks(1_000) {
        store.put_blobs(chunk).await?;
    }
    let new = imported(taken_at, changes, drop_cursors, options.commit.clone());
    Ok(store.commit(tenant, base.as_ref(), &base_manifest, &new).await?)
}

/// The delta cursors of the kinds the tree replaces. A captured tenant's cursors would never
/// bring back what a tree deletes, so importing into one needs `replace_kinds`.
async fn cursors_to_drop(
    store: &Store,
    tenant: &TenantInfo,
    kinds: &BTreeSet<Kind>,
    options: &ImportOptions,
) -> Result<Vec<Kind>, ImportError> {
    let cursors = store.cursors(tenant).await?;
    if !cursors.is_empty() && !options.replace_kinds {
        let kinds = kinds.iter().map(|k| k.name().to_string()).collect();
        return Err(ImportError::Captured { tenant: tenant.name.clone(), kinds });
    }
    Ok(cursors.keys().filter(|k| kinds.contains(k)).copied().collect())
}

/// What the tree changes against `base`: its objects that are new or differ (with their
/// blobs), and the objects of its kinds it no longer holds.
fn tree_changes(
    tree: &Tree,
    base: &rewind_store::Manifest,
    kinds: &BTreeSet<Kind>,
) -> (Vec<VersionChange>, Vec<(ContentHash, Vec<u8>)>) {
    let version = |object: &ObjectKey, hash, name, change| VersionChange {
        object: object.clone(),
        hash,
        name,
        change,
        actors: Vec::new(),
        records: Vec::new(),
    };
    let (mut changes, mut blobs) = (Vec::new(), Vec::new());
    for (key, (canonical, name, _)) in &tree.objects {
        let hash = canonical.hash();
        if let Some(change) = Change::between(base.get(key), Some(&hash)) {
            blobs.push((hash, canonical.bytes().to_vec()));
            changes.push(version(key, Some(hash), name.clone(), change));
        }
    }
    let gone = base.keys().filter(|k| kinds.contains(&k.kind) && !tree.objects.contains_key(*k));
    changes.extend(gone.map(|key| version(key, None, None, Change::Deleted)));
    (changes, blobs)
}

/// An imported snapshot: no cursors, audit records or Graph requests of its own.
fn imported(
    taken_at: Timestamp,
    changes: Vec<VersionChange>,
    drop_cursors: Vec<Kind>,
    import_mark: Option<String>,
) -> NewSnapshot {
    NewSnapshot {
        taken_at,
        changes,
        cursors: Vec::new(),
        audit: Vec::new(),
        amendments: Vec::new(),
        drop_cursors,
        import_mark,
        unavailable: BTreeMap::new(),
        requests: 0,
        millis: 0,
    }
}
