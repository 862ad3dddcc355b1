//! `rewind export DIR [--at T]`: a point in time as a directory tree, one canonical JSON file
//! per object at `DIR/<kind>/<id>.json` (a contained object under its parent:
//! `DIR/federatedIdentityCredential/<application>/<id>.json`). Files already holding the same
//! bytes are left alone and files of objects that are gone are removed, so exporting into the
//! same directory again (a git work tree, say) changes exactly what changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rewind_app::locate::{TimeSpec, snapshot_for};
use serde_json::Value;

use super::session::{Session, usage};
use crate::cli::ExportArgs;

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let now = jiff::Timestamp::now();
    let spec = match &args.at {
        Some(t) => t.parse::<TimeSpec>().map_err(usage)?,
        None => TimeSpec::At(now),
    };
    let snapshot = snapshot_for(&session.store, &tenant, spec, now)
        .await
        .map_err(usage)?;
    let manifest = session.store.manifest(&tenant, &snapshot).await?;
    let since = match &args.since {
        Some(t) => {
            let spec = t.parse::<TimeSpec>().map_err(usage)?;
            let from = snapshot_for(&session.store, &tenant, spec, now)
                .await
                .map_err(usage)?;
            Some(
                session
                    .store
                    .changed_between(&tenant, from.id, snapshot.id)
                    .await?,
            )
        }
        None => None,
    };
    let mut written = BTreeSet::new();
    let (mut changed, mut removed) = (0u64, 0u64);
    let entries: Vec<_> = match &since {
        Some(keys) => keys
            .iter()
            .filter_map(|k| manifest.get_key_value(k))
            .collect(),
        None => manifest.iter().collect(),
    };
    for batch in entries.chunks(2_000) {
        let hashes: Vec<_> = batch.iter().map(|(_, h)| **h).collect();
        let blobs: std::collections::HashMap<_, _> =
            session.store.blobs(&hashes).await?.into_iter().collect();
        for (object, hash) in batch {
            let path = object_path(&args.dir, object.kind.name(), &object.key)?;
            let bytes = blobs.get(*hash).map(Vec::as_slice).unwrap_or_default();
            let mut value: Value = serde_json::from_slice(bytes).with_context(|| {
                format!("version {hash} of {}/{}", object.kind.name(), object.key)
            })?;
            if let Value::Object(m) = &mut value {
                m.insert(
                    object.kind.key_property().into(),
                    Value::String(object.key.clone()),
                );
                m.sort_keys();
            }
            let mut bytes = serde_json::to_vec_pretty(&value)?;
            bytes.push(b'\n');
            if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
                changed += 1;
            }
            written.insert(path);
        }
    }
    match &since {
        // Only objects that changed can have gone.
        Some(keys) => {
            for k in keys.iter().filter(|k| !manifest.contains_key(k)) {
                let path = object_path(&args.dir, k.kind.name(), &k.key)?;
                if std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
        }
        None => {
            for kind in rewind_model::Kind::ALL {
                removed += remove_stale(&args.dir.join(kind.name()), &written)?;
            }
        }
    }
    session.store.close().await;
    if args.store.json {
        println!(
            "{}",
            serde_json::json!({"snapshot": snapshot.id, "taken_at": snapshot.taken_at,
                "objects": manifest.len(), "written": changed, "removed": removed})
        );
    } else {
        println!(
            "exported snapshot {} ({}) to {}: {} objects, {changed} files written, {removed} removed",
            snapshot.id,
            snapshot.taken_at,
            args.dir.display(),
            manifest.len()
        );
    }
    Ok(())
}

/// `DIR/kind/key.json`, each key segment checked to stay inside `DIR`.
fn object_path(dir: &Path, kind: &str, key: &str) -> anyhow::Result<PathBuf> {
    let mut path = dir.join(kind);
    let segments: Vec<&str> = key.split('/').collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() || *seg == "." || *seg == ".." || seg.contains('\\') {
            return Err(usage(format!("the key '{key}' cannot be a file name")));
        }
        if i + 1 == segments.len() {
            path.push(format!("{seg}.json"));
        } else {
            path.push(seg);
        }
    }
    Ok(path)
}

/// Removes `.json` files under `dir` that are not in `keep`; returns how many.
fn remove_stale(dir: &Path, keep: &BTreeSet<PathBuf>) -> anyhow::Result<u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            removed += remove_stale(&path, keep)?;
        } else if path.extension().is_some_and(|e| e == "json") && !keep.contains(&path) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}
