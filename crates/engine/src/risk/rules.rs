//! The rules themselves, one function each, over the changes of one evaluation.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::{Actor, Kind, display_name};
use serde_json::Value;

use super::catalog::{
    GLOBAL_ADMINISTRATOR, STRONG_METHODS, WEAK_METHODS, privileged_permission, privileged_role,
};
use super::{Context, Finding, ObjectChange, Rule, Settings, Severity, Verdict};

pub(super) fn run(
    rule: Rule,
    changes: &[ObjectChange<'_>],
    ctx: &Context,
    settings: &Settings,
    out: &mut Vec<Finding>,
) {
    match rule {
        Rule::LockoutWorse => lockout_worse(changes, ctx, out),
        Rule::BulkChange => bulk(changes, settings, out),
        Rule::NewActor => new_actors(changes, ctx, out),
        Rule::PolicyExclusionGrew => super::access::exclusion_grew(changes, ctx, out),
        Rule::ProtectedPrincipalWeakened => super::access::principal_weakened(changes, ctx, out),
        _ => {
            for c in changes {
                if let Some(f) = per_object(rule, c, ctx) {
                    out.push(f);
                }
            }
        }
    }
}

fn per_object(rule: Rule, c: &ObjectChange<'_>, ctx: &Context) -> Option<Finding> {
    match (rule, c.kind) {
        (Rule::CaPolicyWeakened, Kind::ConditionalAccessPolicy) => policy_weakened(c),
        (Rule::BreakGlassExclusionRemoved, Kind::ConditionalAccessPolicy) => {
            exclusion_removed(c, ctx)
        }
        (Rule::BroadBlockPolicy, Kind::ConditionalAccessPolicy) => broad_block(c),
        (Rule::PrivilegedRoleAssigned, Kind::RoleAssignment | Kind::RoleEligibilitySchedule) => {
            role_assigned(c, ctx)
        }
        (Rule::CredentialAdded, Kind::Application | Kind::ServicePrincipal) => {
            credential_added(c, ctx)
        }
        (Rule::CredentialAdded, Kind::FederatedIdentityCredential) => federated_added(c, ctx),
        (Rule::PermissionGranted, Kind::AppRoleAssignment) => app_role_granted(c, ctx),
        (Rule::PermissionGranted, Kind::OAuth2PermissionGrant) => consent_granted(c),
        (
            Rule::AuthenticationWeakened,
            Kind::IdentitySecurityDefaultsEnforcementPolicy
            | Kind::AuthenticationMethodConfiguration,
        ) => authentication_weakened(c),
        _ => None,
    }
}

fn text<'v>(v: Option<&'v Value>, pointer: &str) -> Option<&'v str> {
    v?.pointer(pointer)?.as_str()
}

