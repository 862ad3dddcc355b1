//! The effective scope of every policy: who it includes and, above all, who it excludes and
//! how — named, through which chain of nested groups, through which role (active, or eligible
//! and so excluded the moment it is activated), or as a guest. Adding oneself to a policy's
//! exclusion group (or to a group nested in it, or to an excluded role) is the classic way
//! around Conditional Access; listing exclusions per snapshot, and what changed between two,
//! makes it visible.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::directory::Directory;
use crate::evaluate::PolicySet;
use crate::policy::{Grant, State, Who};

/// How a principal is excluded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "via")]
pub enum Via {
    /// Named in `excludeUsers`.
    User,
    /// A member of an excluded group: the group first, then each nested group down to the one
    /// that lists the principal.
    Group {
        /// Group names, outermost first.
        chain: Vec<String>,
    },
    /// Holds an excluded role: actively, or eligible (excluded once activated); `through`
    /// names the group the role is assigned to, if any.
    Role {
        /// The role's name.
        role: String,
        /// Eligible through PIM rather than active.
        eligible: bool,
        /// The (role-assignable) group holding the role, when not the principal itself.
        through: Option<String>,
    },
}

impl Via {
    /// In words: `group 'Break glass' › 'Nested'`.
    pub fn label(&self) -> String {
        match self {
            Via::User => "named in the exclusions".into(),
            Via::Group { chain } => format!(
                "group {}",
                chain.iter().map(|g| format!("'{g}'")).collect::<Vec<_>>().join(" › ")
            ),
            Via::Role { role, eligible, through } => {
                let how = if *eligible { "eligible for role" } else { "role" };
                match through {
                    Some(g) => format!("{how} '{role}' through group '{g}'"),
                    None => format!("{how} '{role}'"),
                }
            }
        }
    }
}

/// One excluded principal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Excluded {
    /// Object id.
    pub id: String,
    /// User principal name, or the display name of another kind of principal, when known.
    pub name: Option<String>,
    /// How.
    #[serde(flatten)]
    pub via: Via,
    /// The objects along the path by id — the excluded groups down to the one listing the
    /// principal, or the role and its holder: what a change is judged by (renaming a group is
    /// not a new exclusion) and whose changes caused it.
    #[serde(skip)]
    pub objects: Vec<String>,
}

impl Excluded {
    /// Who and by which path, by ids and the kind of path: equal keys are one exclusion.
    pub fn path_key(&self) -> String {
        let how = match &self.via {
            Via::User => "user",
            Via::Group { .. } => "group",
            Via::Role { eligible: false, .. } => "role",
            Via::Role { eligible: true, .. } => "eligible",
        };
        format!("{} {how} {}", self.id, self.objects.join(" "))
    }
}

/// One policy's effective scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyScope {
    /// The policy's id.
    pub id: String,
    /// Its display name.
    pub display_name: String,
    /// `enabled`, `enabledForReportingButNotEnforced` or `disabled`.
    pub state: State,
    /// Whether it blocks access.
    pub blocks: bool,
    /// Who it includes, in words.
    pub includes: String,
    /// Excluded principals, each by every path that excludes them.
    pub excluded: Vec<Excluded>,
    /// Guests and external users excluded as a class, in words.
    pub excluded_guests: Option<String>,
}

impl PolicyScope {
    /// Whether the policy enforces.
    pub fn enforced(&self) -> bool {
        self.state == State::Enabled
    }
}

/// Every readable policy's effective scope, by display name.
pub fn exposure(set: &PolicySet, dir: &Directory) -> Vec<PolicyScope> {
    let mut scopes: Vec<PolicyScope> = set
        .policies
        .iter()
        .filter_map(|p| {
            let rules = p.rules.as_ref().ok()?;
            let mut excluded = excluded(&rules.exclude, dir);
            excluded.sort_by(|a, b| (&a.name, a.path_key()).cmp(&(&b.name, b.path_key())));
            excluded.dedup();
            Some(PolicyScope {
                id: p.id.clone(),
                display_name: p.name.clone(),
                state: p.state,
                blocks: rules.grant.as_ref().is_some_and(Grant::blocks),
                includes: includes(&rules.include, dir),
                excluded,
                excluded_guests: guests(&rules.exclude),
            })
        })
        .collect();
    scopes.sort_by(|a, b| (&a.display_name, &a.id).cmp(&(&b.display_name, &b.id)));
    scopes
}

