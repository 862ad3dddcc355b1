//! The command line, declared with clap. Help texts are the user documentation of each flag.

#![expect(
    clippy::doc_markdown,
    reason = "doc comments here are clap help texts: plain text users read, not rustdoc"
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use rewind_app::locate::TimeSpec;
use rewind_emulator::{Preset, Scenario};
use rewind_engine::risk::Severity;
use rewind_model::Kind;
use rewind_policy::{ClientApp, Platform, RiskLevel, TransferMethod};

/// Point-in-time recovery for Microsoft Entra ID configuration.
#[derive(Debug, Parser)]
#[command(name = "rewind", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr: text, or json (one object per line, for log collectors).
    #[arg(
        long,
        global = true,
        value_name = "FORMAT",
        env = "REWIND_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a Graph-compatible emulated tenant; the first stdout line is its connection JSON.
    Emulator(EmulatorArgs),
    /// Start the emulator on a seeded tenant, capture it, replay an incident, show what changed
    /// and who did it, restore and verify; then keep serving on a terminal (--serve elsewhere).
    Demo(DemoArgs),
    /// What this app registration can do in the tenant: permissions, licence, audit log and
    /// the write app's directory roles, each missing piece with its fix (exit 3 if any).
    Doctor(DoctorArgs),
    /// Read the tenant and store one snapshot (full the first time, changes afterwards).
    Capture(CaptureArgs),
    /// List snapshots with their time, completeness and changes per kind.
    Log(LogArgs),
    /// What changed between two points, with the properties and who changed them.
    Changes(ChangesArgs),
    /// The changed properties with old and new values, for one object or all of them.
    Diff(DiffArgs),
    /// Print an object's configuration at a point in time.
    Show(ShowArgs),
    /// List every version of an object and who changed it.
    History(HistoryArgs),
    /// For each property of an object, the change (time, actor) that set its value.
    Blame(BlameArgs),
    /// What an object references and what references it, by kind and name.
    Refs(RefsArgs),
    /// Which Conditional Access policies apply to a sign-in, why, and what they require.
    Whatif(WhatifArgs),
    /// Lockout analysis of a state: can the break-glass accounts and administrators still get
    /// in? Exit code 6 when at risk or critical. --refs reports dangling references instead.
    Check(CheckArgs),
    /// Who each Conditional Access policy excludes, and how (named, through nested groups,
    /// through roles active or eligible). --from lists what changed; exit code 6 when someone
    /// became excluded from an enforced policy.
    Exposure(ExposureArgs),
    /// Bring the tenant back to a point in time — one property, objects, kinds, one actor's
    /// changes, or everything — dependency-aware and guarded against lockouts. Exit codes: 4
    /// partial, 5 refused by the lockout guard, 6 did not converge.
    Restore(RestoreArgs),
    /// Apply a plan written by `rewind restore --plan-out FILE`, after checking it again
    /// against the lockout guard.
    Apply(ApplyArgs),
    /// Check every blob, manifest and the hash chain of the store.
    Verify(VerifyArgs),
    /// Forget snapshots a retention policy does not keep, then delete blobs nothing uses.
    Forget(ForgetArgs),
    /// Write a point in time as a directory tree, one JSON file per object (EntraExporter's
    /// layout).
    Export(ExportArgs),
    /// Read exported trees (Rewind's, EntraExporter's, loose JSON files) or a git history of
    /// them into the timeline.
    Import(ImportArgs),
    /// Capture on an interval, evaluate each capture's changes with the risky-change rules,
    /// and alert (log, webhook, email); Prometheus metrics at /metrics. --fleet shares every
    /// tenant of a PostgreSQL store between workers.
    Watch(WatchArgs),
    /// List the alerts watch raised.
    Alerts(AlertsArgs),
    /// Manage the tenants a store keeps.
    #[command(subcommand)]
    Tenant(TenantCommand),
}

