//! `rewind exposure [--at T] [--policy P] [--from T]`: who each Conditional Access policy
//! excludes, and how (named, through which chain of groups, through which role, active or
//! eligible). With `--from`, what changed in between; exit code 6 when someone became
//! excluded from an enforced policy, for scripts.

use rewind_app::exposure::{ExposureChangesReport, ExposureReport, exposure_at};
use rewind_policy::{Excluded, PolicyScope, ScopeChange, State, exposure_changes};

use super::compare::point;
use super::session::{Session, usage};
use crate::cli::ExposureArgs;
use crate::exit::Expected;
use crate::output::{self, outln};

pub async fn run(args: ExposureArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let at = point(&session, &tenant, args.at).await?;
    let scopes =
        picked(exposure_at(&at.store, &at.tenant, at.snapshot.id).await?, args.policy.as_deref())?;
    let Some(from) = &args.from else {
        if args.store.json {
            output::json(&ExposureReport { at: at.stamp(), policies: scopes })?;
        } else {
            outln!("{}", at.label())?;
            for s in &scopes {
                outln!("{}", scope_text(s))?;
            }
        }
        session.store.close().await;
        return Ok(());
    };
    let earlier = point(&session, &tenant, Some(*from)).await?;
    let before = exposure_at(&earlier.store, &earlier.tenant, earlier.snapshot.id).await?;
    let report =
        ExposureChangesReport::new(earlier.stamp(), at.stamp(), exposure_changes(&before, &scopes));
    let (changes, grew) = (&report.changes, report.grew);
    if args.store.json {
        output::json(&report)?;
    } else {
        outln!("from {} to {}", earlier.label(), at.label())?;
        if changes.is_empty() {
            outln!("no policy's exclusions changed")?;
        }
        for c in changes {
            outln!("{}", change_text(c))?;
        }
    }
    session.store.close().await;
    if grew {
        Err(Expected::Found("someone became excluded from an enforced policy".into()).into())
    } else {
        Ok(())
    }
}

/// The policies `--policy` names (id or display name, case-insensitive), or all of them.
fn picked(scopes: Vec<PolicyScope>, policy: Option<&str>) -> anyhow::Result<Vec<PolicyScope>> {
    let Some(wanted) = policy else {
        return Ok(scopes);
    };
    let found: Vec<PolicyScope> = scopes
        .into_iter()
        .filter(|s| {
            s.id.eq_ignore_ascii_case(wanted) || s.display_name.eq_ignore_ascii_case(wanted)
        })
        .collect();
    if found.is_empty() {
        return Err(usage(format!(
            "no Conditional Access policy '{wanted}' at that point; give its id or display name (`rewind show --kind conditionalAccessPolicy` lists them)"
        )));
    }
    Ok(found)
}

fn state(s: State) -> &'static str {
    match s {
        State::Enabled => "enabled",
        State::EnabledForReportingButNotEnforced => "report-only",
        State::Disabled => "disabled",
    }
}

fn scope_text(s: &PolicyScope) -> String {
    let blocks = if s.blocks { ", blocks" } else { "" };
    let mut lines = vec![
        String::new(),
        format!("{} ({}{blocks})", s.display_name, state(s.state)),
        format!("  includes {}", s.includes),
    ];
    if s.excluded.is_empty() && s.excluded_guests.is_none() {
        lines.push("  excludes nobody".into());
    }
    lines.extend(s.excluded.iter().map(|e| excluded("excludes", e)));
    lines.extend(s.excluded_guests.iter().map(|g| format!("  excludes {g}")));
    lines.join("\n")
}

/// One excluded principal and how, in a column people can scan.
fn excluded(sign: &str, e: &Excluded) -> String {
    format!("  {sign} {:<40} via {}", e.name.as_deref().unwrap_or(&e.id), e.via.label())
}

fn change_text(c: &ScopeChange) -> String {
    let mut lines = vec![
        String::new(),
        format!(
            "{}{}{}",
            c.display_name,
            if c.enforced { "" } else { " (not enforced)" },
            if c.blocks { " (blocks)" } else { "" }
        ),
    ];
    lines.extend(c.added.iter().map(|e| excluded("+", e)));
    lines.extend(c.removed.iter().map(|e| excluded("-", e)));
    if let Some((before, after)) = &c.guests {
        lines.push(format!(
            "  guests excluded: {} → {}",
            before.as_deref().unwrap_or("none"),
            after.as_deref().unwrap_or("none")
        ));
    }
    lines.join("\n")
}
