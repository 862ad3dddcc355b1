//! From two snapshots to alerts: read the objects that changed between them (both versions
//! and who changed them), gather the context the rules need — only the parts the changes call
//! for, so the cost follows the changes — run the rules, and store what they find once.

use std::collections::{BTreeSet, HashMap};

use rewind_engine::risk::{
    self, Context, Finding, GrownExclusion, ObjectChange, Rule, Settings, Verdict, Weakened,
};
use rewind_model::{Actor, ContentHash, Kind, display_name};
use rewind_policy::{
    Analysis, Lockout, LockoutOptions, PolicySet, Protection, analyse, exposure_changes,
};
use rewind_store::{NewAlert, ObjectKey, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo};
use serde_json::Value;

use super::Alert;
use crate::access::{Subjects, load_access};
use crate::exposure::{exposure_checked, privileged_principals};
use crate::names;

/// What evaluating needs besides the store.
#[derive(Debug, Clone, Default)]
pub struct EvaluateOptions {
    /// The rules' settings.
    pub settings: Settings,
    /// Configured break-glass accounts (ids or UPNs); empty to find them by name.
    pub break_glass: Vec<String>,
    /// The administrators' home country for the lockout analysis.
    pub home_country: Option<String>,
    /// Rewind's own application id (its restore identity), for the lockout analysis.
    pub restore_app: Option<String>,
}

/// One changed object with both versions loaded.
struct Loaded {
    key: ObjectKey,
    before: Option<Value>,
    after: Option<Value>,
    version: String,
    actors: Vec<Actor>,
}

/// Evaluates the changes after snapshot `from` up to `to` and stores the alerts not stored
/// before; returns those. With no `from` (the first evaluation of a tenant) it only learns the
/// actors seen so far: there is nothing to compare with yet.
pub async fn evaluate(
    store: &Store,
    tenant: &TenantInfo,
    from: Option<&SnapshotInfo>,
    to: &SnapshotInfo,
    options: &EvaluateOptions,
) -> Result<Vec<Alert>, StoreError> {
    let after = from.map_or(SnapshotId::BEFORE_ALL, |f| f.id);
    let actors_by_object = store.actors_between(tenant, after, to.id).await?;
    // Identities, not names: an app named like a known one is still new.
    let mut all_actors: BTreeSet<String> =
        actors_by_object.values().flatten().map(Actor::key).collect();
    all_actors.extend(audit_actors(store, tenant, after, to.id).await?);
    let Some(from) = from else {
        store.add_known_actors(tenant, &all_actors).await?;
        store.set_watch_evaluated(tenant, to.id).await?;
        return Ok(Vec::new());
    };
    let changed = load_changes(store, tenant, from.id, to.id, &actors_by_object).await?;
    let known = store.known_actors(tenant, &all_actors).await?;
    let mut ctx = Context { known_actors: Some(known), ..Context::default() };
    add_context(store, tenant, from.id, to.id, &changed, options, &mut ctx).await?;
    let changes: Vec<ObjectChange<'_>> = changed
        .iter()
        .map(|c| ObjectChange {
            kind: c.key.kind,
            key: &c.key.key,
            before: c.before.as_ref(),
            after: c.after.as_ref(),
            version: &c.version,
            actors: &c.actors,
        })
        .collect();
    let findings = risk::evaluate(&changes, &ctx, &options.settings);
    let alerts: Vec<Alert> = findings.iter().map(|f| Alert::new(tenant, to, f)).collect();
    let new: Vec<NewAlert> = findings
        .iter()
        .zip(&alerts)
        .map(|(f, a)| NewAlert {
            fingerprint: fingerprint(f),
            rule: f.rule.id().into(),
            severity: f.severity,
            snapshot: to.id,
            body: serde_json::to_string(a).unwrap_or_default(),
        })
        .collect();
    let stored = store.add_alerts(tenant, &new).await?;
    store.add_known_actors(tenant, &all_actors).await?;
    store.set_watch_evaluated(tenant, to.id).await?;
    stored.iter().map(Alert::from_record).collect()
}

