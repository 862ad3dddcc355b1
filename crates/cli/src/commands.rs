//! One module per command; `run` dispatches and owns the tokio runtime.

mod demo;
mod emulator;

use crate::cli::{Cli, Command, TenantArgs};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Emulator(args) => emulator::run(args).await,
            Command::Demo(args) => demo::run(args).await,
        }
    })
}

fn emulator_config(t: &TenantArgs) -> rewind_emulator::EmulatorConfig {
    rewind_emulator::EmulatorConfig {
        listen: t.listen,
        seed: rewind_emulator::SeedOptions {
            seed: t.seed,
            users: t.users,
        },
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
