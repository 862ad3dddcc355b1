//! `POST /identity/conditionalAccess/evaluate`: Graph's What If, answered by Rewind's own
//! Conditional Access engine over the emulated tenant, in Graph's request and response shapes
//! (`signInIdentity`, `signInContext`, `signInConditions`, `appliedPoliciesOnly` in;
//! `whatIfAnalysisResult` — the policy with `policyApplies` and `analysisReasons` — out).

use std::collections::BTreeMap;

use rewind_policy::{
    ClientApp, DeviceValue, Directory, Identity, InsiderRisk, Platform, PolicySet, RiskLevel,
    SignIn, Target, TransferMethod, Tri, UserAction,
};
use serde_json::{Map, Value};

use super::Ctx;
use crate::error::GraphError;
use crate::query::collection;
use crate::resource::Coll;
use crate::route::LinkKind;
use crate::schema::schema;
use crate::tenant::Tenant;
use crate::wire::GraphResponse;

fn values(t: &Tenant, coll: Coll) -> Vec<Value> {
    t.objects
        .get(&coll)
        .into_iter()
        .flatten()
        .map(|(id, o)| {
            let mut o = o.clone();
            o.insert("id".into(), Value::String(id.clone()));
            Value::Object(o)
        })
        .collect()
}

/// The tenant as the engine sees it.
fn directory(t: &Tenant) -> Directory {
    let mut d = Directory::new();
    for u in values(t, Coll::Users) {
        d.add_user(&u);
    }
    let members = t.links.get(&LinkKind::Members);
    for mut g in values(t, Coll::Groups) {
        let id = g["id"].as_str().unwrap_or_default().to_string();
        let list: Vec<Value> = members
            .and_then(|m| m.get(&id))
            .into_iter()
            .flatten()
            .map(|m| Value::String(m.clone()))
            .collect();
        g["members"] = Value::Array(list);
        d.add_group(&g);
    }
    for a in values(t, Coll::RoleAssignments) {
        d.add_role_assignment(&a);
    }
    for r in values(t, Coll::RoleDefinitions) {
        d.add_role_definition(&r);
    }
    for sp in values(t, Coll::ServicePrincipals) {
        d.add_service_principal(&sp);
    }
    for (user, methods) in &t.auth_methods {
        d.add_methods(user, methods.iter().cloned().map(Value::Object).collect());
    }
    d
}

fn text<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn enum_value<T>(
    o: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, GraphError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse(s).map(Some).ok_or_else(|| {
            GraphError::bad_request(format!(
                "Invalid value '{s}' for signInConditions.{key}; expected {expected}."
            ))
        }),
        Some(other) => Err(GraphError::bad_request(format!(
            "signInConditions.{key} must be a string, not {other}."
        ))),
    }
}

fn object<'a>(
    body: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, GraphError> {
    body.get(key).and_then(Value::as_object).ok_or_else(|| {
        GraphError::bad_request(format!("The parameter '{key}' is required and must be an object."))
    })
}

fn odata_type(o: &Map<String, Value>) -> &str {
    text(o, "@odata.type")
        .unwrap_or_default()
        .trim_start_matches('#')
        .trim_start_matches("microsoft.graph.")
}

fn identity(body: &Map<String, Value>) -> Result<Identity, GraphError> {
    let who = object(body, "signInIdentity")?;
    match odata_type(who) {
        "userSignIn" => text(who, "userId")
            .map(|u| Identity::User(u.to_string()))
            .ok_or_else(|| GraphError::bad_request("signInIdentity.userId is required.")),
        "servicePrincipalSignIn" => text(who, "servicePrincipalId")
            .map(|s| Identity::ServicePrincipal(s.to_string()))
            .ok_or_else(|| {
                GraphError::bad_request("signInIdentity.servicePrincipalId is required.")
            }),
        other => Err(GraphError::bad_request(format!(
            "signInIdentity: '@odata.type' '{other}' is not #microsoft.graph.userSignIn or #microsoft.graph.servicePrincipalSignIn."
        ))),
    }
}

fn target(body: &Map<String, Value>) -> Result<Target, GraphError> {
    let ctx = object(body, "signInContext")?;
    match odata_type(ctx) {
        "applicationContext" => ctx
            .get("includeApplications")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(|a| Target::App(a.to_string()))
            .ok_or_else(|| {
                GraphError::bad_request(
                    "signInContext.includeApplications needs an application id.",
                )
            }),
        "userActionContext" => {
            let action = text(ctx, "userAction").unwrap_or_default();
            UserAction::parse(action).map(Target::UserAction).ok_or_else(|| {
                GraphError::bad_request(format!(
                    "signInContext.userAction '{action}' is not registerSecurityInformation or registerOrJoinDevices."
                ))
            })
        }
        "authContext" => text(ctx, "authenticationContextValue")
            .map(|c| Target::AuthContext(c.to_string()))
            .ok_or_else(|| {
                GraphError::bad_request("signInContext.authenticationContextValue is required.")
            }),
        other => Err(GraphError::bad_request(format!(
            "signInContext: '@odata.type' '{other}' is not applicationContext, userActionContext or authContext."
        ))),
    }
}

