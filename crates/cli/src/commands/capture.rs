//! `rewind capture`: one snapshot, with a progress bar on a terminal and the report of
//! DESIGN §8.1 with `--json`.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use rewind_app::capture::FailureClass;
use rewind_app::{CaptureError, CaptureEvent, CaptureOptions, CaptureReport, Config, RawConfig};
use rewind_model::Kind;
use rewind_msgraph::ClientOptions;
use rewind_store::TenantInfo;

use super::session::{Session, usage};
use crate::cli::CaptureArgs;
use crate::exit::Expected;
use crate::output::{out, outln};
use crate::text::count;

pub async fn run(args: CaptureArgs) -> anyhow::Result<()> {
    let time_limit = args.time_limit;
    let session = Session::open_or_create(&args.store, Some(&args.connect)).await?;
    let stored = session.find_tenant().await?;
    let raw = match &stored {
        Some(t) => RawConfig::from_stored(t).overridden_by(session.raw.clone()),
        None => session.raw.clone(),
    };
    let config = Config::resolve(raw).map_err(usage)?;
    let options =
        ClientOptions { concurrency: usize::from(args.concurrency), ..ClientOptions::default() };
    let client = config.read_client(options)?;
    let options = CaptureOptions {
        full: args.full,
        break_glass: session.raw.break_glass.clone().unwrap_or_default(),
        time_limit,
    };
    let bar = Progress::new(!args.store.json && std::io::stderr().is_terminal());
    let progress = |e| bar.event(&e);
    let result = if let Some(tenant) = stored {
        rewind_app::capture(&client, &session.store, &tenant, options, &progress)
            .await
            .map(|report| (tenant, report))
    } else {
        let new = config.new_tenant(session.raw.tenant.clone());
        rewind_app::capture_new(&client, &session.store, &new, options, &progress).await
    };
    bar.finish();
    let (tenant, report) = result.map_err(classify)?;
    for w in &report.warnings {
        eprintln!("warning: {}", crate::text::inert_lines(w));
    }
    if args.store.json {
        outln!("{}", serde_json::to_string(&report.summary(&tenant))?)?;
    } else {
        out!("{}", report_text(&tenant, &report))?;
    }
    session.store.close().await;
    Ok(())
}

pub fn classify(e: CaptureError) -> anyhow::Error {
    match e.class() {
        FailureClass::Authentication | FailureClass::Permission => {
            Expected::Auth(e.to_string()).into()
        }
        FailureClass::Unreachable => usage(e),
        FailureClass::Other => anyhow::Error::new(e).context("capture failed; nothing was stored"),
    }
}

/// The report as text: the snapshot, its changes and what reading cost.
pub fn report_text(tenant: &TenantInfo, r: &CaptureReport) -> String {
    let t = r.snapshot.totals();
    let mut s = format!(
        "snapshot {} of {} at {} ({}, {})\n  {}: {} created, {} updated, {} deleted\n  {:.1} s, {} ({} throttled, {} retried)\n",
        r.snapshot.id,
        tenant.name,
        r.snapshot.taken_at,
        if r.full { "full" } else { "incremental" },
        if r.snapshot.complete { "complete" } else { "incomplete" },
        count(r.snapshot.objects, "object", "objects"),
        t.created,
        t.updated,
        t.deleted,
        r.seconds,
        count(r.requests, "request", "requests"),
        r.throttled,
        r.retries,
    );
    let changed = super::log::kind_changes(&r.snapshot);
    if !changed.is_empty() {
        s.push_str("  ");
        s.push_str(&changed);
        s.push('\n');
    }
    s
}

/// A spinner with counts per kind, on stderr, only on a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Mutex<Vec<(Kind, u64)>>,
}

impl Progress {
    pub fn new(show: bool) -> Progress {
        let bar = show.then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress { bar, counts: Mutex::new(Vec::new()) }
    }

    pub fn event(&self, e: &CaptureEvent) {
        let Some(bar) = &self.bar else { return };
        match e {
            CaptureEvent::Read { kind, objects } => {
                let Ok(mut counts) = self.counts.lock() else {
                    return;
                };
                match counts.iter_mut().find(|(k, _)| k == kind) {
                    Some(c) => c.1 = *objects,
                    None => counts.push((*kind, *objects)),
                }
                let total: u64 = counts.iter().map(|c| c.1).sum();
                bar.set_message(format!("reading: {total} objects ({} last)", kind.name()));
            }
            CaptureEvent::Committing => bar.set_message("committing the snapshot"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
