//! `rewind restore --to T <scope> [--dry-run | --yes]` and `rewind apply FILE`: parse the
//! flags, run [`rewind_app::restore::Restore`] step by step — capture, plan, judge, ask, apply,
//! verify (DESIGN §6) — and render what it reports as text or JSON (DESIGN §8.1).
//!
//! `rewind restore --resume` continues the last restore that did not finish.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use rewind_app::locate::{TimeSpec, resolve_object, snapshot_for};
use rewind_app::plan_file::PlanFile;
use rewind_app::restore::{
    Ending, Judged, Restore, RestoreClients, RestoreError, RestoreReport, Scope, StepEvent,
    Unreviewed, check_plan_mac, plan_names,
};
use rewind_app::{Config, RawConfig};
use rewind_engine::restore::Plan;
use rewind_store::{ObjectKey, RestoreId, SnapshotInfo, TenantInfo};

use super::capture::{Progress, classify};
use super::restore_text;
use super::session::{Session, usage};
use crate::cli::{ApplyArgs, ApplyControl, RestoreArgs};
use crate::exit::Expected;
use crate::output::{out, outln};

pub async fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let restore = restorer(&session, &tenant, &args.control)?;
    let view = View { control: &args.control, json: args.store.json };
    if args.resume {
        return resume(&restore, view).await;
    }
    let (scope, target) = scope(&session, &tenant, &args).await?;
    let granted =
        restore.write_permissions(args.control.dry_run).await.map_err(classify_restore)?;
    let live = capture(&restore, view).await?;
    let prepared = restore.plan(&target, &live, &scope).await.map_err(classify_restore)?;
    for w in &prepared.warnings {
        eprintln!("warning: {}", crate::text::inert_lines(w));
    }
    let planned = Planned {
        live: &live,
        target: Some(&target),
        plan_out: args.plan_out.as_deref(),
        granted: granted.as_deref(),
    };
    proceed(&session, &tenant, &restore, view, prepared.plan, planned).await
}

pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let reviewed = PlanFile::read(&args.plan)
        .and_then(|file| file.into_restore_plan(&args.plan))
        .map_err(usage)?;
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    if let Some(warning) = check_plan_mac(&session.store, &reviewed, &args.plan).map_err(usage)? {
        eprintln!("warning: {warning}");
    }
    let tenant = session.tenant().await?;
    let restore = restorer(&session, &tenant, &args.control)?;
    let view = View { control: &args.control, json: args.store.json };
    let granted =
        restore.write_permissions(args.control.dry_run).await.map_err(classify_restore)?;
    let live = capture(&restore, view).await?;
    // The file says what was reviewed; what runs is planned again from its desired state
    // against the tenant now, and only if it is the same.
    let plan = match restore.replan_reviewed(&reviewed, &live).await {
        Err(RestoreError::Unreviewed(found)) => {
            return Err(usage(format!(
                "the plan {} is not what its desired state needs against the tenant now, so what would run is not what was reviewed:\n  {}\nmake the plan again (rewind restore … --plan-out FILE) and review that",
                args.plan.display(),
                found.iter().map(unreviewed).collect::<Vec<_>>().join("\n  ")
            )));
        }
        other => other.map_err(classify_restore)?,
    };
    let planned =
        Planned { live: &live, target: None, plan_out: None, granted: granted.as_deref() };
    proceed(&session, &tenant, &restore, view, plan, planned).await
}

/// One way a plan file differs from the plan made now, in words.
fn unreviewed(u: &Unreviewed) -> String {
    let name = |s: &rewind_app::restore::StepName| {
        format!("{} {} {}", s.action, s.kind.name(), crate::text::inert(&s.id))
    };
    match u {
        Unreviewed::NotNeeded(s) => format!("in the file, not needed now: {}", name(s)),
        Unreviewed::NotInFile(s) => format!("needed now, not in the file: {}", name(s)),
        Unreviewed::Repeated => "a step repeated in the file".into(),
    }
}

