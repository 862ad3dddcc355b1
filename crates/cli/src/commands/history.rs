//! `rewind history OBJECT`: every version of an object, with who changed it.

use rewind_app::locate::resolve_object;
use rewind_app::timeline::{HistoryReport, actor_labels};
use rewind_store::{ObjectKey, VersionRecord};

use super::session::{Session, usage};
use crate::cli::HistoryArgs;
use crate::output::{self, out};
use crate::text::{Align, Table, inert};

pub async fn run(args: HistoryArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let (object, _) = resolve_object(&session.store, &tenant, &args.object).await.map_err(usage)?;
    let versions = session.store.history(&tenant, &object).await?;
    if args.store.json {
        output::json(&HistoryReport::new(&object, &versions))?;
    } else {
        out!("{}", text(&object, &versions))?;
    }
    session.store.close().await;
    Ok(())
}

/// `rewind history` as text: the object, then one row per version.
pub fn text(object: &ObjectKey, versions: &[VersionRecord]) -> String {
    let mut table = Table::new(&[
        ("SNAP", Align::Right),
        ("TAKEN AT (UTC)", Align::Left),
        ("CHANGE", Align::Left),
        ("VERSION", Align::Left),
        ("NAME", Align::Left),
        ("BY", Align::Left),
    ])
    .limit(4, 40)
    .indent(2);
    for v in versions {
        table.row(vec![
            v.snapshot.to_string(),
            v.taken_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            v.change.name().to_string(),
            v.hash.map_or_else(|| "-".to_string(), |h| h.to_string()),
            v.name.clone().unwrap_or_else(|| "-".into()),
            if v.actors.is_empty() { "-".to_string() } else { actor_labels(&v.actors).join(", ") },
        ]);
    }
    format!("{} {}\n{}", object.kind.name(), inert(&object.key), table.render())
}