fn strings(v: Option<&Value>, pointer: &str) -> BTreeSet<String> {
    v.and_then(|v| v.pointer(pointer))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn name(c: &ObjectChange<'_>) -> String {
    c.after.or(c.before).and_then(display_name).map_or_else(|| c.key.to_string(), str::to_string)
}

/// A finding about one object's change.
fn about(rule: Rule, severity: Severity, c: &ObjectChange<'_>, summary: String) -> Finding {
    Finding {
        rule,
        severity,
        summary,
        kind: Some(c.kind),
        id: Some(c.key.to_string()),
        display_name: c.after.or(c.before).and_then(display_name).map(str::to_string),
        actors: c.actors.to_vec(),
        fingerprint: format!("{}|{}|{}|{}", rule.id(), c.kind.name(), c.key, c.version),
    }
}

fn policy_weakened(c: &ObjectChange<'_>) -> Option<Finding> {
    let was = text(c.before, "/state")?;
    let enforced = was == "enabled";
    let what = match text(c.after, "/state") {
        None => "deleted",
        Some("disabled") if was != "disabled" => "disabled",
        Some("enabledForReportingButNotEnforced") if enforced => "switched to report-only",
        _ => return None,
    };
    let severity = if enforced { Severity::High } else { Severity::Medium };
    let summary = format!("Conditional Access policy '{}' {what} (was {was})", name(c));
    Some(about(Rule::CaPolicyWeakened, severity, c, summary))
}

fn exclusion_removed(c: &ObjectChange<'_>, ctx: &Context) -> Option<Finding> {
    let after = c.after?;
    if text(Some(after), "/state") == Some("disabled") {
        return None;
    }
    let excluded = |v| {
        let mut s = strings(v, "/conditions/users/excludeUsers");
        s.extend(strings(v, "/conditions/users/excludeGroups"));
        s
    };
    let now = excluded(Some(after));
    let removed: Vec<String> = excluded(c.before)
        .into_iter()
        .filter(|id| ctx.break_glass.contains(id) && !now.contains(id))
        .map(|id| ctx.name_of(&id))
        .collect();
    if removed.is_empty() {
        return None;
    }
    let summary = format!(
        "break-glass exclusion {} removed from Conditional Access policy '{}'",
        removed.join(", "),
        name(c)
    );
    Some(about(Rule::BreakGlassExclusionRemoved, Severity::Critical, c, summary))
}

fn blocks_everyone(v: Option<&Value>) -> bool {
    text(v, "/state") == Some("enabled")
        && strings(v, "/grantControls/builtInControls").contains("block")
        && strings(v, "/conditions/users/includeUsers").contains("All")
}

fn broad_block(c: &ObjectChange<'_>) -> Option<Finding> {
    if !blocks_everyone(c.after) || blocks_everyone(c.before) {
        return None;
    }
    let excluded = strings(c.after, "/conditions/users/excludeUsers").len()
        + strings(c.after, "/conditions/users/excludeGroups").len();
    let summary = format!(
        "Conditional Access policy '{}' now blocks all users ({})",
        name(c),
        count(excluded, "exclusion", "exclusions")
    );
    Some(about(Rule::BroadBlockPolicy, Severity::High, c, summary))
}

fn role_assigned(c: &ObjectChange<'_>, ctx: &Context) -> Option<Finding> {
    if c.before.is_some() {
        return None;
    }
    let role = text(c.after, "/roleDefinitionId")?;
    let role_name = privileged_role(role)?;
    let principal = text(c.after, "/principalId").unwrap_or_default();
    let eligible = c.kind == Kind::RoleEligibilitySchedule;
    let severity = if role.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR) && !eligible {
        Severity::Critical
    } else {
        Severity::High
    };
    let summary = format!(
        "{} {role_name} assigned to {}",
        if eligible { "eligible" } else { "active" },
        ctx.name_of(principal)
    );
    Some(about(Rule::PrivilegedRoleAssigned, severity, c, summary))
}

