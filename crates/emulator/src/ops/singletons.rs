//! Singleton policies: the authorization policy, the authentication methods policy (which returns
//! its method configurations inline), security defaults and cross-tenant access settings.

use serde_json::{Map, Value};

use super::Ctx;
use super::audit::{AuditOp, record};
use super::kinds::body_error;
use super::objects::changed_properties;
use super::render::render;
use crate::error::GraphError;
use crate::query::{apply_select, context, entity};
use crate::resource::{Coll, Singleton};
use crate::schema::schema;
use crate::tenant::Tenant;
use crate::wire::GraphResponse;

fn render_singleton(t: &Tenant, ctx: &Ctx<'_>, s: Singleton) -> Map<String, Value> {
    let stored = t.singletons.get(&s).cloned().unwrap_or_default();
    let mut out = schema().render(s.entity_type(), &stored, &[], ctx.render);
    if s == Singleton::AuthenticationMethodsPolicy {
        let configs: Vec<Value> = t
            .coll(Coll::AuthMethodConfigs)
            .values()
            .map(|c| Value::Object(render(t, ctx, Coll::AuthMethodConfigs, c)))
            .collect();
        out.insert("authenticationMethodConfigurations".into(), Value::Array(configs));
    }
    out
}

pub(crate) fn get(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    s: Singleton,
) -> Result<GraphResponse, GraphError> {
    ctx.query.check_properties(s.entity_type(), &[])?;
    let body = apply_select(render_singleton(t, ctx, s), ctx.query.select.as_deref());
    Ok(GraphResponse::json(200, entity(context(ctx.base_url, s.context_path(), None, true), body)))
}

pub(crate) fn update(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    s: Singleton,
) -> Result<GraphResponse, GraphError> {
    let mut body = ctx.body_object()?;
    for k in ["id", "lastModifiedDateTime", "deletedDateTime", "authenticationMethodConfigurations"]
    {
        body.remove(k);
    }
    if let Some(k) = s.read_only().iter().find(|k| body.contains_key(**k)) {
        return Err(GraphError::new(
            400,
            "BadRequest",
            format!("Property '{k}' is read-only and cannot be set."),
        ));
    }
    let patch = schema()
        .validate_body(s.entity_type(), &body, &[])
        .map_err(|e| body_error(Coll::AuthStrengths, &e))?;
    let before = t.singletons.get(&s).cloned().unwrap_or_default();
    let mut after = before.clone();
    for (k, v) in patch {
        after.insert(k, v);
    }
    if s == Singleton::AuthenticationMethodsPolicy {
        after.insert("lastModifiedDateTime".into(), Value::String(t.now_string()));
    }
    let changes = changed_properties(&before, &after);
    t.singletons.insert(s, after);
    let name = match s {
        Singleton::AuthorizationPolicy => "authorization policy",
        Singleton::AuthenticationMethodsPolicy => "authentication methods policy",
        Singleton::SecurityDefaults => "security defaults",
        Singleton::CrossTenantAccessPolicy | Singleton::CrossTenantDefault => {
            "cross-tenant access settings"
        }
    };
    let op = AuditOp::Named { activity: format!("Update {name}"), operation: "Update" };
    let audit_coll = match s {
        Singleton::AuthenticationMethodsPolicy => Coll::AuthMethodConfigs,
        Singleton::CrossTenantAccessPolicy | Singleton::CrossTenantDefault => {
            Coll::CrossTenantPartners
        }
        Singleton::AuthorizationPolicy | Singleton::SecurityDefaults => Coll::AuthStrengths,
    };
    record(t, &ctx.actor, audit_coll, op, s.context_path(), Some(name), changes);
    Ok(GraphResponse::no_content())
}
