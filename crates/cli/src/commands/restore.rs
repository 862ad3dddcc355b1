//! `rewind restore --to T <scope> [--dry-run | --yes]` and `rewind apply FILE`: capture the
//! tenant as it is, plan the way back, judge the plan with the lockout guard, show it, apply it
//! with a journal, capture again and verify (DESIGN §6, §8.1).
//!
//! `rewind restore --resume` continues the last restore that did not finish.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::Context as _;
use rewind_app::locate::{TimeSpec, kind_named, resolve_object, snapshot_for};
use rewind_app::plan_file::PlanFile;
use rewind_app::restore::{
    ExecuteOptions, Execution, Guard, RestoreError, Scope, StepEvent, Verification, execute, guard,
    prepare, replan, verify,
};
use rewind_app::{CaptureOptions, Config, RawConfig};
use rewind_engine::restore::Plan;
use rewind_msgraph::protocol::RetryPolicy;
use rewind_msgraph::{ClientOptions, GraphClient};
use rewind_policy::LockoutOptions;
use rewind_store::{SnapshotInfo, TenantInfo};
use serde_json::{Value, json};

use super::capture::{Progress, classify};
use super::restore_text;
use super::session::{Session, usage};
use crate::cli::{ApplyArgs, ApplyControl, RestoreArgs};
use crate::exit::Expected;
use crate::output::{out, outln};

pub async fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let ctx = Context::new(&session, &tenant, &args.control, args.store.json)?;
    if args.resume {
        return ctx.resume().await;
    }
    let (scope, target) = scope(&session, &tenant, &args).await?;
    let granted = ctx.write_permissions().await?;
    let live = ctx.capture().await?;
    let began = std::time::Instant::now();
    let prepared = prepare(&ctx.read, &session.store, &tenant, &target, &live, &scope)
        .await
        .map_err(classify_restore)?;
    ctx.timed("plan", began);
    for w in &prepared.warnings {
        eprintln!("warning: {}", crate::text::inert_lines(w));
    }
    ctx.proceed(
        prepared.plan,
        &live,
        Some(&target),
        args.plan_out.as_deref(),
        granted.as_deref(),
    )
    .await
}

pub async fn apply(args: ApplyArgs) -> anyhow::Result<()> {
    let plan = PlanFile::read(&args.plan)
        .and_then(|file| file.into_restore_plan(&args.plan))
        .map_err(usage)?;
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    check_mac(&session.store, &plan, &args.plan)?;
    let tenant = session.tenant().await?;
    let ctx = Context::new(&session, &tenant, &args.control, args.store.json)?;
    let granted = ctx.write_permissions().await?;
    let live = ctx.capture().await?;
    // The file says what was reviewed; what runs is planned again from its desired state
    // against the tenant now, and only if it is the same.
    let now = replan(&ctx.read, &session.store, &tenant, &live, &plan.desired)
        .await
        .map_err(classify_restore)?;
    let unreviewed = unreviewed_steps(&plan, &now.plan);
    if !unreviewed.is_empty() {
        return Err(usage(format!(
            "the plan {} is not what its desired state needs against the tenant now, so what would run is not what was reviewed:\n  {}\nmake the plan again (rewind restore … --plan-out FILE) and review that",
            args.plan.display(),
            unreviewed.join("\n  ")
        )));
    }
    ctx.proceed(now.plan, &live, None, None, granted.as_deref())
        .await
}

/// An encrypted store applies only plans its own restores wrote: the file must carry the
/// store's MAC over the plan. (Re-planning already keeps an edited file from running steps
/// nobody reviewed; the MAC also keeps out a desired state nobody planned.)
fn check_mac(
    store: &rewind_store::Store,
    plan: &Plan,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    let shown = path.display();
    match &plan.mac {
        Some(mac) if store.encrypted() => {
            if store.plan_mac_matches(&plan.mac_input(), mac) {
                Ok(())
            } else {
                Err(usage(format!(
                    "the plan {shown} was changed after this store's restore wrote it, or written by another store (its MAC does not match); nothing was applied: make the plan again (rewind restore … --plan-out FILE)"
                )))
            }
        }
        None if store.encrypted() => Err(usage(format!(
            "the plan {shown} carries no MAC from this store: an encrypted store applies only plans its own restores wrote (rewind restore … --plan-out FILE); nothing was applied"
        ))),
        Some(_) => {
            eprintln!(
                "warning: the plan {shown} carries a MAC, but this store has no key to check it with"
            );
            Ok(())
        }
        None => Ok(()),
    }
}

