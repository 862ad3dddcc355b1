//! Restore (DESIGN §6): what the scope wants, planned against the tenant as it is now
//! ([`prepare`]), judged by the lockout analysis ([`guard`]), applied with a journal
//! ([`execute`]) and checked against the tenant afterwards ([`verify`]).

mod execute;
mod graph;
mod guard;
mod prepare;
mod privilege;
mod scope;
mod verify;

pub use execute::{ExecuteOptions, Execution, StepEvent, StepOutcome, execute};
pub use guard::{Guard, Removed, WorseOff, guard};
pub use prepare::{Prepared, prepare, replan};
pub use privilege::missing_directory_roles;
pub use scope::Scope;
pub use verify::{Difference, Verification, verify};

use rewind_msgraph::ClientError;
use rewind_store::StoreError;

/// Why a restore could not be planned or run.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Graph failed while reading what the plan needs.
    #[error("reading {what}: {source}")]
    Graph {
        /// What was being read.
        what: String,
        /// The failure.
        #[source]
        source: Box<ClientError>,
    },
    /// The request cannot be planned as given; the message says what to change.
    #[error("{0}")]
    Scope(String),
    /// A plan file that cannot be read or applied; the message names the file and what to do.
    #[error("{0}")]
    PlanFile(String),
}