/// Where the timeline is and which of its tenants. Environment variables (`REWIND_STORE`,
/// `REWIND_STORE_KEY`, `REWIND_TENANT`, …) and the config file fill what flags leave out.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// TOML file with settings (keys as the flags, with underscores).
    #[arg(long, value_name = "FILE", env = "REWIND_CONFIG")]
    pub config: Option<PathBuf>,
    /// The store: a file path, sqlite://PATH or postgres://URL [env: REWIND_STORE]
    /// [default: ./rewind.db].
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// File with the store's encryption key (or REWIND_STORE_KEY with the key itself).
    #[arg(long, value_name = "FILE")]
    pub store_key_file: Option<PathBuf>,
    /// Which tenant of the store, by name or tenant id [env: REWIND_TENANT]; needed only when
    /// the store keeps several.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Print JSON (the stable scripting contract) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How to reach and sign in to the tenant [env: `REWIND_GRAPH_URL`, `REWIND_AUTHORITY_URL`,
/// `REWIND_TENANT_ID`, `REWIND_CLIENT_ID`, `REWIND_CLIENT_SECRET`, `REWIND_CLIENT_CERTIFICATE`].
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Microsoft Graph's base URL [default: https://graph.microsoft.com].
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,
    /// The identity platform's base URL [default: https://login.microsoftonline.com].
    #[arg(long, value_name = "URL")]
    pub authority_url: Option<String>,
    /// The directory (tenant) id.
    #[arg(long, value_name = "ID")]
    pub tenant_id: Option<String>,
    /// The application (client) id.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// A client secret; prefer REWIND_CLIENT_SECRET, which other users cannot see in `ps`.
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,
    /// A PEM file with the private key and certificate of the app.
    #[arg(long, value_name = "FILE")]
    pub client_certificate: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Read everything in full even when delta cursors exist.
    #[arg(long)]
    pub full: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// Give up (storing nothing) when reading takes longer than this: 30m, 4h.
    #[arg(long, value_name = "DUR", default_value = "4h", value_parser = duration)]
    pub time_limit: Duration,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The app registration restore writes with [env: REWIND_WRITE_CLIENT_ID; default: the
    /// capture app].
    #[arg(long, value_name = "ID")]
    pub write_client_id: Option<String>,
    /// Its secret; prefer REWIND_WRITE_CLIENT_SECRET.
    #[arg(long, value_name = "SECRET")]
    pub write_client_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Time between the starts of two captures of a tenant: 30s, 5m, 1h.
    #[arg(long, value_name = "DUR", default_value = "5m", value_parser = duration)]
    pub interval: Duration,
    /// POST each alert as JSON to URL [env: REWIND_WEBHOOK_URL]; REWIND_WEBHOOK_SECRET signs
    /// the body (X-Rewind-Signature: sha256=HMAC).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Email alerts to ADDRESS (repeatable) through REWIND_SMTP_URL, from REWIND_EMAIL_FROM
    /// [env: REWIND_EMAIL_TO].
    #[arg(long, value_name = "ADDRESS")]
    pub email_to: Vec<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics, or `off`.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:9464",
        env = "REWIND_METRICS_LISTEN"
    )]
    pub metrics_listen: String,
    /// Watch every tenant of a PostgreSQL store, shared with the other --fleet workers.
    #[arg(long)]
    pub fleet: bool,
    /// Fleet: how long a worker's claim on a tenant lasts unless renewed; a dead worker's
    /// tenants go to others after it.
    #[arg(long, value_name = "DUR", default_value = "60s", value_parser = duration)]
    pub lease: Duration,
    /// Fleet: this worker's name in leases [default: HOSTNAME-PID].
    #[arg(long, value_name = "NAME")]
    pub worker: Option<String>,
    /// Fleet: tenants this worker captures at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub tenants_at_once: u16,
    /// Requests in flight at once per tenant.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only alerts raised at or after T (RFC 3339 or a time ago: 1h, 2d).
    #[arg(long, value_name = "T", value_parser = time)]
    pub since: Option<TimeSpec>,
    /// Only alerts at least this severe: low, medium, high, critical.
    #[arg(long, value_name = "SEVERITY", value_parser = severity)]
    pub severity: Option<Severity>,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Only snapshots at or after T (RFC 3339, a snapshot id, or a time ago: 2h, 3d).
    #[arg(long, value_name = "T", value_parser = time)]
    pub since: Option<TimeSpec>,
    /// Only snapshots at or before T.
    #[arg(long, value_name = "T", value_parser = time)]
    pub until: Option<TimeSpec>,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The earlier point (RFC 3339, a snapshot id, or a time ago: 2h, 3d).
    #[arg(long, value_name = "T", value_parser = when)]
    pub from: When,
    /// The later point, or `live` to read the tenant now [default: the latest snapshot].
    #[arg(long, value_name = "T", value_parser = when)]
    pub to: Option<When>,
    /// Only objects of this kind (group, user, ca, app, sp, …).
    #[arg(long, value_name = "KIND", value_parser = kind)]
    pub kind: Option<Kind>,
    /// Only changes by this actor (part of a user principal name or an app's name).
    #[arg(long, value_name = "ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Only this object: an id, a display name, or either after a kind (ca/<name>).
    pub object: Option<String>,
    /// Exit with code 6 when there are differences (for scripts: `rewind diff --from 1d --to
    /// live --exit-code || alert`).
    #[arg(long)]
    pub exit_code: bool,
    /// The earlier point (RFC 3339, a snapshot id, or a time ago: 2h, 3d).
    #[arg(long, value_name = "T", value_parser = when)]
    pub from: When,
    /// The later point, or `live` to read the tenant now [default: the latest snapshot].
    #[arg(long, value_name = "T", value_parser = when)]
    pub to: Option<When>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// An id, a display name, or either after a kind: group/Finance, ca/<name>, user/<id>.
    pub object: String,
    /// The point in time (RFC 3339, a snapshot id, or a time ago: 2h, 3d) [default: latest].
    #[arg(long, value_name = "T", value_parser = time)]
    pub at: Option<TimeSpec>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// An id, a display name, or either after a kind: group/Finance, ca/<name>, user/<id>.
    pub object: String,
}

