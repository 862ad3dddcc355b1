//! The operations behind each route. `route` matches a parsed route and method to a handler;
//! the submodules hold one concept each.

mod actions;
mod audit;
mod batch;
mod ctx;
mod delta;
mod evaluate;
mod expand;
mod invitations;
mod kinds;
mod links;
mod objects;
pub(crate) mod pim;
mod recycle;
mod render;
mod singletons;
pub(crate) mod write_rules;

pub(crate) use ctx::Ctx;
pub(crate) use kinds::security_identifier;

use crate::error::GraphError;
use crate::route::{Action, Route};
use crate::tenant::Tenant;
use crate::wire::{GraphResponse, Method};

/// Runs the handler for `route`.
pub(crate) fn route(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    route: &Route,
) -> Result<GraphResponse, GraphError> {
    use Method::{Delete, Get, Patch, Post};
    match (route, ctx.req.method) {
        (Route::Collection(c, s), Get) => objects::list(t, ctx, *c, s),
        (Route::Collection(c, s), Post) => objects::create(t, ctx, *c, s),
        (Route::Item(c, s, id), Get) => objects::get(t, ctx, *c, s, id),
        (Route::Item(c, s, id), Patch) => objects::update(t, ctx, *c, s, id),
        (Route::Item(c, s, id), Delete) => objects::delete(t, ctx, *c, s, id),
        (Route::Count(c), Get) => objects::count(t, ctx, *c),
        (Route::Delta(c), Get) => delta::delta(t, ctx, *c),
        (Route::Links { coll, id, kind, is_ref: false }, Get) => {
            links::list(t, ctx, *coll, id, *kind)
        }
        (Route::Links { coll, id, kind, is_ref: true }, Post) => {
            links::add(t, ctx, *coll, id, *kind)
        }
        (Route::LinkItem { coll, id, kind, linked }, Delete) => {
            links::remove(t, ctx, *coll, id, *kind, linked)
        }
        (Route::Owned { coll, id }, Get) => links::owned(t, ctx, *coll, id),
        (Route::Action(c, id, Action::Usage), Get) => actions::usage(t, ctx, *c, id),
        (Route::Action(c, id, Action::Restore), Post) => recycle::restore_ca(t, ctx, *c, id),
        (Route::Action(c, id, action), Post) => actions::run(t, ctx, *c, id, *action),
        (Route::DeletedList(c), Get) => recycle::list(t, ctx, *c),
        (Route::DeletedItem(id), Get) => recycle::get(t, ctx, id),
        (Route::DeletedItem(id), Delete) => recycle::purge(t, ctx, id),
        (Route::DeletedRestore(id), Post) => recycle::restore(t, ctx, id),
        (Route::CaDeletedList(c), Get) => Ok(recycle::list_ca(t, ctx, *c)),
        (Route::CaDeletedItem(c, id), Get) => recycle::get_ca(t, ctx, *c, id),
        (Route::CaDeletedItem(c, id), Delete) => recycle::purge_ca(t, ctx, *c, id),
        (Route::Singleton(s), Get) => singletons::get(t, ctx, *s),
        (Route::Singleton(s), Patch) => singletons::update(t, ctx, *s),
        (Route::EligibilityRequests, Post) => actions::eligibility_request(t, ctx),
        (Route::Invitations, Post) => invitations::invite(t, ctx),
        (Route::AuditList, Get) => audit::list(t, ctx),
        (Route::AuditItem(id), Get) => audit::get(t, ctx, id),
        (Route::DirectoryObject(id), Get) => objects::get_directory_object(t, ctx, id),
        (Route::AuthMethods { user, method }, Get) => {
            objects::auth_methods(t, ctx, user, method.as_deref())
        }
        (Route::CaEvaluate, Post) => evaluate::evaluate(t, ctx),
        (Route::Batch, Post) => batch::run(t, ctx),
        _ => Err(GraphError::method_not_allowed()),
    }
}
