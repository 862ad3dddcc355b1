//! `rewind demo`: the whole story on the embedded default. It starts the emulator on a seeded
//! tenant, captures it, replays an incident through the emulator's Graph API, captures again,
//! shows the timeline, what changed and who did it, the lockout verdict, the restore plan; then
//! restores, verifies, and says how to point `rewind` (or any Graph client) at it.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::Path;

use rewind_app::access::lockout_check;
use rewind_app::restore::{Restore, RestoreClients, Scope, plan_names};
use rewind_emulator::{Access, Coll, EmulatorInfo, RunningEmulator, Scenario};
use rewind_msgraph::{ClientOptions, Credential, Endpoints, GraphClient, Secret};
use rewind_policy::{LockoutOptions, explain};
use rewind_store::{NewTenant, SnapshotId, SnapshotInfo, Store, TenantInfo};

use super::compare::{Point, compare};
use crate::cli::DemoArgs;
use crate::exit::Expected;
use crate::output::{out, outln};

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut config = super::emulator_config(&args.tenant);
    let scenario = config.scenario.take().unwrap_or(Scenario::Attacker);
    let emulator =
        rewind_emulator::start(config).await.map_err(|e| Expected::Usage(e.to_string()))?;
    out!("{}", tour(&emulator))?;
    let store_path = args.store.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("rewind-demo-{}.db", std::process::id()))
    });
    let story = timeline(&emulator, &store_path, scenario).await?;
    // Someone at a terminal may want to point other clients at the tenant; a script, a pipe or
    // CI wants the demo to end.
    let serve = args.serve || std::io::stdin().is_terminal();
    out!("{}", explore_hints(&store_path, &story, serve))?;
    if serve {
        outln!("The emulator keeps serving until Ctrl-C.")?;
        super::shutdown_signal().await;
    }
    emulator.shutdown().await?;
    Ok(())
}

/// The snapshots the story took, for the hints that follow it.
struct Story {
    tenant: String,
    before: SnapshotId,
    incident: SnapshotId,
    restored: SnapshotId,
}

/// How to explore what the demo left: commands that read only the store, so they work after the
/// emulator stopped, spelled the way this binary can be run.
fn explore_hints(store: &Path, story: &Story, serving: bool) -> String {
    let rewind = invocation();
    let mut s = format!(
        "\nExplore the timeline it left{}:\n\n\
         \x20 export REWIND_STORE={} REWIND_TENANT={}\n",
        if serving {
            ""
        } else {
            " (the emulated tenant stops with the demo; these read the store only)"
        },
        store.display(),
        story.tenant
    );
    let lines = [
        ("log".to_string(), "every snapshot and what it changed"),
        (
            format!("changes --from {} --to {}", story.before, story.incident),
            "the incident, and who did it",
        ),
        (format!("changes --from {}", story.restored), "the restore, made by Rewind's write app"),
        (format!("check --at {}", story.incident), "who the incident could lock out"),
        (
            format!("diff --from {} --to {}", story.before, story.incident),
            "each changed property, old and new",
        ),
        ("verify".to_string(), "the hash chain of the whole store"),
    ];
    let width = lines.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    for (command, what) in lines {
        let _ = writeln!(s, "  {rewind} {command:<width$}  # {what}");
    }
    let _ = writeln!(
        s,
        "\n`{rewind}` is this build; `cargo install --path crates/cli` puts `rewind` on your PATH."
    );
    s
}

/// How to run this very binary from the current directory: `target/release/rewind` after
/// `cargo run --release -- demo`, or `rewind` when it is the one on the PATH.
fn invocation() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "rewind".into();
    };
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("rewind") == exe));
    if on_path {
        return "rewind".into();
    }
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf));
    relative.map_or_else(|| exe.display().to_string(), |r| r.display().to_string())
}