#[derive(Debug, Args)]
pub struct BlameArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// An id, a display name, or either after a kind: group/Finance, ca/<name>, user/<id>.
    pub object: String,
}

#[derive(Debug, Args)]
pub struct RefsArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// An id, a display name, or either after a kind: group/Finance, ca/<name>, user/<id>.
    pub object: String,
    /// The point (RFC 3339, a snapshot id, a time ago, or `live`) [default: latest].
    #[arg(long, value_name = "T", value_parser = when)]
    pub at: Option<When>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Report references to objects that do not exist at that point instead.
    #[arg(long)]
    pub refs: bool,
    /// The point (RFC 3339, a snapshot id, a time ago, or `live`) [default: latest].
    #[arg(long, value_name = "T", value_parser = when)]
    pub at: Option<When>,
    /// Analyse the state a restore plan would leave: a JSON file as `rewind restore --json`
    /// prints it ({"plan":{"steps":[{"action","kind","id","object"}]}}).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// A break-glass account (object id or user principal name); repeat for each. Overrides
    /// REWIND_BREAK_GLASS and `break_glass` in the config file; when none is set anywhere,
    /// accounts named like "break glass" or "emergency access" are taken.
    #[arg(long = "break-glass", value_name = "USER")]
    pub break_glass: Vec<String>,
    /// The country administrators sign in from at home (ISO 3166-1 alpha-2: US, DE, GB) [env:
    /// REWIND_HOME_COUNTRY; default: the protected accounts' most common usage location].
    #[arg(long, value_name = "CC", value_parser = country)]
    pub home_country: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExposureArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The point (RFC 3339, a snapshot id, a time ago, or `live`) [default: latest].
    #[arg(long, value_name = "T", value_parser = when)]
    pub at: Option<When>,
    /// Only this policy (its id or display name).
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<String>,
    /// List what changed in the exclusions since this point instead.
    #[arg(long, value_name = "T", value_parser = when)]
    pub from: Option<When>,
}

