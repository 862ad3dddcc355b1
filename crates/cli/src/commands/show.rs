//! `rewind show OBJECT [--at T]`: an object's canonical configuration at a point in time.

use rewind_app::locate::{TimeSpec, resolve_object, snapshot_for};
use rewind_app::timeline::ShowReport;
use serde_json::Value;

use super::session::{Session, usage};
use crate::cli::ShowArgs;
use crate::output::{self, outln};

pub async fn run(args: ShowArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let now = jiff::Timestamp::now();
    let snapshot = match &args.at {
        Some(spec) => snapshot_for(&session.store, &tenant, *spec, now).await.map_err(usage)?,
        None => {
            snapshot_for(&session.store, &tenant, TimeSpec::At(now), now).await.map_err(usage)?
        }
    };
    let (object, name) =
        resolve_object(&session.store, &tenant, &args.object).await.map_err(usage)?;
    let manifest = session.store.manifest(&tenant, &snapshot).await?;
    let Some(hash) = manifest.get(&object) else {
        return Err(usage(format!(
            "{}/{} ({}) did not exist at snapshot {} ({}); `rewind history {}` shows when it did",
            object.kind.name(),
            object.key,
            name.as_deref().unwrap_or("-"),
            snapshot.id,
            snapshot.taken_at,
            args.object
        )));
    };
    let mut value = session.store.version(hash).await?;
    if let Value::Object(m) = &mut value {
        m.insert(object.kind.key_property().to_string(), Value::String(object.key.clone()));
        m.sort_keys();
    }
    if args.store.json {
        output::json(&ShowReport::new(&object, &snapshot, *hash, value))?;
    } else {
        outln!(
            "# {} {} at snapshot {} ({}), version {}",
            object.kind.name(),
            object.key,
            snapshot.id,
            snapshot.taken_at,
            hash
        )?;
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
    }
    session.store.close().await;
    Ok(())
}