/// Everyone the audit records of snapshots after `after` up to `upto` name as initiator (as
/// identity keys), whether or not their change is still visible (a deletion, a change undone
/// since): all of them have been seen changing the tenant.
async fn audit_actors(
    store: &Store,
    tenant: &TenantInfo,
    after: SnapshotId,
    upto: SnapshotId,
) -> Result<BTreeSet<String>, StoreError> {
    let mut actors = BTreeSet::new();
    // Back along the chain from `upto`: usually one snapshot, the whole history only the
    // first time.
    let mut at = store.snapshot(tenant, upto).await?;
    while let Some(s) = at.filter(|s| s.id > after) {
        for raw in store.audit_records(&s).await? {
            actors.extend(Actor::from_audit(&raw).map(|a| a.key()));
        }
        at = match s.parent {
            Some(p) => store.snapshot(tenant, p).await?,
            None => None,
        };
    }
    Ok(actors)
}

/// Fingerprints are stored as hashes: the store keeps no actor or object name in clear.
fn fingerprint(f: &Finding) -> String {
    blake3::hash(f.fingerprint.as_bytes()).to_hex().to_string()
}

async fn load_changes(
    store: &Store,
    tenant: &TenantInfo,
    from: SnapshotId,
    to: SnapshotId,
    actors: &std::collections::BTreeMap<ObjectKey, Vec<Actor>>,
) -> Result<Vec<Loaded>, StoreError> {
    let mut keys = store.changed_between(tenant, from, to).await?;
    keys.sort();
    let before = store.versions_at(tenant, &keys, from).await?;
    let after = store.versions_at(tenant, &keys, to).await?;
    let hashes: Vec<ContentHash> =
        before.values().chain(after.values()).flatten().copied().collect();
    let values = names::load(store, &hashes).await?;
    let value = |h: Option<&Option<ContentHash>>| {
        h.copied().flatten().and_then(|h| values.get(&h).cloned())
    };
    Ok(keys
        .into_iter()
        .filter_map(|key| {
            let b = before.get(&key).copied().flatten();
            let a = after.get(&key).copied().flatten();
            // Changed and changed back between the two points: nothing to evaluate.
            if b == a {
                return None;
            }
            let version = match (a, b) {
                (Some(h), _) | (None, Some(h)) => h.to_hex().clone(),
                (None, None) => return None,
            };
            Some(Loaded {
                before: value(before.get(&key)),
                after: value(after.get(&key)),
                version: if a.is_some() { version } else { format!("gone:{version}") },
                actors: actors.get(&key).cloned().unwrap_or_default(),
                key,
            })
        })
        .collect())
}

fn touches(changed: &[Loaded], kinds: &[Kind]) -> bool {
    changed.iter().any(|c| kinds.contains(&c.key.kind))
}

/// Fills in what the rules need, each part only when some change calls for it.
async fn add_context(
    store: &Store,
    tenant: &TenantInfo,
    from: SnapshotId,
    to: SnapshotId,
    changed: &[Loaded],
    options: &EvaluateOptions,
    ctx: &mut Context,
) -> Result<(), StoreError> {
    let access_kinds = [
        Kind::ConditionalAccessPolicy,
        Kind::NamedLocation,
        Kind::AuthenticationStrengthPolicy,
        Kind::AuthenticationMethodsPolicy,
        Kind::AuthenticationMethodConfiguration,
        Kind::Group,
        Kind::RoleAssignment,
        Kind::RoleEligibilitySchedule,
        Kind::UserAuthenticationMethods,
    ];
    if touches(changed, &access_kinds) {
        lockout_context(store, tenant, from, to, options, ctx).await?;
    }
    // A subset of `access_kinds`: the lockout analysis has checked both chains by now.
    let exclusion_kinds = [
        Kind::ConditionalAccessPolicy,
        Kind::Group,
        Kind::RoleAssignment,
        Kind::RoleEligibilitySchedule,
    ];
    if touches(changed, &exclusion_kinds) && options.settings.enabled(Rule::PolicyExclusionGrew) {
        ctx.exclusions = grown_exclusions(store, tenant, from, to).await?;
    }
    let app_kinds = [
        Kind::Application,
        Kind::ServicePrincipal,
        Kind::FederatedIdentityCredential,
        Kind::AppRoleAssignment,
    ];
    if touches(changed, &app_kinds) {
        app_context(store, tenant, to, changed, ctx).await?;
    }
    let principals: Vec<String> = changed
        .iter()
        .filter(|c| matches!(c.key.kind, Kind::RoleAssignment | Kind::RoleEligibilitySchedule))
        .filter_map(|c| c.after.as_ref()?.get("principalId")?.as_str().map(str::to_string))
        .collect();
    let parents: Vec<String> = changed
        .iter()
        .filter(|c| c.key.kind == Kind::FederatedIdentityCredential)
        .map(|c| rewind_model::key::top(&c.key.key).to_string())
        .collect();
    let named = names_of(
        store,
        tenant,
        to,
        &principals,
        &[Kind::User, Kind::Group, Kind::ServicePrincipal],
    )
    .await?;
    ctx.names.extend(named);
    for (id, v) in values_of(store, tenant, to, Kind::Application, &parents).await? {
        if let Some(app_id) = v.get("appId").and_then(Value::as_str) {
            ctx.app_ids.insert(id.clone(), app_id.to_string());
        }
        if let Some(n) = display_name(&v) {
            ctx.names.insert(id, n.to_string());
        }
    }
    Ok(())
}

