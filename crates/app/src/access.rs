//! A state's Conditional Access, and what evaluating it needs of the directory, read from the
//! store: every policy, named location, authentication strength, role assignment and captured
//! method list, but of users and groups only those that matter — the people asked about and
//! the groups policies and role assignments name, with the groups nested in them. A tenant's
//! hundred thousand users are never read to answer for a few administrators.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::{ContentHash, Kind};
use rewind_policy::{Analysis, Directory, LockoutOptions, MethodsPolicy, PolicySet, analyse};
use rewind_store::{Manifest, ObjectKey, SnapshotId, Store, StoreError, TenantInfo};
use serde::Serialize;
use serde_json::Value;

use crate::compare::PointStamp;
use crate::names;

/// Who an evaluation is about.
#[derive(Debug, Clone, Copy)]
pub enum Subjects<'a> {
    /// Break-glass accounts (by id or user principal name; none: recognised by name) and
    /// every active Global or Privileged Role Administrator.
    Protected {
        /// Configured break-glass accounts.
        break_glass: &'a [String],
        /// Rewind's own application id, whose service principal the analysis checks when
        /// policies target workload identities.
        restore_app: Option<&'a str>,
    },
    /// One user, by id or user principal name.
    User(&'a str),
}

/// One step of a restore plan as the lockout analysis reads it: the state after the plan is
/// the state before with each step applied (`create`/`update` put `object`, `delete` removes).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct PlanStep {
    /// `create`, `update` or `delete`.
    pub action: String,
    /// The kind (`conditionalAccessPolicy`, `group`…).
    pub kind: Kind,
    /// The object's key.
    pub id: String,
    /// The object as the step leaves it (for `create` and `update`).
    #[serde(default)]
    pub object: Option<Value>,
}

/// A restore plan's desired state as steps: each object put as wanted, or removed.
pub fn desired_steps(desired: &[rewind_engine::restore::Desired]) -> Vec<PlanStep> {
    desired
        .iter()
        .map(|d| PlanStep {
            action: if d.object.is_some() { "update" } else { "delete" }.to_string(),
            kind: d.kind,
            id: d.id.clone(),
            object: d.object.clone(),
        })
        .collect()
}

/// Applies the steps of `kind` to `values` (the last step for an object wins). Linear: a plan
/// that restores thousands of groups is overlaid in one pass.
fn overlay(values: &mut Vec<Value>, kind: Kind, plan: &[PlanStep]) {
    let mut last: BTreeMap<&str, &PlanStep> = BTreeMap::new();
    for step in plan.iter().filter(|s| s.kind == kind) {
        last.insert(step.id.as_str(), step);
    }
    if last.is_empty() {
        return;
    }
    values.retain(|v| v.get("id").and_then(Value::as_str).is_none_or(|id| !last.contains_key(id)));
    for (id, step) in last {
        if let (true, Some(Value::Object(o))) = (step.action != "delete", &step.object) {
            let mut o = o.clone();
            o.insert("id".into(), Value::String(id.to_string()));
            values.push(Value::Object(o));
        }
    }
}

/// A state's policies and the part of its directory they need.
#[derive(Debug, Clone)]
pub struct Access {
    /// Policies, compiled with the state's named locations and strengths.
    pub policies: PolicySet,
    /// Users asked about, groups that matter, roles, service principals, methods.
    pub directory: Directory,
}

/// Values of `kind` at `snapshot` (each with its key as `id`, which stored versions leave out).
pub(crate) async fn all_of(
    store: &Store,
    tenant: &TenantInfo,
    kind: Kind,
    snapshot: SnapshotId,
) -> Result<Vec<Value>, StoreError> {
    let manifest = store.kind_at(tenant, kind, snapshot).await?;
    with_ids(store, manifest.iter().map(|(k, h)| (k.key.clone(), *h)).collect()).await
}

async fn with_ids(
    store: &Store,
    wanted: Vec<(String, ContentHash)>,
) -> Result<Vec<Value>, StoreError> {
    let hashes: Vec<ContentHash> = wanted.iter().map(|(_, h)| *h).collect();
    let loaded = names::load(store, &hashes).await?;
    Ok(wanted
        .into_iter()
        .filter_map(|(key, h)| {
            let mut v = loaded.get(&h)?.clone();
            if let Some(o) = v.as_object_mut() {
                o.insert("id".into(), Value::String(key));
            }
            Some(v)
        })
        .collect())
}