/// What a step does, apart from the words around it (its number, reason, the name shown and
/// the change list, which the plan made now supplies from the live objects); the steps it
/// waits for named by what they do, not by number.
fn effect(step: &rewind_engine::restore::Step, plan: &Plan) -> Value {
    let mut v = serde_json::to_value(step).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        for k in ["n", "reason", "display_name", "changes", "depends_on"] {
            o.shift_remove(k);
        }
        let after: Vec<String> = step
            .depends_on
            .iter()
            .map(|n| {
                plan.steps
                    .iter()
                    .find(|s| s.n == *n)
                    .map_or_else(|| format!("#{n}"), describe)
            })
            .collect();
        o.insert("after".into(), json!(after));
    }
    v
}

fn describe(s: &rewind_engine::restore::Step) -> String {
    let action = serde_json::to_value(s.action).unwrap_or(Value::Null);
    format!(
        "{} {} {}",
        action.as_str().unwrap_or("?"),
        s.kind.name(),
        crate::text::inert(&s.id)
    )
}

/// The steps of the file that the plan made now does not have, and the other way round (as
/// sets: the plan made now runs in its own order).
fn unreviewed_steps(file: &Plan, now: &Plan) -> Vec<String> {
    let effects = |p: &Plan| p.steps.iter().map(|s| effect(s, p)).collect::<Vec<_>>();
    let (theirs, ours) = (effects(file), effects(now));
    let mut out: Vec<String> = file
        .steps
        .iter()
        .zip(&theirs)
        .filter(|(_, e)| !ours.contains(e))
        .map(|(s, _)| format!("in the file, not needed now: {}", describe(s)))
        .collect();
    out.extend(
        now.steps
            .iter()
            .zip(&ours)
            .filter(|(_, e)| !theirs.contains(e))
            .map(|(s, _)| format!("needed now, not in the file: {}", describe(s))),
    );
    if out.is_empty() && theirs.len() != ours.len() {
        out.push("a step repeated in the file".into());
    }
    out
}

/// The scope the flags name, and the snapshot to go back to.
async fn scope(
    session: &Session,
    tenant: &TenantInfo,
    args: &RestoreArgs,
) -> anyhow::Result<(Scope, SnapshotInfo)> {
    let at = |t: &str| {
        let t = t.to_string();
        async move {
            let spec = t.parse::<TimeSpec>().map_err(usage)?;
            snapshot_for(&session.store, tenant, spec, jiff::Timestamp::now())
                .await
                .map_err(usage)
        }
    };
    let chosen = [
        !args.objects.is_empty(),
        !args.kinds.is_empty(),
        args.changed_by.is_some(),
        args.all,
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if chosen == 0 {
        return Err(usage(
            "say what to restore: --object OBJECT, --kind KIND, --object OBJECT --property PATH, --changed-by ACTOR --since T, or --all",
        ));
    }
    if chosen > 1 {
        return Err(usage(
            "choose one scope: --object, --kind, --changed-by or --all",
        ));
    }
    if let Some(actor) = &args.changed_by {
        let since = at(args.since.as_deref().unwrap_or_default()).await?;
        let target = match &args.to {
            Some(t) => at(t).await?,
            None => since.clone(),
        };
        return Ok((
            Scope::Actor {
                actor: actor.clone(),
                since,
            },
            target,
        ));
    }
    let target = at(args.to.as_deref().unwrap_or_default()).await?;
    if args.all {
        return Ok((Scope::All, target));
    }
    if !args.kinds.is_empty() {
        let kinds = args
            .kinds
            .iter()
            .map(|k| kind_named(k).ok_or_else(|| usage(format!("unknown kind '{k}'"))))
            .collect::<anyhow::Result<Vec<_>>>()?;
        return Ok((Scope::Kinds(kinds), target));
    }
    let mut objects = Vec::new();
    for spec in &args.objects {
        let (key, _) = resolve_object(&session.store, tenant, spec)
            .await
            .map_err(usage)?;
        objects.push(key);
    }
    if let Some(path) = &args.property {
        let [object] = objects.as_slice() else {
            return Err(usage(
                "--property restores one property of exactly one --object",
            ));
        };
        return Ok((
            Scope::Property {
                object: object.clone(),
                path: path.clone(),
            },
            target,
        ));
    }
    Ok((Scope::Objects(objects), target))
}

/// Clients, settings and the store for one restore.
struct Context<'a> {
    session: &'a Session,
    tenant: &'a TenantInfo,
    control: &'a ApplyControl,
    json: bool,
    read: GraphClient,
    write: GraphClient,
    /// Whether a write app of its own is configured (else the capture app writes).
    separate_write_app: bool,
    lockout: LockoutOptions,
    /// Seconds each phase took, for the JSON report.
    timings: std::sync::Mutex<serde_json::Map<String, Value>>,
}

