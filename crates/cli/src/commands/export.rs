//! `rewind export DIR [--at T] [--since T]` and `rewind export - [--at T]`: parse the flags,
//! run [`rewind_app::export`] and report what it wrote.

use rewind_app::export::{ExportError, export_stream, export_tree};
use rewind_app::locate::{TimeSpec, snapshot_for};

use super::session::{Session, usage};
use crate::cli::ExportArgs;
use crate::output::outln;
use crate::text::count;

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenant = session.tenant().await?;
    let now = jiff::Timestamp::now();
    let at = |spec: Option<TimeSpec>| {
        let (store, tenant) = (&session.store, &tenant);
        async move {
            let spec = spec.unwrap_or(TimeSpec::At(now));
            snapshot_for(store, tenant, spec, now).await.map_err(usage)
        }
    };
    let snapshot = at(args.at).await?;
    if args.dir.as_os_str() == "-" {
        if args.since.is_some() {
            return Err(usage("--since writes into a directory; leave it out with `-`"));
        }
        let manifest = session.store.manifest(&tenant, &snapshot).await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
        export_stream(&session.store, &manifest, &mut out).await.map_err(classify)?;
        session.store.close().await;
        return Ok(());
    }
    let since = match args.since {
        Some(spec) => Some(at(Some(spec)).await?),
        None => None,
    };
    let report = export_tree(&session.store, &tenant, &snapshot, &args.dir, since.as_ref())
        .await
        .map_err(classify)?;
    session.store.close().await;
    if args.store.json {
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        outln!(
            "exported snapshot {} ({}) to {}: {}, {} written, {} removed",
            report.snapshot,
            report.taken_at,
            args.dir.display(),
            count(report.objects, "object", "objects"),
            count(report.written, "file", "files"),
            report.removed
        )?;
    }
    Ok(())
}

/// A key that cannot be a path is a usage error (exit 2); a closed standard output ends the
/// command quietly.
fn classify(e: ExportError) -> anyhow::Error {
    match e {
        ExportError::Layout(bad) => usage(bad),
        ExportError::Output(io) => crate::output::failed(io),
        other => other.into(),
    }
}
