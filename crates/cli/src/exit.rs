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
/// A restore applied only part of its plan; the report lists what failed.
pub const PARTIAL: u8 = 4;
/// The lockout guard refused a restore plan.
pub const REFUSED: u8 = 5;
/// `verify`, `diff` or `check` found what it looks for (or a command found the snapshot it
/// would read damaged), or a restore did not converge.
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
    /// The command found what it checks for (damage in the store), or a restore did not
    /// converge.
    #[error("{0}")]
    Found(String),
    /// Some steps of a restore failed.
    #[error("{0}")]
    Partial(String),
    /// The lockout guard refused the plan.
    #[error("{0}")]
    Refused(String),
}

/// The exit code for an error: the typed ones carry their code, anything else is unexpected.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    let code = match err.downcast_ref::<Expected>() {
        Some(Expected::Usage(_)) => USAGE,
        Some(Expected::Auth(_)) => AUTH,
        Some(Expected::Found(_)) => FOUND,
        Some(Expected::Partial(_)) => PARTIAL,
        Some(Expected::Refused(_)) => REFUSED,
        None if damaged(err) => FOUND,
        None => UNEXPECTED,
    };
    debug_assert_ne!(code, OK);
    ExitCode::from(code)
}

/// Whether the error is damage found in the store (a snapshot that does not match its chain):
/// the same finding as `verify`'s, whichever use case met it (they pass store errors on
/// transparently, so the store error itself may not be in the chain).
fn damaged(err: &anyhow::Error) -> bool {
    use rewind_store::StoreError;
    let is = |s: &StoreError| matches!(s, StoreError::Damaged { .. });
    err.chain().any(|e| {
        e.downcast_ref::<StoreError>().is_some_and(is)
            || matches!(e.downcast_ref::<rewind_app::CaptureError>(), Some(rewind_app::CaptureError::Store(s)) if is(s))
            || matches!(e.downcast_ref::<rewind_app::restore::RestoreError>(), Some(rewind_app::restore::RestoreError::Store(s)) if is(s))
            || matches!(e.downcast_ref::<rewind_app::import::ImportError>(), Some(rewind_app::import::ImportError::Store(s)) if is(s))
            || matches!(e.downcast_ref::<rewind_app::locate::LocateError>(), Some(rewind_app::locate::LocateError::Store(s)) if is(s))
    })
}