impl<'a> Context<'a> {
    fn timed(&self, phase: &str, since: std::time::Instant) {
        if let Ok(mut t) = self.timings.lock() {
            t.insert(phase.to_string(), json!(since.elapsed().as_secs_f64()));
        }
    }

    fn timings(&self) -> Value {
        self.timings
            .lock()
            .map_or(Value::Null, |t| Value::Object(t.clone()))
    }

    fn new(
        session: &'a Session,
        tenant: &'a TenantInfo,
        control: &'a ApplyControl,
        json: bool,
    ) -> anyhow::Result<Context<'a>> {
        let mut raw = RawConfig::from_stored(tenant).overridden_by(session.raw.clone());
        if control.write_client_id.is_some() {
            raw.write_client_id.clone_from(&control.write_client_id);
        }
        if control.write_client_secret.is_some() {
            raw.write_client_secret
                .clone_from(&control.write_client_secret);
        }
        let config = Config::resolve(raw).map_err(usage)?;
        let options = ClientOptions {
            concurrency: usize::from(control.concurrency),
            ..ClientOptions::default()
        };
        let read = config.read_client(options.clone())?;
        // Writes ride out Graph's write quota (3,000 per app per two and a half minutes): a
        // throttled write waits for its window instead of failing the step. Restore writes
        // with its own app when one is configured (DESIGN §10).
        let write_options = ClientOptions {
            retry: RetryPolicy {
                max_wait: std::time::Duration::from_mins(3),
                budget: std::time::Duration::from_mins(30),
                max_attempts: 40,
                ..RetryPolicy::default()
            },
            ..options
        };
        let (write, separate_write_app) = config.write_client(write_options)?;
        let break_glass = if control.break_glass.is_empty() {
            session.raw.break_glass.clone().unwrap_or_default()
        } else {
            control.break_glass.clone()
        };
        let lockout = LockoutOptions {
            break_glass,
            home_country: session
                .raw
                .home_country(control.home_country.as_ref())
                .map_err(usage)?,
            restore_app: session.raw.restore_app(),
        };
        Ok(Context {
            session,
            tenant,
            control,
            json,
            read,
            write,
            separate_write_app,
            lockout,
            timings: std::sync::Mutex::default(),
        })
    }

    /// The write app's application permissions, from its token, asked before anything is
    /// planned: an app that can write nothing (the capture app, when no write app is set) is
    /// refused now rather than after planning with a 403 on every write. A dry run only plans,
    /// so it is not refused. `None` when the token does not say.
    async fn write_permissions(&self) -> anyhow::Result<Option<Vec<String>>> {
        let granted = self.write.granted_roles().await.map_err(|e| {
            Expected::Auth(format!(
                "cannot sign in as the {}: {e}",
                if self.separate_write_app {
                    "write app (REWIND_WRITE_CLIENT_ID and its secret or certificate)"
                } else {
                    "capture app, which restore writes with while REWIND_WRITE_CLIENT_ID is not set"
                }
            ))
        })?;
        let read_only = granted
            .as_deref()
            .is_some_and(|g| !rewind_engine::restore::can_write_anything(g));
        if read_only && !self.control.dry_run {
            return Err(Expected::Auth(if self.separate_write_app {
                "the write app (REWIND_WRITE_CLIENT_ID) holds no permission that writes: grant it \
                 the write permissions in the README's \"Permissions needed\", with admin consent"
                    .into()
            } else {
                "restore writes with the capture app because REWIND_WRITE_CLIENT_ID is not set, \
                 and that app holds no permission that writes: set REWIND_WRITE_CLIENT_ID and \
                 REWIND_WRITE_CLIENT_SECRET (or REWIND_WRITE_CLIENT_CERTIFICATE) to the write app \
                 (README, \"Permissions needed\"), or add --dry-run to only see the plan"
                    .into()
            })
            .into());
        }
        Ok(granted)
    }

    /// Refuses (exit 3) a plan the write app cannot apply, naming each permission to grant and
    /// each directory role to assign.
    fn refuse_missing(&self, missing: &Missing) -> anyhow::Error {
        let app = if self.separate_write_app {
            "the write app (REWIND_WRITE_CLIENT_ID)"
        } else {
            "the capture app, which writes while REWIND_WRITE_CLIENT_ID is not set,"
        };
        Expected::Auth(format!(
            "{app} lacks what this plan needs (nothing was written):{}",
            missing.describe()
        ))
        .into()
    }

    /// What applying `plan` needs that the write app lacks: permissions (from its token) and
    /// directory roles (read with the read app; when they cannot be read, a warning says so
    /// and Graph will answer for them).
    async fn missing(&self, plan: &Plan, granted: Option<&[String]>) -> Missing {
        let roles = match rewind_app::restore::missing_directory_roles(
            &self.read,
            self.write.client_id(),
            plan,
        )
        .await
        {
            Ok(roles) => roles,
            Err(e) => {
                eprintln!(
                    "warning: could not check the write app's directory roles: {} ({})",
                    e.detail, e.fix
                );
                Vec::new()
            }
        };
        Missing {
            permissions: missing_permissions(plan, granted),
            roles: roles
                .iter()
                .map(|m| {
                    let steps: Vec<String> = m.steps.iter().map(usize::to_string).collect();
                    format!(
                        "{}, {}: steps {}",
                        m.role.name(),
                        m.role.purpose(),
                        steps.join(", ")
                    )
                })
                .collect(),
        }
    }

    /// The tenant's restore lock: one restore at a time, the other named when refused.
    async fn lock(&self) -> anyhow::Result<rewind_store::StoreLock> {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map_or_else(|| "this machine".to_string(), |h| h.trim().to_string());
        let holder = format!("rewind on {host}, pid {}", std::process::id());
        self.session
            .store
            .lock_restore(self.tenant, &holder)
            .await
            .map_err(usage)
    }

    /// A snapshot of the tenant as it is now (incremental).
    async fn capture(&self) -> anyhow::Result<SnapshotInfo> {
        let began = std::time::Instant::now();
        let bar = Progress::new(!self.json && std::io::stderr().is_terminal());
        let report = rewind_app::capture(
            &self.read,
            &self.session.store,
            self.tenant,
            CaptureOptions {
                full: false,
                break_glass: self.lockout.break_glass.clone(),
                ..CaptureOptions::default()
            },
            &|e| bar.event(&e),
        )
        .await;
        bar.finish();
        let report = report.map_err(classify)?;
        for w in &report.warnings {
            eprintln!("warning: {}", crate::text::inert_lines(w));
        }
        self.timed("capture", began);
        Ok(report.snapshot)
    }

    async fn proceed(
        &self,
        plan: Plan,
        live: &SnapshotInfo,
        target: Option<&SnapshotInfo>,
        plan_out: Option<&std::path::Path>,
        granted: Option<&[String]>,
    ) -> anyhow::Result<()> {
        let store = &self.session.store;
        let mut plan = plan;
        if store.encrypted() {
            // Serialising a large plan costs; only a store with a key signs it.
            plan.mac = None;
            plan.mac = store.plan_mac(&plan.mac_input());
        }
        let began = std::time::Instant::now();
        let judged = guard(store, self.tenant, live, target, &plan, &self.lockout).await?;
        let missing = self.missing(&plan, granted).await;
        self.timed("guard", began);
        if let Some(path) = plan_out {
            let text = serde_json::to_string_pretty(&plan)?;
            std::fs::write(path, text + "\n")
                .with_context(|| format!("writing the plan to {}", path.display()))?;
        }
        if !self.json {
            let names = names(store, self.tenant, live, &plan).await?;
            out!(
                "{}",
                restore_text::plan(&plan, target, live, &judged, &names)
            )?;
        }
        let refused = judged.refuses() && !self.control.allow_lockout;
        if self.control.dry_run || refused {
            if self.json {
                let mut r = report(&plan, &judged, target, live);
                r["timings"] = self.timings();
                r["missing_permissions"] = json!(missing.permissions);
                r["missing_roles"] = json!(missing.roles);
                outln!("{r}")?;
            } else if !missing.is_empty() {
                outln!(
                    "\nBefore it can be applied, the write app needs:{}",
                    missing.describe()
                )?;
            }
            if refused {
                return Err(Expected::Refused(restore_text::refusal(&judged)).into());
            }
            return Ok(());
        }
        if plan.steps.is_empty() {
            if self.json {
                // Nothing differs from the desired state: the tenant is as wanted.
                let mut r = report(&plan, &judged, target, live);
                r["converged"] = json!(true);
                outln!("{r}")?;
            } else {
                outln!("Nothing to do: the scope is already as it was.")?;
            }
            return Ok(());
        }
        if !missing.is_empty() {
            return Err(self.refuse_missing(&missing));
        }
        if !self.control.yes && !confirm()? {
            return Err(usage("not applied"));
        }
        let _one_at_a_time = self.lock().await?;
        // A new plan supersedes one that never finished: `--resume` must not pick it up later.
        for old in store.restores(self.tenant).await? {
            if matches!(old.status.as_str(), "running" | "partial" | "verifying") {
                eprintln!(
                    "note: restore {} of {} did not finish; this new plan replaces it",
                    old.id, old.created_at
                );
                store.finish_restore(old.id, "abandoned").await?;
            }
        }
        let restore = store
            .begin_restore(
                self.tenant,
                &serde_json::to_string(&plan)?,
                self.write.client_id(),
            )
            .await?;
        self.run(&plan, restore, Some(&judged), target, live).await
    }

    /// Applies (or resumes) restore `restore`, then captures and verifies.
    async fn run(
        &self,
        plan: &Plan,
        restore: i64,
        judged: Option<&Guard>,
        target: Option<&SnapshotInfo>,
        live: &SnapshotInfo,
    ) -> anyhow::Result<()> {
        let store = &self.session.store;
        let show = !self.json && std::io::stderr().is_terminal();
        let progress = |e: StepEvent<'_>| {
            let StepEvent::Finished {
                done,
                total,
                outcome,
            } = e;
            if show && (done % 100 == 0 || done == total) {
                eprint!(
                    "\r  applied {done}/{total} steps (last: {} {})   ",
                    outcome.kind,
                    crate::text::inert(&outcome.id)
                );
                if done == total {
                    eprintln!();
                }
            }
        };
        let began = std::time::Instant::now();
        let execution = execute(
            &self.write,
            store,
            self.tenant,
            plan,
            restore,
            ExecuteOptions::default(),
            &progress,
        )
        .await?;
        self.timed("apply", began);
        let lineage = execution.renamed();
        // What was just written may not be visible yet (replication lag): a tenant that does
        // not match is read again, a few times, before the restore is called unconverged.
        let began = std::time::Instant::now();
        let mut wait = std::time::Duration::from_millis(500);
        let (after, verification) = loop {
            let after = self.capture().await?;
            let v = verify(store, self.tenant, plan, &after, &lineage).await?;
            // With failed steps it cannot converge: one reading says what differs.
            let failed = execution.failed().next().is_some();
            if v.converged || failed || began.elapsed() + wait > VERIFY_BUDGET {
                break (after, v);
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        };
        let failed = execution.failed().next().is_some();
        store
            .finish_restore(restore, if failed { "partial" } else { "finished" })
            .await?;
        if self.json {
            let judged = judged.map_or(Value::Null, restore_text::guard_json);
            let mut r = report_with(plan, &judged, target, live);
            r["timings"] = self.timings();
            r["applied"] = json!(true);
            r["restore"] = json!(restore);
            r["converged"] = json!(verification.converged);
            r["differences"] = serde_json::to_value(&verification.differences)?;
            r["failed"] = serde_json::to_value(execution.failed().collect::<Vec<_>>())?;
            r["lineage"] = json!(execution.lineage);
            r["after"] = json!({"snapshot": after.id, "taken_at": after.taken_at});
            r["requests"] = json!(execution.requests);
            r["throttled"] = json!(execution.throttled);
            r["seconds"] = json!(execution.seconds);
            outln!("{r}")?;
        } else {
            out!(
                "{}",
                restore_text::outcome(&execution, &verification, &after)
            )?;
        }
        outcome_code(&execution, &verification)
    }

    async fn resume(&self) -> anyhow::Result<()> {
        let store = &self.session.store;
        let Some(last) = store
            .restores(self.tenant)
            .await?
            .into_iter()
            .find(|r| matches!(r.status.as_str(), "running" | "partial" | "verifying"))
        else {
            return Err(usage(
                "no restore of this tenant is unfinished; nothing to resume",
            ));
        };
        let plan: Plan = serde_json::from_str(&last.plan)
            .map_err(|e| anyhow::anyhow!("restore {} has an unreadable plan: {e}", last.id))?;
        if !self.json {
            eprintln!(
                "resuming restore {} of {} ({} steps; status {})",
                last.id,
                last.created_at,
                plan.steps.len(),
                last.status
            );
        }
        let granted = self.write_permissions().await?;
        let missing = self.missing(&plan, granted.as_deref()).await;
        if !missing.is_empty() {
            return Err(self.refuse_missing(&missing));
        }
        let _one_at_a_time = self.lock().await?;
        let live = self.capture().await?;
        self.run(&plan, last.id, None, None, &live).await
    }
}