/// The scope the flags name, and the snapshot to go back to.
async fn scope(
    session: &Session,
    tenant: &TenantInfo,
    args: &RestoreArgs,
) -> anyhow::Result<(Scope, SnapshotInfo)> {
    let at = |spec: Option<TimeSpec>| async move {
        let spec = spec.ok_or_else(|| usage("say which point to go back to: --to T"))?;
        snapshot_for(&session.store, tenant, spec, jiff::Timestamp::now()).await.map_err(usage)
    };
    one_scope(args)?;
    if let Some(actor) = &args.changed_by {
        let since = at(args.since).await?;
        let target = if args.to.is_some() { at(args.to).await? } else { since.clone() };
        return Ok((Scope::Actor { actor: actor.clone(), since }, target));
    }
    let target = at(args.to).await?;
    if args.all {
        return Ok((Scope::All, target));
    }
    if !args.kinds.is_empty() {
        return Ok((Scope::Kinds(args.kinds.clone()), target));
    }
    let objects = objects(session, tenant, &args.objects).await?;
    let Some(path) = &args.property else {
        return Ok((Scope::Objects(objects), target));
    };
    let [object] = objects.as_slice() else {
        return Err(usage("--property restores one property of exactly one --object"));
    };
    Ok((Scope::Property { object: object.clone(), path: path.clone() }, target))
}

/// Exactly one of the scope flags is given.
fn one_scope(args: &RestoreArgs) -> anyhow::Result<()> {
    let given =
        [!args.objects.is_empty(), !args.kinds.is_empty(), args.changed_by.is_some(), args.all];
    match given.iter().filter(|b| **b).count() {
        0 => Err(usage(
            "say what to restore: --object OBJECT, --kind KIND, --object OBJECT --property PATH, --changed-by ACTOR --since T, or --all",
        )),
        1 => Ok(()),
        _ => Err(usage("choose one scope: --object, --kind, --changed-by or --all")),
    }
}

/// The objects `--object` names, each found in the store.
async fn objects(
    session: &Session,
    tenant: &TenantInfo,
    specs: &[String],
) -> anyhow::Result<Vec<ObjectKey>> {
    let mut objects = Vec::with_capacity(specs.len());
    for spec in specs {
        let (key, _) = resolve_object(&session.store, tenant, spec).await.map_err(usage)?;
        objects.push(key);
    }
    Ok(objects)
}

/// How the user asked to see and control the restore.
#[derive(Clone, Copy)]
struct View<'a> {
    control: &'a ApplyControl,
    json: bool,
}

/// What a plan was made against, and what to do with it besides.
struct Planned<'a> {
    live: &'a SnapshotInfo,
    target: Option<&'a SnapshotInfo>,
    plan_out: Option<&'a std::path::Path>,
    granted: Option<&'a [String]>,
}

/// The restore use case with the configuration and flags merged: the write app the flags name
/// (else the configured one), the break-glass accounts and home country for the guard.
fn restorer<'a>(
    session: &'a Session,
    tenant: &'a TenantInfo,
    control: &ApplyControl,
) -> anyhow::Result<Restore<'a>> {
    let mut raw = RawConfig::from_stored(tenant).overridden_by(session.raw.clone());
    if control.write_client_id.is_some() {
        raw.write_client_id.clone_from(&control.write_client_id);
    }
    if control.write_client_secret.is_some() {
        raw.write_client_secret.clone_from(&control.write_client_secret);
    }
    let config = Config::resolve(raw).map_err(usage)?;
    let clients = RestoreClients::from_config(&config, usize::from(control.concurrency))?;
    let lockout = session
        .raw
        .lockout_options(&control.break_glass, control.home_country.as_ref())
        .map_err(usage)?;
    Ok(Restore::new(&session.store, tenant, clients, lockout))
}

/// A snapshot of the tenant as it is now, with a progress bar on a terminal.
async fn capture(restore: &Restore<'_>, view: View<'_>) -> anyhow::Result<SnapshotInfo> {
    let bar = Progress::new(!view.json && std::io::stderr().is_terminal());
    let report = restore.capture(&|e| bar.event(&e)).await;
    bar.finish();
    let report = report.map_err(classify_restore)?;
    for w in &report.warnings {
        eprintln!("warning: {}", crate::text::inert_lines(w));
    }
    Ok(report.snapshot)
}