fn includes(who: &Who, dir: &Directory) -> String {
    if who.all {
        return "all users".into();
    }
    let mut parts = Vec::new();
    let names = |ids: &[String], name: &dyn Fn(&str) -> Option<String>| -> String {
        ids.iter()
            .map(|id| format!("'{}'", name(id).unwrap_or_else(|| id.clone())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !who.users.is_empty() {
        parts.push(format!(
            "users {}",
            names(&who.users, &|id| dir.user(id).map(|u| u.user_principal_name.clone()))
        ));
    }
    if !who.groups.is_empty() {
        parts.push(format!(
            "groups {}",
            names(&who.groups, &|id| dir.group_name(id).map(str::to_string))
        ));
    }
    if !who.roles.is_empty() {
        parts.push(format!(
            "roles {}",
            names(&who.roles, &|id| dir.role_name(id).map(str::to_string))
        ));
    }
    if let Some(g) = guests(who) {
        parts.push(g);
    }
    if parts.is_empty() { "nobody among users".into() } else { parts.join("; ") }
}

fn guests(who: &Who) -> Option<String> {
    if who.guests_or_external {
        return Some("guests or external users".into());
    }
    let ext = who.external.as_ref()?;
    let types: Vec<String> = ext.types.iter().map(ToString::to_string).collect();
    Some(match &ext.tenants {
        None => format!("guests ({}) from any tenant", types.join(", ")),
        Some(t) => format!("guests ({}) from {} tenants", types.join(", "), t.len()),
    })
}

fn excluded(who: &Who, dir: &Directory) -> Vec<Excluded> {
    let mut out = Vec::new();
    let name = |id: &str| {
        dir.user(id)
            .map(|u| u.user_principal_name.clone())
            .or_else(|| dir.group_name(id).map(str::to_string))
    };
    for u in &who.users {
        out.push(Excluded { id: u.clone(), name: name(u), via: Via::User, objects: Vec::new() });
    }
    for g in &who.groups {
        for (member, ids) in members_with_chains(g, dir) {
            let chain = ids.iter().map(|g| dir.group_name(g).unwrap_or(g).to_string()).collect();
            out.push(Excluded {
                name: name(&member),
                id: member,
                via: Via::Group { chain },
                objects: ids,
            });
        }
    }
    for role in &who.roles {
        let role_name = dir.role_name(role).unwrap_or(role).to_string();
        for (eligible, holders) in [(false, dir.assigned(role)), (true, dir.eligible_for(role))] {
            for holder in holders {
                let mut reached: Vec<(String, Option<String>)> = Vec::new();
                if dir.is_group(holder) {
                    let group = dir.group_name(holder).unwrap_or(holder).to_string();
                    for (member, _) in members_with_chains(holder, dir) {
                        reached.push((member, Some(group.clone())));
                    }
                } else {
                    reached.push((holder.to_string(), None));
                }
                for (id, through) in reached {
                    out.push(Excluded {
                        name: name(&id),
                        id,
                        via: Via::Role { role: role_name.clone(), eligible, through },
                        objects: vec![role.clone(), holder.to_string()],
                    });
                }
            }
        }
    }
    out
}

/// Every principal below `group` that is not itself a group, with the chain of group ids from
/// `group` to the group listing it (the shortest, found breadth-first; cycles are harmless).
fn members_with_chains(group: &str, dir: &Directory) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::from([group]);
    let mut level: Vec<(&str, Vec<String>)> = vec![(group, vec![group.to_string()])];
    while !level.is_empty() {
        let mut next = Vec::new();
        for (g, chain) in level {
            for m in dir.members_of(g) {
                if dir.is_group(m) {
                    if seen.insert(m.as_str()) {
                        let mut deeper = chain.clone();
                        deeper.push(m.clone());
                        next.push((m.as_str(), deeper));
                    }
                } else {
                    out.push((m.clone(), chain.clone()));
                }
            }
        }
        level = next;
    }
    out
}

/// What changed in one policy's exclusions between two points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopeChange {
    /// The policy's id.
    pub id: String,
    /// Its display name (after, or before when it is gone).
    pub display_name: String,
    /// Whether it enforces after.
    pub enforced: bool,
    /// Whether it blocks after.
    pub blocks: bool,
    /// Exclusions that appeared (a principal by a new path counts).
    pub added: Vec<Excluded>,
    /// Exclusions that went away.
    pub removed: Vec<Excluded>,
    /// The class of guests excluded, before and after, when it changed.
    pub guests: Option<(Option<String>, Option<String>)>,
}

/// Per policy present on both sides, what changed in its exclusions. Policies created or
/// deleted in between are other rules' business (a new policy's exclusions weaken nothing).
pub fn changes(before: &[PolicyScope], after: &[PolicyScope]) -> Vec<ScopeChange> {
    let earlier: BTreeMap<&str, &PolicyScope> = before.iter().map(|p| (p.id.as_str(), p)).collect();
    after
        .iter()
        .filter_map(|a| {
            let b = earlier.get(a.id.as_str())?;
            let key = Excluded::path_key;
            let was: BTreeSet<_> = b.excluded.iter().map(key).collect();
            let now: BTreeSet<_> = a.excluded.iter().map(key).collect();
            let added: Vec<Excluded> =
                a.excluded.iter().filter(|e| !was.contains(&key(e))).cloned().collect();
            let removed: Vec<Excluded> =
                b.excluded.iter().filter(|e| !now.contains(&key(e))).cloned().collect();
            let guests = (a.excluded_guests != b.excluded_guests)
                .then(|| (b.excluded_guests.clone(), a.excluded_guests.clone()));
            (!added.is_empty() || !removed.is_empty() || guests.is_some()).then(|| ScopeChange {
                id: a.id.clone(),
                display_name: a.display_name.clone(),
                enforced: a.enforced(),
                blocks: a.blocks,
                added,
                removed,
                guests,
            })
        })
        .collect()
}
