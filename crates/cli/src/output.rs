//! Standard output of commands. Rust's `println!` panics when the reader has gone
//! (`rewind log | head -1`); these macros return an error instead, and a closed stdout ends the
//! command quietly with status 0, as `git log | head` does.
//!
//! Text a command prints holds names and values from a tenant or a store, which anyone who can
//! name a group can fill with escape sequences and carriage returns (a "- delete" line redrawn
//! as a harmless "~ update"). Everything printed here is made inert: control characters other
//! than newline and tab are shown escaped. Only `diff`'s own colours bypass it, after escaping
//! their text themselves.

use std::io::Write as _;

/// The reader of standard output went away: nothing more needs printing.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed")]
pub struct Closed;

/// Writes `args` to standard output; a broken pipe becomes [`Closed`], other failures stay I/O
/// errors (a full disk is still an error).
pub fn write(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    write_trusted(&crate::text::inert_lines(&args.to_string()))
}

/// Writes `text` as it is: only for text whose every piece from outside was made inert (diff's
/// colours).
pub fn write_trusted(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(failed)
}

/// What a failed write to standard output means: [`Closed`] for a broken pipe, else the error.
pub fn failed(e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe => anyhow::Error::new(Closed),
        _ => anyhow::Error::new(e).context("cannot write to standard output"),
    }
}

/// Writes a report as one line of JSON (the `--json` contract, DESIGN §8.1).
pub fn json<T: serde::Serialize>(report: &T) -> anyhow::Result<()> {
    write(format_args!("{}\n", serde_json::to_string(report)?))
}

/// Whether an error only says that standard output was closed.
pub fn is_closed(err: &anyhow::Error) -> bool {
    err.chain().any(<dyn std::error::Error>::is::<Closed>)
}

/// `print!` that returns an error instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// `println!` that returns an error instead of panicking.
macro_rules! outln {
    () => {
        $crate::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
