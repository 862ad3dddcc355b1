//! `--state FILE`: the tenant survives a restart — same ids, same clients, same changes — and a
//! damaged file is reported instead of overwritten.

use rewind_emulator::{EmulatorConfig, StartError};
use serde_json::json;

use crate::harness::Harness;

#[tokio::test]
async fn a_tenant_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("rewind-emulator-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenant.state");
    let config = EmulatorConfig { state: Some(path.clone()), ..EmulatorConfig::default() };
    let h = Harness::with_config(config.clone()).await;
    let created = h.post("/groups", &json!({"displayName": "Survivor", "mailEnabled": false, "mailNickname": "survivor", "securityEnabled": true})).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let info = h.emu.info.clone();
    h.emu.shutdown().await.unwrap();
    assert!(path.exists());

    let again = Harness::with_config(config).await;
    assert_eq!(again.emu.info.tenant_id, info.tenant_id);
    assert_eq!(again.emu.info.clients, info.clients);
    assert_eq!(again.get(&format!("/groups/{id}")).await.body["displayName"], "Survivor");
    let audit = again.get_all("/auditLogs/directoryAudits").await;
    assert_eq!(audit[0]["activityDisplayName"], "Add group", "history survives too");
    let finance = again.id_named("/groups", "Finance").await;
    assert!(!again.get_all(&format!("/groups/{finance}/members")).await.is_empty());
    again.emu.shutdown().await.unwrap();

    std::fs::write(&path, b"garbage").unwrap();
    let err = rewind_emulator::start(EmulatorConfig {
        state: Some(path.clone()),
        ..EmulatorConfig::default()
    })
    .await
    .err()
    .unwrap();
    assert!(matches!(err, StartError::State(_)), "{err}");
    assert!(err.to_string().contains("not a usable emulator state file"));
    assert_eq!(std::fs::read(&path).unwrap(), b"garbage", "a damaged file is never overwritten");
    std::fs::remove_dir_all(&dir).unwrap();
}
