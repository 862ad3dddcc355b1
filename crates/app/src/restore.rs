//! Restore (DESIGN §6): what the scope wants, planned against the tenant as it is now
//! ([`prepare`]), judged by the lockout analysis ([`guard`]), applied with a journal
//! ([`execute`]) and checked against the tenant afterwards ([`verify`]). [`Restore`] runs
//! them in order, top to bottom, and [`RestoreReport`] is what it reports.

mod execute;
mod graph;
mod guard;
mod names;
mod prepare;
mod privilege;
mod report;
mod run;
mod scope;
mod unreviewed;
mod verify;

pub use execute::{ExecuteOptions, Execution, StepEvent, StepOutcome, execute};
pub use guard::{Guard, Removed, WorseOff, guard};
pub use names::plan_names;
pub use prepare::{Prepared, prepare, replan};
pub use privilege::missing_directory_roles;
pub use report::{GuardReport, RestoreReport, SnapshotRef};
pub use run::{
    Applied, Begun, Ending, Judged, Missing, Restore, RestoreClients, Resumable, Timings,
    check_plan_mac,
};
pub use scope::Scope;
pub use unreviewed::{StepName, Unreviewed};
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
    /// Capturing the tenant (before planning, or to verify) failed.
    #[error(transparent)]
    Capture(#[from] crate::CaptureError),
    /// The write app cannot sign in, or holds nothing that writes.
    #[error("{0}")]
    Auth(String),
    /// Another restore of the tenant holds its restore lock.
    #[error("{0}")]
    Locked(#[source] StoreError),
    /// A plan file is not what its desired state needs against the tenant now.
    #[error("the plan is not what its desired state needs against the tenant now")]
    Unreviewed(Vec<Unreviewed>),
}