/// Judges the plan, shows it, and — unless only planned or refused — asks, applies and
/// verifies it.
async fn proceed(
    session: &Session,
    tenant: &TenantInfo,
    restore: &Restore<'_>,
    view: View<'_>,
    plan: Plan,
    planned: Planned<'_>,
) -> anyhow::Result<()> {
    let Planned { live, target, granted, .. } = planned;
    let judged = restore.judge(plan, live, target, granted).await.map_err(classify_restore)?;
    show_plan(session, tenant, view, &judged, &planned).await?;
    let (plan, guard, missing) = (&judged.plan, &judged.guard, &judged.missing);
    let refused = guard.refuses() && !view.control.allow_lockout;
    if view.control.dry_run || refused {
        return stop_at_plan(restore, view, &judged, &planned, refused);
    }
    if plan.steps.is_empty() {
        return nothing_to_do(view, &judged, &planned);
    }
    if !missing.is_empty() {
        return Err(refuse_missing(restore, missing));
    }
    if !view.control.yes && !confirm()? {
        return Err(usage("not applied"));
    }
    let begun = restore.begin(plan, &holder()).await.map_err(classify_restore)?;
    for old in &begun.abandoned {
        let (id, at) = (old.id, old.created_at);
        eprintln!("note: restore {id} of {at} did not finish; this new plan replaces it");
    }
    let applying = Applying { plan, id: begun.restore, guard: Some(guard), target, live };
    finish(restore, view, applying).await
}

/// The guard's warnings, the plan file (`--plan-out`) and, for people, the plan.
async fn show_plan(
    session: &Session,
    tenant: &TenantInfo,
    view: View<'_>,
    judged: &Judged,
    planned: &Planned<'_>,
) -> anyhow::Result<()> {
    for w in &judged.warnings {
        eprintln!("warning: {w}");
    }
    let (plan, live) = (&judged.plan, planned.live);
    if let Some(path) = planned.plan_out {
        let text = serde_json::to_string_pretty(plan)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the plan to {}", path.display()))?;
    }
    if !view.json {
        let names = plan_names(&session.store, tenant, live, plan).await?;
        out!("{}", restore_text::plan(plan, planned.target, live, &judged.guard, &names))?;
    }
    Ok(())
}

/// Ends a dry run, or a plan the guard refuses: the report (with what the write app lacks),
/// and the refusal.
fn stop_at_plan(
    restore: &Restore<'_>,
    view: View<'_>,
    judged: &Judged,
    planned: &Planned<'_>,
    refused: bool,
) -> anyhow::Result<()> {
    let (plan, guard, missing) = (&judged.plan, &judged.guard, &judged.missing);
    if view.json {
        let timings = restore.timings();
        let report = RestoreReport::planned(plan, Some(guard), planned.target, planned.live)
            .with_timings(&timings)
            .with_missing(missing);
        outln!("{}", serde_json::to_string(&report)?)?;
    } else if !missing.is_empty() {
        let needs = restore_text::missing(missing);
        outln!("\nBefore it can be applied, the write app needs:{needs}")?;
    }
    if refused {
        return Err(Expected::Refused(restore_text::refusal(guard)).into());
    }
    Ok(())
}

/// Nothing differs from the desired state: the tenant is as wanted.
fn nothing_to_do(view: View<'_>, judged: &Judged, planned: &Planned<'_>) -> anyhow::Result<()> {
    if view.json {
        let (plan, guard) = (&judged.plan, Some(&judged.guard));
        let report =
            RestoreReport::planned(plan, guard, planned.target, planned.live).nothing_to_do();
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        outln!("Nothing to do: the scope is already as it was.")?;
    }
    Ok(())
}

/// A journaled restore about to be applied.
struct Applying<'a> {
    plan: &'a Plan,
    id: RestoreId,
    guard: Option<&'a rewind_app::restore::Guard>,
    target: Option<&'a SnapshotInfo>,
    live: &'a SnapshotInfo,
}

/// Applies (or resumes) a restore, verifies it, and reports how it ended.
async fn finish(restore: &Restore<'_>, view: View<'_>, a: Applying<'_>) -> anyhow::Result<()> {
    let show = !view.json && std::io::stderr().is_terminal();
    let bar = Progress::new(show);
    let applied = restore.apply(a.plan, a.id, &step_progress(show), &|e| bar.event(&e)).await;
    bar.finish();
    let applied = applied.map_err(classify_restore)?;
    for w in &applied.warnings {
        eprintln!("warning: {}", crate::text::inert_lines(w));
    }
    if view.json {
        let timings = restore.timings();
        let report = RestoreReport::planned(a.plan, a.guard, a.target, a.live)
            .with_timings(&timings)
            .applied(&applied);
        outln!("{}", serde_json::to_string(&report)?)?;
    } else {
        let (execution, verification) = (&applied.execution, &applied.verification);
        out!("{}", restore_text::outcome(execution, verification, &applied.after))?;
    }
    ended(applied.ending())
}

