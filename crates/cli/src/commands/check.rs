//! `rewind check --refs [--at T|live]`: references that point at nothing — a CA policy naming
//! a group that no longer exists, a role assignment of a deleted principal. Exit code 6 when
//! any is found, for scripts. (The lockout analysis of `check` comes with the CA engine.)

use rewind_app::links::{ResolvedEdge, edges_at};
use serde_json::json;

use super::compare::{describe, point};
use super::session::{Session, usage};
use crate::cli::CheckArgs;
use crate::exit::Expected;

pub async fn run(args: CheckArgs) -> anyhow::Result<()> {
    if !args.refs {
        return Err(usage(
            "the lockout analysis is not built yet; `rewind check --refs` reports dangling references",
        ));
    }
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let at = point(&session, &tenant, args.at.as_deref()).await?;
    let dangling: Vec<ResolvedEdge> = edges_at(&at.store, &at.tenant, &at.snapshot)
        .await?
        .into_iter()
        .filter(ResolvedEdge::dangling)
        .collect();
    if args.store.json {
        println!(
            "{}",
            json!({"at": at.json(), "ok": dangling.is_empty(), "dangling": dangling})
        );
    } else {
        println!(
            "{} dangling reference{} at {}",
            dangling.len(),
            if dangling.len() == 1 { "" } else { "s" },
            at.label()
        );
        for e in &dangling {
            let what = e.target.as_ref().map_or_else(
                || format!("{} (never seen in the timeline)", e.edge.reference.id),
                |t| format!("{} {}", describe(t), t.key),
            );
            println!(
                "  {} \"{}\"  {}\n      -> {what}",
                e.edge.from.kind.name(),
                e.edge.from_name.as_deref().unwrap_or("?"),
                e.edge.reference.path,
            );
        }
    }
    session.store.close().await;
    if dangling.is_empty() {
        Ok(())
    } else {
        Err(Expected::Found(format!("{} dangling references", dangling.len())).into())
    }
}
