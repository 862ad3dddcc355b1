//! How a stored object is shown: Graph's rendering of its type, `$select`, the decorations each
//! kind adds, and the names audit records use.

use serde_json::{Map, Value};

use super::Ctx;
use super::kinds;
use crate::resource::Coll;
use crate::route::Scope;
use crate::schema::schema;
use crate::tenant::{Obj, PARENT, Tenant};

/// Renders a stored object as Graph returns it, before `$select`.
pub(crate) fn render(t: &Tenant, ctx: &Ctx<'_>, coll: Coll, obj: &Obj) -> Map<String, Value> {
    render_selected(t, ctx, coll, obj, None)
}

/// Renders only the selected properties of a stored object, with `$select` applied.
pub(crate) fn render_selected(
    t: &Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    obj: &Obj,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let mut out =
        schema().render_only(coll.entity_type(), obj, coll.inline_navs(), ctx.render, select);
    kinds::decorate(t, ctx, coll, &mut out);
    out
}

/// Whether a stored object belongs to the collection a path scopes (`/users/{id}/…`).
pub(crate) fn in_scope(coll: Coll, scope: &Scope, obj: &Obj) -> bool {
    let field = |k: &str| obj.get(k).and_then(Value::as_str);
    match scope {
        Scope::All => true,
        Scope::PrincipalOf(p) => field("principalId") == Some(p.as_str()),
        Scope::ResourceOf(r) => field("resourceId") == Some(r.as_str()),
        Scope::ParentApp(a) => {
            coll == Coll::FederatedCredentials && field(PARENT) == Some(a.as_str())
        }
    }
}

/// An object with its `@odata.type` first, as Graph returns directory objects whose type the
/// path does not name (`/directoryObjects/{id}`, the recycle bin).
pub(crate) fn typed(coll: Coll, mut obj: Map<String, Value>) -> Map<String, Value> {
    obj.shift_remove("@odata.type");
    std::iter::once((
        "@odata.type".to_string(),
        Value::String(format!("#microsoft.graph.{}", coll.entity_type())),
    ))
    .chain(obj)
    .collect()
}

/// The display name (or another human name) of an object, for audit records.
pub(crate) fn display_name(obj: &Obj) -> Option<String> {
    ["displayName", "name", "userPrincipalName", "tenantId"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .map(str::to_string)
}