/// How a restore is judged, confirmed and written.
#[derive(Debug, Clone, Args)]
pub struct ApplyControl {
    /// Apply without asking.
    #[arg(long, conflicts_with = "dry_run")]
    pub yes: bool,
    /// Only show the plan and the guard's verdict; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply even when the lockout guard refuses the plan (it still reports who would be
    /// locked out).
    #[arg(long)]
    pub allow_lockout: bool,
    /// A break-glass account (object id or user principal name); repeat for each [env:
    /// REWIND_BREAK_GLASS].
    #[arg(long = "break-glass", value_name = "USER")]
    pub break_glass: Vec<String>,
    /// The country administrators sign in from at home (ISO 3166-1 alpha-2: US, DE, GB) [env:
    /// REWIND_HOME_COUNTRY].
    #[arg(long, value_name = "CC", value_parser = country)]
    pub home_country: Option<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
    /// The app registration that writes [env: REWIND_WRITE_CLIENT_ID; default: the capture app].
    #[arg(long, value_name = "ID")]
    pub write_client_id: Option<String>,
    /// Its secret; prefer REWIND_WRITE_CLIENT_SECRET.
    #[arg(long, value_name = "SECRET")]
    pub write_client_secret: Option<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub control: ApplyControl,
    /// The point to go back to (RFC 3339, a snapshot id, or a time ago: 2h, 3d).
    #[arg(long, value_name = "T", value_parser = time, required_unless_present_any = ["resume", "changed_by"])]
    pub to: Option<TimeSpec>,
    /// An object (id or kind/display-name) to restore, with what it names; repeat for each.
    #[arg(long = "object", value_name = "OBJECT")]
    pub objects: Vec<String>,
    /// Every object of a kind; repeat for each.
    #[arg(long = "kind", value_name = "KIND", value_parser = kind)]
    pub kinds: Vec<Kind>,
    /// Only this property (dotted path, e.g. conditions.users.excludeUsers) of the one
    /// --object.
    #[arg(long, value_name = "PATH", requires = "objects")]
    pub property: Option<String>,
    /// Undo everything this actor (user principal name or app name, as `rewind changes`
    /// shows them) changed since --since, keeping everyone else's changes.
    #[arg(long, value_name = "ACTOR", requires = "since")]
    pub changed_by: Option<String>,
    /// With --changed-by: undo what the actor changed after this point (RFC 3339, a
    /// snapshot id, or a time ago).
    #[arg(long, value_name = "T", value_parser = time)]
    pub since: Option<TimeSpec>,
    /// Everything Rewind restores.
    #[arg(long)]
    pub all: bool,
    /// Write the plan to FILE (JSON) for review; `rewind apply FILE` applies it.
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
    /// Continue the last interrupted restore of the tenant from its journal.
    #[arg(long, conflicts_with_all = ["to", "objects", "kinds", "all", "changed_by"])]
    pub resume: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub control: ApplyControl,
    /// The plan file.
    #[arg(value_name = "FILE")]
    pub plan: PathBuf,
}

