//! What evaluation needs to know about the directory: users, transitive group membership,
//! active role assignments and service principals, taken from any state of the tenant.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde_json::Value;

use crate::vocab::GuestType;

/// A user as Conditional Access sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// Whether the account can sign in at all.
    pub account_enabled: bool,
    /// Where the user works from (`usageLocation`), when set.
    pub usage_location: Option<String>,
    /// Job title, for the break-glass heuristic.
    pub job_title: Option<String>,
}

impl User {
    /// A user from its Graph representation (`None` without an id).
    pub fn from_graph(object: &Value) -> Option<User> {
        let text = |k: &str| object.get(k).and_then(Value::as_str).map(str::to_string);
        let id = text("id")?;
        Some(User {
            user_principal_name: text("userPrincipalName").unwrap_or_else(|| id.clone()),
            display_name: text("displayName").unwrap_or_default(),
            user_type: text("userType").unwrap_or_else(|| "Member".into()),
            account_enabled: object.get("accountEnabled").and_then(Value::as_bool) != Some(false),
            usage_location: text("usageLocation"),
            job_title: text("jobTitle"),
            id,
        })
    }

    /// The kind of guest or external user this user is, as far as the directory tells:
    /// B2B accounts carry `#EXT#` in their user principal name.
    pub fn guest_type(&self) -> Option<GuestType> {
        let external = self.user_principal_name.contains("#EXT#");
        match (self.user_type.eq_ignore_ascii_case("guest"), external) {
            (true, true) => Some(GuestType::B2bCollaborationGuest),
            (true, false) => Some(GuestType::InternalGuest),
            (false, true) => Some(GuestType::B2bCollaborationMember),
            (false, false) => None,
        }
    }
}

use rewind_model::roles::PROTECTED_ROLES;
pub use rewind_model::roles::{GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};

/// The principal an assignment makes protected: one of the [`PROTECTED_ROLES`], tenant-wide
/// (Conditional Access and Rewind ignore roles scoped to a unit or an object).
pub fn protected_principal(assignment: &Value) -> Option<&str> {
    let text = |k: &str| assignment.get(k).and_then(Value::as_str);
    let role = text("roleDefinitionId")?;
    let tenant_wide = text("directoryScopeId").is_none_or(|s| s == "/");
    (tenant_wide && PROTECTED_ROLES.iter().any(|(id, _)| *id == role))
        .then(|| text("principalId"))
        .flatten()
}

/// Users, groups, roles and service principals of one state.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    users: HashMap<String, User>,
    /// Member id → the groups that list it directly.
    parents: HashMap<String, Vec<String>>,
    /// Group id → its direct members.
    members: HashMap<String, Vec<String>>,
    /// Principal id → role definition ids assigned to it, active and tenant-wide.
    roles: HashMap<String, Vec<String>>,
    /// Service principal object id → application id.
    service_principals: HashMap<String, String>,
    /// Application id → display name.
    app_names: HashMap<String, String>,
    /// Role definition id → display name.
    role_names: HashMap<String, String>,
    /// Group id → display name.
    group_names: HashMap<String, String>,
    /// User id → registered authentication methods, where captured.
    methods: HashMap<String, Vec<Value>>,
    /// Principal id → role definition ids it is eligible for (PIM), tenant-wide.
    eligible: HashMap<String, Vec<String>>,
}

