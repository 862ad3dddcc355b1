//! Which directory roles a plan needs of the write app that it lacks — found before anything
//! is written, because Graph refuses those writes one by one with a 403 that names no role.

use std::collections::BTreeSet;

use rewind_engine::restore::{MissingRole, Plan, missing_roles, role_needed};
use rewind_model::Kind;
use rewind_msgraph::GraphClient;
use serde_json::Value;

use crate::doctor::{RolesUnreadable, directory_roles_of};

/// The roles `plan` needs that the app `write_client_id` does not hold, read with `read`.
/// Reads nothing when no step could need one.
pub async fn missing_directory_roles(
    read: &GraphClient,
    write_client_id: &str,
    plan: &Plan,
) -> Result<Vec<MissingRole>, RolesUnreadable> {
    let everyone_holds: BTreeSet<String> = plan.steps.iter().map(|s| s.id.clone()).collect();
    if !plan.steps.iter().any(|s| role_needed(s, &everyone_holds).is_some()) {
        return Ok(Vec::new());
    }
    let holders = role_holders(read, plan).await?;
    let (_, held) = directory_roles_of(read, write_client_id).await?;
    Ok(missing_roles(&plan.steps, &holders, &held))
}

/// Principals who hold a directory role now (read live) or in the plan's desired state.
async fn role_holders(
    read: &GraphClient,
    plan: &Plan,
) -> Result<BTreeSet<String>, RolesUnreadable> {
    let live = read
        .list("/roleManagement/directory/roleAssignments?$select=principalId")
        .await
        .map_err(|e| RolesUnreadable {
            detail: format!("the tenant's role assignments could not be read: {e}"),
            fix: "grant the read app RoleManagement.Read.Directory, with admin consent".into(),
        })?;
    let desired = plan
        .desired
        .iter()
        .filter(|d| d.kind == Kind::RoleAssignment)
        .filter_map(|d| d.object.as_ref());
    Ok(live
        .iter()
        .chain(desired)
        .filter_map(|a| a.get("principalId").and_then(Value::as_str))
        .map(str::to_string)
        .collect())
}
