//! `rewind history OBJECT`: every version of an object, with who changed it.

use rewind_app::locate::resolve_object;
use serde_json::json;

use super::session::{Session, usage};
use crate::cli::HistoryArgs;

pub async fn run(args: HistoryArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let (object, _) = resolve_object(&session.store, &tenant, &args.object)
        .await
        .map_err(usage)?;
    let versions = session.store.history(&tenant, &object).await?;
    if args.store.json {
        println!(
            "{}",
            json!({"kind": object.kind.name(), "id": object.key, "versions": versions})
        );
    } else {
        println!("{} {}", object.kind.name(), object.key);
        println!(
            "{:>6}  {:<20}  {:<8}  {:<12}  {:<30}  BY",
            "SNAP", "TAKEN AT (UTC)", "CHANGE", "VERSION", "NAME"
        );
        for v in &versions {
            let actors = if v.actors.is_empty() {
                "-".to_string()
            } else {
                v.actors.join(", ")
            };
            println!(
                "{:>6}  {:<20}  {:<8}  {:<12}  {:<30}  {actors}",
                v.snapshot,
                v.taken_at.strftime("%Y-%m-%d %H:%M:%S"),
                v.change.name(),
                v.hash.map_or_else(|| "-".to_string(), |h| h.to_string()),
                v.name.as_deref().unwrap_or("-"),
            );
        }
    }
    session.store.close().await;
    Ok(())
}