#[derive(Debug, Args)]
pub struct WhatifArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Who signs in: an object id or user principal name.
    #[arg(long, value_name = "USER")]
    pub user: String,
    /// What for: an application id, an application's display name, MicrosoftAdminPortals,
    /// Office365, a user action (urn:user:registersecurityinfo, urn:user:registerdevice) or an
    /// authentication context (c1…c99).
    #[arg(long, value_name = "APP")]
    pub app: String,
    /// The client's IP address.
    #[arg(long, value_name = "ADDR")]
    pub ip: Option<std::net::IpAddr>,
    /// The country the sign-in comes from (ISO 3166-1 alpha-2: US, DE, GB).
    #[arg(long, value_name = "CC", value_parser = country)]
    pub country: Option<String>,
    /// The device platform: android, iOS, windows, windowsPhone, macOS or linux.
    #[arg(long, value_name = "P")]
    pub platform: Option<Platform>,
    /// The client app type: browser, mobileAppsAndDesktopClients, exchangeActiveSync,
    /// easSupported or other.
    #[arg(long, value_name = "C")]
    pub client_app: Option<ClientApp>,
    /// Whether the device is compliant.
    #[arg(long, value_name = "B")]
    pub device_compliant: Option<bool>,
    /// The device's join type: AzureAD, ServerAD (hybrid joined) or Workplace.
    #[arg(long, value_name = "T", value_parser = trust_type)]
    pub device_trust_type: Option<String>,
    /// Sign-in risk: none, low, medium, high.
    #[arg(long, value_name = "R")]
    pub sign_in_risk: Option<RiskLevel>,
    /// User risk: none, low, medium, high.
    #[arg(long, value_name = "R")]
    pub user_risk: Option<RiskLevel>,
    /// The authentication flow: none, deviceCodeFlow or authenticationTransfer.
    #[arg(long, value_name = "F")]
    pub auth_flow: Option<TransferMethod>,
    /// The point (RFC 3339, a snapshot id, a time ago, or `live`) [default: latest].
    #[arg(long, value_name = "T", value_parser = when)]
    pub at: Option<When>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The directory to write (created when missing; files of objects no longer there go), or
    /// `-` for one JSON line per object on stdout.
    pub dir: PathBuf,
    /// The point in time (RFC 3339, a snapshot id, or a time ago: 2h, 3d) [default: latest].
    #[arg(long, value_name = "T", value_parser = time)]
    pub at: Option<TimeSpec>,
    /// DIR already holds the export of this earlier point: write only what changed since
    /// (fast; for keeping a git work tree in step).
    #[arg(long, value_name = "T", value_parser = time)]
    pub since: Option<TimeSpec>,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_last: u32,
    /// Keep the newest snapshot of each of the last N hours that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_hourly: u32,
    /// Keep the newest snapshot of each of the last N days that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_daily: u32,
    /// Keep the newest snapshot of each of the last N ISO weeks that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_weekly: u32,
    /// Keep the newest snapshot of each of the last N months that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_monthly: u32,
    /// Keep the newest snapshot of each of the last N years that have one.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub keep_yearly: u32,
    /// Show what would be forgotten; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Directories or files, read together as one snapshot (with --git: one repository).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// When the exported state was taken (RFC 3339) [default: now].
    #[arg(long, value_name = "T", value_parser = rfc3339, conflicts_with = "git")]
    pub taken_at: Option<jiff::Timestamp>,
    /// PATH is a git repository: one snapshot per commit of HEAD's first-parent history, at
    /// the commit's time (a run goes on after the last commit an earlier run imported).
    #[arg(long)]
    pub git: bool,
    /// The tenant has captures: let the tree replace the captured state of the kinds it holds
    /// (objects of those kinds the tree lacks are recorded deleted; the next capture reads
    /// those kinds in full).
    #[arg(long)]
    pub replace_kinds: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A chain head kept from an earlier `rewind verify` (or `capture --json`): exit 6 unless it
    /// is still a tenant's head.
    #[arg(long, value_name = "HASH")]
    pub head: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Add a tenant to the store (its connection settings; never its secret).
    Add(TenantAddArgs),
    /// List the store's tenants.
    List(TenantListArgs),
    /// Remove a tenant and its whole timeline from the store.
    Remove(TenantRemoveArgs),
}