/// The versions of `keys` of `kind` that exist at `snapshot`.
pub(crate) async fn some_of(
    store: &Store,
    tenant: &TenantInfo,
    kind: Kind,
    keys: impl IntoIterator<Item = String>,
    snapshot: SnapshotId,
) -> Result<Vec<Value>, StoreError> {
    let objects: Vec<ObjectKey> = keys.into_iter().map(|k| ObjectKey::new(kind, k)).collect();
    let found = store.versions_at(tenant, &objects, snapshot).await?;
    let wanted = found.into_iter().filter_map(|(k, h)| h.map(|h| (k.key, h))).collect();
    with_ids(store, wanted).await
}

/// The object ids a method configuration's targets name (not `all_users`).
fn targets<'v>(config: &'v Value, pointer: &str) -> impl Iterator<Item = &'v str> {
    config
        .pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("id").and_then(Value::as_str))
        .filter(|id| *id != "all_users")
}

pub(crate) fn strings<'v>(v: &'v Value, pointer: &str) -> impl Iterator<Item = &'v str> {
    v.pointer(pointer).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

/// The check use case (`rewind check`): the lockout analysis of the state at `snapshot`, or of
/// the state `plan` would leave, for the principals `options` protects.
pub async fn lockout_check(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    options: &LockoutOptions,
    plan: &[PlanStep],
) -> Result<Analysis, StoreError> {
    let subjects = Subjects::Protected {
        break_glass: &options.break_glass,
        restore_app: options.restore_app.as_deref(),
    };
    let access = load_access(store, tenant, snapshot, subjects, plan).await?;
    Ok(analyse(&access.policies, &access.directory, options))
}

/// Reads what evaluating `subjects` at `snapshot` needs.
/// With a `plan`, the state is the one the plan would leave.
pub async fn load_access(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    subjects: Subjects<'_>,
    plan: &[PlanStep],
) -> Result<Access, StoreError> {
    // The analysis reads parts of the state but relies on all of it.
    store.check_state(tenant, snapshot).await?;
    let at = StateAt { store, tenant, snapshot, plan };
    let policies = at.overlaid(Kind::ConditionalAccessPolicy).await?;
    let method_configs = at.overlaid(Kind::AuthenticationMethodConfiguration).await?;
    let roles = Roles {
        assignments: at.overlaid(Kind::RoleAssignment).await?,
        eligibilities: at.overlaid(Kind::RoleEligibilitySchedule).await?,
    };
    let mut directory = at.roles_and_methods(&roles).await?;
    if needs_service_principals(subjects, &policies) {
        let sps = at.read(Kind::ServicePrincipal).await?;
        for sp in &sps {
            directory.add_service_principal(sp);
        }
    }
    let groups = at.groups(&policies, &method_configs, &roles).await?;
    for g in &groups {
        directory.add_group(g);
    }
    let users = at.users(subjects, &roles, &groups).await?;
    for u in &users {
        directory.add_user(u);
    }
    Ok(Access { policies: at.policy_set(&policies, &method_configs).await?, directory })
}

/// Whether the analysis reads the service principals: always for one user (`whatif` names apps
/// by display name); for the protected principals only to check Rewind's own app, and only when
/// some policy targets workload identities.
fn needs_service_principals(subjects: Subjects<'_>, policies: &[Value]) -> bool {
    match subjects {
        Subjects::Protected { restore_app, .. } => {
            let workload = |p: &Value| {
                p.pointer("/conditions/clientApplications").is_some_and(|c| !c.is_null())
            };
            restore_app.is_some() && policies.iter().any(workload)
        }
        Subjects::User(_) => true,
    }
}

/// Active role assignments and eligibilities.
struct Roles {
    assignments: Vec<Value>,
    eligibilities: Vec<Value>,
}

impl Roles {
    fn all(&self) -> impl Iterator<Item = &Value> {
        self.assignments.iter().chain(&self.eligibilities)
    }
}

/// The state at a snapshot, or the one a plan would leave.
struct StateAt<'a> {
    store: &'a Store,
    tenant: &'a TenantInfo,
    snapshot: SnapshotId,
    plan: &'a [PlanStep],
}

