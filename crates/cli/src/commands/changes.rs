//! `rewind changes --from T [--to T] [--kind K] [--actor A]`: what changed between two points of
//! the timeline, object by object, with the properties that changed and who changed them
//! (from the audit log).

use serde::Serialize;
use serde_json::json;

use super::compare::{Compared, compare, point};
use super::session::{Session, usage};
use crate::cli::ChangesArgs;
use crate::output::{out, outln};
use crate::text::inert;

/// One object's change, as the scripting contract spells it (DESIGN §8.1).
#[derive(Debug, Serialize)]
struct ObjectChange {
    kind: &'static str,
    id: String,
    display_name: Option<String>,
    change: &'static str,
    paths: Vec<String>,
    actors: Vec<String>,
    actor_identities: Vec<rewind_model::Actor>,
}

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
    let changes = object_changes(&compared);
    if args.store.json {
        outln!(
            "{}",
            json!({"from": compared.from.json(), "to": compared.to.json(), "changes": changes})
        )?;
    } else {
        out!("{}", text(&compared, &changes))?;
    }
    session.store.close().await;
    Ok(())
}

/// Each differing object with the property paths that changed.
fn object_changes(compared: &Compared) -> Vec<ObjectChange> {
    compared
        .objects
        .iter()
        .map(|d| ObjectChange {
            kind: d.object.kind.name(),
            id: d.object.key.clone(),
            display_name: d.display_name(),
            change: d.change.name(),
            paths: match (&d.old, &d.new) {
                (Some(o), Some(n)) => rewind_engine::property_changes(o, n)
                    .into_iter()
                    .map(|c| c.path)
                    .collect(),
                _ => Vec::new(),
            },
            actors: d.actors.iter().map(rewind_model::Actor::label).collect(),
            actor_identities: d.actors.clone(),
        })
        .collect()
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
    text(compared, &object_changes(compared))
}

fn text(c: &Compared, changes: &[ObjectChange]) -> String {
    use std::fmt::Write as _;
    let count = |k: &str| changes.iter().filter(|x| x.change == k).count();
    let mut out = format!(
        "from {} to {}: {} created, {} updated, {} deleted\n",
        c.from.label(),
        c.to.label(),
        count("created"),
        count("updated"),
        count("deleted")
    );
    for ch in changes {
        let by = if ch.actors.is_empty() {
            String::new()
        } else {
            format!("  by {}", ch.actors.join(", "))
        };
        let name = ch
            .display_name
            .as_deref()
            .map(|n| format!(" ({})", inert(n)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<8} {}/{}{name}{}",
            ch.change,
            ch.kind,
            inert(&ch.id),
            inert(&by)
        );
        if !ch.paths.is_empty() {
            let _ = writeln!(out, "           {}", ch.paths.join(", "));
        }
    }
    out
}
