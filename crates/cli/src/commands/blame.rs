//! `rewind blame OBJECT`: for each property of the object's current (or last) version, the
//! change that set its value — when, which snapshot, and who.

use rewind_app::locate::resolve_object;
use rewind_app::names::load;
use rewind_app::timeline::BlameReport;
use rewind_model::ContentHash;
use serde_json::Value;

use super::session::{Session, usage};
use crate::cli::BlameArgs;
use crate::output::{self, outln};

pub async fn run(args: BlameArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let (object, name) =
        resolve_object(&session.store, &tenant, &args.object).await.map_err(usage)?;
    let history = session.store.history(&tenant, &object).await?;
    let hashes: Vec<ContentHash> = history.iter().filter_map(|v| v.hash).collect();
    let values = load(&session.store, &hashes).await?;
    let versions: Vec<Option<&Value>> =
        history.iter().map(|v| v.hash.and_then(|h| values.get(&h))).collect();
    let blamed = rewind_engine::blame(&versions);
    let deleted = history.last().is_some_and(|v| v.hash.is_none());
    if args.store.json {
        output::json(&BlameReport::new(&object, name, &history, blamed))?;
    } else {
        outln!(
            "{} {} {}{}",
            object.kind.name(),
            object.key,
            name.as_deref().unwrap_or(""),
            if deleted { "  (deleted; its last version)" } else { "" }
        )?;
        let first = history.first().map(|v| v.snapshot);
        for b in &blamed {
            let v = &history[b.set_by];
            let who = if v.actors.is_empty() {
                if Some(v.snapshot) == first && b.set_by == 0 {
                    "first seen".to_string()
                } else {
                    "unknown actor".to_string()
                }
            } else {
                rewind_app::timeline::actor_labels(&v.actors).join(", ")
            };
            outln!(
                "{:>6}  {}  {:<24}  {} = {}",
                v.snapshot,
                v.taken_at.strftime("%Y-%m-%d %H:%M"),
                truncate(&who, 24),
                b.path,
                b.value
            )?;
        }
    }
    session.store.close().await;
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}
