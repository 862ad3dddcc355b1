//! A client nobody here wrote: Microsoft's official Graph SDK for Python reads the emulator —
//! users through several pages, groups, CA policies and named locations — into its typed models.
//!
//! Needs the venv that `./dev/test` (and so `.ci/run`) installs at `target/sdk-venv`, or a Python
//! with `msgraph-sdk` named by `REWIND_PYTHON`. Without one this test fails and says how to get it.

use std::path::PathBuf;

use serde_json::Value;

use crate::harness::Harness;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("REWIND_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/sdk-venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with msgraph-sdk at {}: run ./dev/test once, or set REWIND_PYTHON",
        venv.display()
    );
    venv
}

#[tokio::test]
async fn official_python_sdk_reads_the_tenant() {
    let h = Harness::start().await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/read_tenant.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .env("REWIND_EMULATOR_INFO", serde_json::to_string(&h.emu.info).unwrap())
        .output()
        .await
        .expect("python runs");
    assert!(out.status.success(), "SDK script failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let read: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(read["users"], 31);
    assert_eq!(read["distinct_users"], 31);
    assert_eq!(read["user_pages"], 4, "31 users at 10 a page");
    assert_eq!(read["groups"], 15);
    assert_eq!(read["security_groups"], 13);
    assert_eq!(read["policies"], 7);
    assert_eq!(read["mfa_policy_state"], "enabled");
    assert_eq!(read["mfa_policy_controls"], serde_json::json!(["mfa"]));
    assert_eq!(read["mfa_policy_excluded_groups"].as_array().unwrap().len(), 1);
    assert_eq!(read["strength_name"], "Phishing-resistant MFA");
    assert_eq!(
        (read["ip_locations"].as_u64(), read["country_locations"].as_u64()),
        (Some(1), Some(2)),
        "head office; allowed and blocked countries"
    );
    assert_eq!(read["ip_ranges"], serde_json::json!(["203.0.113.0/24", "2001:db8:1234::/48"]));
}
