//! The `rewind` command: parse, run one command, map its outcome to a documented exit code.

mod cli;
mod commands;
mod exit;
mod output;
mod text;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

/// mimalloc instead of the system allocator: serving and seeding large tenants allocate many
/// small values, and glibc's allocator spent half the time of a 100k-user paging run in
/// malloc/free (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // A daemon reports what it does; one-shot commands only what goes wrong.
    let level = if matches!(cli.command, cli::Command::Watch(_)) { "info" } else { "warn" };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("REWIND_LOG").unwrap_or_else(|_| level.into());
    // Colour only for a person at a terminal: logs sent to a file or a collector stay plain.
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(filter);
    if cli.log_format == cli::LogFormat::Json {
        logs.json().flatten_event(true).init();
    } else {
        logs.init();
    }
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if output::is_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", text::inert_lines(&message(&err)));
            exit::code_for(&err)
        }
    }
}

/// The error and its causes, each said once: a library's message often repeats its cause, which
/// `{:#}` would print again.
fn message(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let said = cause.to_string();
        if said.is_empty() || text.contains(&said) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&said);
    }
    text
}