/// What one user is, resolved: their transitive groups and active roles.
#[derive(Debug, Clone)]
pub struct Principal<'a> {
    /// The user.
    pub user: &'a User,
    /// Every group the user is in, directly or through nested groups.
    pub groups: HashSet<&'a str>,
    /// Every role definition id the user holds actively, directly or through a group.
    pub roles: HashSet<&'a str>,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Adds a user.
    pub fn add_user(&mut self, object: &Value) {
        if let Some(u) = User::from_graph(object) {
            self.users.insert(u.id.clone(), u);
        }
    }

    /// Adds a group with its `members` (ids, as Rewind keeps them).
    pub fn add_group(&mut self, object: &Value) {
        let Some(id) = object.get("id").and_then(Value::as_str) else {
            return;
        };
        if let Some(name) = object.get("displayName").and_then(Value::as_str) {
            self.group_names.insert(id.to_string(), name.to_string());
        }
        let members: Vec<String> = object
            .get("members")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.as_str().or_else(|| m.get("id").and_then(Value::as_str)))
            .map(str::to_string)
            .collect();
        for m in &members {
            self.parents.entry(m.clone()).or_default().push(id.to_string());
        }
        self.members.insert(id.to_string(), members);
    }

    /// Adds an active role assignment. Only tenant-wide ones (`directoryScopeId` `/`) count:
    /// Conditional Access does not target roles scoped to an administrative unit or object.
    pub fn add_role_assignment(&mut self, object: &Value) {
        if let Some((principal, role)) = tenant_wide(object) {
            self.roles.entry(principal).or_default().push(role);
        }
    }

    /// Adds a PIM eligibility (`unifiedRoleEligibilitySchedule`): not a role until activated,
    /// but an administrator all the same. Tenant-wide ones only, as for active roles.
    pub fn add_role_eligibility(&mut self, object: &Value) {
        if let Some((principal, role)) = tenant_wide(object) {
            self.eligible.entry(principal).or_default().push(role);
        }
    }

    /// The role definition ids a user is eligible for, directly or through their groups.
    pub fn eligible_roles(&self, user: &str) -> Vec<&str> {
        std::iter::once(user)
            .chain(self.groups_of(user))
            .filter_map(|p| self.eligible.get(p))
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// The groups that list `member` directly.
    pub fn direct_groups(&self, member: &str) -> impl Iterator<Item = &str> {
        self.parents.get(member).into_iter().flatten().map(String::as_str)
    }

    /// A group's direct members.
    pub fn members_of(&self, group: &str) -> &[String] {
        self.members.get(group).map_or(&[], Vec::as_slice)
    }

    /// Whether `id` is a group of this directory.
    pub fn is_group(&self, id: &str) -> bool {
        self.members.contains_key(id)
    }

    /// Principals (users or groups) assigned `role` actively, tenant-wide.
    pub fn assigned(&self, role: &str) -> Vec<&str> {
        principals_with(&self.roles, role)
    }

    /// Principals (users or groups) eligible for `role`, tenant-wide.
    pub fn eligible_for(&self, role: &str) -> Vec<&str> {
        principals_with(&self.eligible, role)
    }

    /// Adds a role definition, for its name.
    pub fn add_role_definition(&mut self, object: &Value) {
        let text = |k: &str| object.get(k).and_then(Value::as_str);
        if let (Some(id), Some(name)) = (text("id"), text("displayName")) {
            self.role_names.insert(id.to_string(), name.to_string());
            if let Some(template) = text("templateId") {
                self.role_names.insert(template.to_string(), name.to_string());
            }
        }
    }

    /// Adds a service principal.
    pub fn add_service_principal(&mut self, object: &Value) {
        let text = |k: &str| object.get(k).and_then(Value::as_str);
        if let (Some(id), Some(app)) = (text("id"), text("appId")) {
            self.service_principals.insert(id.to_string(), app.to_string());
            if let Some(name) = text("displayName") {
                self.app_names.insert(app.to_string(), name.to_string());
            }
        }
    }

    /// Adds the authentication methods registered by a user.
    pub fn add_methods(&mut self, user: &str, methods: Vec<Value>) {
        self.methods.insert(user.to_string(), methods);
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }

    /// Every user.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// A user by id or user principal name (case-insensitive).
    pub fn find_user(&self, id_or_upn: &str) -> Option<&User> {
        self.users.get(id_or_upn).or_else(|| {
            self.users.values().find(|u| u.user_principal_name.eq_ignore_ascii_case(id_or_upn))
        })
    }

    /// The application id of a service principal.
    pub fn app_of_service_principal(&self, id: &str) -> Option<&str> {
        self.service_principals.get(id).map(String::as_str)
    }

    /// The service principal of an application, by application id.
    pub fn service_principal_of_app(&self, app_id: &str) -> Option<&str> {
        self.service_principals
            .iter()
            .find(|(_, a)| a.eq_ignore_ascii_case(app_id))
            .map(|(id, _)| id.as_str())
    }

    /// An application's display name, when the tenant has its service principal.
    pub fn app_name(&self, app_id: &str) -> Option<&str> {
        self.app_names.get(app_id).map(String::as_str)
    }

    /// An application id by its display name (case-insensitive), when unique.
    pub fn app_by_name(&self, name: &str) -> Option<&str> {
        let mut found = self
            .app_names
            .iter()
            .filter(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(id, _)| id.as_str());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// A role's display name.
    pub fn role_name(&self, id: &str) -> Option<&str> {
        self.role_names.get(id).map(String::as_str)
    }

    /// A group's display name.
    pub fn group_name(&self, id: &str) -> Option<&str> {
        self.group_names.get(id).map(String::as_str)
    }

    /// The methods a user registered, when they were captured.
    pub fn methods(&self, user: &str) -> Option<&[Value]> {
        self.methods.get(user).map(Vec::as_slice)
    }

    /// Every group `member` is in, following nested groups (cycles are harmless).
    pub fn groups_of(&self, member: &str) -> HashSet<&str> {
        let mut seen: HashSet<&str> = HashSet::default();
        let mut queue: Vec<&str> = vec![member];
        while let Some(m) = queue.pop() {
            for g in self.parents.get(m).into_iter().flatten() {
                if seen.insert(g.as_str()) {
                    queue.push(g.as_str());
                }
            }
        }
        seen
    }

    /// The user `id` with their groups and active roles.
    pub fn principal(&self, id: &str) -> Option<Principal<'_>> {
        let user = self.users.get(id)?;
        let groups = self.groups_of(id);
        let roles = std::iter::once(id)
            .chain(groups.iter().copied())
            .filter_map(|p| self.roles.get(p))
            .flatten()
            .map(String::as_str)
            .collect();
        Some(Principal { user, groups, roles })
    }

    /// Users holding `role` actively, directly or through a (role-assignable) group.
    pub fn holders_of(&self, role: &str) -> Vec<&User> {
        self.users_under(self.assigned(role))
    }

    /// Users eligible for `role` (PIM), directly or through a group.
    pub fn eligible_holders_of(&self, role: &str) -> Vec<&User> {
        self.users_under(self.eligible_for(role))
    }

    /// The users among `principals` and the (nested) members of the groups among them.
    fn users_under<'s>(&'s self, principals: Vec<&'s str>) -> Vec<&'s User> {
        let mut out: Vec<&User> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::default();
        let mut queue = principals;
        while let Some(p) = queue.pop() {
            if !seen.insert(p) {
                continue;
            }
            if let Some(u) = self.users.get(p) {
                out.push(u);
            }
            queue.extend(self.members.get(p).into_iter().flatten().map(String::as_str));
        }
        out.sort_by(|a, b| a.user_principal_name.cmp(&b.user_principal_name));
        out
    }
}

