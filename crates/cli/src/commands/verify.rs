//! `rewind verify`: the store's integrity; exits 6 when something is wrong.

use rewind_app::maintenance::VerifySummary;

use super::session::Session;
use crate::cli::VerifyArgs;
use crate::exit::Expected;
use crate::output::{self, outln};
use crate::text::count;

pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    if session.store.tenants().await?.is_empty() {
        return Err(super::session::usage(
            "the store keeps no tenant: there is no timeline to verify",
        ));
    }
    let report = session.store.verify().await?;
    session.store.close().await;
    let summary = VerifySummary::new(report, args.head.as_deref());
    let (report, head_mismatch) = (&summary.report, summary.head_mismatch.clone());
    if args.store.json {
        output::json(&summary)?;
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
        for h in &report.heads {
            outln!(
                "chain head of {}: {} (snapshot {}) — keep it elsewhere; `rewind verify --head` checks it",
                h.tenant,
                h.chain.to_hex(),
                h.snapshot
            )?;
        }
    }
    if let Some(why) = head_mismatch {
        return Err(Expected::Found(why).into());
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