/// Names for the ids a plan shows: members and owners it links, objects it creates anew, and
/// the principal and role of each assignment (as they are now, or were, for deleted ones).
pub(super) async fn names(
    store: &rewind_store::Store,
    tenant: &TenantInfo,
    live: &SnapshotInfo,
    plan: &Plan,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    use rewind_model::{Kind, Target};
    let mut wanted: std::collections::BTreeSet<(Target, String)> =
        std::collections::BTreeSet::new();
    for s in &plan.steps {
        if let Some(l) = &s.link {
            wanted.insert((Target::Principal, l.target.clone()));
        }
        for r in &s.remaps {
            wanted.insert((Target::Id(r.kind), r.from.clone()));
        }
    }
    // Ids a step's property changes add or remove (a policy's excluded groups).
    let desired: std::collections::HashMap<(Kind, &str), &Value> = plan
        .desired
        .iter()
        .filter_map(|d| Some(((d.kind, d.id.as_str()), d.object.as_ref()?)))
        .collect();
    for s in plan.steps.iter().filter(|s| !s.changes.is_empty()) {
        if let Some(o) = desired.get(&(s.kind, s.id.as_str())) {
            for r in rewind_model::references(s.kind, o) {
                wanted.insert((r.target, r.id));
            }
        }
    }
    let assignments: Vec<rewind_store::ObjectKey> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.kind, Kind::RoleAssignment | Kind::AppRoleAssignment))
        .map(rewind_engine::restore::Step::object)
        .collect();
    let mut objects: Vec<Value> = plan
        .desired
        .iter()
        .filter(|d| matches!(d.kind, Kind::RoleAssignment | Kind::AppRoleAssignment))
        .filter_map(|d| d.object.clone())
        .collect();
    let versions = store.versions_at(tenant, &assignments, live.id).await?;
    for hash in versions.values().flatten() {
        objects.push(store.version(hash).await?);
    }
    for o in &objects {
        if let Some(p) = o.get("principalId").and_then(Value::as_str) {
            wanted.insert((Target::Principal, p.to_string()));
        }
        if let Some(r) = o.get("roleDefinitionId").and_then(Value::as_str) {
            wanted.insert((Target::RoleTemplate, r.to_string()));
        }
    }
    let found = rewind_app::names::resolve(store, tenant, live.id, &wanted).await?;
    let mut out: std::collections::HashMap<String, String> = found
        .into_iter()
        .filter_map(|((_, id), n)| Some((id, format!("{} \"{}\"", n.kind, n.name?))))
        .collect();
    // An assignment reads as "role → principal".
    for (key, hash) in &versions {
        let Some(hash) = hash else { continue };
        let o = store.version(hash).await?;
        let part = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .and_then(|id| out.get(id).cloned())
                .unwrap_or_default()
        };
        let label = format!("{} → {}", part("roleDefinitionId"), part("principalId"));
        out.insert(key.key.clone(), label.trim_start_matches(" → ").to_string());
    }
    Ok(out)
}