/// The principal and role of an assignment or eligibility that is tenant-wide (`directoryScopeId`
/// `/` or absent).
fn tenant_wide(object: &Value) -> Option<(String, String)> {
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    if text("directoryScopeId").is_some_and(|s| s != "/") {
        return None;
    }
    Some((text("principalId")?.to_string(), text("roleDefinitionId")?.to_string()))
}

fn principals_with<'m>(map: &'m HashMap<String, Vec<String>>, role: &str) -> Vec<&'m str> {
    map.iter()
        .filter(|(_, roles)| roles.iter().any(|r| r == role))
        .map(|(p, _)| p.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn membership_is_transitive_and_roles_come_through_groups() {
        let mut d = Directory::new();
        d.add_user(&json!({"id": "u1", "userPrincipalName": "a@x"}));
        d.add_group(&json!({"id": "g1", "members": ["u1"]}));
        d.add_group(&json!({"id": "g2", "members": ["g1"]}));
        d.add_group(&json!({"id": "g3", "members": ["g2", "g3"]}));
        d.add_role_assignment(&json!({"principalId": "g2", "roleDefinitionId": GLOBAL_ADMINISTRATOR, "directoryScopeId": "/"}));
        d.add_role_assignment(&json!({"principalId": "u1", "roleDefinitionId": "r2", "directoryScopeId": "/administrativeUnits/x"}));
        let p = d.principal("u1").unwrap();
        let mut groups: Vec<&str> = p.groups.iter().copied().collect();
        groups.sort_unstable();
        assert_eq!(groups, ["g1", "g2", "g3"]);
        assert!(p.roles.contains(GLOBAL_ADMINISTRATOR));
        assert!(!p.roles.contains("r2"));
        assert_eq!(d.holders_of(GLOBAL_ADMINISTRATOR)[0].id, "u1");
    }

    #[test]
    fn guest_types_from_the_directory() {
        let user = |upn: &str, t: &str| {
            User::from_graph(&json!({"id": "u", "userPrincipalName": upn, "userType": t})).unwrap()
        };
        assert_eq!(user("a@x", "Member").guest_type(), None);
        assert_eq!(
            user("a_b.com#EXT#@x", "Guest").guest_type(),
            Some(GuestType::B2bCollaborationGuest)
        );
        assert_eq!(user("a@x", "Guest").guest_type(), Some(GuestType::InternalGuest));
    }
}
