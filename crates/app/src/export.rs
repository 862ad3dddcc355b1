//! The export use case: a point in time as a directory tree, one canonical JSON file per
//! object, laid out as EntraExporter lays out its output
//! (`DIR/Identity/Conditional/AccessPolicies/<id>/<id>.json`, a contained object under its
//! parent: `DIR/Applications/<app>/FederatedIdentityCredentials/<id>/<id>.json`; see
//! `rewind_model::layout`), so tools that read its trees read Rewind's. Files already holding
//! the same bytes are left alone and files of objects that are gone are removed, so exporting
//! into the same directory again (a git work tree, say) changes exactly what changed. Or the
//! whole state as JSON lines on a writer, for pipelines. [`import`](crate::import) reads such
//! trees back.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rewind_model::layout::{BadKey, kind_dir, object_file};
use rewind_model::{ContentHash, Kind, key};
use rewind_store::{Manifest, ObjectKey, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo};
use serde::Serialize;
use serde_json::Value;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An object's key cannot be a path (it would leave the directory, say).
    #[error(transparent)]
    Layout(#[from] BadKey),
    /// A stored version is not JSON.
    #[error("version {hash} of {object}: {source}")]
    Version {
        /// The version.
        hash: ContentHash,
        /// Its object, `kind/key`.
        object: String,
        /// What is wrong.
        #[source]
        source: serde_json::Error,
    },
    /// Writing or removing a file failed.
    #[error("{what} {}: {source}", path.display())]
    File {
        /// `writing`, `creating`, `removing`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// Writing the stream failed (a closed pipe, say).
    #[error(transparent)]
    Output(std::io::Error),
    /// Reading ahead stopped before it finished.
    #[error("reading the store stopped: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}

/// What an export into a directory did (`rewind export --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// The snapshot exported.
    pub snapshot: SnapshotId,
    /// When it was taken.
    pub taken_at: Timestamp,
    /// Objects in it.
    pub objects: usize,
    /// Files written (new or changed).
    pub written: u64,
    /// Files removed (objects gone).
    pub removed: u64,
}

/// Exports `snapshot` into `dir`. With `since`, only objects changed since that snapshot are
/// written or removed (the directory holds an export of it already).
pub async fn export_tree(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: &SnapshotInfo,
    dir: &Path,
    since: Option<&SnapshotInfo>,
) -> Result<ExportReport, ExportError> {
    let manifest = store.manifest(tenant, snapshot).await?;
    let since = match since {
        Some(from) => Some(store.changed_between(tenant, from.id, snapshot.id).await?),
        None => None,
    };
    let entries: Vec<_> = match &since {
        Some(keys) => keys.iter().filter_map(|k| manifest.get_key_value(k)).collect(),
        None => manifest.iter().collect(),
    };
    let mut written = BTreeSet::new();
    let mut changed = 0;
    for batch in entries.chunks(2_000) {
        changed += write_batch(store, dir, batch, &mut written).await?;
    }
    let removed = match &since {
        // Only objects that changed can have gone.
        Some(keys) => remove_gone(dir, keys.iter().filter(|k| !manifest.contains_key(k)))?,
        None => remove_all_stale(dir, &written)?,
    };
    Ok(ExportReport {
        snapshot: snapshot.id,
        taken_at: snapshot.taken_at,
        objects: manifest.len(),
        written: changed,
        removed,
    })
}

/// Writes one batch of objects whose files differ; returns how many were written.
async fn write_batch(
    store: &Store,
    dir: &Path,
    batch: &[(&ObjectKey, &ContentHash)],
    written: &mut BTreeSet<PathBuf>,
) -> Result<u64, ExportError> {
    let hashes: Vec<_> = batch.iter().map(|(_, h)| **h).collect();
    let blobs: HashMap<_, _> = store.blobs(&hashes).await?.into_iter().collect();
    let mut changed = 0;
    for (object, hash) in batch {
        let path = dir.join(object_file(object.kind, &object.key)?);
        let bytes = blobs.get(*hash).map(Vec::as_slice).unwrap_or_default();
        let file = file_bytes(object, **hash, bytes)?;
        if std::fs::read(&path).ok().as_deref() != Some(file.as_slice()) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| file_error("creating", parent, e))?;
            }
            std::fs::write(&path, &file).map_err(|e| file_error("writing", &path, e))?;
            changed += 1;
        }
        written.insert(path);
    }
    Ok(changed)
}