/// Capture, incident, capture, log, changes, lockout, plan, restore, verification.
async fn timeline(
    emulator: &RunningEmulator,
    path: &Path,
    scenario: Scenario,
) -> anyhow::Result<Story> {
    let info = &emulator.info;
    let clients = clients(info)?;
    let store = Store::open_sqlite(path, None).await?;
    let tenant = demo_tenant(&store, info, &clients.read).await?;
    let lockout = LockoutOptions::default();
    let restore = Restore::new(&store, &tenant, clients, lockout.clone());
    outln!("\n1. Capture the tenant into {}:\n", path.display())?;
    let first = restore.capture(&|_| {}).await?;
    out!("{}", super::capture::report_text(&tenant, &first))?;
    let first = first.snapshot;
    let second = incident(emulator, &tenant, &restore, scenario).await?;
    what_changed(&store, &tenant, &first, &second).await?;
    let analysis = lockout_check(&store, &tenant, second.id, &lockout, &[]).await?;
    outln!("\n6. Who could be locked out now (`rewind check`):\n")?;
    out!("{}", explain::analysis(&analysis))?;
    let restored = restore_to(&store, &tenant, &restore, &first).await?;
    store.close().await;
    let (before, incident) = (first.id, second.id);
    Ok(Story { tenant: tenant.name.clone(), before, incident, restored })
}

/// The emulator's read and write apps as a restore's clients.
fn clients(info: &EmulatorInfo) -> anyhow::Result<RestoreClients> {
    let endpoints = Endpoints {
        graph_url: info.graph_url.clone(),
        authority_url: info.authority_url.clone(),
        tenant_id: info.tenant_id.clone(),
    };
    let client = |access, what| {
        let app = info
            .client(access)
            .ok_or_else(|| anyhow::anyhow!("the emulator has no {what} client"))?;
        let secret = Secret::new(app.client_secret.clone());
        let credential = Credential::Secret { client_id: app.client_id.clone(), secret };
        anyhow::Ok(GraphClient::new(endpoints.clone(), credential, ClientOptions::default())?)
    };
    let (read, write) = (client(Access::Read, "read")?, client(Access::Write, "write")?);
    Ok(RestoreClients { read, write, separate_write_app: true })
}

/// The emulator's tenant in the store, added the first time.
async fn demo_tenant(
    store: &Store,
    info: &EmulatorInfo,
    reader: &GraphClient,
) -> anyhow::Result<TenantInfo> {
    if let Some(t) = store.tenant(&info.tenant_id).await? {
        return Ok(t);
    }
    let new = NewTenant {
        tenant_id: info.tenant_id.clone(),
        name: format!("demo-{}", &info.tenant_id[..8]),
        graph_url: info.graph_url.clone(),
        authority_url: info.authority_url.clone(),
        client_id: Some(reader.client_id().to_string()),
    };
    Ok(store.add_tenant(&new).await?)
}

/// Steps 2 and 3: the scenario replayed against the tenant, and the capture after it.
async fn incident(
    emulator: &RunningEmulator,
    tenant: &TenantInfo,
    restore: &Restore<'_>,
    scenario: Scenario,
) -> anyhow::Result<SnapshotInfo> {
    let report = emulator.with_tenant(|t| t.run_scenario(&emulator.info.graph_url, scenario));
    let (name, description, requests) =
        (scenario.name(), scenario.description(), report.steps.len());
    outln!(
        "\n2. An incident ({name}): {description}\n   Replayed as {requests} Graph requests, each in the audit log under its actor."
    )?;
    outln!("\n3. Capture again: only the changes are read.\n")?;
    let second = restore.capture(&|_| {}).await?;
    out!("{}", super::capture::report_text(tenant, &second))?;
    Ok(second.snapshot)
}

/// Steps 4 and 5: the timeline, and what changed between the two captures.
async fn what_changed(
    store: &Store,
    tenant: &TenantInfo,
    first: &SnapshotInfo,
    second: &SnapshotInfo,
) -> anyhow::Result<()> {
    outln!("\n4. The timeline (`rewind log`):\n")?;
    let mut snapshots = store.snapshots(tenant).await?;
    snapshots.reverse();
    out!("{}", super::log::table(&snapshots))?;
    let (from, to) = (first.id, second.id);
    outln!("\n5. What changed and who did it (`rewind changes --from {from} --to {to}`):\n")?;
    let (from, to) =
        (Point::snapshot(store, tenant, first), Point::snapshot(store, tenant, second));
    let compared = compare(from, to, |_, _| true).await?;
    out!("{}", super::changes::report(&compared))?;
    Ok(())
}

