//! `rewind check [--at T|live] [--plan FILE]`: the lockout analysis — can the break-glass
//! accounts and administrators still get in? Exit code 6 when at risk or critical.
//!
//! `rewind check --refs [--at T|live]`: references that point at nothing — a CA policy naming
//! a group that no longer exists, a role assignment of a deleted principal. Exit code 6 when
//! any is found, for scripts.

use rewind_app::access::{LockoutReport, lockout_check};
use rewind_app::links::{DanglingReport, ResolvedEdge, edges_at};
use rewind_app::plan_file::PlanFile;
use rewind_policy::{Lockout, explain};

use super::compare::{describe, point};
use super::session::{Session, usage};
use crate::cli::CheckArgs;
use crate::exit::Expected;
use crate::output::{self, out, outln};

pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    if args.refs {
        return refs(args).await;
    }
    let plan = match &args.plan {
        Some(path) => PlanFile::read(path).map_err(usage)?.steps(),
        None => Vec::new(),
    };
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let at = point(&session, &tenant, args.at).await?;
    let options = session
        .raw
        .lockout_options(&args.break_glass, args.home_country.as_ref())
        .map_err(usage)?;
    let report = LockoutReport {
        analysis: lockout_check(&at.store, &at.tenant, at.snapshot.id, &options, &plan).await?,
        at: at.stamp(),
        plan: args.plan.as_ref().map(|p| p.display().to_string()),
    };
    let analysis = &report.analysis;
    if args.store.json {
        output::json(&report)?;
    } else {
        let plan = args
            .plan
            .as_ref()
            .map(|p| format!(", after the plan {}", p.display()))
            .unwrap_or_default();
        outln!("{}{plan}", at.label())?;
        out!("{}", explain::analysis(analysis))?;
    }
    session.store.close().await;
    match analysis.verdict {
        Lockout::Ok => Ok(()),
        Lockout::AtRisk => Err(Expected::Found("lockout analysis: at risk".into()).into()),
        Lockout::Critical => Err(Expected::Found("lockout analysis: critical".into()).into()),
    }
}

async fn refs(args: CheckArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let at = point(&session, &tenant, args.at).await?;
    let dangling: Vec<ResolvedEdge> = edges_at(&at.store, &at.tenant, &at.snapshot)
        .await?
        .into_iter()
        .filter(ResolvedEdge::dangling)
        .collect();
    let report = DanglingReport::new(at.stamp(), dangling);
    let dangling = &report.dangling;
    if args.store.json {
        output::json(&report)?;
    } else {
        outln!(
            "{} dangling reference{} at {}",
            dangling.len(),
            if dangling.len() == 1 { "" } else { "s" },
            at.label()
        )?;
        for e in dangling {
            let what = e.target.as_ref().map_or_else(
                || format!("{} (never seen in the timeline)", e.edge.reference.id),
                |t| format!("{} {}", describe(t), t.key),
            );
            outln!(
                "  {} \"{}\"  {}\n      -> {what}",
                e.edge.from.kind.name(),
                e.edge.from_name.as_deref().unwrap_or("?"),
                e.edge.reference.path,
            )?;
        }
    }
    session.store.close().await;
    if dangling.is_empty() {
        Ok(())
    } else {
        Err(Expected::Found(format!("{} dangling references", dangling.len())).into())
    }
}
