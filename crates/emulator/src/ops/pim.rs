//! Privileged Identity Management as a real tenant shows it: every active role assignment has a
//! schedule (`/roleManagement/directory/roleAssignmentSchedules`, unifiedroleassignmentschedule.md)
//! that says whether it is permanent, time-bound (`assignmentType` `Assigned` with an end) or an
//! activation of an eligibility (`Activated`); activations and time-bound assignments are plain
//! entries of `roleAssignments` while they last and leave it when they end, with a PIM audit
//! record ("Remove member from role (PIM activation expired)", PIM's audit activities).

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use super::audit::{self, AuditOp};
use crate::resource::Coll;
use rewind_model::roles::{GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR};

use crate::tenant::obj;
use crate::tenant::{Actor, Tenant};

/// How long the seeded activation lasts.
const ACTIVATION_HOURS: i64 = 8;
/// How long the seeded time-bound assignment lasts from the start.
const TIME_BOUND_DAYS: i64 = 30;

/// The schedule of an active assignment made outside PIM's requests: permanent, with the
/// assignment's own id (Graph gives such schedules the assignment's id).
pub(crate) fn permanent_schedule(
    assignment_id: &str,
    assignment: &Map<String, Value>,
) -> Map<String, Value> {
    schedule(assignment, "Assigned", assignment_id, None)
}

fn schedule(
    assignment: &Map<String, Value>,
    assignment_type: &str,
    created_using: &str,
    window: Option<(Timestamp, Timestamp)>,
) -> Map<String, Value> {
    let pick = |k: &str| assignment.get(k).cloned().unwrap_or(Value::Null);
    let (start, expiration) = match window {
        None => {
            (Value::Null, json!({"type": "noExpiration", "endDateTime": null, "duration": null}))
        }
        Some((from, to)) => (
            json!(crate::tenant::format_time(from)),
            json!({"type": "afterDateTime", "endDateTime": crate::tenant::format_time(to), "duration": null}),
        ),
    };
    obj(json!({
        "principalId": pick("principalId"), "roleDefinitionId": pick("roleDefinitionId"),
        "directoryScopeId": pick("directoryScopeId"), "appScopeId": pick("appScopeId"),
        "createdUsing": created_using, "createdDateTime": start, "modifiedDateTime": null,
        "status": "Provisioned", "assignmentType": assignment_type, "memberType": "Direct",
        "scheduleInfo": {"startDateTime": start, "recurrence": null, "expiration": expiration},
    }))
}

/// What PIM holds at the moment the emulator starts: the security lead activated her Global
/// Administrator eligibility an hour ago for eight hours, and the identity engineer was given
/// User Administrator for thirty days yesterday. Relative to now, so not part of the seed
/// (which is byte-identical for a seed); nothing happens when those people are not there.
pub(crate) fn start_of_day(t: &mut Tenant) {
    let now = t.now();
    let hours = |h: i64| SignedDuration::from_hours(h);
    let domain = t.domain.clone();
    if let Some(megan) = t.resolve_key(Coll::Users, &format!("megan.bowen@{domain}")) {
        let from = now - hours(1);
        add(t, &megan, GLOBAL_ADMINISTRATOR, "Activated", (from, from + hours(ACTIVATION_HOURS)));
    }
    if let Some(nestor) = t.resolve_key(Coll::Users, &format!("nestor.wilke@{domain}")) {
        let from = now - hours(24);
        add(t, &nestor, USER_ADMINISTRATOR, "Assigned", (from, from + hours(24 * TIME_BOUND_DAYS)));
    }
}

fn add(t: &mut Tenant, principal: &str, role: &str, kind: &str, window: (Timestamp, Timestamp)) {
    let id = format!("{}-1", t.new_opaque_id());
    let body =
        obj(json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/",
        "appScopeId": null, "condition": null, "principalOrganizationId": t.tenant_id}));
    let mut assignment = Map::from_iter([("id".to_string(), json!(id))]);
    assignment.extend(body);
    let mut s = Map::from_iter([("id".to_string(), json!(id))]);
    s.extend(schedule(&assignment, kind, &id, Some(window)));
    t.put(Coll::RoleAssignments, &id, assignment);
    t.put(Coll::RoleAssignmentSchedules, &id, s);
}

/// Ends the activations and time-bound assignments whose end has passed: the assignment and
/// its schedule go, and PIM records it.
pub(crate) fn expire(t: &mut Tenant) {
    let now = crate::tenant::format_time(t.now());
    let ended: Vec<(String, String)> = t
        .coll(Coll::RoleAssignmentSchedules)
        .iter()
        .filter_map(|(id, s)| {
            let end = s.get("scheduleInfo")?.pointer("/expiration/endDateTime")?.as_str()?;
            (end <= now.as_str()).then(|| {
                let ty = s.get("assignmentType").and_then(Value::as_str).unwrap_or("");
                (id.clone(), ty.to_string())
            })
        })
        .collect();
    for (id, ty) in ended {
        t.take(Coll::RoleAssignmentSchedules, &id);
        if t.take(Coll::RoleAssignments, &id).is_none() {
            continue;
        }
        let activity = if ty == "Activated" {
            "Remove member from role (PIM activation expired)"
        } else {
            "Remove member from role (PIM assignment expired)"
        };
        let pim = Actor::App {
            app_id: "01fc33a7-78ba-4d2f-a4b7-768e336e890e".into(),
            display_name: "MS-PIM".into(),
            service_principal_id: String::new(),
        };
        audit::record(
            t,
            &pim,
            Coll::RoleAssignments,
            AuditOp::Named { activity: activity.into(), operation: "Delete" },
            &id,
            None,
            Vec::new(),
        );
    }
}