#[derive(Debug, Args)]
pub struct TenantAddArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// A short name for it.
    pub name: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct TenantListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct TenantRemoveArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The tenant's name or id.
    pub name: String,
    /// Confirm: its snapshots and history are deleted.
    #[arg(long)]
    pub yes: bool,
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
    /// script-gone-wrong (`demo` replays it between two captures; attacker by default).
    #[arg(long, value_parser = clap::value_parser!(Scenario))]
    pub scenario: Option<Scenario>,
    /// Serve N tenants (seeds SEED, SEED+1, …) with one multi-tenant app as their clients;
    /// the connection JSON lists them in "tenants".
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=2000))]
    pub tenants: u16,
    /// The tenant's Entra ID licence: p1 has no PIM (its reads answer 400
    /// AadPremiumLicenseRequired), p2 has everything.
    #[arg(long, default_value = "p2", value_parser = clap::value_parser!(rewind_emulator::License))]
    pub license: rewind_emulator::License,
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
    /// Share of writes (0 to 1) applied and then answered 500/503/504 anyway, as Graph
    /// sometimes does: a client that sends the write again may make a duplicate.
    #[arg(long, default_value_t = 0.0)]
    pub error_after_commit_rate: f64,
    /// How long a just-created object stays invisible, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub replication_lag_ms: u64,
    /// Seconds (of emulator clock) before a write's audit record can be read; Entra's are
    /// minutes late.
    #[arg(long, default_value_t = 0)]
    pub audit_latency_s: u64,
    /// Graph's throttling budgets on (directory resource units, 1 request/s for CA, audit logs).
    #[arg(long)]
    pub throttle: bool,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Also write the settings that point rewind at it to FILE, as shell exports
    /// (REWIND_GRAPH_URL, REWIND_TENANT_ID, the read and write apps): `. ./FILE`.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub tenant: TenantArgs,
    /// Where the demo keeps its timeline [default: a new file in the temporary directory].
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Keep the emulator serving after the story, until Ctrl-C (the default when stdin is a
    /// terminal; without a terminal the demo ends after the story).
    #[arg(long)]
    pub serve: bool,
}

/// A country flag: an ISO 3166-1 alpha-2 code, upper-cased; a name is refused with its code.
fn country(given: &str) -> Result<String, String> {
    rewind_app::country::country_code(given)
}

/// A device trust type as Graph spells it (any case in).
fn trust_type(given: &str) -> Result<String, String> {
    let known = ["AzureAD", "ServerAD", "Workplace"];
    let found = known.iter().find(|k| k.eq_ignore_ascii_case(given.trim()));
    found.map(|t| (*t).to_string()).ok_or_else(|| "use AzureAD, ServerAD or Workplace".into())
}

/// How logs on stderr are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A duration flag: `30s`, `5m`, `2h`, `1d`.
fn duration(s: &str) -> Result<Duration, String> {
    rewind_app::locate::parse_duration(s)
}

/// A severity flag: low, medium, high or critical.
fn severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// A kind flag: a kind's name or a short alias (`ca`, `app`, `sp`, …).
fn kind(s: &str) -> Result<Kind, String> {
    rewind_app::locate::kind_named(s).ok_or_else(|| {
        format!("unknown kind '{s}': use a kind's name (group, user, conditionalAccessPolicy, …) or ca, app, sp, au, role, location")
    })
}

/// A point as flags give it: `live` (the tenant read now) or a point of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// The tenant as it is now.
    Live,
    /// A snapshot, a time or a time ago.
    At(TimeSpec),
}

/// A time flag: an RFC 3339 time, a date, a snapshot id or a time ago.
fn time(s: &str) -> Result<TimeSpec, String> {
    s.parse().map_err(|e: rewind_app::locate::LocateError| e.to_string())
}

/// An exact time flag: RFC 3339 only.
fn rfc3339(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse().map_err(|e| format!("{e}; give an RFC 3339 time (2026-11-28T09:00:00Z)"))
}

/// A point flag: a time flag, or `live`.
fn when(s: &str) -> Result<When, String> {
    if s.trim().eq_ignore_ascii_case("live") { Ok(When::Live) } else { time(s).map(When::At) }
}