/// Scope errors are usage errors (exit 2); Graph refusing a read is an authentication or
/// permission error (exit 3).
/// What a plan needs that the write app lacks, in words.
struct Missing {
    /// Application permissions, with the steps that need each.
    permissions: Vec<String>,
    /// Directory roles, with the steps that need each.
    roles: Vec<String>,
}

impl Missing {
    fn is_empty(&self) -> bool {
        self.permissions.is_empty() && self.roles.is_empty()
    }

    /// Indented lines under a heading per part.
    fn describe(&self) -> String {
        let mut out = String::new();
        if !self.permissions.is_empty() {
            out += "\n  application permissions (grant with admin consent):\n    ";
            out += &self.permissions.join("\n    ");
        }
        if !self.roles.is_empty() {
            out += "\n  directory roles (assign to the write app's service principal; `rewind doctor` prints the assignment):\n    ";
            out += &self.roles.join("\n    ");
        }
        out
    }
}

/// What applying `plan` needs that the write app lacks, in words; empty when nothing is
/// missing or the token does not say.
fn missing_permissions(plan: &Plan, granted: Option<&[String]>) -> Vec<String> {
    let Some(granted) = granted else {
        return Vec::new();
    };
    rewind_engine::restore::missing(&plan.steps, granted)
        .into_iter()
        .map(|m| {
            let kinds: Vec<&str> = m.kinds.iter().map(|k| k.name()).collect();
            let or = if m.alternatives.is_empty() {
                String::new()
            } else {
                format!(" (or {})", m.alternatives.join(", "))
            };
            format!(
                "{}{or}, for {} ({})",
                m.grant,
                crate::text::count(m.steps, "step", "steps"),
                kinds.join(", ")
            )
        })
        .collect()
}

