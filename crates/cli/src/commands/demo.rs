//! `rewind demo`: the story on the embedded default. For now it starts the emulator on a seeded
//! tenant, says what it serves and shows how to point a client at it.

use crate::exit::Expected;
use std::fmt::Write as _;

use rewind_emulator::{Access, Coll, EmulatorInfo, RunningEmulator};

use crate::cli::DemoArgs;

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let emulator = rewind_emulator::start(super::emulator_config(&args.tenant))
        .await
        .map_err(|e| Expected::Usage(e.to_string()))?;
    print!("{}", tour(&emulator));
    if !args.no_wait {
        println!("Serving until Ctrl-C.");
        super::shutdown_signal().await;
    }
    emulator.shutdown().await?;
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