fn device(info: &Map<String, Value>) -> BTreeMap<String, DeviceValue> {
    info.iter()
        .filter(|(k, _)| !k.starts_with('@'))
        .filter_map(|(k, v)| {
            let value = match v {
                Value::Bool(b) => DeviceValue::Bool(*b),
                Value::String(s) => DeviceValue::Text(s.clone()),
                Value::Array(a) => DeviceValue::List(
                    a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                ),
                _ => return None,
            };
            // Graph's deviceInfo says `ownership`; filter rules say `deviceOwnership`.
            let name = if k == "ownership" { "deviceOwnership".to_string() } else { k.clone() };
            Some((name, value))
        })
        .collect()
}

fn sign_in(body: &Map<String, Value>) -> Result<SignIn, GraphError> {
    let mut s = SignIn::new(identity(body)?, target(body)?);
    let empty = Map::new();
    let c = match body.get("signInConditions") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(c)) => c,
        Some(_) => {
            return Err(GraphError::bad_request("signInConditions must be an object."));
        }
    };
    s.platform = enum_value(c, "devicePlatform", Platform::parse, &Platform::expected())?;
    s.client_app = enum_value(c, "clientAppType", ClientApp::parse, &ClientApp::expected())?;
    s.sign_in_risk = enum_value(c, "signInRiskLevel", RiskLevel::parse, &RiskLevel::expected())?;
    s.user_risk = enum_value(c, "userRiskLevel", RiskLevel::parse, &RiskLevel::expected())?;
    s.service_principal_risk =
        enum_value(c, "servicePrincipalRiskLevel", RiskLevel::parse, &RiskLevel::expected())?;
    s.insider_risk =
        enum_value(c, "insiderRiskLevel", InsiderRisk::parse, &InsiderRisk::expected())?;
    s.country = text(c, "country").map(str::to_ascii_uppercase);
    if let Some(ip) = text(c, "ipAddress") {
        s.ip = Some(ip.parse().map_err(|_| {
            GraphError::bad_request(format!(
                "signInConditions.ipAddress '{ip}' is not an IP address."
            ))
        })?);
    }
    if let Some(Value::Object(flow)) = c.get("authenticationFlow") {
        s.transfer_method =
            enum_value(flow, "transferMethod", TransferMethod::parse, &TransferMethod::expected())?;
    }
    if let Some(Value::Object(info)) = c.get("deviceInfo") {
        s.device = Some(device(info));
    }
    if let Some(Value::Object(who)) = body.get("signInIdentity") {
        s.external_tenant = text(who, "externalTenantId").map(str::to_string);
        s.guest_type = text(who, "externalUserType").and_then(rewind_policy::GuestType::parse);
    }
    Ok(s)
}

/// Evaluates the tenant's policies for the sign-in in the body.
pub(crate) fn evaluate(t: &Tenant, ctx: &Ctx<'_>) -> Result<GraphResponse, GraphError> {
    let body = ctx.body_object()?;
    let s = sign_in(&body)?;
    let applied_only = body.get("appliedPoliciesOnly").and_then(Value::as_bool) == Some(true);
    let policies = values(t, Coll::CaPolicies);
    let set = PolicySet::compile(
        &policies,
        &values(t, Coll::NamedLocations),
        &values(t, Coll::AuthStrengths),
    );
    let dir = directory(t);
    let evaluation = set.evaluate(&dir, &s).map_err(|e| GraphError::bad_request(e.to_string()))?;
    let items: Vec<Value> = evaluation
        .results
        .iter()
        .zip(&policies)
        .filter(|(r, _)| !applied_only || r.applies == Tri::Yes)
        .map(|(r, raw)| {
            let obj = raw.as_object().cloned().unwrap_or_default();
            let mut out = schema().render("conditionalAccessPolicy", &obj, &[], ctx.render);
            out.insert("policyApplies".into(), Value::Bool(r.applies == Tri::Yes));
            out.insert("analysisReasons".into(), Value::String(r.analysis_reasons()));
            Value::Object(out)
        })
        .collect();
    let context = format!(
        "{}/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)",
        ctx.base_url.trim_end_matches('/')
    );
    Ok(GraphResponse::json(200, collection(context, items, None, None)))
}
