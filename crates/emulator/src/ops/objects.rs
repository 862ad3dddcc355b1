//! List, get, create, update and delete for every entity set, with paging, `$select`,
//! `$filter` and `$count`. What differs per kind lives in `kinds`.

use std::ops::Bound;

use serde_json::{Map, Value};

use super::Ctx;
use super::audit::{AuditOp, record};
use super::kinds;
use super::render::{display_name, in_scope, render, render_selected, typed};
use super::write_rules::{ObjectWrite, check_object_write};
use crate::error::GraphError;
use crate::query::{self, apply_select, collection, context, entity};
use crate::resource::{Coll, DIRECTORY_PAGE};
use crate::route::Scope;
use crate::schema::schema;
use crate::tenant::{Obj, Tenant};
use crate::wire::{Body, GraphResponse};

/// The `$select` list to apply: the client's, else the type's default property set.
fn effective_select(ctx: &Ctx<'_>, coll: Coll) -> Option<Vec<String>> {
    ctx.query.select.clone().or_else(|| coll.default_selection())
}

/// Checks that the parent named in the path exists.
fn check_scope_parent(t: &Tenant, scope: &Scope) -> Result<(), GraphError> {
    match scope {
        Scope::All => Ok(()),
        Scope::PrincipalOf(id) | Scope::ResourceOf(id) => {
            t.directory_object(id).map(|_| ()).ok_or_else(|| GraphError::not_found(id))
        }
        Scope::ParentApp(id) => {
            t.get(Coll::Applications, id).map(|_| ()).ok_or_else(|| GraphError::not_found(id))
        }
    }
}

pub(crate) fn list(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
) -> Result<GraphResponse, GraphError> {
    check_scope_parent(t, scope)?;
    let q = &ctx.query;
    q.check_properties(coll.entity_type(), &[])?;
    if coll.is_directory_object() && q.count && !ctx.eventual() {
        return Err(count_needs_eventual());
    }
    super::expand::check(coll, &q.expand)?;
    let mut size = q.page_size(DIRECTORY_PAGE, coll.is_directory_object())?;
    if !q.expand.is_empty() {
        size = size.min(super::expand::EXPAND_PAGE);
    }
    let after = q.after()?;
    let lower = after.as_ref().map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
    let matching =
        |o: &&Obj| in_scope(coll, scope, o) && q.filter.as_ref().is_none_or(|f| f.matches(o));
    let page: Vec<(&String, &Obj)> = t
        .coll(coll)
        .range((lower, Bound::Unbounded))
        .filter(|(id, o)| matching(o) && !t.is_lagging(id))
        .take(size + 1)
        .collect();
    let more = page.len() > size;
    let select = effective_select(ctx, coll);
    let items: Vec<Value> = page
        .iter()
        .take(size)
        .map(|(id, o)| {
            let mut out = render_selected(t, ctx, coll, o, select.as_deref());
            super::expand::add(t, ctx, coll, id, &mut out);
            Value::Object(out)
        })
        .collect();
    let next = more.then(|| {
        let after = page[size - 1].0.clone();
        q.next_link(ctx.base_url, ctx.path, "$skiptoken", &query::after_token(&after))
    });
    let count = (q.count && after.is_none())
        .then(|| t.coll(coll).iter().filter(|(id, o)| matching(o) && !t.is_lagging(id)).count());
    let ctx_path = context(ctx.base_url, coll.context_path(), q.select.as_deref(), false);
    Ok(GraphResponse::json(200, collection(ctx_path, items, next, count)))
}

fn count_needs_eventual() -> GraphError {
    GraphError::bad_request(
        "$count is supported on directory objects only with the header 'ConsistencyLevel: eventual'.",
    )
}

pub(crate) fn count(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
) -> Result<GraphResponse, GraphError> {
    if coll.is_directory_object() && !ctx.eventual() {
        return Err(count_needs_eventual());
    }
    let n = t
        .coll(coll)
        .values()
        .filter(|o| ctx.query.filter.as_ref().is_none_or(|f| f.matches(o)))
        .count();
    Ok(GraphResponse { status: 200, headers: Vec::new(), body: Body::Text(n.to_string()) })
}

/// Resolves the key in the path to a stored id within the scope, or 404.
pub(crate) fn resolve(
    t: &Tenant,
    coll: Coll,
    scope: &Scope,
    key: &str,
) -> Result<String, GraphError> {
    check_scope_parent(t, scope)?;
    let id = t
        .resolve_key(coll, key)
        .ok_or_else(|| GraphError::not_found(key.trim_start_matches("appId=")))?;
    match t.get(coll, &id) {
        Some(o) if in_scope(coll, scope, o) && !t.refuse_lagging(&id) => Ok(id),
        _ => Err(GraphError::not_found(key)),
    }
}

pub(crate) fn get(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    ctx.query.check_properties(coll.entity_type(), &[])?;
    let id = resolve(t, coll, scope, key)?;
    let obj = t.get(coll, &id).ok_or_else(|| GraphError::not_found(key))?;
    let select = effective_select(ctx, coll);
    let body = render_selected(t, ctx, coll, obj, select.as_deref());
    let ctx_path = context(ctx.base_url, coll.context_path(), ctx.query.select.as_deref(), true);
    Ok(GraphResponse::json(200, entity(ctx_path, body)))
}

