//! Exit codes (README, "Exit codes"; DESIGN §8.1). Scripts rely on them: keep them stable.

use std::process::ExitCode;

/// Success.
pub const OK: u8 = 0;
/// An unexpected error.
pub const UNEXPECTED: u8 = 1;
/// Usage or configuration error.
pub const USAGE: u8 = 2;
/// Authentication or permission error.
pub const AUTH: u8 = 3;
/// `verify` (or later `diff`/`check`) found what it looks for.
pub const FOUND: u8 = 6;

/// Errors that know their exit code.
#[derive(Debug, thiserror::Error)]
pub enum Expected {
    /// The command line or configuration cannot be used as given.
    #[error("{0}")]
    Usage(String),
    /// Signing in failed or a permission is missing.
    #[error("{0}")]
    Auth(String),
    /// The command found what it checks for (damage in the store).
    #[error("{0}")]
    Found(String),
}

/// The exit code for an error: the typed ones carry their code, anything else is unexpected.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    let code = match err.downcast_ref::<Expected>() {
        Some(Expected::Usage(_)) => USAGE,
        Some(Expected::Auth(_)) => AUTH,
        Some(Expected::Found(_)) => FOUND,
        None => UNEXPECTED,
    };
    debug_assert_ne!(code, OK);
    ExitCode::from(code)
}
