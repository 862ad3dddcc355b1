//! `rewind exposure`: who each policy excludes at a point, and how — read from the store with
//! only what exclusions reach: every policy, role assignment and eligibility, the excluded
//! groups and the groups nested in them (and the groups holding excluded roles), and the users
//! they name. Included groups are not read: "all staff" may hold every user of the tenant, and
//! an inclusion is not a way around a policy.

use std::collections::BTreeSet;

use rewind_model::Kind;
use rewind_policy::{Directory, PolicyScope, PolicySet, ScopeChange, exposure};
use rewind_store::{ObjectKey, SnapshotId, Store, StoreError, TenantInfo};
use serde::Serialize;
use serde_json::Value;

use crate::access::{all_of, group_closure, some_of, strings};
use crate::compare::PointStamp;

/// Every readable policy's effective scope at `snapshot`, after checking the snapshot's chain.
pub async fn exposure_at(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
) -> Result<Vec<PolicyScope>, StoreError> {
    store.check_state(tenant, snapshot).await?;
    exposure_checked(store, tenant, snapshot).await
}

/// [`exposure_at`] of a snapshot whose chain the caller has just checked (watch, after the
/// lockout analysis read both sides): the check is most of the cost.
pub(crate) async fn exposure_checked(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
) -> Result<Vec<PolicyScope>, StoreError> {
    let policies = all_of(store, tenant, Kind::ConditionalAccessPolicy, snapshot).await?;
    let locations = all_of(store, tenant, Kind::NamedLocation, snapshot).await?;
    let strengths = all_of(store, tenant, Kind::AuthenticationStrengthPolicy, snapshot).await?;
    let mut directory = Directory::new();
    let excluded_roles: BTreeSet<&str> =
        policies.iter().flat_map(|p| strings(p, "/conditions/users/excludeRoles")).collect();
    // Role holders matter only for excluded roles; their groups are read below.
    let mut holders: BTreeSet<String> = BTreeSet::new();
    for kind in [Kind::RoleAssignment, Kind::RoleEligibilitySchedule] {
        for a in all_of(store, tenant, kind, snapshot).await? {
            let role = a.get("roleDefinitionId").and_then(Value::as_str);
            if !role.is_some_and(|r| excluded_roles.contains(r)) {
                continue;
            }
            if kind == Kind::RoleAssignment {
                directory.add_role_assignment(&a);
            } else {
                directory.add_role_eligibility(&a);
            }
            holders.extend(a.get("principalId").and_then(Value::as_str).map(str::to_string));
        }
    }
    for d in all_of(store, tenant, Kind::RoleDefinition, snapshot).await? {
        directory.add_role_definition(&d);
    }
    let group_keys = store.kind_at(tenant, Kind::Group, snapshot).await?;
    let is_group = |id: &str| group_keys.contains_key(&ObjectKey::new(Kind::Group, id));
    let mut wanted: BTreeSet<String> = policies
        .iter()
        .flat_map(|p| strings(p, "/conditions/users/excludeGroups"))
        .map(str::to_string)
        .collect();
    wanted.extend(holders.iter().filter(|h| is_group(h)).cloned());
    let groups = group_closure(store, &group_keys, wanted).await?;
    let mut users: BTreeSet<String> = policies
        .iter()
        .flat_map(|p| strings(p, "/conditions/users/excludeUsers"))
        .map(str::to_string)
        .collect();
    users.extend(holders.into_iter().filter(|h| !is_group(h)));
    for g in &groups {
        directory.add_group(g);
        users.extend(strings(g, "/members").filter(|m| !is_group(m)).map(str::to_string));
    }
    for u in some_of(store, tenant, Kind::User, users, snapshot).await? {
        directory.add_user(&u);
    }
    // Included groups by name only, from the store's name index: their members do not matter.
    let included: Vec<&str> = policies
        .iter()
        .flat_map(|p| strings(p, "/conditions/users/includeGroups"))
        .filter(|g| !directory.is_group(g))
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    for (g, name) in store.latest_names(tenant, Kind::Group, &included).await? {
        directory.add_group(&serde_json::json!({"id": g, "displayName": name}));
    }
    let set = PolicySet::compile(&policies, &locations, &strengths);
    Ok(exposure(&set, &directory))
}

/// Principals holding a privileged directory role at `snapshot`, active or eligible, directly
/// or as members (nested) of a group holding it.
pub async fn privileged_principals(
    store: &Store,
    tenant: &TenantInfo,
    snapshot: SnapshotId,
) -> Result<BTreeSet<String>, StoreError> {
    let mut holders: BTreeSet<String> = BTreeSet::new();
    for kind in [Kind::RoleAssignment, Kind::RoleEligibilitySchedule] {
        for a in all_of(store, tenant, kind, snapshot).await? {
            let role = a.get("roleDefinitionId").and_then(Value::as_str);
            if role.and_then(rewind_engine::risk::privileged_role).is_some() {
                holders.extend(a.get("principalId").and_then(Value::as_str).map(str::to_string));
            }
        }
    }
    let group_keys = store.kind_at(tenant, Kind::Group, snapshot).await?;
    let groups: BTreeSet<String> = holders
        .iter()
        .filter(|h| group_keys.contains_key(&ObjectKey::new(Kind::Group, h.as_str())))
        .cloned()
        .collect();
    for g in group_closure(store, &group_keys, groups).await? {
        holders.extend(strings(&g, "/members").map(str::to_string));
    }
    Ok(holders)
}

/// `rewind exposure --json`: who each Conditional Access policy excludes, at one point.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureReport {
    /// The point looked at.
    pub at: PointStamp,
    /// Each policy asked about, with whom it includes and excludes.
    pub policies: Vec<PolicyScope>,
}

/// `rewind exposure --from T --json`: whose exclusion changed between two points.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureChangesReport {
    /// The earlier point.
    pub from: PointStamp,
    /// The later point.
    pub to: PointStamp,
    /// The policies whose exclusions changed.
    pub changes: Vec<ScopeChange>,
    /// Whether someone became excluded from an enforced policy.
    pub grew: bool,
}

impl ExposureChangesReport {
    /// The report of `changes` from `from` to `to`.
    pub fn new(from: PointStamp, to: PointStamp, changes: Vec<ScopeChange>) -> Self {
        let grew = changes.iter().any(|c| c.enforced && !c.added.is_empty());
        ExposureChangesReport { from, to, changes, grew }
    }
}
