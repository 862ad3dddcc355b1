//! `rewind tenant add|list|remove`: the tenants one store keeps.

use rewind_app::timeline::{TenantEntry, TenantsReport};
use rewind_app::{RawConfig, base_url};
use rewind_store::NewTenant;

use super::session::{Session, usage};
use crate::cli::{TenantAddArgs, TenantCommand, TenantListArgs, TenantRemoveArgs};
use crate::output::{self, out, outln};
use crate::text::{Align, Table, count};

pub async fn run(cmd: TenantCommand) -> anyhow::Result<()> {
    match cmd {
        TenantCommand::Add(a) => add(a).await,
        TenantCommand::List(a) => list(a).await,
        TenantCommand::Remove(a) => remove(a).await,
    }
}

async fn add(args: TenantAddArgs) -> anyhow::Result<()> {
    let session = Session::open_or_create(&args.store, Some(&args.connect)).await?;
    let raw: &RawConfig = &session.raw;
    let tenant_id = raw
        .tenant_id
        .clone()
        .ok_or_else(|| usage("no tenant id: set --tenant-id or REWIND_TENANT_ID"))?;
    let defaults = rewind_msgraph::Endpoints::public_cloud(tenant_id.clone());
    let graph_url = match &raw.graph_url {
        Some(g) => base_url("--graph-url (REWIND_GRAPH_URL)", g).map_err(usage)?,
        None => defaults.graph_url,
    };
    let authority_url = match &raw.authority_url {
        Some(a) => base_url("--authority-url (REWIND_AUTHORITY_URL)", a).map_err(usage)?,
        None => defaults.authority_url,
    };
    let added = session
        .store
        .add_tenant(&NewTenant {
            tenant_id,
            name: args.name,
            graph_url,
            authority_url,
            client_id: raw.client_id.clone(),
        })
        .await
        .map_err(usage)?;
    if args.store.json {
        output::json(&added)?;
    } else {
        outln!("added tenant {} ({})", added.name, added.tenant_id)?;
    }
    session.store.close().await;
    Ok(())
}

async fn list(args: TenantListArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let tenants = session.store.tenants().await?;
    let mut rows = Vec::new();
    for t in &tenants {
        let latest = session.store.latest(t).await?;
        rows.push((t, latest));
    }
    if args.store.json {
        let tenants = rows.iter().map(|(t, l)| TenantEntry::new(t, l.as_ref())).collect();
        output::json(&TenantsReport { tenants })?;
    } else if rows.is_empty() {
        outln!(
            "no tenants: `rewind tenant add NAME --tenant-id ID --client-id ID`, or just `rewind capture`"
        )?;
    } else {
        let mut table = Table::new(&[
            ("NAME", Align::Left),
            ("TENANT ID", Align::Left),
            ("GRAPH", Align::Left),
            ("LATEST SNAPSHOT", Align::Left),
        ]);
        for (t, l) in rows {
            table.row(vec![
                t.name.clone(),
                t.tenant_id.clone(),
                t.graph_url.clone(),
                l.map_or_else(
                    || "-".to_string(),
                    |s| format!("{} at {}", s.id, s.taken_at.strftime("%Y-%m-%d %H:%M:%S")),
                ),
            ]);
        }
        out!("{}", table.render())?;
    }
    session.store.close().await;
    Ok(())
}

async fn remove(args: TenantRemoveArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let Some(tenant) = session.store.tenant(&args.name).await? else {
        return Err(usage(format!("the store has no tenant '{}'", args.name)));
    };
    let snapshots = session.store.snapshots(&tenant).await?.len();
    if !args.yes {
        return Err(usage(format!(
            "removing {} deletes its {} and their history; run again with --yes",
            tenant.name,
            count(snapshots, "snapshot", "snapshots")
        )));
    }
    session.store.remove_tenant(&tenant).await?;
    if !args.store.json {
        outln!("removed tenant {} and {}", tenant.name, count(snapshots, "snapshot", "snapshots"))?;
    }
    session.store.close().await;
    Ok(())
}
