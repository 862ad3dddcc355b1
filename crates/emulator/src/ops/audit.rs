//! The directory audit log: one `directoryAudit` record per successful write, attributed to the
//! app whose token made it, and `GET /auditLogs/directoryAudits` over them (newest first).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::error::GraphError;
use crate::query::{self, apply_select, collection, context, entity};
use crate::resource::{Coll, DIRECTORY_PAGE};
use crate::route::LinkKind;
use crate::tenant::{Actor, Tenant};
use crate::wire::GraphResponse;

/// What a write did, for the record's activity name and operation type.
#[derive(Debug, Clone)]
pub(crate) enum AuditOp {
    Add,
    Update,
    Delete,
    Restore,
    HardDelete,
    Link {
        kind: LinkKind,
        added: bool,
        other: String,
    },
    /// A named activity such as "Update application – Certificates and secrets management".
    Named {
        activity: String,
        operation: &'static str,
    },
}

/// Appends an audit record. `modified` lists `(property, old, new)`.
pub(crate) fn record(
    t: &mut Tenant,
    actor: &Actor,
    coll: Coll,
    op: AuditOp,
    id: &str,
    display_name: Option<&str>,
    modified: Vec<(String, Value, Value)>,
) {
    let related = related(t, coll, id);
    record_related(t, actor, coll, op, id, display_name, modified, &related);
}

/// The other objects Entra names in a record about a contained object: the application of a
/// federated credential; the resource and the principal of an app role assignment.
pub(crate) fn related(t: &Tenant, coll: Coll, id: &str) -> Vec<String> {
    let Some(obj) = t.get(coll, id) else {
        return Vec::new();
    };
    let props: &[&str] = match coll {
        Coll::FederatedCredentials => &[crate::tenant::PARENT],
        Coll::AppRoleAssignments => &["resourceId", "principalId"],
        _ => &[],
    };
    props.iter().filter_map(|p| obj.get(*p).and_then(Value::as_str).map(str::to_string)).collect()
}

/// [`record`] with the related objects given (for a deletion, taken before the object went).
#[expect(clippy::too_many_arguments, reason = "one record's every part, named")]
pub(crate) fn record_related(
    t: &mut Tenant,
    actor: &Actor,
    coll: Coll,
    op: AuditOp,
    id: &str,
    display_name: Option<&str>,
    modified: Vec<(String, Value, Value)>,
    related: &[String],
) {
    let (category, noun, service) = coll.audit_vocabulary();
    let (activity, operation) = activity(coll, noun, &op);
    let modified = audit_properties(coll, modified);
    let mut targets = vec![json!({
        "id": id,
        "displayName": display_name,
        "type": coll.audit_type(),
        "userPrincipalName": null,
        "groupType": null,
        "modifiedProperties": modified,
    })];
    if let AuditOp::Link { other, .. } = op {
        targets.insert(0, other_target(t, &other, "User"));
    }
    for other in related {
        targets.push(other_target(t, other, "Application"));
    }
    let seq = t.audit.len();
    let correlation = t.new_guid();
    let rec = json!({
        "id": format!("Directory_{correlation}_{seq}"),
        "category": category,
        "correlationId": correlation,
        "result": "success",
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": t.now_precise_string(),
        "loggedByService": service,
        "operationType": operation,
        "initiatedBy": actor.initiated_by(),
        "targetResources": targets,
        "additionalDetails": [],
    });
    if let Value::Object(m) = rec {
        t.audit.push(m);
    }
}

/// A target that is not the record's subject: a linked object, or a contained object's parent.
/// `fallback` is its type when it no longer exists.
fn other_target(t: &Tenant, id: &str, fallback: &str) -> Value {
    let (ty, name) = t.directory_object(id).map_or((fallback, Value::Null), |(c, o)| {
        (c.audit_type(), o.get("displayName").cloned().unwrap_or(Value::Null))
    });
    json!({"id": id, "displayName": name, "type": ty,
        "userPrincipalName": null, "groupType": null, "modifiedProperties": []})
}

fn activity(coll: Coll, noun: &str, op: &AuditOp) -> (String, &'static str) {
    match op {
        AuditOp::Add if coll == Coll::RoleAssignments => ("Add member to role".into(), "Assign"),
        AuditOp::Delete if coll == Coll::RoleAssignments => {
            ("Remove member from role".into(), "Unassign")
        }
        AuditOp::Add => (format!("Add {noun}"), "Add"),
        AuditOp::Update => (format!("Update {noun}"), "Update"),
        AuditOp::Delete => (format!("Delete {noun}"), "Delete"),
        AuditOp::Restore => (format!("Restore {noun}"), "Update"),
        AuditOp::HardDelete => (format!("Hard delete {noun}"), "Delete"),
        AuditOp::Link { kind, added, .. } => {
            let what = if *kind == LinkKind::Owners { "owner" } else { "member" };
            let name = if *added {
                format!("Add {what} to {noun}")
            } else {
                format!("Remove {what} from {noun}")
            };
            (name, if *added { "Assign" } else { "Unassign" })
        }
        AuditOp::Named { activity, operation } => (activity.clone(), operation),
    }
}

