//! One module per command; `run` dispatches and owns the tokio runtime.

mod alerts;
mod blame;
mod capture;
mod changes;
mod check;
mod compare;
mod demo;
mod diff;
mod doctor;
mod emulator;
mod export;
mod exposure;
mod forget;
mod history;
mod import;
mod log;
mod refs;
mod restore;
mod restore_text;
mod session;
mod show;
mod tenant;
mod verify;
mod watch;
mod whatif;

use crate::cli::{Cli, Command, TenantArgs};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Emulator(args) => emulator::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Capture(args) => capture::run(args).await,
            Command::Log(args) => log::run(args).await,
            Command::Changes(args) => changes::run(args).await,
            Command::Diff(args) => diff::run(args).await,
            Command::Show(args) => show::run(args).await,
            Command::History(args) => history::run(args).await,
            Command::Blame(args) => blame::run(args).await,
            Command::Restore(args) => restore::run(args).await,
            Command::Apply(args) => restore::apply(args).await,
            Command::Refs(args) => refs::run(args).await,
            Command::Whatif(args) => whatif::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Exposure(args) => exposure::run(args).await,
            Command::Verify(args) => verify::run(args).await,
            Command::Doctor(args) => doctor::run(args).await,
            Command::Forget(args) => forget::run(args).await,
            Command::Export(args) => export::run(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Watch(args) => watch::run(args).await,
            Command::Alerts(args) => alerts::run(args).await,
            Command::Tenant(cmd) => tenant::run(cmd).await,
        }
    })
}

fn emulator_config(t: &TenantArgs) -> rewind_emulator::EmulatorConfig {
    let mut seed = match t.preset {
        Some(p) => p.options(t.seed),
        None => {
            rewind_emulator::SeedOptions { seed: t.seed, ..rewind_emulator::SeedOptions::default() }
        }
    };
    seed.users = t.users.unwrap_or(seed.users);
    seed.groups = t.groups.unwrap_or(seed.groups);
    seed.apps = t.apps.unwrap_or(seed.apps);
    seed.policies = t.policies.unwrap_or(seed.policies);
    rewind_emulator::EmulatorConfig {
        listen: t.listen,
        seed,
        preset: t.preset,
        faults: rewind_emulator::Faults {
            latency_ms: t.faults.latency_ms,
            error_rate: t.faults.error_rate,
            error_after_commit_rate: t.faults.error_after_commit_rate,
            replication_lag_ms: t.faults.replication_lag_ms,
            audit_latency_s: t.faults.audit_latency_s,
            expire_page_tokens: 0,
            throttle: t.faults.throttle,
        },
        scenario: t.scenario,
        state: t.state.clone(),
        tenants: usize::from(t.tenants),
        license: t.license,
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
