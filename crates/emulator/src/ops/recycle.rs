//! The directory recycle bin (`/directory/deletedItems`) and Conditional Access deleted items
//! (`/identity/conditionalAccess/deletedItems`): list, get, restore with the same id and the
//! links the object had, and permanent delete. Items older than 30 days are purged by the clock.

use serde_json::{Map, Value};

use super::Ctx;
use super::audit::{AuditOp, record};
use super::kinds::remove_federated_credentials;
use super::render::{display_name, render, typed};
use super::write_rules::{ObjectWrite, check_object_write};
use crate::error::GraphError;
use crate::query::{apply_select, collection, context, entity};
use crate::resource::{Coll, DIRECTORY_PAGE};
use crate::wire::GraphResponse;
use std::ops::Bound;

use crate::tenant::{Deleted, Obj, Tenant};

fn render_deleted(t: &Tenant, ctx: &Ctx<'_>, coll: Coll, obj: &Obj) -> Map<String, Value> {
    let select = ctx.query.select.clone().or_else(|| {
        coll.default_selection().map(|mut s| {
            s.push("deletedDateTime".into());
            s
        })
    });
    typed(coll, apply_select(render(t, ctx, coll, obj), select.as_deref()))
}

pub(crate) fn list(t: &mut Tenant, ctx: &Ctx<'_>, coll: Coll) -> Result<GraphResponse, GraphError> {
    let q = &ctx.query;
    q.check_properties(coll.entity_type(), &[])?;
    if q.count && !ctx.eventual() {
        return Err(GraphError::bad_request(
            "$count on deleted items requires the header 'ConsistencyLevel: eventual'.",
        ));
    }
    let size = q.page_size(DIRECTORY_PAGE, true)?;
    // Paged like any directory collection: by id, after the `$skiptoken`'s.
    let after = q.after()?;
    let lower = after.as_ref().map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
    let page: Vec<(&String, &Deleted)> = t
        .recycle_bin
        .range((lower, Bound::Unbounded))
        .filter(|(_, d)| d.coll == coll && q.filter.as_ref().is_none_or(|f| f.matches(&d.obj)))
        .take(size + 1)
        .collect();
    let more = page.len() > size;
    let next = more.then(|| {
        q.next_link(
            ctx.base_url,
            ctx.path,
            "$skiptoken",
            &crate::query::after_token(page[size - 1].0),
        )
    });
    let items: Vec<Value> = page
        .iter()
        .take(size)
        .map(|(_, d)| Value::Object(render_deleted(t, ctx, coll, &d.obj)))
        .collect();
    let count = q.count.then(|| t.recycle_bin.values().filter(|d| d.coll == coll).count());
    let path = format!("directory/deletedItems/microsoft.graph.{}", coll.entity_type());
    Ok(GraphResponse::json(
        200,
        collection(
            context(ctx.base_url, &path, q.select.as_deref(), false),
            items,
            next,
            (after.is_none()).then_some(count).flatten(),
        ),
    ))
}

pub(crate) fn get(t: &mut Tenant, ctx: &Ctx<'_>, id: &str) -> Result<GraphResponse, GraphError> {
    let d = t.recycle_bin.get(id).ok_or_else(|| GraphError::not_found(id))?;
    let body = render_deleted(t, ctx, d.coll, &d.obj);
    Ok(GraphResponse::json(
        200,
        entity(context(ctx.base_url, "directory/deletedItems", None, true), body),
    ))
}

pub(crate) fn purge(t: &mut Tenant, ctx: &Ctx<'_>, id: &str) -> Result<GraphResponse, GraphError> {
    let d = t.recycle_bin.remove(id).ok_or_else(|| GraphError::not_found(id))?;
    t.journal_change(d.coll, id, None);
    if d.coll == Coll::Applications {
        remove_federated_credentials(t, id);
    }
    record(
        t,
        &ctx.actor,
        d.coll,
        AuditOp::HardDelete,
        id,
        display_name(&d.obj).as_deref(),
        Vec::new(),
    );
    Ok(GraphResponse::no_content())
}

