//! How restore plans and their outcomes read on a terminal: Terraform's signs (+ create,
//! ~ update with the property diff, - delete, ↺ restore from the recycle bin), links,
//! remapped references, what must be done by hand and the guard's verdict.

use std::fmt::Write as _;

use rewind_app::restore::{Execution, Guard, Missing, Verification};
use rewind_engine::restore::{Action, NoticeKind, Plan, Step};
use rewind_policy::Verdict;
use rewind_store::SnapshotInfo;
use serde_json::Value;

use crate::text::{count, inert};

/// Steps shown before the rest are summarised (the JSON and `--plan-out` have them all).
const SHOWN: usize = 400;

/// Names of the ids a plan shows, by id.
pub type Names = std::collections::HashMap<String, String>;

pub fn plan(
    plan: &Plan,
    target: Option<&SnapshotInfo>,
    live: &SnapshotInfo,
    guard: &Guard,
    names: &Names,
) -> String {
    let mut s = heading(target, live);
    for step in plan.steps.iter().take(SHOWN) {
        step_text(&mut s, step, names);
    }
    if plan.steps.len() > SHOWN {
        let more = count(plan.steps.len() - SHOWN, "step", "steps");
        let _ = writeln!(s, "  … and {more} more (--json or --plan-out FILE lists them all)");
    }
    if plan.steps.is_empty() {
        s.push_str("  (no changes: the scope is as it was)\n");
    }
    let _ = writeln!(s, "\n{}", summary(plan));
    notices(&mut s, plan);
    let _ = writeln!(s, "\n{}", guard_line(guard));
    s
}

/// What the plan restores to and what it was planned against.
fn heading(target: Option<&SnapshotInfo>, live: &SnapshotInfo) -> String {
    let (id, at) = (live.id, live.taken_at);
    match target {
        Some(t) => format!(
            "Restore to snapshot {} ({}), planned against the tenant as of snapshot {id} ({at}):\n\n",
            t.id, t.taken_at
        ),
        None => format!("Plan, checked against the tenant as of snapshot {id} ({at}):\n\n"),
    }
}

/// What must be done by hand.
fn notices(s: &mut String, plan: &Plan) {
    if plan.notices.is_empty() {
        return;
    }
    let _ = writeln!(s, "\nTo do by hand ({}):", plan.notices.len());
    for n in &plan.notices {
        let what = match n.notice {
            NoticeKind::RestoreOnPremises => "restore on-premises",
            NoticeKind::RotateByHand => "rotate by hand",
            NoticeKind::NewPassword => "new password",
            NoticeKind::NotRestorable => "not restorable",
            NoticeKind::RedeemInvitation => "to redeem",
        };
        let whom = object(n.kind.name(), &n.id, n.display_name.as_deref());
        let _ = writeln!(s, "  {what:<19} {whom}: {}", n.detail);
    }
}

fn object(kind: &str, id: &str, name: Option<&str>) -> String {
    match name {
        // A composed name (an assignment's role and principal) carries its own quotes.
        Some(n) if n.contains('"') => format!("{kind} {n} ({id})"),
        Some(n) => format!("{kind} \"{n}\" ({id})"),
        None => format!("{kind} {id}"),
    }
}

/// One step: its sign, verb and object, what it does, why, and the property changes.
fn step_text(s: &mut String, step: &Step, names: &Names) {
    let name = step.display_name.as_deref().or_else(|| names.get(&step.id).map(String::as_str));
    let what = object(step.kind.name(), &step.id, name);
    let (sign, verb, n) = (step.action.sign(), verb(step), step.n);
    let _ = writeln!(s, "  {sign} {verb:<8} {what}{}{}  #{n}", detail(step, names), after(step));
    if !matches!(step.action, Action::AddLink | Action::RemoveLink) {
        let _ = writeln!(s, "      {}", step.reason);
    }
    for c in &step.changes {
        property_change(s, c, names);
    }
    for r in step.remaps.iter().filter(|r| r.path != "link") {
        let _ = writeln!(s, "      ↪ {}: {} → the new id of {} {}", r.path, r.from, r.kind, r.from);
    }
}

