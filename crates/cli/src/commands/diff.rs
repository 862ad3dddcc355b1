//! `rewind diff [OBJECT] --from T [--to T]`: the changed properties with their old and new
//! values, for one object or for every object that changed; coloured on a terminal, `--json`
//! for scripts.

use std::io::IsTerminal as _;

use rewind_app::locate::resolve_object;
use rewind_engine::PropertyChange;
use rewind_store::Change;
use serde_json::{Value, json};

use super::compare::{Compared, Difference, compare, point, point_json};
use super::session::{Session, usage};
use crate::cli::DiffArgs;

pub async fn run(args: DiffArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
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
    let from = point(&session.store, &tenant, Some(&args.from)).await?;
    let to = point(&session.store, &tenant, args.to.as_deref()).await?;
    let compared = compare(&session.store, &tenant, from, to, |k, _| {
        only.as_ref().is_none_or(|o| o == k)
    })
    .await?;
    session.store.close().await;
    if args.store.json {
        println!("{}", diff_json(&compared));
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!("{}", unified(&compared, colour));
    }
    Ok(())
}

/// Every property that differs, from nothing for a created object and to nothing for a deleted
/// one.
fn properties(d: &Difference) -> Vec<PropertyChange> {
    let empty = Value::Object(serde_json::Map::new());
    rewind_engine::property_changes(
        d.old.as_ref().unwrap_or(&empty),
        d.new.as_ref().unwrap_or(&empty),
    )
}

fn diff_json(c: &Compared) -> Value {
    let objects: Vec<Value> = c
        .objects
        .iter()
        .map(|d| {
            json!({"kind": d.object.kind.name(), "id": d.object.key, "display_name": d.display_name(),
                   "change": d.change.name(), "actors": d.actors, "properties": properties(d)})
        })
        .collect();
    json!({"from": point_json(&c.from), "to": point_json(&c.to), "objects": objects})
}

fn unified(c: &Compared, colour: bool) -> String {
    use std::fmt::Write as _;
    let paint = |code: &str, s: &str| {
        if colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = format!(
        "--- snapshot {} ({})\n+++ snapshot {} ({})\n",
        c.from.id, c.from.taken_at, c.to.id, c.to.taken_at
    );
    for d in &c.objects {
        let mark = match d.change {
            Change::Created => "+",
            Change::Updated => "~",
            Change::Deleted => "-",
        };
        let by = if d.actors.is_empty() {
            String::new()
        } else {
            format!("  (by {})", d.actors.join(", "))
        };
        let head = format!(
            "{mark} {}/{} {}{by}",
            d.object.kind.name(),
            d.object.key,
            d.display_name().unwrap_or_default()
        );
        let _ = writeln!(out, "\n{}", paint("1", &head));
        for p in properties(d) {
            let _ = writeln!(out, "  {}", paint("36", &p.path));
            if let Some(old) = &p.old {
                for line in pretty(old).lines() {
                    let _ = writeln!(out, "{}", paint("31", &format!("-   {line}")));
                }
            }
            if let Some(new) = &p.new {
                for line in pretty(new).lines() {
                    let _ = writeln!(out, "{}", paint("32", &format!("+   {line}")));
                }
            }
        }
    }
    out
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}