fn classify_restore(e: RestoreError) -> anyhow::Error {
    match e {
        RestoreError::Scope(m) => usage(m),
        RestoreError::Graph { what, source } if matches!(source.as_ref(), rewind_msgraph::ClientError::Graph(f) if matches!(f.status, 401 | 403)) => {
            Expected::Auth(format!("reading {what}: {source}")).into()
        }
        other => other.into(),
    }
}

/// How long verification waits for writes to become visible before it reports differences.
const VERIFY_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// Exit code 4 when steps failed, 6 when the tenant is not as wanted.
fn outcome_code(execution: &Execution, verification: &Verification) -> anyhow::Result<()> {
    let failed = execution.failed().count();
    if failed > 0 {
        return Err(Expected::Partial(format!(
            "{} did not succeed; fix what {} report and run `rewind restore --resume`",
            crate::text::count(failed, "step", "steps"),
            if failed == 1 { "it" } else { "they" }
        ))
        .into());
    }
    if !verification.converged {
        return Err(Expected::Found(format!(
            "the tenant differs from the plan's desired state in {}",
            crate::text::count(verification.differences.len(), "object", "objects")
        ))
        .into());
    }
    Ok(())
}

fn report_with(
    plan: &Plan,
    guard: &Value,
    target: Option<&SnapshotInfo>,
    live: &SnapshotInfo,
) -> Value {
    json!({
        "plan": plan,
        "guard": guard,
        "applied": false,
        "converged": Value::Null,
        "differences": [],
        "target": target.map(|t| json!({"snapshot": t.id, "taken_at": t.taken_at})),
        "before": {"snapshot": live.id, "taken_at": live.taken_at},
    })
}

fn report(
    plan: &Plan,
    judged: &Guard,
    target: Option<&SnapshotInfo>,
    live: &SnapshotInfo,
) -> Value {
    report_with(plan, &restore_text::guard_json(judged), target, live)
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