fn verb(step: &Step) -> &'static str {
    match step.action {
        Action::Restore => "restore",
        Action::Create => "create",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::AddLink | Action::RemoveLink => step
            .link
            .as_ref()
            .map_or("link", |l| if l.relation == "owners" { "owner" } else { "member" }),
        Action::RemoveCredential => "secret",
        Action::SwitchState => "switch",
    }
}

/// What the step does beyond its verb: the new id, the link's target, the key, the state.
fn detail(step: &Step, names: &Names) -> String {
    match step.action {
        Action::Create => " → new id".into(),
        Action::AddLink | Action::RemoveLink => step.link.as_ref().map_or_else(String::new, |l| {
            let arrow = if step.action == Action::AddLink { "←" } else { "✕" };
            match names.get(&l.target) {
                Some(n) => format!(" {arrow} {n} ({})", l.target),
                None => format!(" {arrow} {}", l.target),
            }
        }),
        Action::RemoveCredential => format!(" keyId {}", step.key_id.as_deref().unwrap_or("?")),
        Action::SwitchState => {
            let state = step.body.as_ref().and_then(|b| b.get("state"));
            state.map_or_else(String::new, |state| format!(": state → {state}"))
        }
        _ => String::new(),
    }
}

/// The steps it waits for, when there are a few.
fn after(step: &Step) -> String {
    if step.depends_on.is_empty() || step.depends_on.len() > 3 {
        return String::new();
    }
    let deps: Vec<String> = step.depends_on.iter().map(|d| format!("#{d}")).collect();
    format!("  (after {})", deps.join(", "))
}

/// One property's change: old → new, or each list entry added or removed (named when known).
fn property_change(s: &mut String, c: &rewind_engine::PropertyChange, names: &Names) {
    if c.added.is_empty() && c.removed.is_empty() {
        let (old, new) = (short(c.old.as_ref()), short(c.new.as_ref()));
        let _ = writeln!(s, "      ~ {}: {old} → {new}", c.path);
        return;
    }
    for (sign, values) in [("+", &c.added), ("-", &c.removed)] {
        for v in values {
            let name = v.as_str().and_then(|id| names.get(id));
            let named = name.map(|n| format!("  # {n}")).unwrap_or_default();
            let _ = writeln!(s, "      ~ {}: {sign} {}{named}", c.path, short(Some(v)));
        }
    }
}

/// A value in one short line.
fn short(v: Option<&Value>) -> String {
    let text = v.map_or_else(|| "(unset)".to_string(), Value::to_string);
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}…")
    } else {
        text
    }
}

pub fn summary(plan: &Plan) -> String {
    let c = plan.counts();
    let n = |a: Action| c.get(&a).copied().unwrap_or(0);
    format!(
        "Plan: {} to restore from the recycle bin, {} to create, {} to update, {} to delete, {}, {} to remove, {} to switch on last.",
        n(Action::Restore),
        n(Action::Create),
        n(Action::Update),
        n(Action::Delete),
        count(n(Action::AddLink) + n(Action::RemoveLink), "link change", "link changes"),
        count(n(Action::RemoveCredential), "secret", "secrets"),
        count(n(Action::SwitchState), "policy", "policies"),
    )
}

fn verdict(v: rewind_policy::Lockout) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub fn guard_line(g: &Guard) -> String {
    let mut head = format!(
        "Lockout guard: {} after the plan (now: {}).",
        verdict(g.verdict),
        verdict(g.before)
    );
    for r in &g.removed {
        let _ = write!(head, "\n  {}", removal(r));
    }
    if g.refuses() {
        let worse: Vec<String> = g.worse_off.iter().map(worse_off).collect();
        let mut refused = format!("{head}\nREFUSED: the plan would leave {}.", worse.join("; "));
        if g.no_way_in {
            refused.push_str(
                " No break-glass account or Global Administrator could sign in after it.",
            );
        }
        refused
    } else {
        format!("{head}\nThe plan leaves nobody who is protected worse off than now.")
    }
}

/// `removes administrator rogue@… (Global Administrator), created after the target time by
/// Contoso Automation`.
fn removal(r: &rewind_app::restore::Removed) -> String {
    let how = if r.created_after {
        "created after the target time"
    } else {
        "made an administrator after the target time"
    };
    let by = if r.by.is_empty() { String::new() } else { format!(" by {}", r.by.join(", ")) };
    format!(
        "removes administrator {} ({}), {how}{by}",
        inert(&r.user_principal_name),
        r.why_protected.join(", ")
    )
}