impl StateAt<'_> {
    /// Every object of `kind` as stored.
    async fn read(&self, kind: Kind) -> Result<Vec<Value>, StoreError> {
        all_of(self.store, self.tenant, kind, self.snapshot).await
    }

    /// Every object of `kind` as the plan would leave it.
    async fn overlaid(&self, kind: Kind) -> Result<Vec<Value>, StoreError> {
        let mut values = self.read(kind).await?;
        overlay(&mut values, kind, self.plan);
        Ok(values)
    }

    /// A directory of the roles, the role definitions and the people's authentication methods.
    async fn roles_and_methods(&self, roles: &Roles) -> Result<Directory, StoreError> {
        let mut directory = Directory::new();
        roles.assignments.iter().for_each(|a| directory.add_role_assignment(a));
        roles.eligibilities.iter().for_each(|e| directory.add_role_eligibility(e));
        for d in self.read(Kind::RoleDefinition).await? {
            directory.add_role_definition(&d);
        }
        for m in self.read(Kind::UserAuthenticationMethods).await? {
            let list = m.get("methods").and_then(Value::as_array);
            if let (Some(id), Some(list)) = (m.get("id").and_then(Value::as_str), list) {
                directory.add_methods(id, list.clone());
            }
        }
        Ok(directory)
    }

    /// The groups that matter, as the plan would leave them: those policies name, those the
    /// methods policy targets, those holding roles, and every group nested in them.
    async fn groups(
        &self,
        policies: &[Value],
        method_configs: &[Value],
        roles: &Roles,
    ) -> Result<Vec<Value>, StoreError> {
        let group_keys = self.store.kind_at(self.tenant, Kind::Group, self.snapshot).await?;
        let users = |p| {
            strings(p, "/conditions/users/includeGroups")
                .chain(strings(p, "/conditions/users/excludeGroups"))
        };
        let mut wanted: BTreeSet<String> =
            policies.iter().flat_map(users).map(str::to_string).collect();
        let targeted = |c| targets(c, "/includeTargets").chain(targets(c, "/excludeTargets"));
        wanted.extend(method_configs.iter().flat_map(targeted).map(str::to_string));
        let principals = roles.all().filter_map(|a| a.get("principalId").and_then(Value::as_str));
        let is_group = |p: &&str| group_keys.contains_key(&ObjectKey::new(Kind::Group, *p));
        wanted.extend(principals.filter(is_group).map(str::to_string));
        let mut groups = group_closure(self.store, &group_keys, wanted).await?;
        overlay(&mut groups, Kind::Group, self.plan);
        Ok(groups)
    }

    /// The users asked about, as the plan would leave them.
    async fn users(
        &self,
        subjects: Subjects<'_>,
        roles: &Roles,
        groups: &[Value],
    ) -> Result<Vec<Value>, StoreError> {
        let (store, tenant, snapshot) = (self.store, self.tenant, self.snapshot);
        let mut users = match subjects {
            Subjects::User(who) => self.user(who).await?,
            Subjects::Protected { break_glass, .. } => {
                let roles: Vec<&Value> = roles.all().collect();
                protected_users(store, tenant, snapshot, break_glass, &roles, groups).await?
            }
        };
        let asked: BTreeSet<&str> =
            users.iter().filter_map(|u| u.get("id").and_then(Value::as_str)).collect();
        // A plan's users count when they are among those asked about.
        let relevant: Vec<PlanStep> =
            self.plan.iter().filter(|s| asked.contains(s.id.as_str())).cloned().collect();
        overlay(&mut users, Kind::User, &relevant);
        Ok(users)
    }

    /// One user by id, else by user principal name.
    async fn user(&self, who: &str) -> Result<Vec<Value>, StoreError> {
        let (store, tenant, snapshot) = (self.store, self.tenant, self.snapshot);
        let found = some_of(store, tenant, Kind::User, [who.to_string()], snapshot).await?;
        if !found.is_empty() {
            return Ok(found);
        }
        users_by_upn(store, tenant, snapshot, &[who]).await
    }

    /// The policies compiled with the named locations, authentication strengths and methods
    /// policy they rely on, as the plan would leave them.
    async fn policy_set(
        &self,
        policies: &[Value],
        method_configs: &[Value],
    ) -> Result<PolicySet, StoreError> {
        let locations = self.overlaid(Kind::NamedLocation).await?;
        let strengths = self.overlaid(Kind::AuthenticationStrengthPolicy).await?;
        let methods_policy = self.overlaid(Kind::AuthenticationMethodsPolicy).await?;
        let methods = MethodsPolicy::from_graph(methods_policy.first(), method_configs);
        Ok(PolicySet::compile(policies, &locations, &strengths).with_methods(methods))
    }
}

