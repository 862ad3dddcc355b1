//! `rewind log`: the tenant's snapshots, newest first, with changes per kind.

use rewind_app::locate::{TimeSpec, snapshot_for};
use rewind_store::SnapshotInfo;
use std::time::Duration;

use serde_json::json;

use super::session::{Session, usage};
use crate::cli::LogArgs;

pub async fn run(args: LogArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let now = jiff::Timestamp::now();
    let mut snapshots = session.store.snapshots(&tenant).await?;
    if let Some(since) = &args.since {
        let spec: TimeSpec = since.parse().map_err(usage)?;
        snapshots.retain(|s| after(s, spec, now));
    }
    if let Some(until) = &args.until {
        let spec: TimeSpec = until.parse().map_err(usage)?;
        let last = snapshot_for(&session.store, &tenant, spec, now)
            .await
            .map_err(usage)?;
        snapshots.retain(|s| s.id <= last.id);
    }
    snapshots.reverse();
    if args.store.json {
        let items: Vec<_> = snapshots.iter().map(snapshot_json).collect();
        println!(
            "{}",
            json!({"tenant": tenant.name, "tenant_id": tenant.tenant_id, "snapshots": items})
        );
    } else if snapshots.is_empty() {
        println!("no snapshots of {} yet: run `rewind capture`", tenant.name);
    } else {
        print!("{}", table(&snapshots));
    }
    session.store.close().await;
    Ok(())
}

/// The text table of `rewind log`, in the order given.
pub fn table(snapshots: &[SnapshotInfo]) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "{:>6}  {:<19}  {:<8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}\n",
        "ID", "TAKEN AT (UTC)", "COMPLETE", "OBJECTS", "CREATED", "UPDATED", "DELETED", "REQUESTS"
    );
    for s in snapshots {
        let t = s.totals();
        let _ = writeln!(
            out,
            "{:>6}  {:<19}  {:<8}  {:>8}  {:>8}  {:>8}  {:>8}  {:>8}",
            s.id,
            s.taken_at.strftime("%Y-%m-%d %H:%M:%S"),
            if s.complete { "yes" } else { "no" },
            s.objects,
            t.created,
            t.updated,
            t.deleted,
            s.requests
        );
        let changed = kind_changes(s);
        if !changed.is_empty() {
            let _ = writeln!(out, "{:>8}{changed}", "");
        }
    }
    out
}

fn after(s: &SnapshotInfo, spec: TimeSpec, now: jiff::Timestamp) -> bool {
    match spec {
        TimeSpec::Snapshot(id) => s.id >= id,
        other => other.instant(now).is_none_or(|t| s.taken_at >= t),
    }
}

/// `user +3 ~2 -1 · group ~1`: the kinds a snapshot changed.
pub fn kind_changes(s: &SnapshotInfo) -> String {
    s.counts
        .iter()
        .filter(|(_, c)| c.created + c.updated + c.deleted > 0)
        .map(|(k, c)| {
            let mut parts = vec![k.name().to_string()];
            for (sign, n) in [("+", c.created), ("~", c.updated), ("-", c.deleted)] {
                if n > 0 {
                    parts.push(format!("{sign}{n}"));
                }
            }
            parts.join(" ")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn snapshot_json(s: &SnapshotInfo) -> serde_json::Value {
    let t = s.totals();
    json!({
        "snapshot": s.id,
        "taken_at": s.taken_at,
        "complete": s.complete,
        "objects": s.objects,
        "changes": {"created": t.created, "updated": t.updated, "deleted": t.deleted},
        "kinds": s.counts,
        "requests": s.requests,
        "seconds": Duration::from_millis(s.millis).as_secs_f64(),
        "chain": s.chain.to_hex(),
        "parent": s.parent,
    })
}
