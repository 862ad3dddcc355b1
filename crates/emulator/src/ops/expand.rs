//! `$expand` on directory lists, as far as capture needs it: the owners and members of groups,
//! administrative units, applications and service principals, an application's federated
//! identity credentials and a service principal's `appRoleAssignedTo`. Graph's limits hold:
//! a page with `$expand` has at most 100 objects, and each expanded collection at most 20
//! items (a reader that gets 20 must page the relationship itself).

use serde_json::{Map, Value};

use super::Ctx;
use super::render::{in_scope, render_selected};
use crate::error::GraphError;
use crate::query::{Expand, apply_select};
use crate::resource::Coll;
use crate::route::{LinkKind, Scope};
use crate::tenant::Tenant;

/// The most objects a page carries when it expands a relationship.
pub(crate) const EXPAND_PAGE: usize = 100;
/// The most items one expanded relationship carries.
pub(crate) const EXPAND_ITEMS: usize = 20;

/// What an expandable relationship is made of.
#[derive(Debug, Clone, Copy)]
enum Nav {
    Link(LinkKind),
    Contained(Coll, fn(String) -> Scope),
}

fn nav(coll: Coll, name: &str) -> Option<Nav> {
    match (coll, name) {
        (Coll::Groups | Coll::AdministrativeUnits, "members") => Some(Nav::Link(LinkKind::Members)),
        (Coll::Groups | Coll::Applications | Coll::ServicePrincipals, "owners") => {
            Some(Nav::Link(LinkKind::Owners))
        }
        (Coll::Applications, "federatedIdentityCredentials") => {
            Some(Nav::Contained(Coll::FederatedCredentials, Scope::ParentApp))
        }
        (Coll::ServicePrincipals, "appRoleAssignedTo") => {
            Some(Nav::Contained(Coll::AppRoleAssignments, Scope::ResourceOf))
        }
        _ => None,
    }
}

/// Refuses relationships this collection cannot expand, as Graph does.
pub(crate) fn check(coll: Coll, expand: &[Expand]) -> Result<(), GraphError> {
    for e in expand {
        if nav(coll, &e.nav).is_none() {
            return Err(GraphError::bad_request(format!(
                "Could not find a property named '{}' on type 'microsoft.graph.{}'.",
                e.nav,
                coll.entity_type()
            )));
        }
    }
    Ok(())
}

/// Adds the expanded relationships to one rendered object.
pub(crate) fn add(t: &Tenant, ctx: &Ctx<'_>, coll: Coll, id: &str, out: &mut Map<String, Value>) {
    for e in &ctx.query.expand {
        let Some(nav) = nav(coll, &e.nav) else {
            continue;
        };
        let items: Vec<Value> = match nav {
            Nav::Link(kind) => t
                .link_set(kind, id)
                .into_iter()
                .flatten()
                .filter_map(|other| {
                    let (c, o) = t.directory_object(other)?;
                    let mut item = render_selected(t, ctx, c, o, e.select.as_deref());
                    let ty = Value::String(format!("#microsoft.graph.{}", c.entity_type()));
                    item.insert("@odata.type".into(), ty);
                    Some(item)
                })
                .take(EXPAND_ITEMS)
                .map(Value::Object)
                .collect(),
            Nav::Contained(child, scope) => {
                let scope = scope(id.to_string());
                t.coll(child)
                    .values()
                    .filter(|o| in_scope(child, &scope, o))
                    .take(EXPAND_ITEMS)
                    .map(|o| {
                        let full = render_selected(t, ctx, child, o, None);
                        Value::Object(apply_select(full, e.select.as_deref()))
                    })
                    .collect()
            }
        };
        out.insert(e.nav.clone(), Value::Array(items));
    }
}
