//! `rewind diff [OBJECT] --from T [--to T|live]`: the changed properties with their old and new
//! values, for one object or for every object that changed; set-like arrays as the elements
//! added and removed; referenced objects named as they were at each point. Coloured on a
//! terminal, `--json` for scripts.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use rewind_app::compare::{DiffReport, ObjectDiff, PropertyDiff, Side};
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
    let mut u = Unified { out: format!("--- {}\n+++ {}\n", c.from.label(), c.to.label()), colour };
    for n in &report.not_read {
        let at = match n.side {
            Side::From => &c.from,
            Side::To => &c.to,
        };
        let (kind, label, reason) = (n.kind.name(), at.label(), n.reason.code());
        u.line("33", &format!(
            "! {kind} was not read at {label} ({reason}): it holds the last state known before, so its differences may not show"
        ));
    }
    for o in &report.objects {
        u.out.push('\n');
        u.line("1", &head(o));
        for p in &o.properties {
            u.property(p);
        }
    }
    u.out
}

/// A unified diff being written, coloured on a terminal.
struct Unified {
    out: String,
    colour: bool,
}

impl Unified {
    /// One line in ANSI colour `code`. Every line from the tenant is made inert before it is
    /// painted: the only escapes printed are these colours.
    fn line(&mut self, code: &str, s: &str) {
        use std::fmt::Write as _;
        let s = crate::text::inert(s);
        let _ = if self.colour {
            writeln!(self.out, "\x1b[{code}m{s}\x1b[0m")
        } else {
            writeln!(self.out, "{s}")
        };
    }

    /// A property's path, then its old values as `-` lines and its new ones as `+` lines (the
    /// elements removed and added, for a set-like array), ids named.
    fn property(&mut self, PropertyDiff { change: p, names }: &PropertyDiff) {
        self.line("36", &format!("  {}", p.path));
        let (minus, plus): (Vec<&Value>, Vec<&Value>) =
            if p.added.is_empty() && p.removed.is_empty() {
                (p.old.iter().collect(), p.new.iter().collect())
            } else {
                (p.removed.iter().collect(), p.added.iter().collect())
            };
        for (sign, code, values) in [("-", "31", minus), ("+", "32", plus)] {
            for line in values
                .iter()
                .flat_map(|v| pretty(v).lines().map(str::to_string).collect::<Vec<_>>())
            {
                self.line(code, &format!("{sign}   {line}{}", annotation(&line, names)));
            }
        }
    }
}

/// An object's line: `+`, `~` or `-`, its kind, id and name, and who changed it.
fn head(o: &ObjectDiff) -> String {
    let mark = match o.change {
        Change::Created => "+",
        Change::Updated => "~",
        Change::Deleted => "-",
    };
    let by =
        if o.actors.is_empty() { String::new() } else { format!("  (by {})", o.actors.join(", ")) };
    let name = o.display_name.as_deref().unwrap_or_default();
    format!("{mark} {}/{} {name}{by}", o.kind.name(), o.id)
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
