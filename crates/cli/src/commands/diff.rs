//! `rewind diff [OBJECT] --from T [--to T|live]`: the changed properties with their old and new
//! values, for one object or for every object that changed; set-like arrays as the elements
//! added and removed; referenced objects named as they were at each point. Coloured on a
//! terminal, `--json` for scripts.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use rewind_app::locate::resolve_object;
use rewind_app::names::Named;
use rewind_engine::PropertyChange;
use rewind_model::{Kind, references};
use rewind_store::{Change, Unavailable};
use serde_json::{Value, json};

use super::compare::{Compared, Difference, ReferenceNames, compare, describe, point};
use super::session::{Session, usage};
use crate::cli::DiffArgs;
use crate::exit::Expected;
use crate::output::outln;

pub async fn run(args: DiffArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, Some(&args.connect)).await?;
    let tenant = session.tenant().await?;
    let only = match &args.object {
        Some(spec) => Some(
            resolve_object(&session.store, &tenant, spec)
                .await
                .map_err(usage)?
                .0,
        ),
        None => None,
    };
    let from = point(&session, &tenant, Some(args.from)).await?;
    let to = point(&session, &tenant, args.to).await?;
    let compared = compare(from, to, |k, _| only.as_ref().is_none_or(|o| o == k)).await?;
    let names = ReferenceNames::of(&compared).await?;
    let objects: Vec<ObjectDiff<'_>> = compared
        .objects
        .iter()
        .map(|d| ObjectDiff::new(d, &names))
        .collect();
    if args.store.json {
        outln!("{}", diff_json(&compared, &objects))?;
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        crate::output::write_trusted(&unified(&compared, &objects, colour))?;
    }
    session.store.close().await;
    if args.exit_code && !compared.objects.is_empty() {
        return Err(Expected::Found(format!("{} objects differ", compared.objects.len())).into());
    }
    Ok(())
}

/// One object's changed properties, each with the names of the objects it references.
struct ObjectDiff<'a> {
    difference: &'a Difference,
    properties: Vec<(PropertyChange, BTreeMap<String, Named>)>,
}

impl<'a> ObjectDiff<'a> {
    /// Every property that differs (from nothing for a created object, to nothing for a
    /// deleted one), with the referenced ids under it named: old values' at the earlier
    /// point, new values' at the later.
    fn new(d: &'a Difference, names: &ReferenceNames) -> ObjectDiff<'a> {
        let empty = Value::Object(serde_json::Map::new());
        let (old, new) = (
            d.old.as_ref().unwrap_or(&empty),
            d.new.as_ref().unwrap_or(&empty),
        );
        let (old_refs, new_refs) = (
            references(d.object.kind, old),
            references(d.object.kind, new),
        );
        let properties = rewind_engine::property_changes(old, new)
            .into_iter()
            .map(|p| {
                let mut named = BTreeMap::new();
                for (refs, side) in [(&old_refs, &names.old), (&new_refs, &names.new)] {
                    for r in refs.iter().filter(|r| under(&r.path, &p.path)) {
                        if let Some(n) = side.get(&(r.target, r.id.clone())) {
                            named.insert(r.id.clone(), n.clone());
                        }
                    }
                }
                (p, named)
            })
            .collect();
        ObjectDiff {
            difference: d,
            properties,
        }
    }
}

/// Whether reference path `at` (`a.b[2].id`) lies at or under property path `property`.
fn under(at: &str, property: &str) -> bool {
    at.strip_prefix(property)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

fn diff_json(c: &Compared, objects: &[ObjectDiff<'_>]) -> Value {
    let objects: Vec<Value> = objects
        .iter()
        .map(|o| {
            let d = o.difference;
            let properties: Vec<Value> = o
                .properties
                .iter()
                .map(|(p, named)| {
                    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
                    if !named.is_empty() {
                        v["names"] = serde_json::to_value(named).unwrap_or(Value::Null);
                    }
                    v
                })
                .collect();
            json!({"kind": d.object.kind.name(), "id": d.object.key, "display_name": d.display_name(),
                   "change": d.change.name(),
                   "actors": d.actors.iter().map(rewind_model::Actor::label).collect::<Vec<_>>(),
                   "actor_identities": d.actors, "properties": properties})
        })
        .collect();
    let not_read: Vec<Value> = not_read(c)
        .into_iter()
        .map(|(side, kind, why)| json!({"side": side, "kind": kind.name(), "reason": why.code()}))
        .collect();
    json!({"from": c.from.json(), "to": c.to.json(), "objects": objects, "not_read": not_read})
}

/// The kinds a side of the comparison could not read (a tenant without the licence for PIM):
/// what that side holds of them is the last state known before, so a difference in them may
/// not show.
fn not_read(c: &Compared) -> Vec<(&'static str, Kind, Unavailable)> {
    [("from", &c.from), ("to", &c.to)]
        .into_iter()
        .flat_map(|(side, point)| {
            point
                .snapshot
                .counts
                .iter()
                .filter_map(move |(kind, n)| Some((side, *kind, n.unavailable?)))
        })
        .collect()
}

fn unified(c: &Compared, objects: &[ObjectDiff<'_>], colour: bool) -> String {
    use std::fmt::Write as _;
    // Every line from the tenant is made inert before it is painted: the only escapes printed
    // are these colours.
    let paint = |code: &str, s: &str| {
        let s = crate::text::inert(s);
        if colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s
        }
    };
    let mut out = format!("--- {}\n+++ {}\n", c.from.label(), c.to.label());
    for (side, kind, why) in not_read(c) {
        let at = if side == "from" { &c.from } else { &c.to };
        let line = format!(
            "! {} was not read at {} ({}): it holds the last state known before, so its differences may not show",
            kind.name(),
            at.label(),
            why.code()
        );
        let _ = writeln!(out, "{}", paint("33", &line));
    }
    for o in objects {
        let d = o.difference;
        let mark = match d.change {
            Change::Created => "+",
            Change::Updated => "~",
            Change::Deleted => "-",
        };
        let by = if d.actors.is_empty() {
            String::new()
        } else {
            format!("  (by {})", super::history::actor_labels(&d.actors))
        };
        let head = format!(
            "{mark} {}/{} {}{by}",
            d.object.kind.name(),
            d.object.key,
            d.display_name().unwrap_or_default()
        );
        let _ = writeln!(out, "\n{}", paint("1", &head));
        for (p, named) in &o.properties {
            let _ = writeln!(out, "  {}", paint("36", &p.path));
            let lines = |sign: &str, values: &[&Value]| -> Vec<String> {
                values
                    .iter()
                    .flat_map(|v| pretty(v).lines().map(str::to_string).collect::<Vec<_>>())
                    .map(|line| format!("{sign}   {line}{}", annotation(&line, named)))
                    .collect()
            };
            let (minus, plus) = if p.added.is_empty() && p.removed.is_empty() {
                (
                    p.old.iter().collect::<Vec<_>>(),
                    p.new.iter().collect::<Vec<_>>(),
                )
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