pub(crate) fn restore(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let d = t.recycle_bin.get(id).cloned().ok_or_else(|| GraphError::not_found(id))?;
    check_object_write(t, &ctx.actor, d.coll, id, &d.obj, ObjectWrite::Restore)?;
    check_no_conflict(t, &d.obj, d.coll)?;
    t.recycle_bin.remove(id);
    let mut obj = d.obj;
    obj.remove("deletedDateTime");
    t.put(d.coll, id, obj);
    for (kind, holder, other) in &d.links {
        let (h, o) = (t.directory_object(holder).map(|(c, _)| c), t.directory_object(other));
        if let (Some(hc), Some(_)) = (h, o) {
            t.add_link(hc, *kind, holder, other);
        }
    }
    let obj = t.get(d.coll, id).cloned().unwrap_or_default();
    record(t, &ctx.actor, d.coll, AuditOp::Restore, id, display_name(&obj).as_deref(), Vec::new());
    let body = typed(d.coll, render(t, ctx, d.coll, &obj));
    Ok(GraphResponse::json(
        200,
        entity(context(ctx.base_url, "directoryObjects", None, true), body),
    ))
}

/// A user cannot come back while another live user holds its sign-in name.
fn check_no_conflict(t: &Tenant, obj: &Obj, coll: Coll) -> Result<(), GraphError> {
    if coll != Coll::Users {
        return Ok(());
    }
    let upn = obj.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default();
    let id = obj.get("id").and_then(Value::as_str).unwrap_or_default();
    if t.sign_in_name_owner(upn).is_some_and(|owner| owner != id) {
        return Err(GraphError::bad_request(format!(
            "Request to restore object failed: another object with the userPrincipalName '{upn}' exists."
        )));
    }
    Ok(())
}

fn ca_path(coll: Coll) -> &'static str {
    if coll == Coll::CaPolicies {
        "identity/conditionalAccess/deletedItems/policies"
    } else {
        "identity/conditionalAccess/deletedItems/namedLocations"
    }
}

pub(crate) fn list_ca(t: &mut Tenant, ctx: &Ctx<'_>, coll: Coll) -> GraphResponse {
    let items: Vec<Value> = t
        .ca_deleted
        .get(&coll)
        .into_iter()
        .flatten()
        .map(|(_, (obj, _))| {
            Value::Object(apply_select(render(t, ctx, coll, obj), ctx.query.select.as_deref()))
        })
        .collect();
    GraphResponse::json(
        200,
        collection(context(ctx.base_url, ca_path(coll), None, false), items, None, None),
    )
}

pub(crate) fn get_ca(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let (obj, _) =
        t.ca_deleted.get(&coll).and_then(|m| m.get(id)).ok_or_else(|| GraphError::not_found(id))?;
    Ok(GraphResponse::json(
        200,
        entity(context(ctx.base_url, ca_path(coll), None, true), render(t, ctx, coll, obj)),
    ))
}

pub(crate) fn purge_ca(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let obj = take_ca(t, coll, id)?;
    record(t, &ctx.actor, coll, AuditOp::HardDelete, id, display_name(&obj).as_deref(), Vec::new());
    Ok(GraphResponse::no_content())
}

pub(crate) fn restore_ca(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let mut obj = take_ca(t, coll, id)?;
    obj.remove("deletedDateTime");
    t.put(coll, id, obj.clone());
    record(t, &ctx.actor, coll, AuditOp::Restore, id, display_name(&obj).as_deref(), Vec::new());
    Ok(GraphResponse::json(
        200,
        entity(context(ctx.base_url, coll.context_path(), None, true), render(t, ctx, coll, &obj)),
    ))
}

/// Takes a CA policy or named location out of CA deleted items.
fn take_ca(t: &mut Tenant, coll: Coll, id: &str) -> Result<Obj, GraphError> {
    t.ca_deleted
        .get_mut(&coll)
        .and_then(|m| m.remove(id))
        .map(|(obj, _)| obj)
        .ok_or_else(|| GraphError::not_found(id))
}