/// An object's file: its version with Graph's own id put back (a contained object's is the
/// part after its parent's), keys sorted, pretty-printed.
fn file_bytes(
    object: &ObjectKey,
    hash: ContentHash,
    version: &[u8],
) -> Result<Vec<u8>, ExportError> {
    let mut value: Value =
        serde_json::from_slice(version).map_err(|source| ExportError::Version {
            hash,
            object: format!("{}/{}", object.kind.name(), object.key),
            source,
        })?;
    if let Value::Object(m) = &mut value {
        let own = key::own_id(&object.key);
        m.insert(object.kind.key_property().into(), Value::String(own.to_string()));
        m.sort_keys();
    }
    let mut bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
    bytes.push(b'\n');
    Ok(bytes)
}

/// Removes the files of objects that are gone; returns how many there were.
fn remove_gone<'k>(
    dir: &Path,
    gone: impl Iterator<Item = &'k ObjectKey>,
) -> Result<u64, ExportError> {
    let mut removed = 0;
    for k in gone {
        let path = dir.join(object_file(k.kind, &k.key)?);
        if std::fs::remove_file(&path).is_ok() {
            removed += 1;
            remove_empty_parent(&path);
        }
    }
    Ok(removed)
}

/// Removes every `.json` file under the kinds' directories that was not just written.
fn remove_all_stale(dir: &Path, written: &BTreeSet<PathBuf>) -> Result<u64, ExportError> {
    let dirs: BTreeSet<&str> =
        Kind::ALL.into_iter().map(kind_dir).filter(|d| !d.contains("/*/")).collect();
    let mut removed = 0;
    for d in dirs {
        removed += remove_stale(&dir.join(d), written)?;
    }
    Ok(removed)
}

/// Removes the `<id>/` directory a removed `<id>/<id>.json` leaves empty (a directory still
/// holding children stays).
fn remove_empty_parent(file: &Path) {
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Removes `.json` files under `dir` that are not in `keep`; returns how many.
fn remove_stale(dir: &Path, keep: &BTreeSet<PathBuf>) -> Result<u64, ExportError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry.map_err(|e| file_error("reading", dir, e))?.path();
        if path.is_dir() {
            removed += remove_stale(&path, keep)?;
        } else if path.extension().is_some_and(|e| e == "json") && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|e| file_error("removing", &path, e))?;
            remove_empty_parent(&path);
            removed += 1;
        }
    }
    Ok(removed)
}

fn file_error(what: &'static str, path: &Path, source: std::io::Error) -> ExportError {
    ExportError::File { what, path: path.to_path_buf(), source }
}

/// The whole state at `snapshot` on `out`, one JSON line per object (`{"kind", "id",
/// "object"}`), for pipelines (`rewind export - --at 3d | jq …`).
pub async fn export_stream(
    store: &Store,
    manifest: &Manifest,
    out: &mut impl Write,
) -> Result<(), ExportError> {
    let entries: Vec<_> = manifest.iter().collect();
    let batches: Vec<&[_]> = entries.chunks(16_384).collect();
    // One batch read ahead: the store reads and decompresses the next while this one is written.
    let fetch = |batch: &[(&ObjectKey, &ContentHash)]| {
        let store = store.clone();
        let hashes: Vec<_> = batch.iter().map(|(_, h)| **h).collect();
        tokio::spawn(async move { store.blobs(&hashes).await })
    };
    let mut next = batches.first().map(|b| fetch(b));
    for (i, batch) in batches.iter().enumerate() {
        let Some(pending) = next.take() else { break };
        next = batches.get(i + 1).map(|b| fetch(b));
        let blobs: HashMap<_, _> = pending.await??.into_iter().collect();
        for (object, hash) in *batch {
            // The store checked the bytes against their hash: they are the canonical JSON
            // written at capture, so they go out as they are.
            let bytes = blobs.get(*hash).map(Vec::as_slice).unwrap_or_default();
            let id = serde_json::to_string(&object.key).unwrap_or_default();
            let head = format!("{{\"kind\":\"{}\",\"id\":{id},\"object\":", object.kind.name());
            out.write_all(head.as_bytes())
                .and_then(|()| out.write_all(bytes))
                .and_then(|()| out.write_all(b"}\n"))
                .map_err(ExportError::Output)?;
        }
    }
    out.flush().map_err(ExportError::Output)
}