/// Loads `wanted` groups and every group nested in them.
pub(crate) async fn group_closure(
    store: &Store,
    group_keys: &Manifest,
    mut wanted: BTreeSet<String>,
) -> Result<Vec<Value>, StoreError> {
    let mut loaded: BTreeMap<String, Value> = BTreeMap::new();
    while !wanted.is_empty() {
        let level: Vec<(String, ContentHash)> = std::mem::take(&mut wanted)
            .into_iter()
            .filter(|g| !loaded.contains_key(g))
            .filter_map(|g| {
                let h = group_keys.get(&ObjectKey::new(Kind::Group, g.as_str()))?;
                Some((g, *h))
            })
            .collect();
        for g in with_ids(store, level).await? {
            for m in strings(&g, "/members") {
                if !loaded.contains_key(m)
                    && group_keys.contains_key(&ObjectKey::new(Kind::Group, m))
                {
                    wanted.insert(m.to_string());
                }
            }
            let id = g.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            loaded.insert(id, g);
        }
    }
    Ok(loaded.into_values().collect())
}

/// Users who hold the protected roles (directly or through groups) and break-glass accounts.
async fn protected_users(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    break_glass: &[String],
    assignments: &[&Value],
    groups: &[Value],
) -> Result<Vec<Value>, StoreError> {
    let protected_roles: BTreeSet<&str> =
        assignments.iter().filter_map(|a| rewind_policy::protected_principal(a)).collect();
    let by_id: BTreeMap<&str, &Value> =
        groups.iter().filter_map(|g| Some((g.get("id")?.as_str()?, g))).collect();
    let mut keys: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<&str> = protected_roles.into_iter().collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    while let Some(p) = queue.pop() {
        if !seen.insert(p) {
            continue;
        }
        match by_id.get(p) {
            Some(g) => queue.extend(strings(g, "/members")),
            None => {
                keys.insert(p.to_string());
            }
        }
    }
    let mut by_upn: Vec<&String> = Vec::new();
    if break_glass.is_empty() {
        keys.extend(
            store.keys_named_like(tenant, Kind::User, rewind_policy::BREAK_GLASS_WORDS).await?,
        );
    } else {
        for b in break_glass {
            if b.contains('@') {
                by_upn.push(b);
            } else {
                keys.insert(b.clone());
            }
        }
    }
    let mut users = some_of(store, tenant, Kind::User, keys, snapshot).await?;
    if !by_upn.is_empty() {
        let have: BTreeSet<String> = users
            .iter()
            .filter_map(|u| u.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let upns: Vec<&str> = by_upn.iter().map(|s| s.as_str()).collect();
        for u in users_by_upn(store, tenant, snapshot, &upns).await? {
            if !have.contains(u.get("id").and_then(Value::as_str).unwrap_or_default()) {
                users.push(u);
            }
        }
    }
    Ok(users)
}

/// Users whose user principal name is one of `upns` (case-insensitive). The store indexes
/// users by display name, not sign-in name: every user version is read, but only those whose
/// text holds a wanted name are parsed, and none is kept longer than its batch.
pub(crate) async fn users_by_upn(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
    upns: &[&str],
) -> Result<Vec<Value>, StoreError> {
    let wanted: Vec<Vec<u8>> = upns.iter().map(|u| u.to_ascii_lowercase().into_bytes()).collect();
    let manifest = store.kind_at(tenant, Kind::User, snapshot).await?;
    let mut keys: BTreeMap<ContentHash, Vec<String>> = BTreeMap::new();
    for (k, h) in &manifest {
        keys.entry(*h).or_default().push(k.key.clone());
    }
    let hashes: Vec<ContentHash> = keys.keys().copied().collect();
    let mut found = Vec::new();
    for chunk in hashes.chunks(16_384) {
        for (hash, bytes) in store.blobs(chunk).await? {
            let lower = bytes.to_ascii_lowercase();
            if !wanted.iter().any(|w| memchr::memmem::find(&lower, w).is_some()) {
                continue;
            }
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::Corrupt(format!("version {}: {e}", hash.to_hex())))?;
            let upn = v.get("userPrincipalName").and_then(Value::as_str).unwrap_or_default();
            if !upns.iter().any(|u| u.eq_ignore_ascii_case(upn)) {
                continue;
            }
            for key in keys.get(&hash).into_iter().flatten() {
                let mut v = v.clone();
                v["id"] = Value::String(key.clone());
                found.push(v);
            }
        }
    }
    Ok(found)
}

/// `rewind check --json`: the lockout analysis of a point, and the plan it assumed applied.
#[derive(Debug, Clone, Serialize)]
pub struct LockoutReport {
    /// The analysis.
    #[serde(flatten)]
    pub analysis: Analysis,
    /// The point analysed.
    pub at: PointStamp,
    /// The plan file assumed applied on top of it, if any.
    pub plan: Option<String>,
}