/// On a terminal, a line that counts the steps applied, every hundred and at the end.
fn step_progress(show: bool) -> impl Fn(StepEvent<'_>) + Sync {
    move |e: StepEvent<'_>| {
        let StepEvent::Finished { done, total, outcome } = e;
        if show && (done % 100 == 0 || done == total) {
            let (kind, id) = (outcome.kind, crate::text::inert(&outcome.id));
            eprint!("\r  applied {done}/{total} steps (last: {kind} {id})   ");
            if done == total {
                eprintln!();
            }
        }
    }
}

/// How a restore's ending maps to the command's result (and so its exit code).
fn ended(ending: Ending) -> anyhow::Result<()> {
    match ending {
        Ending::Converged => Ok(()),
        Ending::StepsFailed(failed) => Err(Expected::Partial(format!(
            "{} did not succeed; fix what {} report and run `rewind restore --resume`",
            crate::text::count(failed, "step", "steps"),
            if failed == 1 { "it" } else { "they" }
        ))
        .into()),
        Ending::Differs(objects) => Err(Expected::Found(format!(
            "the tenant differs from the plan's desired state in {}",
            crate::text::count(objects, "object", "objects")
        ))
        .into()),
    }
}

/// Continues the last restore that did not finish.
async fn resume(restore: &Restore<'_>, view: View<'_>) -> anyhow::Result<()> {
    let Some(last) = restore.resumable().await.map_err(classify_restore)? else {
        return Err(usage("no restore of this tenant is unfinished; nothing to resume"));
    };
    if !view.json {
        eprintln!(
            "resuming restore {} of {} ({} steps; status {})",
            last.record.id,
            last.record.created_at,
            last.plan.steps.len(),
            last.record.status
        );
    }
    let granted =
        restore.write_permissions(view.control.dry_run).await.map_err(classify_restore)?;
    let (missing, warnings) = restore.missing(&last.plan, granted.as_deref()).await;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if !missing.is_empty() {
        return Err(refuse_missing(restore, &missing));
    }
    let _one_at_a_time = restore.lock(&holder()).await.map_err(classify_restore)?;
    let live = capture(restore, view).await?;
    let applying =
        Applying { plan: &last.plan, id: last.record.id, guard: None, target: None, live: &live };
    finish(restore, view, applying).await
}

/// Who holds the restore lock, for another restore that is refused it.
fn holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map_or_else(|| "this machine".to_string(), |h| h.trim().to_string());
    format!("rewind on {host}, pid {}", std::process::id())
}

/// Refuses (exit 3) a plan the write app cannot apply, naming each permission to grant and
/// each directory role to assign.
fn refuse_missing(restore: &Restore<'_>, missing: &rewind_app::restore::Missing) -> anyhow::Error {
    let app = if restore.clients().separate_write_app {
        "the write app (REWIND_WRITE_CLIENT_ID)"
    } else {
        "the capture app, which writes while REWIND_WRITE_CLIENT_ID is not set,"
    };
    Expected::Auth(format!(
        "{app} lacks what this plan needs (nothing was written):{}",
        restore_text::missing(missing)
    ))
    .into()
}

/// Scope, plan-file and lock errors are usage errors (exit 2); Graph refusing a read or the
/// write app unable to write is an authentication or permission error (exit 3); a capture
/// fails as a capture does.
fn classify_restore(e: RestoreError) -> anyhow::Error {
    match e {
        RestoreError::Scope(m) | RestoreError::PlanFile(m) => usage(m),
        RestoreError::Auth(m) => Expected::Auth(m).into(),
        RestoreError::Locked(e) => usage(e),
        RestoreError::Capture(e) => classify(e),
        RestoreError::Graph { what, source } if matches!(source.as_ref(), rewind_msgraph::ClientError::Graph(f) if matches!(f.status, 401 | 403)) => {
            Expected::Auth(format!("reading {what}: {source}")).into()
        }
        other => other.into(),
    }
}

/// Asks on the terminal; anything but `yes` declines.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(usage(
            "not on a terminal: pass --yes to apply the plan or --dry-run to only show it",
        ));
    }
    out!("Apply this plan? Only 'yes' applies it: ")?;
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
