//! What a scenario did, by whom and when: the record a tenant keeps of each scenario run.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who acted in a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioActor {
    /// `user` or `servicePrincipal`.
    pub kind: String,
    /// The object id.
    pub id: String,
    /// The display name.
    pub display_name: String,
    /// The appId, for service principals.
    pub app_id: Option<String>,
}

/// One change a scenario made (or tried to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioStep {
    /// What was done: `create`, `update`, `delete`, `purge`, `addPassword`, `removeMember`, …
    pub action: String,
    /// The kind of the target, as its Graph path (`users`, `identity/conditionalAccess/policies`).
    pub kind: String,
    /// The target's id.
    pub id: String,
    /// The target's display name.
    pub display_name: Option<String>,
    /// What changed, in a shape that depends on the action.
    pub detail: Value,
    /// The HTTP status Graph answered.
    pub status: u16,
    /// When.
    pub at: String,
}

/// What a scenario is, and — once it ran — what it did, by whom and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Whether it has run in this tenant.
    pub ran: bool,
    /// Who acted.
    pub actor: Option<ScenarioActor>,
    /// When it started and finished.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Every change, in order.
    pub steps: Vec<ScenarioStep>,
}