/// Steps 7 and 8: the plan back to `first`, judged, applied and verified; the snapshot the
/// plan started from.
async fn restore_to(
    store: &Store,
    tenant: &TenantInfo,
    restore: &Restore<'_>,
    first: &SnapshotInfo,
) -> anyhow::Result<SnapshotId> {
    let id = first.id;
    outln!("\n7. The plan back to snapshot {id} (`rewind restore --to {id} --all --dry-run`):\n")?;
    let live = restore.capture(&|_| {}).await?.snapshot;
    let plan = restore.plan(first, &live, &Scope::All).await?.plan;
    let judged = restore.judge(plan, &live, Some(first), None).await?;
    let plan = &judged.plan;
    let names = plan_names(store, tenant, &live, plan).await?;
    out!("{}", super::restore_text::plan(plan, Some(first), &live, &judged.guard, &names))?;
    outln!("\n8. Restore (`--yes`) and verify:")?;
    let begun = restore.begin(plan, "rewind demo").await?;
    let applied = restore.apply(plan, begun.restore, &|_| {}, &|_| {}).await?;
    let (execution, verification) = (&applied.execution, &applied.verification);
    out!("{}", super::restore_text::outcome(execution, verification, &applied.after))?;
    Ok(live.id)
}

fn tour(emulator: &RunningEmulator) -> String {
    let info = &emulator.info;
    let counts = emulator.with_tenant(|t| {
        [
            Coll::Users,
            Coll::Groups,
            Coll::Applications,
            Coll::ServicePrincipals,
            Coll::CaPolicies,
            Coll::NamedLocations,
            Coll::RoleAssignments,
        ]
        .map(|c| format!("{:>5}  {}", t.count(c), c.context_path()))
        .join("\n")
    });
    let domain = emulator.with_tenant(|t| t.domain().to_string());
    let mut s = format!(
        "Rewind demo: an emulated Entra tenant is serving Microsoft Graph v1.0.\n\n\
         Tenant   {} ({domain})\nGraph    {}/v1.0\nTokens   {}/{}/oauth2/v2.0/token\n\nWhat it holds:\n{counts}\n\nClients:\n",
        info.tenant_id, info.graph_url, info.authority_url, info.tenant_id
    );
    for c in &info.clients {
        let _ = writeln!(
            s,
            "  {:<5}  client_id {}  client_secret {}",
            access_name(c.access),
            c.client_id,
            c.client_secret
        );
    }
    s.push_str(&pointing(info));
    s
}

fn access_name(a: Access) -> &'static str {
    match a {
        Access::Read => "read",
        Access::Write => "write",
    }
}

fn pointing(info: &EmulatorInfo) -> String {
    let Some(reader) = info.client(Access::Read) else {
        return String::new();
    };
    format!(
        "\nPoint a client at it:\n\
         \x20 export REWIND_GRAPH_URL={g} REWIND_AUTHORITY_URL={a} REWIND_TENANT_ID={t}\n\
         \x20 export REWIND_CLIENT_ID={id} REWIND_CLIENT_SECRET='{secret}'\n\n\
         Or by hand:\n\
         \x20 TOKEN=$(curl -s {a}/{t}/oauth2/v2.0/token -d grant_type=client_credentials \\\n\
         \x20   -d client_id={id} --data-urlencode 'client_secret={secret}' \\\n\
         \x20   -d scope=https://graph.microsoft.com/.default | jq -r .access_token)\n\
         \x20 curl -s -H \"Authorization: Bearer $TOKEN\" '{g}/v1.0/identity/conditionalAccess/policies' | jq '.value[].displayName'\n\n\
         Official SDKs work too: point their base URL at {g}/v1.0 and give them the token.\n",
        g = info.graph_url,
        a = info.authority_url,
        t = info.tenant_id,
        id = reader.client_id,
        secret = reader.client_secret
    )
}
