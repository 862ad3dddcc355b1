//! `rewind verify`: the store's integrity; exits 6 when something is wrong.

use super::session::Session;
use crate::cli::VerifyArgs;
use crate::exit::Expected;
use crate::output::outln;
use crate::text::count;

pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let report = session.store.verify().await?;
    session.store.close().await;
    if args.store.json {
        outln!(
            "{}",
            serde_json::json!({"ok": report.ok(), "report": report})
        )?;
    } else {
        outln!(
            "checked {}, {}, {}, {}",
            count(report.blobs, "blob", "blobs"),
            count(report.snapshots, "snapshot", "snapshots"),
            count(report.versions, "version", "versions"),
            count(report.audit, "audit record", "audit records")
        )?;
        for p in &report.problems {
            let mut at = Vec::new();
            if let Some(t) = &p.tenant {
                at.push(format!("tenant {t}"));
            }
            if let Some(s) = p.snapshot {
                at.push(format!("snapshot {s}"));
            }
            if let Some(o) = &p.object {
                at.push(format!("{}/{}", o.kind.name(), o.key));
            }
            if let Some(b) = &p.blob {
                at.push(format!("blob {}", b.to_hex()));
            }
            outln!("PROBLEM {}: {}", at.join(", "), p.what)?;
        }
    }
    if report.ok() {
        if !args.store.json {
            outln!("ok: every blob matches its hash and the chain is intact")?;
        }
        Ok(())
    } else {
        Err(Expected::Found(format!(
            "the store has {}",
            count(report.problems.len(), "problem", "problems")
        ))
        .into())
    }
}
