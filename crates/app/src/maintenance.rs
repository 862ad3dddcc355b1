//! Looking after the store: `rewind verify` (is every byte what was written, is the chain
//! intact, is the head the one kept elsewhere) and `rewind forget` (retention), as reports.

use rewind_store::{ChainHead, ForgetReport, KeepPolicy, TenantInfo, VerifyReport};
use serde::Serialize;

/// `rewind verify --json`: what the store's check found, and whether a chain head kept
/// elsewhere is still a tenant's head.
#[derive(Debug, Clone, Serialize)]
pub struct VerifySummary {
    /// Nothing is wrong: no problem, and the kept head (if given) is a tenant's head.
    pub ok: bool,
    /// What was checked and found.
    pub report: VerifyReport,
    /// Each tenant's chain head now.
    pub heads: Vec<ChainHead>,
    /// Why the kept head is no tenant's head, when it is not.
    pub head_mismatch: Option<String>,
}

impl VerifySummary {
    /// The summary of `report`, checking `kept_head` (a chain hash in hex) against its heads.
    pub fn new(report: VerifyReport, kept_head: Option<&str>) -> Self {
        let head_mismatch = kept_head.and_then(|kept| head_mismatch(&report.heads, kept));
        VerifySummary {
            ok: report.ok() && head_mismatch.is_none(),
            heads: report.heads.clone(),
            report,
            head_mismatch,
        }
    }
}

/// Why `kept` is none of `heads`, or `None` when it is one.
fn head_mismatch(heads: &[ChainHead], kept: &str) -> Option<String> {
    let kept = kept.trim().to_ascii_lowercase();
    let heads: Vec<String> = heads.iter().map(|h| h.chain.to_hex()).collect();
    (!heads.contains(&kept)).then(|| {
        format!(
            "no tenant's chain head is {kept} (now: {}): history was changed since that head was kept, or `forget` sealed it again",
            if heads.is_empty() { "none".to_string() } else { heads.join(", ") }
        )
    })
}

/// `rewind forget --json`: the retention policy applied to a tenant and what it decided.
#[derive(Debug, Clone, Serialize)]
pub struct ForgetSummary {
    /// The tenant's name.
    pub tenant: String,
    /// What to keep.
    pub policy: KeepPolicy,
    /// Each snapshot's decision and what was removed.
    pub report: ForgetReport,
    /// How many snapshots are (or, in a dry run, would be) forgotten.
    pub forgotten: usize,
}

impl ForgetSummary {
    /// The summary of `report` of `policy` on `tenant`.
    pub fn new(tenant: &TenantInfo, policy: KeepPolicy, report: ForgetReport) -> Self {
        ForgetSummary {
            tenant: tenant.name.clone(),
            policy,
            forgotten: report.decisions.iter().filter(|d| !d.keep()).count(),
            report,
        }
    }
}
