//! `rewind forget --keep-…`: retention in the manner of restic's `forget`; the forgotten
//! snapshots' changes fold into the kept ones, so every kept point reads exactly as before.

use rewind_app::maintenance::ForgetSummary;
use rewind_store::{KeepPolicy, StoreError};

use super::session::{Session, usage};
use crate::cli::ForgetArgs;
use crate::output::{self, outln};
use crate::text::count;

pub async fn run(args: ForgetArgs) -> anyhow::Result<()> {
    let policy = KeepPolicy {
        last: args.keep_last,
        hourly: args.keep_hourly,
        daily: args.keep_daily,
        weekly: args.keep_weekly,
        monthly: args.keep_monthly,
        yearly: args.keep_yearly,
    };
    if policy.is_empty() {
        return Err(usage(
            "say what to keep: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly or --keep-yearly (the newest snapshot is always kept)",
        ));
    }
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let report = match session.store.forget(&tenant, policy, args.dry_run).await {
        Err(e @ StoreError::Conflict(_)) => return Err(usage(e)),
        other => other?,
    };
    session.store.close().await;
    let summary = ForgetSummary::new(&tenant, policy, report);
    if args.store.json {
        return output::json(&summary);
    }
    let (report, forgotten) = (&summary.report, summary.forgotten);
    outln!("{:>6}  {:<20}  DECISION", "ID", "TAKEN AT (UTC)")?;
    for d in &report.decisions {
        outln!(
            "{:>6}  {:<20}  {}",
            d.snapshot,
            d.taken_at.strftime("%Y-%m-%d %H:%M:%S"),
            if d.keep() {
                format!("keep ({})", d.reasons.join(", "))
            } else {
                "forget".to_string()
            }
        )?;
    }
    let verb = if args.dry_run { "would forget" } else { "forgot" };
    outln!("{verb} {forgotten} of {}", count(report.decisions.len(), "snapshot", "snapshots"))?;
    if !args.dry_run && forgotten > 0 {
        outln!(
            "{} folded into kept snapshots, {} removed; {} ({} KiB) no longer used deleted",
            count(report.versions_folded, "version row", "version rows"),
            report.versions_removed,
            count(report.blobs_removed, "blob", "blobs"),
            report.bytes_removed.div_ceil(1024)
        )?;
    }
    Ok(())
}