fn verdict(l: Lockout) -> Verdict {
    match l {
        Lockout::Ok => Verdict::Ok,
        Lockout::AtRisk => Verdict::AtRisk,
        Lockout::Critical => Verdict::Critical,
    }
}

/// The lockout verdicts on both sides, and the break-glass accounts (and the groups that hold
/// them) as they were before.
async fn lockout_context(
    store: &Store,
    tenant: &TenantInfo,
    from: SnapshotId,
    to: SnapshotId,
    options: &EvaluateOptions,
    ctx: &mut Context,
) -> Result<(), StoreError> {
    let lockout = LockoutOptions {
        break_glass: options.break_glass.clone(),
        home_country: options.home_country.clone(),
        restore_app: options.restore_app.clone(),
    };
    let subjects = || Subjects::Protected {
        break_glass: &options.break_glass,
        restore_app: options.restore_app.as_deref(),
    };
    let before = load_access(store, tenant, from, subjects(), &[]).await?;
    let before_analysis = analyse(&before.policies, &before.directory, &lockout);
    for p in &before_analysis.principals {
        let break_glass = p.protection.iter().any(Protection::is_break_glass);
        if break_glass {
            ctx.break_glass.insert(p.id.clone());
            ctx.names.insert(p.id.clone(), p.user_principal_name.clone());
            for g in before.directory.groups_of(&p.id) {
                ctx.break_glass.insert(g.to_string());
                if let Some(n) = before.directory.group_name(g) {
                    ctx.names.insert(g.to_string(), n.to_string());
                }
            }
        }
    }
    let after = load_access(store, tenant, to, subjects(), &[]).await?;
    let after_analysis = analyse(&after.policies, &after.directory, &lockout);
    ctx.weakened = weakened(&before_analysis, &after_analysis, &after.policies);
    ctx.lockout = Some((verdict(before_analysis.verdict), verdict(after_analysis.verdict)));
    Ok(())
}

/// Protected principals whose usable methods shrank, or whose methods stopped meeting a
/// policy's requirement, between the two analyses.
fn weakened(before: &Analysis, after: &Analysis, policies: &PolicySet) -> Vec<Weakened> {
    let name = |id: &String| {
        policies
            .policies
            .iter()
            .find(|p| &p.id == id)
            .map_or_else(|| id.clone(), |p| p.name.clone())
    };
    after
        .principals
        .iter()
        .filter_map(|a| {
            let b = before.principals.iter().find(|b| b.id == a.id)?;
            let lost: Vec<String> = match (&b.usable_methods, &a.usable_methods) {
                (Some(was), Some(now)) => {
                    was.iter().filter(|m| !now.contains(m)).cloned().collect()
                }
                _ => Vec::new(),
            };
            let unmet: Vec<String> =
                a.unmet.iter().filter(|p| !b.unmet.contains(p)).map(name).collect();
            (!lost.is_empty() || !unmet.is_empty()).then(|| Weakened {
                id: a.id.clone(),
                principal: a.user_principal_name.clone(),
                break_glass: a.protection.iter().any(Protection::is_break_glass),
                lost,
                unmet,
            })
        })
        .collect()
}

/// Who became excluded from an enforced policy between the two snapshots, by which path.
async fn grown_exclusions(
    store: &Store,
    tenant: &TenantInfo,
    from: SnapshotId,
    to: SnapshotId,
) -> Result<Vec<GrownExclusion>, StoreError> {
    // The lockout analysis checked both snapshots' chains (it runs on every kind this does).
    let before = exposure_checked(store, tenant, from).await?;
    let after = exposure_checked(store, tenant, to).await?;
    let changes = exposure_changes(&before, &after);
    if !changes.iter().any(|c| c.enforced && !c.added.is_empty()) {
        return Ok(Vec::new());
    }
    let privileged = privileged_principals(store, tenant, to).await?;
    let mut out = Vec::new();
    for c in changes.iter().filter(|c| c.enforced) {
        for e in &c.added {
            let objects = std::iter::once(c.id.clone()).chain(e.objects.iter().cloned()).collect();
            out.push(GrownExclusion {
                policy_id: c.id.clone(),
                policy: c.display_name.clone(),
                blocks: c.blocks,
                principal_id: e.id.clone(),
                principal: e.name.clone().unwrap_or_else(|| e.id.clone()),
                path: e.via.label(),
                path_key: e.path_key(),
                objects,
                privileged: privileged.contains(&e.id)
                    || matches!(&e.via, rewind_policy::Via::Role { .. }),
            });
        }
    }
    Ok(out)
}

