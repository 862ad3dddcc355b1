//! What the timeline holds, as `rewind log`, `history`, `blame`, `show` and `tenant list`
//! report it (DESIGN §8.1): the report types the CLI prints as JSON and the console serves.

mod blame;
mod history;
mod log;
mod show;
mod tenants;

pub use blame::{BlameReport, BlamedProperty};
pub use history::{HistoryReport, VersionEntry};
pub use log::{LogReport, SnapshotEntry};
pub use show::ShowReport;
pub use tenants::{TenantEntry, TenantsReport};

use rewind_model::Actor;
use rewind_store::KindCounts;
use serde::Serialize;

/// How many objects a snapshot (or an import) created, updated and deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Objects created.
    pub created: u64,
    /// Objects updated.
    pub updated: u64,
    /// Objects deleted.
    pub deleted: u64,
}

impl From<KindCounts> for Changes {
    fn from(c: KindCounts) -> Changes {
        Changes { created: c.created, updated: c.updated, deleted: c.deleted }
    }
}

/// Actors as the scripting contract names them (`Contoso Automation`, `admin@contoso.com`).
pub fn actor_labels(actors: &[Actor]) -> Vec<String> {
    actors.iter().map(Actor::label).collect()
}