/// `bg-admin-01@… (break-glass) safe → at risk`, or `… removed`.
fn worse_off(w: &rewind_app::restore::WorseOff) -> String {
    let label = |v: Verdict| match v {
        Verdict::Safe => "safe",
        Verdict::AtRisk => "at risk",
        Verdict::LockedOut => "locked out",
    };
    let to = w.after.map_or_else(
        || {
            if w.break_glass {
                "removed or disabled (a break-glass account)".to_string()
            } else {
                "removed (an administrator at the target time)".to_string()
            }
        },
        |v| label(v).to_string(),
    );
    format!("{} {} → {to}", inert(&w.user_principal_name), label(w.before))
}

/// Why the guard refused: everyone left worse off, then each policy responsible by name with
/// the people it affects.
pub fn refusal(g: &Guard) -> String {
    let mut by_policy: std::collections::BTreeMap<&str, Vec<&str>> =
        std::collections::BTreeMap::new();
    for w in &g.worse_off {
        for policy in &w.policies {
            by_policy.entry(policy.as_str()).or_default().push(&w.user_principal_name);
        }
    }
    let mut s = format!(
        "the lockout guard refused the plan: it would leave {} worse off than now (exit code 5)",
        count(g.worse_off.len(), "protected account", "protected accounts")
    );
    for w in &g.worse_off {
        let _ = write!(s, "\n  {}", worse_off(w));
    }
    for (policy, people) in by_policy {
        let name = g.policy_names.get(policy).map_or(policy, String::as_str);
        let _ =
            write!(s, "\n  policy \"{}\" ({}) affects {}", inert(name), policy, people.join(", "));
    }
    if g.no_way_in {
        s.push_str("\n  after it, no break-glass account or Global Administrator could sign in");
    }
    s.push_str("\nNarrow the scope, or pass --allow-lockout if this is intended.");
    s
}

/// What the write app lacks, as indented lines under a heading per part.
pub fn missing(m: &Missing) -> String {
    let mut out = String::new();
    if !m.permissions.is_empty() {
        out += "\n  application permissions (grant with admin consent):\n    ";
        out += &m.permissions.join("\n    ");
    }
    if !m.roles.is_empty() {
        out += "\n  directory roles (assign to the write app's service principal; `rewind doctor` prints the assignment):\n    ";
        out += &m.roles.join("\n    ");
    }
    out
}

pub fn outcome(e: &Execution, v: &Verification, after: &SnapshotInfo) -> String {
    let mut s = String::new();
    let failed: Vec<_> = e.failed().collect();
    let _ = writeln!(
        s,
        "\nApplied restore {}: {} of {} succeeded in {:.1} s ({}, {} throttled).",
        e.restore,
        e.outcomes.len() - failed.len(),
        count(e.outcomes.len(), "step", "steps"),
        e.seconds,
        count(e.requests, "request", "requests"),
        e.throttled
    );
    for o in &failed {
        let _ = writeln!(
            s,
            "  ✗ #{} {:?} {}: {}",
            o.n,
            o.action,
            object(o.kind.name(), &o.id, o.display_name.as_deref()),
            o.detail.as_deref().unwrap_or("")
        );
    }
    if !e.lineage.is_empty() {
        let _ = writeln!(s, "Created anew ({}; recorded as lineage):", e.lineage.len());
        for (old, new) in e.lineage.iter().take(50) {
            let _ = writeln!(s, "  {old} → {new}");
        }
    }
    if v.converged {
        let _ = writeln!(
            s,
            "Verified against snapshot {} ({}): converged — {} as wanted.",
            after.id,
            after.taken_at,
            count(v.compared, "object", "objects")
        );
    } else {
        let _ = writeln!(
            s,
            "Verified against snapshot {}: NOT converged — {} of {} {}:",
            after.id,
            v.differences.len(),
            count(v.compared, "object", "objects"),
            if v.differences.len() == 1 { "differs" } else { "differ" }
        );
        for d in v.differences.iter().take(50) {
            let paths: Vec<&str> = d.properties.iter().map(|p| p.path.as_str()).collect();
            let _ = writeln!(s, "  {} {}: {} {}", d.kind, d.id, d.problem, paths.join(", "));
        }
    }
    s
}