pub(crate) fn get_directory_object(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    let (coll, obj) = t.directory_object(id).ok_or_else(|| GraphError::not_found(id))?;
    let body = typed(coll, render(t, ctx, coll, obj));
    Ok(GraphResponse::json(
        200,
        entity(context(ctx.base_url, "directoryObjects", None, true), body),
    ))
}

pub(crate) fn create(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
) -> Result<GraphResponse, GraphError> {
    check_scope_parent(t, scope)?;
    let body = ctx.body_object()?;
    let id = kinds::create(t, coll, scope, body)?;
    if t.faults.replication_lag_ms > 0 {
        let now = t.now();
        t.created_at.insert(id.clone(), now);
    }
    let obj = t.get(coll, &id).ok_or_else(|| GraphError::not_found(&id))?;
    let name = display_name(obj);
    let rendered = render(t, ctx, coll, obj);
    let added = added_properties(&rendered);
    record(t, &ctx.actor, coll, AuditOp::Add, &id, name.as_deref(), added);
    let body = match coll.default_select() {
        Some(_) => apply_select(rendered, effective_select(ctx, coll).as_deref()),
        None => rendered,
    };
    Ok(GraphResponse::json(
        201,
        entity(context(ctx.base_url, coll.context_path(), None, true), body),
    ))
}

pub(crate) fn update(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, coll, scope, key)?;
    let body = ctx.body_object()?;
    let before = t.get(coll, &id).cloned().unwrap_or_default();
    check_object_write(t, &ctx.actor, coll, &id, &before, ObjectWrite::Update)?;
    kinds::update(t, coll, &id, body)?;
    let after = t.get(coll, &id).cloned().unwrap_or_default();
    let changes = changed_properties(&before, &after);
    record(t, &ctx.actor, coll, AuditOp::Update, &id, display_name(&after).as_deref(), changes);
    Ok(GraphResponse::no_content())
}

pub(crate) fn delete(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    scope: &Scope,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, coll, scope, key)?;
    if let Some(obj) = t.get(coll, &id) {
        check_object_write(t, &ctx.actor, coll, &id, obj, ObjectWrite::Delete)?;
    }
    let service_principal = match coll {
        Coll::Applications => service_principal_of(t, &id),
        _ => None,
    };
    delete_one(t, ctx, coll, &id)?;
    // "Deleting an application also deletes its service principal" (restore-application.md);
    // restoring the application does not bring it back (directory-deleteditems-restore.md).
    if let Some(sp) = service_principal {
        delete_one(t, ctx, Coll::ServicePrincipals, &sp)?;
    }
    Ok(GraphResponse::no_content())
}

fn delete_one(t: &mut Tenant, ctx: &Ctx<'_>, coll: Coll, id: &str) -> Result<(), GraphError> {
    let name = t.get(coll, id).and_then(display_name);
    let related = super::audit::related(t, coll, id);
    kinds::delete(t, coll, id)?;
    super::audit::record_related(
        t,
        &ctx.actor,
        coll,
        AuditOp::Delete,
        id,
        name.as_deref(),
        Vec::new(),
        &related,
    );
    Ok(())
}

/// The service principal of the application stored as `app`, in this tenant.
fn service_principal_of(t: &Tenant, app: &str) -> Option<String> {
    let app_id = t.get(Coll::Applications, app)?.get("appId")?.as_str()?;
    t.coll(Coll::ServicePrincipals)
        .iter()
        .find(|(_, sp)| sp.get("appId").and_then(Value::as_str) == Some(app_id))
        .map(|(k, _)| k.clone())
}

/// `GET /users/{id}/authentication/methods[/{methodId}]`: the methods a user registered.
pub(crate) fn auth_methods(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    user: &str,
    method: Option<&str>,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, Coll::Users, &Scope::All, user)?;
    let methods = t.auth_methods.get(&id).cloned().unwrap_or_default();
    let rendered =
        methods.iter().map(|m| schema().render("authenticationMethod", m, &[], ctx.render));
    let path = format!("users('{id}')/authentication/methods");
    match method {
        None => {
            let items = rendered.map(Value::Object).collect();
            Ok(GraphResponse::json(
                200,
                collection(context(ctx.base_url, &path, None, false), items, None, None),
            ))
        }
        Some(m) => rendered
            .into_iter()
            .find(|r| r.get("id").and_then(Value::as_str) == Some(m))
            .map(|r| GraphResponse::json(200, entity(context(ctx.base_url, &path, None, true), r)))
            .ok_or_else(|| GraphError::not_found(m)),
    }
}

/// Properties of a new object as audit `modifiedProperties` (old value empty).
fn added_properties(obj: &Map<String, Value>) -> Vec<(String, Value, Value)> {
    obj.iter()
        .filter(|(k, v)| {
            !k.starts_with('@') && *k != "id" && !v.is_null() && *v != &Value::Array(Vec::new())
        })
        .map(|(k, v)| (k.clone(), Value::Null, v.clone()))
        .collect()
}

/// The top-level properties that differ between two stored versions.
pub(crate) fn changed_properties(before: &Obj, after: &Obj) -> Vec<(String, Value, Value)> {
    let mut keys: Vec<&String> =
        before.keys().chain(after.keys()).filter(|k| !k.starts_with('_')).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (b, a) = (
                before.get(k).cloned().unwrap_or(Value::Null),
                after.get(k).cloned().unwrap_or(Value::Null),
            );
            (b != a).then(|| (k.clone(), b, a))
        })
        .collect()
}
