//! Members and owners: `GET …/members`, `POST …/members/$ref`, `DELETE …/members/{id}/$ref`,
//! and the same for owners, with Graph's duplicate-link error.

use std::ops::Bound;

use serde_json::Value;

use super::Ctx;
use super::audit::{AuditOp, record};
use super::render::{display_name, render};
use super::write_rules::check_link_write;
use crate::error::GraphError;
use crate::query::{self, apply_select, collection, context};
use crate::resource::{Coll, DIRECTORY_PAGE};
use crate::route::LinkKind;
use crate::tenant::Tenant;
use crate::wire::GraphResponse;

fn link_name(kind: LinkKind) -> &'static str {
    match kind {
        LinkKind::Members => "members",
        LinkKind::Owners => "owners",
    }
}

fn holder(t: &Tenant, coll: Coll, id: &str) -> Result<String, GraphError> {
    t.resolve_key(coll, id)
        .filter(|found| !t.refuse_lagging(found))
        .ok_or_else(|| GraphError::not_found(id))
}

pub(crate) fn list(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
    kind: LinkKind,
) -> Result<GraphResponse, GraphError> {
    let id = holder(t, coll, id)?;
    let linked = t.link_set(kind, &id).cloned().unwrap_or_default();
    page_of(t, ctx, &linked)
}

/// `GET /users/{id}/ownedObjects` (and for service principals): what the object owns.
pub(crate) fn owned(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let id = t.resolve_key(coll, id).ok_or_else(|| GraphError::not_found(id))?;
    let owned: std::collections::BTreeSet<String> =
        t.holders_of(LinkKind::Owners, &id).into_iter().collect();
    page_of(t, ctx, &owned)
}

/// One page of directory objects named by `ids`, in id order, with `@odata.type`.
fn page_of(
    t: &Tenant,
    ctx: &Ctx<'_>,
    ids: &std::collections::BTreeSet<String>,
) -> Result<GraphResponse, GraphError> {
    let q = &ctx.query;
    let size = q.page_size(DIRECTORY_PAGE, true)?;
    let after = q.after()?;
    let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
    let linked: Vec<&String> =
        ids.range::<String, _>((lower, Bound::Unbounded)).take(size + 1).collect();
    let more = linked.len() > size;
    let mut items = Vec::new();
    for other in linked.iter().take(size) {
        let Some((c, obj)) = t.directory_object(other) else {
            continue;
        };
        let mut rendered = render(t, ctx, c, obj);
        rendered.insert(
            "@odata.type".into(),
            Value::String(format!("#microsoft.graph.{}", c.entity_type())),
        );
        let select = q.select.clone().or_else(|| c.default_selection());
        items.push(Value::Object(apply_select(rendered, select.as_deref())));
    }
    let next = more.then(|| {
        let after = linked[size - 1].clone();
        q.next_link(ctx.base_url, ctx.path, "$skiptoken", &query::after_token(&after))
    });
    let ctx_url = context(ctx.base_url, "directoryObjects", q.select.as_deref(), false);
    Ok(GraphResponse::json(200, collection(ctx_url, items, next, None)))
}

pub(crate) fn add(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
    kind: LinkKind,
) -> Result<GraphResponse, GraphError> {
    let id = holder(t, coll, id)?;
    let body = ctx.body_object()?;
    let other = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .and_then(crate::route::id_from_odata_url)
        .ok_or_else(|| GraphError::bad_request("The request body must be {\"@odata.id\": \"https://graph.microsoft.com/v1.0/directoryObjects/{id}\"}."))?;
    let (other_coll, _) = t
        .directory_object(&other)
        .filter(|_| !t.refuse_lagging(&other))
        .ok_or_else(|| GraphError::not_found(&other))?;
    check_link_type(coll, kind, other_coll, &id, &other)?;
    check_link_write(t, coll, &id, kind, None)?;
    if !t.add_link(coll, kind, &id, &other) {
        return Err(GraphError::bad_request(format!(
            "One or more added object references already exist for the following modified properties: '{}'.",
            link_name(kind)
        )));
    }
    audit_link(t, ctx, coll, &id, kind, &other, true);
    Ok(GraphResponse::no_content())
}

fn check_link_type(
    coll: Coll,
    kind: LinkKind,
    other: Coll,
    id: &str,
    other_id: &str,
) -> Result<(), GraphError> {
    let allowed = match (coll, kind) {
        (Coll::Groups, LinkKind::Members) => {
            matches!(other, Coll::Users | Coll::Groups | Coll::ServicePrincipals)
        }
        (Coll::AdministrativeUnits, LinkKind::Members) => {
            matches!(other, Coll::Users | Coll::Groups)
        }
        (_, LinkKind::Owners) => matches!(other, Coll::Users | Coll::ServicePrincipals),
        _ => false,
    };
    if !allowed || id == other_id {
        return Err(GraphError::bad_request(format!(
            "A {} cannot be added to the {} of a {}.",
            other.entity_type(),
            link_name(kind),
            coll.entity_type()
        )));
    }
    Ok(())
}

pub(crate) fn remove(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
    kind: LinkKind,
    linked: &str,
) -> Result<GraphResponse, GraphError> {
    let id = holder(t, coll, id)?;
    check_link_write(t, coll, &id, kind, Some(linked))?;
    if !t.remove_link(coll, kind, &id, linked) {
        return Err(GraphError::not_found(linked));
    }
    audit_link(t, ctx, coll, &id, kind, linked, false);
    Ok(GraphResponse::no_content())
}

fn audit_link(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    id: &str,
    kind: LinkKind,
    other: &str,
    added: bool,
) {
    let name = t.get(coll, id).and_then(display_name);
    let op = AuditOp::Link { kind, added, other: other.to_string() };
    record(t, &ctx.actor, coll, op, id, name.as_deref(), Vec::new());
}
