//! `rewind refs OBJECT [--at T|live]`: what an object references and what references it, by
//! kind and name, at one point — what to look at before touching it.

use rewind_app::links::RefsReport;
use rewind_app::locate::resolve_object;

use super::compare::{describe, point};
use super::session::{Session, usage};
use crate::cli::RefsArgs;
use crate::output::{self, outln};

pub async fn run(args: RefsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let (object, name) =
        resolve_object(&session.store, &tenant, &args.object).await.map_err(usage)?;
    let at = point(&session, &tenant, args.at).await?;
    let Some(report) = RefsReport::at(&at, object.clone(), name.clone()).await? else {
        let (kind, key, name) = (object.kind.name(), &object.key, name.as_deref().unwrap_or("-"));
        return Err(usage(format!("{kind} {key} ({name}) does not exist at {}", at.label())));
    };
    if args.store.json {
        output::json(&report)?;
    } else {
        text(&report, &at.label())?;
    }
    session.store.close().await;
    Ok(())
}

fn text(report: &RefsReport, at: &str) -> anyhow::Result<()> {
    let (kind, id, name) = (report.kind.name(), &report.id, report.display_name.as_deref());
    outln!("{kind} {id} {}  at {at}", name.unwrap_or(""))?;
    outln!("references ({}):", report.references.len())?;
    for e in &report.references {
        let what = e
            .target
            .as_ref()
            .map_or_else(|| format!("{} (not in the timeline)", e.edge.reference.id), describe);
        outln!("  {:<50} -> {what}", e.edge.reference.path)?;
    }
    outln!("referenced by ({}):", report.referenced_by.len())?;
    for e in &report.referenced_by {
        let from = (e.edge.from.kind.name(), e.edge.from_name.as_deref().unwrap_or("?"));
        outln!("  {} \"{}\"  {}", from.0, from.1, e.edge.reference.path)?;
    }
    Ok(())
}
