//! Evaluations and analyses in words, for people at a terminal.

use std::fmt::Write as _;

use crate::evaluate::{Decision, Evaluation, Outcome, PolicyResult, Requirement};
use crate::lockout::{Analysis, Lockout, PrincipalReport, Protection, Verdict};
use crate::policy::{Operator, State};
use crate::tri::Tri;

fn requirement(r: &Requirement) -> String {
    let controls: Vec<String> = r.controls.iter().map(crate::policy::Control::label).collect();
    let sep = if r.operator == Operator::And { " and " } else { " or " };
    controls.join(sep)
}

fn outcome(o: &Outcome, names: &dyn Fn(&str) -> String) -> String {
    let list = |ids: &[String]| {
        ids.iter().map(|i| format!("'{}'", names(i))).collect::<Vec<_>>().join(", ")
    };
    match o.decision {
        Decision::Blocked => format!("blocked by {}", list(&o.blocked_by)),
        Decision::MaybeBlocked => format!(
            "may be blocked by {} (depends on signals not given)",
            list(&o.maybe_blocked_by)
        ),
        Decision::NoPolicy => "allowed: no policy applies".into(),
        Decision::Grant if o.requirements.is_empty() => {
            "allowed: policies apply with session controls only".into()
        }
        Decision::Grant => {
            let certain: Vec<String> = o
                .requirements
                .iter()
                .filter(|r| r.certain)
                .map(|r| format!("{} ('{}')", requirement(r), r.policy))
                .collect();
            let maybe: Vec<String> = o
                .requirements
                .iter()
                .filter(|r| !r.certain)
                .map(|r| format!("{} ('{}')", requirement(r), r.policy))
                .collect();
            let mut s = if certain.is_empty() {
                "allowed".to_string()
            } else {
                format!("allowed with {}", certain.join(", and "))
            };
            if !maybe.is_empty() {
                let _ = write!(s, "; perhaps also {}", maybe.join(", and "));
            }
            s
        }
    }
}

fn policy_line(out: &mut String, r: &PolicyResult<'_>, mark: &str) {
    let what = match r.policy.rules.as_ref().ok().and_then(|x| x.grant.as_ref()) {
        Some(g) if g.blocks() => " → block".to_string(),
        Some(g) => {
            let controls: Vec<String> =
                g.controls.iter().map(crate::policy::Control::label).collect();
            let sep = if g.operator == Operator::And { " and " } else { " or " };
            format!(" → {}", controls.join(sep))
        }
        None if r.policy.rules.is_err() => " → unknown effect".into(),
        None => String::new(),
    };
    let _ = writeln!(out, "  {mark} {}{what}", r.policy.name);
    for c in &r.checks {
        let sign = match c.result {
            Tri::Yes => "✔",
            Tri::No => "✘",
            Tri::Unknown => "?",
        };
        let condition = serde_json::to_value(c.condition)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(out, "      {sign} {condition}: {}", c.why);
    }
}

/// A what-if evaluation in words: the outcome, then the policies that apply, may apply and do
/// not, each with its conditions.
pub fn evaluation(e: &Evaluation<'_>) -> String {
    let names = |id: &str| {
        e.results
            .iter()
            .find(|r| r.policy.id == id)
            .map_or_else(|| id.to_string(), |r| r.policy.name.clone())
    };
    let mut out = String::new();
    let _ = writeln!(out, "Outcome: {}", outcome(&e.enforced, &names));
    let has_report_only = e.results.iter().any(|r| {
        r.policy.state == State::EnabledForReportingButNotEnforced && r.applies != Tri::No
    });
    if has_report_only {
        let _ = writeln!(out, "Report-only policies would: {}", outcome(&e.report_only, &names));
    }
    for (id, session) in &e.enforced.sessions {
        let _ = writeln!(
            out,
            "Session control: {} {} ('{}')",
            session.name,
            session.settings,
            names(id)
        );
    }
    let sections: [(&str, State, Tri, &str); 5] = [
        ("Apply", State::Enabled, Tri::Yes, "✔"),
        ("May apply (signals not given)", State::Enabled, Tri::Unknown, "?"),
        ("Report-only, apply", State::EnabledForReportingButNotEnforced, Tri::Yes, "✔"),
        ("Report-only, may apply", State::EnabledForReportingButNotEnforced, Tri::Unknown, "?"),
        ("Do not apply", State::Enabled, Tri::No, "✘"),
    ];
    for (title, state, applies, mark) in sections {
        let rows: Vec<&PolicyResult<'_>> =
            e.results.iter().filter(|r| r.policy.state == state && r.applies == applies).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for r in rows {
            policy_line(&mut out, r, mark);
        }
    }
    let disabled = e.results.iter().filter(|r| r.policy.state == State::Disabled).count();
    let report_only_off = e
        .results
        .iter()
        .filter(|r| {
            r.policy.state == State::EnabledForReportingButNotEnforced && r.applies == Tri::No
        })
        .count();
    if disabled + report_only_off > 0 {
        let _ = writeln!(
            out,
            "\n{disabled} disabled and {report_only_off} report-only policies that do not apply are not shown."
        );
    }
    out
}

/// A lockout analysis in words.
pub fn analysis(a: &Analysis) -> String {
    let mut out = String::new();
    let verdict = match a.verdict {
        Lockout::Ok => "OK — every protected account can get in",
        Lockout::AtRisk => "AT RISK — some protected accounts may not get in",
        Lockout::Critical => {
            "CRITICAL — every break-glass account or every Global Administrator is locked out"
        }
    };
    let _ = writeln!(out, "Lockout: {verdict}");
    for n in &a.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    for e in &a.policy_errors {
        let _ = writeln!(out, "  unreadable: {e} (its effect counts as unknown)");
    }
    for p in a.principals.iter().chain(&a.restore_identity) {
        principal(&mut out, p);
    }
    out
}

/// One protected principal's verdict, methods and first findings.
fn principal(out: &mut String, p: &PrincipalReport) {
    let v = match p.verdict {
        Verdict::Safe => "safe",
        Verdict::AtRisk => "at risk",
        Verdict::LockedOut => "LOCKED OUT",
    };
    let methods = match (&p.methods, &p.usable_methods) {
        (None, _) if p.protection.contains(&Protection::RestoreIdentity) => "app-only".to_string(),
        (None, _) => "methods not captured".to_string(),
        (Some(m), _) if m.is_empty() => "no methods".into(),
        (Some(m), Some(usable)) if usable.len() < m.len() => {
            format!(
                "{} (usable: {})",
                m.join(", "),
                if usable.is_empty() { "none".into() } else { usable.join(", ") }
            )
        }
        (Some(m), _) => m.join(", "),
    };
    let _ = writeln!(
        out,
        "\n{v:<10} {} ({}) — {}; {methods}",
        p.user_principal_name,
        p.display_name,
        p.why_protected.join(", ")
    );
    for why in &p.unusable_methods {
        let _ = writeln!(out, "           method {why}");
    }
    let failing = p.findings.iter().filter(|f| f.result == Tri::No).count();
    let unknown = p.findings.len() - failing;
    if !p.findings.is_empty() {
        let _ = writeln!(
            out,
            "           {failing} of {} contexts fail, {unknown} cannot be decided",
            p.contexts
        );
    }
    for f in p.findings.iter().take(3) {
        let sign = if f.result == Tri::No { "✘" } else { "?" };
        let _ = writeln!(out, "           {sign} {}: {}", f.context, f.why);
    }
    if p.findings.len() > 3 {
        let _ = writeln!(out, "           … {} more (--json lists all)", p.findings.len() - 3);
    }
}
