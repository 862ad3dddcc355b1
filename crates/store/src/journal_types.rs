//! The vocabulary of restore journals: a restore's id, its status and a step's state, each
//! with the one string the store and the scripting contract use for it.

use serde::Serialize;

use crate::error::StoreError;
pub use crate::ids::RestoreId;

/// Where a restore is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RestoreStatus {
    /// Its steps are being applied.
    Running,
    /// Every step ran; the tenant is being read back to verify.
    Verifying,
    /// Some steps failed or were skipped; `--resume` continues it.
    Partial,
    /// Applied and verified.
    Finished,
    /// A newer plan replaced it before it finished.
    Abandoned,
}

impl RestoreStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreStatus::Running => "running",
            RestoreStatus::Verifying => "verifying",
            RestoreStatus::Partial => "partial",
            RestoreStatus::Finished => "finished",
            RestoreStatus::Abandoned => "abandoned",
        }
    }

    /// Whether a restore in this status did not finish, so `--resume` may continue it.
    pub fn unfinished(self) -> bool {
        matches!(self, RestoreStatus::Running | RestoreStatus::Partial | RestoreStatus::Verifying)
    }

    pub(crate) fn parse(s: &str) -> Result<RestoreStatus, StoreError> {
        [
            RestoreStatus::Running,
            RestoreStatus::Verifying,
            RestoreStatus::Partial,
            RestoreStatus::Finished,
            RestoreStatus::Abandoned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown restore status '{s}'")))
    }
}

impl std::fmt::Display for RestoreStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one step of a restore is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepState {
    /// Sent, or about to be: after a crash it may or may not have been applied.
    Started,
    /// Applied (or found already applied).
    Done,
    /// Graph refused it.
    Failed,
    /// Not run, because a step it depends on did not succeed.
    Skipped,
}

impl StepState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Started => "started",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<StepState, StoreError> {
        [StepState::Started, StepState::Done, StepState::Failed, StepState::Skipped]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown restore step state '{s}'")))
    }
}
