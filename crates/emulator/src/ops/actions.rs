//! Bound actions: `addPassword`/`removePassword` on applications and service principals,
//! `updateAllowedCombinations` and `usage` on authentication strengths, and PIM eligibility
//! through `roleEligibilityScheduleRequests`.

use jiff::SignedDuration;
use rand::Rng;
use serde_json::{Map, Value, json};

use super::Ctx;
use super::audit::{AuditOp, record};
use super::kinds::{body_error, find_role_definition, strength_requirements};
use super::objects::resolve;
use super::render::{display_name, render};
use crate::error::GraphError;
use crate::query::{context, entity};
use crate::resource::Coll;
use crate::route::{Action, Scope};
use crate::schema::schema;
use crate::tenant::{Obj, Tenant, format_time};
use crate::wire::GraphResponse;

/// Characters of generated client secrets.
const SECRET_ALPHABET: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-";

pub(crate) fn run(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    key: &str,
    action: Action,
) -> Result<GraphResponse, GraphError> {
    match action {
        Action::AddPassword => add_password(t, ctx, coll, key),
        Action::RemovePassword => remove_password(t, ctx, coll, key),
        Action::UpdateAllowedCombinations => update_combinations(t, ctx, key),
        Action::Usage | Action::Restore => Err(GraphError::method_not_allowed()),
    }
}

fn add_password(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, coll, &Scope::All, key)?;
    let body = if ctx.req.body.is_empty() { Map::new() } else { ctx.body_object()? };
    let given = match body.get("passwordCredential") {
        Some(Value::Object(p)) => schema()
            .validate_body("passwordCredential", p, &[])
            .map_err(|e| body_error(coll, &e))?,
        Some(Value::Null) | None => Map::new(),
        Some(_) => {
            return Err(GraphError::bad_request("passwordCredential must be an object."));
        }
    };
    let start = t.now();
    let start_s = given
        .get("startDateTime")
        .and_then(Value::as_str)
        .map_or_else(|| format_time(start), str::to_string);
    let end_s = given
        .get("endDateTime")
        .and_then(Value::as_str)
        .map_or_else(|| format_time(start + SignedDuration::from_hours(24 * 730)), str::to_string);
    let secret: String = (0..40)
        .map(|_| SECRET_ALPHABET[t.rng.random_range(0..SECRET_ALPHABET.len())] as char)
        .collect();
    let key_id = t.new_guid();
    t.issued_secrets.insert(key_id.clone(), crate::auth::secret_digest(&secret));
    let credential = json!({
        "customKeyIdentifier": null,
        "displayName": given.get("displayName").cloned().unwrap_or(Value::Null),
        "endDateTime": end_s,
        "hint": &secret[..3],
        "keyId": key_id,
        "secretText": null,
        "startDateTime": start_s,
    });
    let before = t.get(coll, &id).cloned().unwrap_or_default();
    let mut obj = before.clone();
    let creds = obj.entry("passwordCredentials").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(list) = creds {
        list.push(credential.clone());
    }
    store_credentials(t, ctx, coll, &id, &before, obj.clone());
    let mut response = credential;
    response["secretText"] = Value::String(secret);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(format!(
            "{}/v1.0/$metadata#microsoft.graph.passwordCredential",
            ctx.base_url
        )),
    );
    if let Value::Object(m) = response {
        body.extend(m);
    }
    Ok(GraphResponse::json(200, Value::Object(body)))
}

/// Stores a changed credential list and audits it the way Entra names it.
fn store_credentials(t: &mut Tenant, ctx: &Ctx<'_>, coll: Coll, id: &str, before: &Obj, obj: Obj) {
    let old = before.get("passwordCredentials").cloned().unwrap_or(Value::Null);
    let changes = vec![("KeyDescription".to_string(), old, obj["passwordCredentials"].clone())];
    let name = display_name(&obj);
    t.put(coll, id, obj);
    let activity =
        format!("Update {} – Certificates and secrets management ", coll.audit_vocabulary().1);
    record(
        t,
        &ctx.actor,
        coll,
        AuditOp::Named { activity, operation: "Update" },
        id,
        name.as_deref(),
        changes,
    );
}

fn remove_password(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, coll, &Scope::All, key)?;
    let body = ctx.body_object()?;
    let key_id = body
        .get("keyId")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("The request body needs 'keyId'."))?;
    let before = t.get(coll, &id).cloned().unwrap_or_default();
    let mut obj = before.clone();
    let list = obj.get_mut("passwordCredentials").and_then(Value::as_array_mut);
    let removed = list.is_some_and(|l| {
        let n = l.len();
        l.retain(|c| c.get("keyId").and_then(Value::as_str) != Some(key_id));
        l.len() != n
    });
    if !removed {
        return Err(GraphError::bad_request(format!(
            "No password credential with keyId '{key_id}' exists on this object."
        )));
    }
    store_credentials(t, ctx, coll, &id, &before, obj.clone());
    Ok(GraphResponse::no_content())
}

