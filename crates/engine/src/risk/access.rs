//! The two rules that look at who can get in and who slipped out, from what the lockout and
//! exposure analyses found on both sides of the changes (the app computes them; the rules
//! judge and word them): `policy-exclusion-grew` and `protected-principal-weakened`.

use rewind_model::Actor;
use serde::Serialize;

use super::{Context, Finding, ObjectChange, Rule, Severity};

/// Someone newly excluded from an enforced policy, by one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrownExclusion {
    /// The policy's id.
    pub policy_id: String,
    /// Its name.
    pub policy: String,
    /// Whether it blocks access.
    pub blocks: bool,
    /// The principal's id.
    pub principal_id: String,
    /// Its name (user principal name).
    pub principal: String,
    /// How, in words (`group 'CA - Service Accounts' › 'Helpdesk tools'`).
    pub path: String,
    /// The path by ids: part of the fingerprint.
    pub path_key: String,
    /// The objects along the path (the policy, groups, role holders): whose changes count.
    pub objects: Vec<String>,
    /// The principal holds a privileged role, active or eligible.
    pub privileged: bool,
}

/// A break-glass account or administrator that lost a usable method or no longer meets a
/// policy's requirement with the methods it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weakened {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub principal: String,
    /// A break-glass account (otherwise an administrator).
    pub break_glass: bool,
    /// Method modes usable before and not after.
    pub lost: Vec<String>,
    /// Policies whose requirements its methods met before and do not now.
    pub unmet: Vec<String>,
}

/// Actors of the changes to `objects`, or of every change when none of them changed (an
/// exclusion can move through a chain the rule cannot see the end of).
fn actors_of(changes: &[ObjectChange<'_>], objects: &[String]) -> Vec<Actor> {
    let mut actors: Vec<Actor> = Vec::new();
    let touched: Vec<&ObjectChange<'_>> =
        changes.iter().filter(|c| objects.iter().any(|o| o == c.key)).collect();
    let from = if touched.is_empty() { changes.iter().collect() } else { touched };
    for c in from {
        for a in c.actors {
            if !actors.contains(a) {
                actors.push(a.clone());
            }
        }
    }
    actors
}

fn first_version<'a>(changes: &[ObjectChange<'a>]) -> &'a str {
    changes.iter().map(|c| c.version).min().unwrap_or_default()
}

pub(super) fn exclusion_grew(changes: &[ObjectChange<'_>], ctx: &Context, out: &mut Vec<Finding>) {
    let first = first_version(changes);
    for g in &ctx.exclusions {
        // Break-glass accounts are meant to be excluded (Microsoft's guidance).
        if ctx.break_glass.contains(&g.principal_id) {
            continue;
        }
        let severity = if g.privileged || g.blocks { Severity::Critical } else { Severity::High };
        let what = match (g.privileged, g.blocks) {
            (true, true) => "privileged principal escapes a block policy",
            (true, false) => "privileged principal escapes a policy",
            (false, true) => "someone escapes a block policy",
            (false, false) => "someone escapes a policy",
        };
        out.push(Finding {
            rule: Rule::PolicyExclusionGrew,
            severity,
            summary: format!(
                "{} is now excluded from '{}' via {} ({what})",
                g.principal, g.policy, g.path
            ),
            kind: Some(rewind_model::Kind::ConditionalAccessPolicy),
            id: Some(g.policy_id.clone()),
            display_name: Some(g.policy.clone()),
            actors: actors_of(changes, &g.objects),
            fingerprint: format!(
                "{}|{}|{}|{}|{first}",
                Rule::PolicyExclusionGrew.id(),
                g.policy_id,
                g.principal_id,
                g.path_key
            ),
        });
    }
}

pub(super) fn principal_weakened(
    changes: &[ObjectChange<'_>],
    ctx: &Context,
    out: &mut Vec<Finding>,
) {
    let first = first_version(changes);
    for w in &ctx.weakened {
        let mut parts = Vec::new();
        if !w.lost.is_empty() {
            parts.push(format!("can no longer use {}", w.lost.join(", ")));
        }
        if !w.unmet.is_empty() {
            parts.push(format!(
                "its methods no longer meet {}",
                w.unmet.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")
            ));
        }
        let who = if w.break_glass { "break-glass account" } else { "administrator" };
        out.push(Finding {
            rule: Rule::ProtectedPrincipalWeakened,
            severity: if w.break_glass { Severity::Critical } else { Severity::High },
            summary: format!("{who} {} {}", w.principal, parts.join("; ")),
            kind: Some(rewind_model::Kind::User),
            id: Some(w.id.clone()),
            display_name: Some(w.principal.clone()),
            actors: actors_of(changes, std::slice::from_ref(&w.id)),
            fingerprint: format!(
                "{}|{}|{}|{}|{first}",
                Rule::ProtectedPrincipalWeakened.id(),
                w.id,
                w.lost.join(","),
                w.unmet.join(",")
            ),
        });
    }
}
