//! `rewind demo`: the whole story on the embedded default. It starts the emulator on a seeded
//! tenant, captures it, replays an incident through the emulator's Graph API, captures again,
//! shows the timeline, what changed and who did it, the lockout verdict, the restore plan; then
//! restores, verifies, and says how to point `rewind` (or any Graph client) at it.

use std::fmt::Write as _;
use std::path::Path;

use rewind_app::CaptureOptions;
use rewind_app::access::{Subjects, load_access};
use rewind_app::restore::{ExecuteOptions, Scope, execute, guard, prepare, verify};
use rewind_emulator::{Access, Coll, EmulatorInfo, RunningEmulator, Scenario};
use rewind_msgraph::{ClientOptions, Credential, Endpoints, GraphClient, Secret};
use rewind_policy::{LockoutOptions, analyse, explain};
use rewind_store::{NewTenant, Store};

use crate::cli::DemoArgs;
use crate::exit::Expected;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut config = super::emulator_config(&args.tenant);
    let scenario = config.scenario.take().unwrap_or(Scenario::Attacker);
    let emulator = rewind_emulator::start(config)
        .await
        .map_err(|e| Expected::Usage(e.to_string()))?;
    print!("{}", tour(&emulator));
    let store_path = args.store.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("rewind-demo-{}.db", std::process::id()))
    });
    timeline(&emulator, &store_path, scenario).await?;
    if !args.no_wait {
        println!("Serving until Ctrl-C.");
        super::shutdown_signal().await;
    }
    emulator.shutdown().await?;
    Ok(())
}

/// What changed between two snapshots and who changed it, one line per object.
async fn changes(
    store: &Store,
    tenant: &rewind_store::TenantInfo,
    from: &rewind_store::SnapshotInfo,
    to: &rewind_store::SnapshotInfo,
) -> anyhow::Result<()> {
    println!(
        "\n5. What changed and who did it (`rewind changes --from {}`):\n",
        from.id
    );
    let actors = store.actors_between(tenant, from.id, to.id).await?;
    let history_names = store.changed_between(tenant, from.id, to.id).await?;
    for key in history_names {
        let name = store
            .history(tenant, &key)
            .await?
            .into_iter()
            .rev()
            .find_map(|v| v.name)
            .unwrap_or_else(|| key.key.clone());
        let who = actors.get(&key).map(|a| a.join(", ")).unwrap_or_default();
        println!("  {:<28} {name}  by {who}", key.kind.name());
    }
    Ok(())
}

/// Capture, incident, capture, log, changes, lockout, plan, restore, verification.
async fn timeline(
    emulator: &RunningEmulator,
    path: &Path,
    scenario: Scenario,
) -> anyhow::Result<()> {
    let info = &emulator.info;
    let reader = info
        .client(Access::Read)
        .ok_or_else(|| anyhow::anyhow!("the emulator has no read client"))?;
    let endpoints = Endpoints {
        graph_url: info.graph_url.clone(),
        authority_url: info.authority_url.clone(),
        tenant_id: info.tenant_id.clone(),
    };
    let credential = Credential::Secret {
        client_id: reader.client_id.clone(),
        secret: Secret::new(reader.client_secret.clone()),
    };
    let client = GraphClient::new(endpoints, credential, ClientOptions::default())?;
    let store = Store::open_sqlite(path, None).await?;
    let tenant = match store.tenant(&info.tenant_id).await? {
        Some(t) => t,
        None => {
            store
                .add_tenant(&NewTenant {
                    tenant_id: info.tenant_id.clone(),
                    name: format!("demo-{}", &info.tenant_id[..8]),
                    graph_url: info.graph_url.clone(),
                    authority_url: info.authority_url.clone(),
                    client_id: Some(reader.client_id.clone()),
                })
                .await?
        }
    };
    let capture =
        || rewind_app::capture(&client, &store, &tenant, CaptureOptions::default(), &|_| {});
    let writer = info
        .client(Access::Write)
        .ok_or_else(|| anyhow::anyhow!("the emulator has no write client"))?;
    let write_client = GraphClient::new(
        client.endpoints().clone(),
        Credential::Secret {
            client_id: writer.client_id.clone(),
            secret: Secret::new(writer.client_secret.clone()),
        },
        ClientOptions::default(),
    )?;
    println!("\n1. Capture the tenant into {}:\n", path.display());
    let first = capture().await?;
    print!("{}", super::capture::report_text(&tenant, &first));
    let report = emulator.with_tenant(|t| t.run_scenario(&info.graph_url, scenario));
    println!(
        "\n2. An incident ({}): {}\n   Replayed as {} Graph requests, each in the audit log under its actor.",
        scenario.name(),
        scenario.description(),
        report.steps.len()
    );
    println!("\n3. Capture again: only the changes are read.\n");
    let second = capture().await?;
    print!("{}", super::capture::report_text(&tenant, &second));
    println!("\n4. The timeline (`rewind log`):\n");
    let mut snapshots = store.snapshots(&tenant).await?;
    snapshots.reverse();
    print!("{}", super::log::table(&snapshots));
    changes(&store, &tenant, &first.snapshot, &second.snapshot).await?;
    let lockout = LockoutOptions::default();
    let access = load_access(
        &store,
        &tenant,
        second.snapshot.id,
        Subjects::Protected { break_glass: &[] },
        &[],
    )
    .await?;
    let analysis = analyse(&access.policies, &access.directory, &lockout);
    println!("\n6. Who could be locked out now (`rewind check`):\n");
    print!("{}", explain::analysis(&analysis));
    println!(
        "\n7. The plan back to snapshot {} (`rewind restore --to {} --all --dry-run`):\n",
        first.snapshot.id, first.snapshot.id
    );
    let live = capture().await?.snapshot;
    let prepared = prepare(
        &client,
        &store,
        &tenant,
        &first.snapshot,
        &live,
        &Scope::All,
    )
    .await?;
    let plan = prepared.plan;
    let judged = guard(&store, &tenant, &live, &plan, &lockout).await?;
    let names = super::restore::names(&store, &tenant, &live, &plan).await?;
    print!(
        "{}",
        super::restore_text::plan(&plan, Some(&first.snapshot), &live, &judged, &names)
    );
    println!("\n8. Restore (`--yes`) and verify:");
    let restore = store
        .begin_restore(&tenant, &serde_json::to_string(&plan)?)
        .await?;
    let execution = execute(
        &write_client,
        &store,
        &tenant,
        &plan,
        restore,
        ExecuteOptions::default(),
        &|_| {},
    )
    .await?;
    let after = capture().await?.snapshot;
    let lineage = execution.lineage.clone().into_iter().collect();
    let verification = verify(&store, &tenant, &plan, &after, &lineage).await?;
    print!(
        "{}",
        super::restore_text::outcome(&execution, &verification, &after)
    );
    println!(
        "\nExplore it: export REWIND_STORE={} REWIND_TENANT={}\n\
         then `rewind log`, `rewind changes --from {}`, `rewind show OBJECT --at {}`,\n\
         `rewind check --at 2` (who the incident could lock out), `rewind check --at {}`, `rewind verify`.\n",
        path.display(),
        tenant.name,
        first.snapshot.id,
        first.snapshot.id,
        first.snapshot.id
    );
    store.close().await;
    Ok(())
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
