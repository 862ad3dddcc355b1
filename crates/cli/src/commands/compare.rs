//! Points of the timeline as the command line names them (a time, a snapshot id, or `live`),
//! over [`rewind_app::compare`], and how a referenced object reads.

use std::io::IsTerminal as _;

use rewind_app::live::read_live;
use rewind_app::locate::{TimeSpec, snapshot_for};
use rewind_app::names::Named;
use rewind_app::{Config, RawConfig};
use rewind_msgraph::ClientOptions;
use rewind_store::TenantInfo;

pub use rewind_app::compare::{Compared, Point, ReferenceNames, compare};

use super::capture::{Progress, classify};
use super::session::{Session, usage};
use crate::cli::When;

/// A point as given on the command line: a time, a snapshot id, or `live` (read the tenant
/// now, with the settings of `session` and the stored tenant). `None` is the latest snapshot.
pub async fn point(
    session: &Session,
    tenant: &TenantInfo,
    at: Option<When>,
) -> anyhow::Result<Point> {
    let now = jiff::Timestamp::now();
    let spec = match at {
        Some(When::Live) => return live(session, tenant).await,
        Some(When::At(spec)) => spec,
        None => TimeSpec::At(now),
    };
    let snapshot = snapshot_for(&session.store, tenant, spec, now).await.map_err(usage)?;
    Ok(Point::snapshot(&session.store, tenant, &snapshot))
}

async fn live(session: &Session, tenant: &TenantInfo) -> anyhow::Result<Point> {
    let raw = RawConfig::from_stored(tenant).overridden_by(session.raw.clone());
    let config = Config::resolve(raw).map_err(usage)?;
    let client = config.read_client(ClientOptions::default())?;
    let bar = Progress::new(std::io::stderr().is_terminal());
    let break_glass = session.raw.break_glass.clone().unwrap_or_default();
    let read = read_live(&client, tenant, break_glass, &|e| bar.event(&e)).await;
    bar.finish();
    Ok(Point::live(read.map_err(classify)?))
}

/// How a referenced object reads: `group "Break-glass" (deleted)`.
pub fn describe(named: &Named) -> String {
    format!(
        "{} \"{}\"{}",
        named.kind.name(),
        named.name.as_deref().unwrap_or("?"),
        if named.exists { "" } else { " (deleted)" }
    )
}
