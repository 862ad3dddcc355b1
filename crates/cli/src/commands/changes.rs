//! `rewind changes --from T [--to T] [--kind K] [--actor A]`: what changed between two points of
//! the timeline, object by object, with the properties that changed and who changed them
//! (from the audit log). Found from the version rows between the two snapshots, so the cost
//! follows the changes, not the tenant.

use std::collections::HashMap;

use rewind_app::locate::{TimeSpec, kind_named, snapshot_for};
use rewind_model::ContentHash;
use rewind_store::{Change, SnapshotInfo};
use serde::Serialize;
use serde_json::{Value, json};

use super::session::{Session, usage};
use crate::cli::ChangesArgs;

/// One object's change, as the scripting contract spells it (DESIGN §8.1).
#[derive(Debug, Serialize)]
struct ObjectChange {
    kind: &'static str,
    id: String,
    display_name: Option<String>,
    change: &'static str,
    paths: Vec<String>,
    actors: Vec<String>,
}

pub async fn run(args: ChangesArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let now = jiff::Timestamp::now();
    let point = |t: &str| -> anyhow::Result<TimeSpec> {
        if t.eq_ignore_ascii_case("live") {
            return Err(usage(
                "comparing with the live tenant is not built yet: run `rewind capture` and compare with the latest snapshot (leave out --to)",
            ));
        }
        t.parse::<TimeSpec>().map_err(usage)
    };
    let from = snapshot_for(&session.store, &tenant, point(&args.from)?, now)
        .await
        .map_err(usage)?;
    let to = match &args.to {
        Some(t) => snapshot_for(&session.store, &tenant, point(t)?, now)
            .await
            .map_err(usage)?,
        None => snapshot_for(&session.store, &tenant, TimeSpec::At(now), now)
            .await
            .map_err(usage)?,
    };
    let kind = match &args.kind {
        Some(k) => Some(kind_named(k).ok_or_else(|| usage(format!("'{k}' is not a kind")))?),
        None => None,
    };
    let (older, newer) = if from.id <= to.id {
        (&from, &to)
    } else {
        (&to, &from)
    };
    let keys = session
        .store
        .changed_between(&tenant, older.id, newer.id)
        .await?;
    let before = session.store.manifest(&tenant, older).await?;
    let after = session.store.manifest(&tenant, newer).await?;
    let actors = session
        .store
        .actors_between(&tenant, older.id, newer.id)
        .await?;
    let mut wanted = Vec::new();
    for key in keys
        .into_iter()
        .filter(|k| kind.is_none_or(|want| k.kind == want))
    {
        let (b, a) = (before.get(&key).copied(), after.get(&key).copied());
        let Some(change) = Change::between(b.as_ref(), a.as_ref()) else {
            continue;
        };
        let who = actors.get(&key).cloned().unwrap_or_default();
        if let Some(filter) = &args.actor {
            let f = filter.to_lowercase();
            if !who.iter().any(|x| x.to_lowercase().contains(&f)) {
                continue;
            }
        }
        wanted.push((key, b, a, change, who));
    }
    let hashes: Vec<ContentHash> = wanted
        .iter()
        .flat_map(|(_, b, a, _, _)| [*b, *a])
        .flatten()
        .collect();
    let mut blobs: HashMap<ContentHash, Value> = HashMap::new();
    for chunk in hashes.chunks(2_000) {
        for (h, bytes) in session.store.blobs(chunk).await? {
            blobs.insert(h, serde_json::from_slice(&bytes).unwrap_or(Value::Null));
        }
    }
    let version = |h: Option<ContentHash>| h.and_then(|h| blobs.get(&h));
    let changes: Vec<ObjectChange> = wanted
        .into_iter()
        .map(|(key, b, a, change, actors)| {
            let (old, new) = (version(b), version(a));
            let paths = match (old, new) {
                (Some(o), Some(n)) => rewind_engine::property_changes(o, n)
                    .into_iter()
                    .map(|c| c.path)
                    .collect(),
                _ => Vec::new(),
            };
            ObjectChange {
                kind: key.kind.name(),
                id: key.key,
                display_name: new.or(old).and_then(display_name),
                change: change.name(),
                paths,
                actors,
            }
        })
        .collect();
    session.store.close().await;
    if args.store.json {
        println!(
            "{}",
            json!({"from": point_json(&from), "to": point_json(&to), "changes": changes})
        );
    } else {
        print!("{}", text(&from, &to, &changes));
    }
    Ok(())
}

fn display_name(v: &Value) -> Option<String> {
    [
        "displayName",
        "userPrincipalName",
        "principalDisplayName",
        "name",
    ]
    .iter()
    .find_map(|k| v.get(*k).and_then(Value::as_str))
    .map(str::to_string)
}

fn point_json(s: &SnapshotInfo) -> Value {
    json!({"snapshot": s.id, "taken_at": s.taken_at})
}

fn text(from: &SnapshotInfo, to: &SnapshotInfo, changes: &[ObjectChange]) -> String {
    use std::fmt::Write as _;
    let count = |c: &str| changes.iter().filter(|x| x.change == c).count();
    let mut out = format!(
        "from snapshot {} ({}) to snapshot {} ({}): {} created, {} updated, {} deleted\n",
        from.id,
        from.taken_at,
        to.id,
        to.taken_at,
        count("created"),
        count("updated"),
        count("deleted")
    );
    for c in changes {
        let by = if c.actors.is_empty() {
            String::new()
        } else {
            format!("  by {}", c.actors.join(", "))
        };
        let _ = writeln!(
            out,
            "  {:<8} {}/{} ({}){}",
            c.change,
            c.kind,
            c.id,
            c.display_name.as_deref().unwrap_or("-"),
            by
        );
        if !c.paths.is_empty() {
            let _ = writeln!(out, "           {}", c.paths.join(", "));
        }
    }
    out
}
