//! Who may write which object, beyond app permissions and the schema: objects mastered
//! elsewhere (synchronised from on-premises, managed in Exchange, members from a rule), the last
//! owner of a group, and the directory roles Graph requires of an app for sensitive actions.
//! Each rule cites the document it follows; docs/design/emulator.md lists them.

use rewind_model::roles::{
    APPLICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR, GLOBAL_ADMINISTRATOR,
    HYBRID_IDENTITY_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
};
use serde_json::Value;

use crate::error::GraphError;
use crate::resource::Coll;
use crate::route::LinkKind;
use crate::tenant::{Actor, Obj, Tenant};

/// A write to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectWrite {
    Update,
    Delete,
    Restore,
}

/// The roles that let an app change, delete or restore a user who holds a directory role:
/// user-update.md, user-delete.md and directory-deleteditems-restore.md ("In app-only scenarios,
/// the User.ReadWrite.All application permission isn't enough privilege to restore deleted
/// users with administrator roles. The app must be assigned a higher privileged administrator
/// role"); Privileged Authentication Administrator is the least one that may act on every admin.
const USER_ROLES: &[&str] = &[GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR];
/// The roles that let an app restore applications and service principals
/// (directory-deleteditems-restore.md: Global, Application, Cloud Application or Hybrid
/// Identity Administrator).
const APP_ROLES: &[&str] = &[
    GLOBAL_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    HYBRID_IDENTITY_ADMINISTRATOR,
];

/// Checks a change, delete or restore of the object `id` (stored as `obj`, live or in the
/// recycle bin) by `actor`.
pub(crate) fn check_object_write(
    t: &Tenant,
    actor: &Actor,
    coll: Coll,
    id: &str,
    obj: &Obj,
    write: ObjectWrite,
) -> Result<(), GraphError> {
    if matches!(coll, Coll::Users | Coll::Groups) && write != ObjectWrite::Restore && is_synced(obj)
    {
        return Err(synced_refusal());
    }
    let needed = match (coll, write) {
        (Coll::Users, _) if holds_a_role(t, id) => USER_ROLES,
        (Coll::Applications | Coll::ServicePrincipals, ObjectWrite::Restore) => APP_ROLES,
        _ => return Ok(()),
    };
    check_app_roles(t, actor, needed)
}

/// Checks a member or owner change of the group or unit `id`: removing the last user owner of
/// a group included.
pub(crate) fn check_link_write(
    t: &Tenant,
    coll: Coll,
    id: &str,
    kind: LinkKind,
    removing: Option<&str>,
) -> Result<(), GraphError> {
    let Some(obj) = t.get(coll, id) else {
        return Ok(());
    };
    if coll != Coll::Groups {
        return Ok(());
    }
    match kind {
        LinkKind::Members => check_member_writes(obj),
        LinkKind::Owners => match removing {
            Some(owner) => check_not_last_owner(t, id, owner),
            None => Ok(()),
        },
    }
}

/// Whether a group's members can be written through Graph. Dynamic groups: "You can't use
/// Microsoft Graph to manage dynamic group membership" (group-post-members.md); mail-enabled
/// security groups and distribution lists are managed in Exchange and answer 403
/// (group-post-members.md, "only security groups and Microsoft 365 groups"; Microsoft support,
/// authorization-requestdenied-403-error-add-user-group.md); synchronised groups are mastered
/// on-premises.
pub(crate) fn check_member_writes(group: &Obj) -> Result<(), GraphError> {
    if is_synced(group) {
        return Err(synced_refusal());
    }
    let types = group_types(group);
    if types.contains(&"DynamicMembership") {
        return Err(denied(
            "Insufficient privileges to complete the operation. The members of a group with dynamic membership are set by its rule.",
        ));
    }
    let mail_enabled = group.get("mailEnabled") == Some(&Value::Bool(true));
    if mail_enabled && !types.contains(&"Unified") {
        return Err(denied(
            "Insufficient privileges to complete the operation. Mail-enabled security groups and distribution lists are managed in Exchange Online.",
        ));
    }
    Ok(())
}

/// "Once owners are assigned to a group, the last owner (a user object) of the group cannot be
/// removed" (group-delete-owners.md).
fn check_not_last_owner(t: &Tenant, group: &str, owner: &str) -> Result<(), GraphError> {
    let Some(owners) = t.link_set(LinkKind::Owners, group) else {
        return Ok(());
    };
    let is_user = |id: &str| t.get(Coll::Users, id).is_some();
    let users_left = owners.iter().filter(|o| o.as_str() != owner && is_user(o)).count();
    if owners.contains(owner) && is_user(owner) && users_left == 0 {
        return Err(GraphError::bad_request(
            "The group must have at least one owner, hence this owner cannot be removed.",
        ));
    }
    Ok(())
}

/// Objects synchronised from on-premises Active Directory are changed there, not in the cloud
/// (user-update.md and group-update.md: on-premises-mastered properties are read-only; the
/// service answers "Unable to update the specified properties for on-premises mastered
/// Directory Sync objects or objects currently undergoing migration.").
pub(crate) fn is_synced(obj: &Obj) -> bool {
    obj.get("onPremisesSyncEnabled") == Some(&Value::Bool(true))
}

/// Graph's 403 with a message that says why.
fn denied(message: &str) -> GraphError {
    GraphError::new(403, "Authorization_RequestDenied", message)
}

fn synced_refusal() -> GraphError {
    GraphError::bad_request(
        "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.",
    )
}

fn group_types(obj: &Obj) -> Vec<&str> {
    obj.get("groupTypes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Whether a directory role is assigned to `principal` (active, any scope).
pub(crate) fn holds_a_role(t: &Tenant, principal: &str) -> bool {
    t.coll(Coll::RoleAssignments)
        .values()
        .any(|a| a.get("principalId").and_then(Value::as_str) == Some(principal))
}

/// An app-only caller must hold one of `roles`. Delegated callers are the emulator's scenarios,
/// acting with the roles their users hold; Graph checks those the same way, but no scenario
/// needs it, so the emulator does not model delegated role checks.
fn check_app_roles(t: &Tenant, actor: &Actor, roles: &[&str]) -> Result<(), GraphError> {
    let Actor::App { service_principal_id, .. } = actor else {
        return Ok(());
    };
    let held = t.coll(Coll::RoleAssignments).values().any(|a| {
        a.get("principalId").and_then(Value::as_str) == Some(service_principal_id.as_str())
            && a.get("roleDefinitionId").and_then(Value::as_str).is_some_and(|r| roles.contains(&r))
            && a.get("directoryScopeId").and_then(Value::as_str).is_none_or(|s| s == "/")
    });
    if held {
        return Ok(());
    }
    Err(denied(
        "Insufficient privileges to complete the operation. This action on this object needs the calling app to hold a directory role, not only an application permission.",
    ))
}
