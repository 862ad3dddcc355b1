//! `rewind refs OBJECT [--at T|live]`: what an object references and what references it, by
//! kind and name, at one point — what to look at before touching it.

use rewind_app::links::{RefsReport, ResolvedEdge, edges_at, edges_of, points_at, resolve_edges};
use rewind_app::locate::resolve_object;
use rewind_app::names::load;

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
    let found =
        at.store.versions_at(&at.tenant, std::slice::from_ref(&object), at.snapshot.id).await?;
    let Some(Some(hash)) = found.get(&object).copied() else {
        return Err(usage(format!(
            "{} {} ({}) does not exist at {}",
            object.kind.name(),
            object.key,
            name.as_deref().unwrap_or("-"),
            at.label()
        )));
    };
    let value = load(&at.store, &[hash]).await?.remove(&hash).unwrap_or_default();
    let outgoing =
        resolve_edges(&at.store, &at.tenant, at.snapshot.id, edges_of(&object, &value)).await?;
    let incoming: Vec<ResolvedEdge> = edges_at(&at.store, &at.tenant, &at.snapshot)
        .await?
        .into_iter()
        .filter(|e| points_at(e, &object))
        .collect();
    if args.store.json {
        output::json(&RefsReport {
            kind: object.kind,
            id: object.key,
            display_name: name,
            at: at.stamp(),
            references: outgoing,
            referenced_by: incoming,
        })?;
    } else {
        outln!(
            "{} {} {}  at {}",
            object.kind.name(),
            object.key,
            name.as_deref().unwrap_or(""),
            at.label()
        )?;
        outln!("references ({}):", outgoing.len())?;
        for e in &outgoing {
            let what = e
                .target
                .as_ref()
                .map_or_else(|| format!("{} (not in the timeline)", e.edge.reference.id), describe);
            outln!("  {:<50} -> {what}", e.edge.reference.path)?;
        }
        outln!("referenced by ({}):", incoming.len())?;
        for e in &incoming {
            outln!(
                "  {} \"{}\"  {}",
                e.edge.from.kind.name(),
                e.edge.from_name.as_deref().unwrap_or("?"),
                e.edge.reference.path
            )?;
        }
    }
    session.store.close().await;
    Ok(())
}
