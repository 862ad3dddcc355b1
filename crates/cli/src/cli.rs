//! The command line, declared with clap. Help texts are the user documentation of each flag.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rewind_emulator::{Preset, Scenario};

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
    /// Tenant size: tiny (~30 objects), small (~500), medium (~20k), large (~150k).
    #[arg(long, value_parser = clap::value_parser!(Preset))]
    pub preset: Option<Preset>,
    /// Ordinary users besides the named administrators and break-glass accounts [default: 25].
    #[arg(long)]
    pub users: Option<usize>,
    /// Groups besides the baseline ones.
    #[arg(long)]
    pub groups: Option<usize>,
    /// Applications (with their service principals) besides the named ones.
    #[arg(long)]
    pub apps: Option<usize>,
    /// Conditional Access policies in all (at least the 7 baseline ones).
    #[arg(long)]
    pub policies: Option<usize>,
    /// Load the tenant from FILE if it exists and save it there on shutdown.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Replay an incident once the tenant is ready: lockout-policy, attacker, mass-delete,
    /// script-gone-wrong.
    #[arg(long, value_parser = clap::value_parser!(Scenario))]
    pub scenario: Option<Scenario>,
    #[command(flatten)]
    pub faults: FaultArgs,
}

/// Faults, with the names of the fields of `GET/PUT /_emulator/faults`.
#[derive(Debug, Clone, Args)]
pub struct FaultArgs {
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests (0 to 1) answered 503/504 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// How long a just-created object stays invisible, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub replication_lag_ms: u64,
    /// Graph's throttling budgets on (directory resource units, 1 request/s for CA, audit logs).
    #[arg(long)]
    pub throttle: bool,
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