/// Who holds privileged permissions or roles, and what each app role id means.
async fn app_context(
    store: &Store,
    tenant: &TenantInfo,
    to: SnapshotId,
    changed: &[Loaded],
    ctx: &mut Context,
) -> Result<(), StoreError> {
    let sps = all_values(store, tenant, to, Kind::ServicePrincipal).await?;
    let mut app_of_sp: HashMap<String, String> = HashMap::new();
    for (id, sp) in &sps {
        if let Some(app_id) = sp.get("appId").and_then(Value::as_str) {
            app_of_sp.insert(id.clone(), app_id.to_string());
        }
        for role in sp.get("appRoles").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(rid), Some(value)) =
                (role.get("id").and_then(Value::as_str), role.get("value").and_then(Value::as_str))
            {
                ctx.permissions.insert(rid.to_string(), value.to_string());
            }
        }
    }
    let mut privileged: BTreeSet<String> = BTreeSet::new();
    for (_, a) in all_values(store, tenant, to, Kind::AppRoleAssignment).await? {
        let holds = a
            .get("appRoleId")
            .and_then(Value::as_str)
            .and_then(|r| ctx.permissions.get(r))
            .is_some_and(|p| risk::privileged_permission(p));
        if holds && let Some(p) = a.get("principalId").and_then(Value::as_str) {
            privileged.insert(p.to_string());
        }
    }
    for (_, a) in all_values(store, tenant, to, Kind::RoleAssignment).await? {
        let role = a.get("roleDefinitionId").and_then(Value::as_str).unwrap_or_default();
        if risk::privileged_role(role).is_some()
            && let Some(p) = a.get("principalId").and_then(Value::as_str)
        {
            privileged.insert(p.to_string());
        }
    }
    for sp in privileged {
        if let Some(app_id) = app_of_sp.get(&sp) {
            ctx.privileged_apps.insert(app_id.clone());
        }
        ctx.privileged_apps.insert(sp);
    }
    // A changed application's own object id counts when its app id does.
    for c in changed.iter().filter(|c| c.key.kind == Kind::Application) {
        let app_id = c.after.as_ref().and_then(|v| v.get("appId")).and_then(Value::as_str);
        if app_id.is_some_and(|a| ctx.privileged_apps.contains(a)) {
            ctx.privileged_apps.insert(c.key.key.clone());
        }
    }
    Ok(())
}

async fn all_values(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    kind: Kind,
) -> Result<Vec<(String, Value)>, StoreError> {
    let manifest = store.kind_at(tenant, kind, snapshot).await?;
    let hashes: Vec<ContentHash> = manifest.values().copied().collect();
    let values = names::load(store, &hashes).await?;
    Ok(manifest.into_iter().filter_map(|(k, h)| Some((k.key, values.get(&h)?.clone()))).collect())
}

async fn values_of(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    kind: Kind,
    ids: &[String],
) -> Result<Vec<(String, Value)>, StoreError> {
    let keys: Vec<ObjectKey> = ids.iter().map(|i| ObjectKey::new(kind, i.as_str())).collect();
    let found = store.versions_at(tenant, &keys, snapshot).await?;
    let hashes: Vec<ContentHash> = found.values().flatten().copied().collect();
    let values = names::load(store, &hashes).await?;
    Ok(found.into_iter().filter_map(|(k, h)| Some((k.key, values.get(&h?)?.clone()))).collect())
}

/// Display names of `ids`, looked up among `kinds`.
async fn names_of(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    ids: &[String],
    kinds: &[Kind],
) -> Result<HashMap<String, String>, StoreError> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for kind in kinds {
        for (id, v) in values_of(store, tenant, snapshot, *kind, ids).await? {
            let name =
                v.get("userPrincipalName").and_then(Value::as_str).or_else(|| display_name(&v));
            if let Some(n) = name {
                out.insert(id, n.to_string());
            }
        }
    }
    Ok(out)
}