/// Entra logs policy changes as one property holding the whole policy; directory objects per
/// property. Values are JSON text, as in the real log.
fn audit_properties(coll: Coll, modified: Vec<(String, Value, Value)>) -> Vec<Value> {
    let as_text = |v: &Value| {
        if v.is_null() { String::new() } else { v.to_string() }
    };
    if matches!(coll, Coll::CaPolicies | Coll::NamedLocations) && !modified.is_empty() {
        let (mut old, mut new) = (Map::new(), Map::new());
        for (k, o, n) in modified {
            old.insert(k.clone(), o);
            new.insert(k, n);
        }
        let name =
            if coll == Coll::CaPolicies { "ConditionalAccessPolicy" } else { "NamedLocation" };
        return vec![
            json!({"displayName": name, "oldValue": Value::Object(old).to_string(), "newValue": Value::Object(new).to_string()}),
        ];
    }
    modified
        .into_iter()
        .map(
            |(k, o, n)| json!({"displayName": k, "oldValue": as_text(&o), "newValue": as_text(&n)}),
        )
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    before: usize,
}

pub(crate) fn list(t: &mut Tenant, ctx: &Ctx<'_>) -> Result<GraphResponse, GraphError> {
    let q = &ctx.query;
    let size = q.page_size(DIRECTORY_PAGE, false)?;
    let end = q
        .skiptoken
        .as_deref()
        .map(query::decode_token::<Cursor>)
        .transpose()?
        .map_or(t.audit.len(), |c| c.before.min(t.audit.len()));
    let mut items = Vec::new();
    let mut last = end;
    let mut more = false;
    let now = t.now();
    let latency = t.faults.audit_latency_s;
    for i in (0..end).rev() {
        let rec = &t.audit[i];
        if !q.filter.as_ref().is_none_or(|f| f.matches(rec)) || !visible(rec, now, latency) {
            continue;
        }
        if items.len() == size {
            more = true;
            break;
        }
        items.push(Value::Object(apply_select(rec.clone(), q.select.as_deref())));
        last = i;
    }
    let next = more.then(|| {
        q.next_link(
            ctx.base_url,
            ctx.path,
            "$skiptoken",
            &query::encode_token(&Cursor { before: last }),
        )
    });
    let ctx_url = context(ctx.base_url, "auditLogs/directoryAudits", q.select.as_deref(), false);
    Ok(GraphResponse::json(200, collection(ctx_url, items, next, None)))
}

/// Whether a record has reached the log. Entra ingests audit records minutes after the write
/// (reference-reports-latencies: p95 about 2 minutes, p99 about 5), each on its own time, so
/// with `--audit-latency-s N` a record becomes readable between N/10 and N seconds after its
/// `activityDateTime` — a delay fixed per record (from its id), so records arrive out of order
/// within the window and a later write can be readable before an earlier one.
fn visible(rec: &Map<String, Value>, now: jiff::Timestamp, latency_s: u64) -> bool {
    if latency_s == 0 {
        return true;
    }
    let id = rec.get("id").and_then(Value::as_str).unwrap_or("");
    // FNV-1a: a stable spread of delays, nothing secret.
    let spread = id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    // Between a tenth of the window and all of it: never at once.
    let delay_ms = i64::try_from((100 + spread % 901) * latency_s).unwrap_or(i64::MAX);
    rec.get("activityDateTime")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .is_none_or(|at| {
            at.saturating_add(jiff::SignedDuration::from_millis(delay_ms))
                .is_ok_and(|seen| seen <= now)
        })
}

pub(crate) fn get(t: &mut Tenant, ctx: &Ctx<'_>, id: &str) -> Result<GraphResponse, GraphError> {
    let rec = t
        .audit
        .iter()
        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
        .cloned()
        .ok_or_else(|| {
            GraphError::new(
                404,
                "Request_ResourceNotFound",
                format!("The audit record '{id}' does not exist."),
            )
        })?;
    Ok(GraphResponse::json(
        200,
        entity(context(ctx.base_url, "auditLogs/directoryAudits", None, true), rec),
    ))
}
