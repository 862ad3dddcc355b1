//! `rewind export DIR [--at T]`: a point in time as a directory tree, one canonical JSON file
//! per object, laid out as EntraExporter lays out its output
//! (`DIR/Identity/Conditional/AccessPolicies/<id>/<id>.json`, a contained object under its
//! parent: `DIR/Applications/<app>/FederatedIdentityCredentials/<id>/<id>.json`; see
//! `rewind_model::layout`), so tools that read its trees read Rewind's. Files already holding the same
//! bytes are left alone and files of objects that are gone are removed, so exporting into the
//! same directory again (a git work tree, say) changes exactly what changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rewind_app::locate::{TimeSpec, snapshot_for};
use rewind_model::Kind;
use rewind_model::layout::{kind_dir, object_file};
use serde_json::Value;

use super::session::{Session, usage};
use crate::cli::ExportArgs;
use crate::output::outln;
use crate::text::count;

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
    if args.dir.as_os_str() == "-" {
        if args.since.is_some() {
            return Err(usage(
                "--since writes into a directory; leave it out with `-`",
            ));
        }
        stream(&session, &manifest).await?;
        session.store.close().await;
        return Ok(());
    }
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
            let path = object_path(&args.dir, object.kind, &object.key)?;
            let bytes = blobs.get(*hash).map(Vec::as_slice).unwrap_or_default();
            let mut value: Value = serde_json::from_slice(bytes).with_context(|| {
                format!("version {hash} of {}/{}", object.kind.name(), object.key)
            })?;
            if let Value::Object(m) = &mut value {
                // Graph's own id: a contained object's is the part after its parent's.
                let own = object.key.rsplit('/').next().unwrap_or(&object.key);
                m.insert(
                    object.kind.key_property().into(),
                    Value::String(own.to_string()),
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
    if let Some(keys) = &since {
        // Only objects that changed can have gone.
        for k in keys.iter().filter(|k| !manifest.contains_key(k)) {
            let path = object_path(&args.dir, k.kind, &k.key)?;
            if std::fs::remove_file(&path).is_ok() {
                removed += 1;
                remove_empty_parent(&path);
            }
        }
    } else {
        let dirs: BTreeSet<&str> = Kind::ALL
            .into_iter()
            .map(kind_dir)
            .filter(|d| !d.contains("/*/"))
            .collect();
        for dir in dirs {
            removed += remove_stale(&args.dir.join(dir), &written)?;
        }
    }
    session.store.close().await;
    if args.store.json {
        outln!(
            "{}",
            serde_json::json!({"snapshot": snapshot.id, "taken_at": snapshot.taken_at,
                "objects": manifest.len(), "written": changed, "removed": removed})
        )?;
    } else {
        outln!(
            "exported snapshot {} ({}) to {}: {}, {} written, {removed} removed",
            snapshot.id,
            snapshot.taken_at,
            args.dir.display(),
            count(manifest.len(), "object", "objects"),
            count(changed, "file", "files")
        )?;
    }
    Ok(())
}

/// The whole state on stdout, one JSON line per object (`{"kind", "id", "object"}`), for
/// pipelines (`rewind export - --at 3d | jq …`).
async fn stream(session: &Session, manifest: &rewind_store::Manifest) -> anyhow::Result<()> {
    use std::io::Write as _;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let entries: Vec<_> = manifest.iter().collect();
    let batches: Vec<&[_]> = entries.chunks(16_384).collect();
    // One batch read ahead: the store reads and decompresses the next while this one is written.
    let fetch = |batch: &[(&rewind_store::ObjectKey, &rewind_model::ContentHash)]| {
        let store = session.store.clone();
        let hashes: Vec<_> = batch.iter().map(|(_, h)| **h).collect();
        tokio::spawn(async move { store.blobs(&hashes).await })
    };
    let mut next = batches.first().map(|b| fetch(b));
    for (i, batch) in batches.iter().enumerate() {
        let Some(pending) = next.take() else { break };
        next = batches.get(i + 1).map(|b| fetch(b));
        let blobs: std::collections::HashMap<_, _> = pending.await??.into_iter().collect();
        for (object, hash) in *batch {
            // The store checked the bytes against their hash: they are the canonical JSON
            // written at capture, so they go out as they are.
            let bytes = blobs.get(*hash).map(Vec::as_slice).unwrap_or_default();
            let head = format!(
                "{{\"kind\":\"{}\",\"id\":{},\"object\":",
                object.kind.name(),
                serde_json::to_string(&object.key)?
            );
            out.write_all(head.as_bytes())
                .and_then(|()| out.write_all(bytes))
                .and_then(|()| out.write_all(b"}\n"))
                .map_err(crate::output::failed)?;
        }
    }
    out.flush().map_err(crate::output::failed)
}

/// The object's file under `DIR`, in EntraExporter's layout (`rewind_model::layout`).
fn object_path(dir: &Path, kind: Kind, key: &str) -> anyhow::Result<PathBuf> {
    let file = object_file(kind, key).map_err(usage)?;
    Ok(dir.join(file))
}

/// Removes the `<id>/` directory a removed `<id>/<id>.json` leaves empty (a directory still
/// holding children stays).
fn remove_empty_parent(file: &Path) {
    if let Some(dir) = file.parent() {
        let _ = std::fs::remove_dir(dir);
    }
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
            remove_empty_parent(&path);
            removed += 1;
        }
    }
    Ok(removed)
}
