//! The command line, declared with clap. Help texts are the user documentation of each flag.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// Point-in-time recovery for Microsoft Entra ID configuration.
#[derive(Debug, Parser)]
#[command(name = "rewind", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a Graph-compatible emulated tenant; the first stdout line is its connection JSON.
    Emulator(EmulatorArgs),
    /// Start the emulator on a seeded tenant and show how to use it.
    Demo(DemoArgs),
}

/// What tenant to emulate and where.
#[derive(Debug, Clone, Args)]
pub struct TenantArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", env = "REWIND_EMULATOR_LISTEN")]
    pub listen: SocketAddr,
    /// Seed of the tenant generator: the same seed gives the same tenant, ids included.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of ordinary users besides the named administrators and break-glass accounts.
    #[arg(long, default_value_t = 25)]
    pub users: usize,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    #[command(flatten)]
    pub tenant: TenantArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Print the tour and exit instead of serving until interrupted.
    #[arg(long, hide = true)]
    pub no_wait: bool,
}