fn update_combinations(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, Coll::AuthStrengths, &Scope::All, key)?;
    let body = ctx.body_object()?;
    let mut only = Map::new();
    only.insert(
        "allowedCombinations".into(),
        body.get("allowedCombinations").cloned().unwrap_or(Value::Null),
    );
    let valid = schema()
        .validate_body("authenticationStrengthPolicy", &only, &[])
        .map_err(|e| body_error(Coll::AuthStrengths, &e))?;
    let combos: Vec<String> = valid["allowedCombinations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if combos.is_empty() {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "allowedCombinations must list at least one combination.",
        ));
    }
    let before = t.get(Coll::AuthStrengths, &id).cloned().unwrap_or_default();
    if before.get("policyType").and_then(Value::as_str) == Some("builtIn") {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Built-in authentication strengths cannot be changed.",
        ));
    }
    let mut obj = before.clone();
    let refs: Vec<&str> = combos.iter().map(String::as_str).collect();
    obj.insert("allowedCombinations".into(), json!(combos));
    obj.insert("requirementsSatisfied".into(), Value::String(strength_requirements(&refs).into()));
    obj.insert("modifiedDateTime".into(), Value::String(t.now_string()));
    t.put(Coll::AuthStrengths, &id, obj.clone());
    let changes = vec![(
        "allowedCombinations".to_string(),
        before["allowedCombinations"].clone(),
        obj["allowedCombinations"].clone(),
    )];
    record(
        t,
        &ctx.actor,
        Coll::AuthStrengths,
        AuditOp::Update,
        &id,
        display_name(&obj).as_deref(),
        changes,
    );
    let referencing = policies_using(t, &id);
    Ok(GraphResponse::json(
        200,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#microsoft.graph.updateAllowedCombinationsResult", ctx.base_url),
            "additionalInformation": null,
            "conditionalAccessReferences": referencing,
            "currentCombinations": obj["allowedCombinations"],
            "previousCombinations": before["allowedCombinations"],
        }),
    ))
}

fn policies_using(t: &Tenant, strength_id: &str) -> Vec<String> {
    t.coll(Coll::CaPolicies)
        .iter()
        .filter(|(_, p)| {
            p.get("grantControls")
                .and_then(|g| g.pointer("/authenticationStrength/id"))
                .and_then(Value::as_str)
                == Some(strength_id)
        })
        .map(|(id, _)| id.clone())
        .collect()
}

pub(crate) fn usage(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
    key: &str,
) -> Result<GraphResponse, GraphError> {
    let id = resolve(t, coll, &Scope::All, key)?;
    let mfa = t.get(coll, &id).and_then(|s| s.get("requirementsSatisfied")).and_then(Value::as_str)
        == Some("mfa");
    let policies: Vec<Value> = policies_using(t, &id)
        .iter()
        .filter_map(|pid| t.get(Coll::CaPolicies, pid))
        .map(|p| Value::Object(render(t, ctx, Coll::CaPolicies, p)))
        .collect();
    let (mfa_list, none_list) = if mfa { (policies, Vec::new()) } else { (Vec::new(), policies) };
    Ok(GraphResponse::json(
        200,
        json!({
            "@odata.context": format!("{}/v1.0/$metadata#microsoft.graph.authenticationStrengthUsage", ctx.base_url),
            "mfa": mfa_list,
            "none": none_list,
        }),
    ))
}

/// `POST /roleManagement/directory/roleEligibilityScheduleRequests`: `adminAssign` creates an
/// eligibility schedule, `adminRemove` removes it; the request object is returned with 201.
/// A schedule that has already ended is refused: PIM grants nothing for the past
/// (unifiedrolescheduleinfo: `expiration.endDateTime` is when the grant ends).
fn check_not_ended(t: &Tenant, req: &Map<String, Value>) -> Result<(), GraphError> {
    let end = req
        .get("scheduleInfo")
        .and_then(|s| s.pointer("/expiration/endDateTime"))
        .and_then(Value::as_str)
        .and_then(|e| e.parse::<jiff::Timestamp>().ok());
    if end.is_some_and(|end| end <= t.now()) {
        return Err(GraphError::bad_request(
            "The schedule's expiration.endDateTime is in the past; a role can only be granted until a time to come.",
        ));
    }
    Ok(())
}

pub(crate) fn eligibility_request(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
) -> Result<GraphResponse, GraphError> {
    let body = ctx.body_object()?;
    let req = schema()
        .validate_body("unifiedRoleEligibilityScheduleRequest", &body, &[])
        .map_err(|e| body_error(Coll::RoleEligibilitySchedules, &e))?;
    let wanted = Eligibility::of(t, &req)?;
    let request_id = t.new_guid();
    let now = t.now_string();
    let target = match (wanted.action.as_str(), wanted.existing(t)) {
        ("adminAssign", Some(_)) => {
            return Err(role_assignment("RoleAssignmentExists", "already exists"));
        }
        ("adminAssign", None) => wanted.assign(t, ctx, &req, &request_id, &now)?,
        ("adminRemove", Some(sid)) => remove_eligibility(t, ctx, sid),
        ("adminRemove", None) => {
            return Err(role_assignment("RoleAssignmentDoesNotExist", "does not exist"));
        }
        (other, _) => {
            return Err(GraphError::bad_request(format!(
                "The action '{other}' is not supported by the emulator; use adminAssign or adminRemove."
            )));
        }
    };
    let out = wanted.request(req, request_id, now, target);
    let rendered = schema().render("unifiedRoleEligibilityScheduleRequest", &out, &[], ctx.render);
    let path = "roleManagement/directory/roleEligibilityScheduleRequests";
    Ok(GraphResponse::json(201, entity(context(ctx.base_url, path, None, true), rendered)))
}

