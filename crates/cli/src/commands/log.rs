//! `rewind log`: the tenant's snapshots, newest first, with changes per kind.

use rewind_app::locate::{TimeSpec, snapshot_for};
use rewind_app::timeline::LogReport;
use std::fmt::Write as _;

use rewind_store::SnapshotInfo;

use super::session::{Session, usage};
use crate::cli::LogArgs;
use crate::output::{self, out, outln};
use crate::text::{Align, Table};

pub async fn run(args: LogArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let now = jiff::Timestamp::now();
    let mut snapshots = session.store.snapshots(&tenant).await?;
    // The chain head is the latest snapshot, whatever the filters keep.
    let head = snapshots.last().cloned();
    if let Some(spec) = args.since {
        snapshots.retain(|s| after(s, spec, now));
    }
    if let Some(spec) = args.until {
        let last = snapshot_for(&session.store, &tenant, spec, now).await.map_err(usage)?;
        snapshots.retain(|s| s.id <= last.id);
    }
    snapshots.reverse();
    if args.store.json {
        output::json(&LogReport::new(&tenant, &snapshots, head.as_ref()))?;
    } else if snapshots.is_empty() {
        outln!("no snapshots of {} yet: run `rewind capture`", tenant.name)?;
    } else {
        out!("{}", table(&snapshots))?;
    }
    session.store.close().await;
    Ok(())
}

/// The text table of `rewind log`, in the order given; under each snapshot, the kinds it
/// changed.
pub fn table(snapshots: &[SnapshotInfo]) -> String {
    let columns = [
        ("ID", Align::Right),
        ("TAKEN AT (UTC)", Align::Left),
        ("COMPLETE", Align::Left),
        ("OBJECTS", Align::Right),
        ("CREATED", Align::Right),
        ("UPDATED", Align::Right),
        ("DELETED", Align::Right),
        ("REQUESTS", Align::Right),
    ];
    let mut table = Table::new(&columns);
    for s in snapshots {
        let t = s.totals();
        table.row(vec![
            s.id.to_string(),
            s.taken_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            if s.complete { "yes" } else { "no" }.to_string(),
            s.objects.to_string(),
            t.created.to_string(),
            t.updated.to_string(),
            t.deleted.to_string(),
            s.requests.to_string(),
        ]);
    }
    // The kinds a snapshot changed go on a line of their own under its row, in line with the
    // time.
    let id_width = snapshots.iter().map(|s| s.id.to_string().len()).chain([2]).max().unwrap_or(2);
    let rendered = table.render();
    let mut lines = rendered.lines();
    let mut out = String::new();
    if let Some(header) = lines.next() {
        let _ = writeln!(out, "{header}");
    }
    for (line, s) in lines.zip(snapshots) {
        let _ = writeln!(out, "{line}");
        let changed = kind_changes(s);
        if !changed.is_empty() {
            let _ = writeln!(out, "{:width$}{changed}", "", width = id_width + 2);
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

/// `user +3 ~2 -1 · group ~1`: the kinds a snapshot changed, and those it could not read
/// (`unifiedRoleEligibilitySchedule not read (license-required)`).
pub fn kind_changes(s: &SnapshotInfo) -> String {
    s.counts
        .iter()
        .filter(|(_, c)| c.created + c.updated + c.deleted > 0 || c.unavailable.is_some())
        .map(|(k, c)| {
            let mut parts = vec![k.name().to_string()];
            for (sign, n) in [("+", c.created), ("~", c.updated), ("-", c.deleted)] {
                if n > 0 {
                    parts.push(format!("{sign}{n}"));
                }
            }
            if let Some(why) = c.unavailable {
                parts.push(format!("not read ({})", why.code()));
            }
            parts.join(" ")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