fn key_ids(v: Option<&Value>) -> BTreeSet<String> {
    ["/passwordCredentials", "/keyCredentials"]
        .iter()
        .filter_map(|p| v.and_then(|v| v.pointer(p)).and_then(Value::as_array))
        .flatten()
        .filter_map(|c| c.get("keyId").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn credential_severity(ctx: &Context, ids: &[&str]) -> (Severity, &'static str) {
    if ids.iter().any(|id| ctx.privileged_apps.contains(*id)) {
        (Severity::High, " (it holds privileged permissions)")
    } else {
        (Severity::Medium, "")
    }
}

fn credential_added(c: &ObjectChange<'_>, ctx: &Context) -> Option<Finding> {
    let before = key_ids(c.before);
    let added = key_ids(c.after).difference(&before).count();
    if added == 0 {
        return None;
    }
    let app_id = text(c.after, "/appId").unwrap_or_default();
    let (severity, why) = credential_severity(ctx, &[c.key, app_id]);
    let what = if c.kind == Kind::Application { "application" } else { "service principal" };
    let summary =
        format!("{} added to {what} '{}'{why}", count(added, "credential", "credentials"), name(c));
    Some(about(Rule::CredentialAdded, severity, c, summary))
}

fn federated_added(c: &ObjectChange<'_>, ctx: &Context) -> Option<Finding> {
    if c.before.is_some() {
        return None;
    }
    let parent = rewind_model::key::top(c.key);
    let app_id = ctx.app_ids.get(parent).map_or("", String::as_str);
    let (severity, why) = credential_severity(ctx, &[parent, app_id]);
    let summary = format!(
        "federated credential '{}' (issuer {}) added to application '{}'{why}",
        name(c),
        text(c.after, "/issuer").unwrap_or("?"),
        ctx.name_of(parent)
    );
    Some(about(Rule::CredentialAdded, severity, c, summary))
}

fn app_role_granted(c: &ObjectChange<'_>, ctx: &Context) -> Option<Finding> {
    if c.before.is_some() {
        return None;
    }
    let role = text(c.after, "/appRoleId")?;
    let permission = ctx.permissions.get(role)?;
    if !privileged_permission(permission) {
        return None;
    }
    let principal = text(c.after, "/principalDisplayName")
        .map_or_else(|| ctx.name_of(text(c.after, "/principalId").unwrap_or("?")), str::to_string);
    let summary = format!(
        "privileged permission {permission} of {} granted to {principal}",
        text(c.after, "/resourceDisplayName").unwrap_or("an API")
    );
    Some(about(Rule::PermissionGranted, Severity::High, c, summary))
}

fn scopes(v: Option<&Value>) -> BTreeSet<String> {
    text(v, "/scope").unwrap_or_default().split_whitespace().map(str::to_string).collect()
}

fn consent_granted(c: &ObjectChange<'_>) -> Option<Finding> {
    if text(c.after, "/consentType") != Some("AllPrincipals") {
        return None;
    }
    let before = if text(c.before, "/consentType") == Some("AllPrincipals") {
        scopes(c.before)
    } else {
        BTreeSet::new()
    };
    let added: Vec<String> = scopes(c.after).difference(&before).cloned().collect();
    if added.is_empty() {
        return None;
    }
    let severity = if added.iter().any(|s| privileged_permission(s)) {
        Severity::High
    } else {
        Severity::Medium
    };
    let summary = format!(
        "admin consent for all users granted to {}: {}",
        text(c.after, "/clientId").unwrap_or("?"),
        added.join(" ")
    );
    Some(about(Rule::PermissionGranted, severity, c, summary))
}

fn authentication_weakened(c: &ObjectChange<'_>) -> Option<Finding> {
    let summary = if c.kind == Kind::IdentitySecurityDefaultsEnforcementPolicy {
        let was = c.before?.get("isEnabled")?.as_bool()?;
        let now = c.after?.get("isEnabled")?.as_bool()?;
        if !was || now {
            return None;
        }
        "security defaults turned off".to_string()
    } else {
        let method = c.key.to_ascii_lowercase();
        let (was, now) = (text(c.before, "/state"), text(c.after, "/state"));
        if WEAK_METHODS.contains(&method.as_str()) && now == Some("enabled") && was != now {
            format!("phishable authentication method {} enabled", c.key)
        } else if STRONG_METHODS.contains(&method.as_str())
            && was == Some("enabled")
            && now != Some("enabled")
        {
            format!("authentication method {} disabled", c.key)
        } else {
            return None;
        }
    };
    Some(about(Rule::AuthenticationWeakened, Severity::High, c, summary))
}

/// Who made a change; a change no audit record explains counts as one unknown actor's.
fn actors_of(c: &ObjectChange<'_>) -> Vec<Actor> {
    if c.actors.is_empty() { vec![Actor::named("unknown actor")] } else { c.actors.to_vec() }
}

/// One actor's deletions, updates and the kinds they touched, in one evaluation.
type Tally<'a> = (Actor, usize, usize, BTreeMap<&'a str, usize>);

fn bulk(changes: &[ObjectChange<'_>], settings: &Settings, out: &mut Vec<Finding>) {
    let mut by_actor: BTreeMap<String, Tally<'_>> = BTreeMap::new();
    for c in changes {
        let deleted = c.after.is_none();
        let updated = c.before.is_some() && c.after.is_some();
        if !deleted && !updated {
            continue;
        }
        for actor in actors_of(c) {
            let e = by_actor.entry(actor.key()).or_insert_with(|| (actor, 0, 0, BTreeMap::new()));
            if deleted {
                e.1 += 1;
            } else {
                e.2 += 1;
            }
            *e.3.entry(c.kind.name()).or_default() += 1;
        }
    }
    for (key, (actor, deletes, updates, kinds)) in by_actor {
        let many_deletes = deletes >= settings.bulk_deletes;
        if !many_deletes && updates < settings.bulk_updates {
            continue;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let first = changes
            .iter()
            .filter(|c| actors_of(c).iter().any(|a| a.key() == key))
            .map(|c| c.version)
            .min()
            .unwrap_or_default();
        out.push(Finding {
            rule: Rule::BulkChange,
            severity: Severity::High,
            summary: format!(
                "{} deleted {deletes} and updated {} ({})",
                actor.label(),
                count(updates, "object", "objects"),
                kinds.join(", ")
            ),
            kind: None,
            id: None,
            display_name: None,
            actors: vec![actor],
            fingerprint: format!("{}|{key}|{deletes}|{updates}|{first}", Rule::BulkChange.id()),
        });
    }
}

/// Identities never seen changing the tenant: by identity, so an app named like a known one is
/// still new.
fn new_actors(changes: &[ObjectChange<'_>], ctx: &Context, out: &mut Vec<Finding>) {
    let Some(known) = &ctx.known_actors else {
        return;
    };
    let mut counts: BTreeMap<String, (&Actor, usize)> = BTreeMap::new();
    for c in changes {
        for a in c.actors {
            let key = a.key();
            if !known.contains(&key) {
                counts.entry(key).or_insert((a, 0)).1 += 1;
            }
        }
    }
    for (key, (actor, n)) in counts {
        out.push(Finding {
            rule: Rule::NewActor,
            severity: Severity::Medium,
            summary: format!(
                "first change ever by {}: {}",
                actor.label(),
                count(n, "object", "objects")
            ),
            kind: None,
            id: None,
            display_name: None,
            actors: vec![actor.clone()],
            fingerprint: format!("{}|{key}", Rule::NewActor.id()),
        });
    }
}

/// Changes that can move the lockout verdict, whose actors the lockout finding names.
fn moves_access(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::ConditionalAccessPolicy
            | Kind::NamedLocation
            | Kind::AuthenticationStrengthPolicy
            | Kind::Group
            | Kind::User
            | Kind::RoleAssignment
            | Kind::UserAuthenticationMethods
    )
}

fn lockout_worse(changes: &[ObjectChange<'_>], ctx: &Context, out: &mut Vec<Finding>) {
    let Some((before, after)) = ctx.lockout else {
        return;
    };
    if after <= before {
        return;
    }
    let mut actors: Vec<Actor> = Vec::new();
    for c in changes.iter().filter(|c| moves_access(c.kind)) {
        for a in c.actors {
            if !actors.contains(a) {
                actors.push(a.clone());
            }
        }
    }
    let label = |v: Verdict| match v {
        Verdict::Ok => "ok",
        Verdict::AtRisk => "at risk",
        Verdict::Critical => "critical",
    };
    let first = changes.iter().map(|c| c.version).min().unwrap_or_default();
    out.push(Finding {
        rule: Rule::LockoutWorse,
        severity: if after == Verdict::Critical { Severity::Critical } else { Severity::High },
        summary: format!("lockout verdict went from {} to {}", label(before), label(after)),
        kind: None,
        id: None,
        display_name: None,
        actors,
        fingerprint: format!("{}|{}|{first}", Rule::LockoutWorse.id(), label(after)),
    });
}

/// `1 credential`, `2 credentials`: summaries are read by people.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