/// PIM's answer when the assignment a request names exists, or does not, contrary to the action.
fn role_assignment(code: &str, state: &str) -> GraphError {
    let message = format!("The Role assignment {state}.");
    GraphError::bad_request(message.clone()).with_detail(code, &message, "")
}

/// What an eligibility schedule request asks for.
struct Eligibility {
    action: String,
    principal: String,
    role: String,
    scope: String,
}

impl Eligibility {
    /// The request's fields; the principal and the role must exist.
    fn of(t: &Tenant, req: &Map<String, Value>) -> Result<Eligibility, GraphError> {
        let get = |k: &str| {
            let v = req.get(k).and_then(Value::as_str).map(str::to_string);
            v.ok_or_else(|| GraphError::bad_request(format!("The request needs '{k}'.")))
        };
        let (action, principal, role) =
            (get("action")?, get("principalId")?, get("roleDefinitionId")?);
        let scope = get("directoryScopeId").unwrap_or_else(|_| "/".into());
        if t.directory_object(&principal).is_none() {
            return Err(GraphError::not_found(&principal));
        }
        if find_role_definition(t, &role).is_none() {
            return Err(GraphError::not_found(&role));
        }
        Ok(Eligibility { action, principal, role, scope })
    }

    /// The id of the schedule for the same principal, role and scope, if there is one.
    fn existing(&self, t: &Tenant) -> Option<String> {
        let is = |s: &Obj, k: &str, v: &str| s.get(k).and_then(Value::as_str) == Some(v);
        let same = |s: &Obj| {
            is(s, "principalId", &self.principal)
                && is(s, "roleDefinitionId", &self.role)
                && is(s, "directoryScopeId", &self.scope)
        };
        t.coll(Coll::RoleEligibilitySchedules)
            .iter()
            .find(|(_, s)| same(s))
            .map(|(id, _)| id.clone())
    }

    /// Creates the schedule; its id.
    fn assign(
        &self,
        t: &mut Tenant,
        ctx: &Ctx<'_>,
        req: &Map<String, Value>,
        request_id: &str,
        now: &str,
    ) -> Result<String, GraphError> {
        check_not_ended(t, req)?;
        let sid = t.new_guid();
        let (principal, role, scope) = (&self.principal, &self.role, &self.scope);
        let schedule = json!({
            "id": sid, "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope,
            "appScopeId": null, "createdUsing": request_id, "createdDateTime": now, "modifiedDateTime": null,
            "status": "Provisioned", "memberType": "Direct",
            "scheduleInfo": req.get("scheduleInfo").cloned().unwrap_or_else(|| json!({"startDateTime": now, "recurrence": null, "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}})),
        });
        if let Value::Object(m) = schedule {
            t.put(Coll::RoleEligibilitySchedules, &sid, m);
        }
        let activity = "Add eligible member to role in PIM completed (permanent)";
        audit(t, ctx, activity, "Add", &sid);
        Ok(sid)
    }

    /// The request as Graph returns it: completed at once, naming the schedule it made or
    /// removed.
    fn request(
        &self,
        mut out: Map<String, Value>,
        request_id: String,
        now: String,
        target: String,
    ) -> Map<String, Value> {
        let status = if self.action == "adminRemove" { "Revoked" } else { "Provisioned" };
        out.insert("id".into(), Value::String(request_id));
        out.insert("status".into(), Value::String(status.into()));
        out.insert("createdDateTime".into(), Value::String(now.clone()));
        out.insert("completedDateTime".into(), Value::String(now));
        out.insert("targetScheduleId".into(), Value::String(target));
        out.insert("directoryScopeId".into(), Value::String(self.scope.clone()));
        out
    }
}

/// Removes eligibility schedule `sid`; its id.
fn remove_eligibility(t: &mut Tenant, ctx: &Ctx<'_>, sid: String) -> String {
    t.take(Coll::RoleEligibilitySchedules, &sid);
    let activity = "Remove eligible member from role in PIM completed (permanent)";
    audit(t, ctx, activity, "Delete", &sid);
    sid
}

/// A PIM audit record of an eligibility schedule.
fn audit(t: &mut Tenant, ctx: &Ctx<'_>, activity: &str, operation: &'static str, sid: &str) {
    let op = AuditOp::Named { activity: activity.into(), operation };
    record(t, &ctx.actor, Coll::RoleEligibilitySchedules, op, sid, None, Vec::new());
}
