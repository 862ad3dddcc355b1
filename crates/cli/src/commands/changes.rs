//! `rewind changes --from T [--to T] [--kind K] [--actor A]`: what changed between two points of
//! the timeline, object by object, with the properties that changed and who changed them
//! (from the audit log).

use rewind_app::compare::{ChangesReport, ObjectChange};
use rewind_store::Change;

use super::compare::{Compared, compare, point};
use super::session::{Session, usage};
use crate::cli::ChangesArgs;
use crate::output::{self, out};
use crate::text::inert;

pub async fn run(args: ChangesArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let kind = args.kind;
    let from = point(&session, &tenant, Some(args.from)).await?;
    let to = point(&session, &tenant, args.to).await?;
    let mut compared = compare(from, to, |k, _| kind.is_none_or(|want| k.kind == want)).await?;
    if let Some(asked) = &args.actor {
        let by = by_actor(&compared, asked)?;
        compared.objects.retain(|d| d.actors.iter().any(&by));
    }
    let report = ChangesReport::new(&compared);
    if args.store.json {
        output::json(&report)?;
    } else {
        out!("{}", text(&compared, &report.changes))?;
    }
    session.store.close().await;
    Ok(())
}

/// Which actors `--actor` means: the identity it names (by id, application id, user principal
/// name, or a display name only one identity has), else everyone whose name contains it.
fn by_actor(
    compared: &Compared,
    asked: &str,
) -> anyhow::Result<impl Fn(&rewind_model::Actor) -> bool + use<>> {
    let seen = compared.objects.iter().flat_map(|d| &d.actors);
    let named = rewind_app::locate::resolve_actor(asked, seen).map_err(usage)?;
    let part = asked.to_lowercase();
    Ok(move |a: &rewind_model::Actor| match &named {
        Some(who) => a.same_identity(who),
        None => a.label().to_lowercase().contains(&part),
    })
}

/// The text `rewind changes` prints for a comparison (the demo prints it too).
pub fn report(compared: &Compared) -> String {
    text(compared, &ChangesReport::new(compared).changes)
}

fn text(c: &Compared, changes: &[ObjectChange]) -> String {
    use std::fmt::Write as _;
    let count = |k: Change| changes.iter().filter(|x| x.change == k).count();
    let mut out = format!(
        "from {} to {}: {} created, {} updated, {} deleted\n",
        c.from.label(),
        c.to.label(),
        count(Change::Created),
        count(Change::Updated),
        count(Change::Deleted)
    );
    for ch in changes {
        let by = if ch.actors.is_empty() {
            String::new()
        } else {
            format!("  by {}", ch.actors.join(", "))
        };
        let name =
            ch.display_name.as_deref().map(|n| format!(" ({})", inert(n))).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<8} {}/{}{name}{}",
            ch.change.name(),
            ch.kind.name(),
            inert(&ch.id),
            inert(&by)
        );
        if !ch.paths.is_empty() {
            let _ = writeln!(out, "           {}", ch.paths.join(", "));
        }
    }
    out
}
