//! `rewind diff [OBJECT] --from T [--to T|live]`: the changed properties with their old and new
//! values, for one object or for every object that changed; set-like arrays as the elements
//! added and removed; referenced objects named as they were at each point. Coloured on a
//! terminal, `--json` for scripts.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use rewind_app::compare::{DiffReport, PropertyDiff, Side};
use rewind_app::locate::resolve_object;
use rewind_app::names::Named;
use rewind_store::Change;
use serde_json::Value;

use super::compare::{Compared, ReferenceNames, compare, describe, point};
use super::session::{Session, usage};
use crate::cli::DiffArgs;
use crate::exit::Expected;
use crate::output;

pub async fn run(args: DiffArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let only = match &args.object {
        Some(spec) => Some(resolve_object(&session.store, &tenant, spec).await.map_err(usage)?.0),
        None => None,
    };
    let from = point(&session, &tenant, Some(args.from)).await?;
    let to = point(&session, &tenant, args.to).await?;
    let compared = compare(from, to, |k, _| only.as_ref().is_none_or(|o| o == k)).await?;
    let names = ReferenceNames::of(&compared).await?;
    let report = DiffReport::new(&compared, &names);
    if args.store.json {
        output::json(&report)?;
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        output::write_trusted(&unified(&compared, &report, colour))?;
    }
    session.store.close().await;
    if args.exit_code && !compared.objects.is_empty() {
        return Err(Expected::Found(format!("{} objects differ", compared.objects.len())).into());
    }
    Ok(())
}

fn unified(c: &Compared, report: &DiffReport, colour: bool) -> String {
    use std::fmt::Write as _;
    // Every line from the tenant is made inert before it is painted: the only escapes printed
    // are these colours.
    let paint = |code: &str, s: &str| {
        let s = crate::text::inert(s);
        if colour { format!("\x1b[{code}m{s}\x1b[0m") } else { s }
    };
    let mut out = format!("--- {}\n+++ {}\n", c.from.label(), c.to.label());
    for n in &report.not_read {
        let at = match n.side {
            Side::From => &c.from,
            Side::To => &c.to,
        };
        let line = format!(
            "! {} was not read at {} ({}): it holds the last state known before, so its differences may not show",
            n.kind.name(),
            at.label(),
            n.reason.code()
        );
        let _ = writeln!(out, "{}", paint("33", &line));
    }
    for o in &report.objects {
        let mark = match o.change {
            Change::Created => "+",
            Change::Updated => "~",
            Change::Deleted => "-",
        };
        let by = if o.actors.is_empty() {
            String::new()
        } else {
            format!("  (by {})", o.actors.join(", "))
        };
        let head = format!(
            "{mark} {}/{} {}{by}",
            o.kind.name(),
            o.id,
            o.display_name.as_deref().unwrap_or_default()
        );
        let _ = writeln!(out, "\n{}", paint("1", &head));
        for PropertyDiff { change: p, names: named } in &o.properties {
            let _ = writeln!(out, "  {}", paint("36", &p.path));
            let lines = |sign: &str, values: &[&Value]| -> Vec<String> {
                values
                    .iter()
                    .flat_map(|v| pretty(v).lines().map(str::to_string).collect::<Vec<_>>())
                    .map(|line| format!("{sign}   {line}{}", annotation(&line, named)))
                    .collect()
            };
            let (minus, plus) = if p.added.is_empty() && p.removed.is_empty() {
                (p.old.iter().collect::<Vec<_>>(), p.new.iter().collect::<Vec<_>>())
            } else {
                (p.removed.iter().collect(), p.added.iter().collect())
            };
            for line in lines("-", &minus) {
                let _ = writeln!(out, "{}", paint("31", &line));
            }
            for line in lines("+", &plus) {
                let _ = writeln!(out, "{}", paint("32", &line));
            }
        }
    }
    out
}

/// `  # group "Break-glass"` after a line that holds a referenced id.
fn annotation(line: &str, named: &BTreeMap<String, Named>) -> String {
    named
        .iter()
        .find(|(id, _)| line.contains(&format!("\"{id}\"")))
        .map(|(_, n)| format!("  # {}", describe(n)))
        .unwrap_or_default()
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}
