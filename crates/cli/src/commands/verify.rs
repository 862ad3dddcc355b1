//! `rewind verify`: the store's integrity; exits 6 when something is wrong.

use rewind_app::maintenance::VerifySummary;
use rewind_store::{Problem, VerifyReport};

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
    if args.store.json {
        output::json(&summary)?;
    } else {
        text(&summary.report)?;
    }
    if let Some(why) = summary.head_mismatch {
        return Err(Expected::Found(why).into());
    }
    let problems = summary.report.problems.len();
    if problems > 0 {
        let found = count(problems, "problem", "problems");
        return Err(Expected::Found(format!("the store has {found}")).into());
    }
    if !args.store.json {
        outln!("ok: every blob matches its hash and the chain is intact")?;
    }
    Ok(())
}

/// What was checked, every problem, and each tenant's chain head.
fn text(report: &VerifyReport) -> anyhow::Result<()> {
    outln!(
        "checked {}, {}, {}, {}",
        count(report.blobs, "blob", "blobs"),
        count(report.snapshots, "snapshot", "snapshots"),
        count(report.versions, "version", "versions"),
        count(report.audit, "audit record", "audit records")
    )?;
    for p in &report.problems {
        outln!("PROBLEM {}: {}", place(p), p.what)?;
    }
    for h in &report.heads {
        let (tenant, chain, snapshot) = (&h.tenant, h.chain.to_hex(), h.snapshot);
        outln!(
            "chain head of {tenant}: {chain} (snapshot {snapshot}) — keep it elsewhere; `rewind verify --head` checks it"
        )?;
    }
    Ok(())
}

/// Where a problem is: tenant, snapshot, object and blob, as far as known.
fn place(p: &Problem) -> String {
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
    at.join(", ")
}
