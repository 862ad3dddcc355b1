//! Tamper-evident end to end: every column the chain covers, changed, makes `verify` fail;
//! damage stops every command that would read the damaged snapshot (exit 6, the snapshot
//! named, the fix said) until `capture --full` gives a snapshot to rely on; reading commands
//! never create a store; the chain head can be kept elsewhere and checked.

use std::path::Path;

use serde_json::Value;

use super::timeline::{Setup, code, stderr};
use super::tokio_rt;

/// Runs one statement on the test's SQLite store, as someone with write access to it would.
fn tamper(db: &Path, sql: &str) {
    let sql = sql.to_string();
    tokio_rt().block_on(async move {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let done = sqlx::query(&sql).execute(&mut c).await.unwrap();
        assert!(done.rows_affected() > 0, "{sql} changed nothing");
    });
}

/// A store of two snapshots (the attacker scenario between them) and a copy to restore.
fn attacked() -> (Setup, Vec<u8>) {
    let s = Setup::new(&[]);
    s.json(&["capture", "--json"]);
    s.scenario("attacker");
    s.json(&["capture", "--json"]);
    let bytes = std::fs::read(s.store()).unwrap();
    (s, bytes)
}

/// Adds what the ledger keeps through the store's own writers — an alert, a restore with a
/// step, a lineage record — and captures again, so that a snapshot commits to it.
fn with_ledger(s: &Setup) -> Vec<u8> {
    let path = s.store();
    tokio_rt().block_on(async move {
        let store = rewind_store::Store::open_sqlite(&path, None).await.unwrap();
        let t = store.tenants().await.unwrap().remove(0);
        let latest = store.latest(&t).await.unwrap().unwrap();
        store
            .add_alerts(
                &t,
                &[rewind_store::NewAlert {
                    fingerprint: "f1".into(),
                    rule: "new-actor".into(),
                    severity: "medium".into(),
                    snapshot: latest.id,
                    body: "{\"summary\":\"first change ever by Rogue\"}".into(),
                }],
            )
            .await
            .unwrap();
        let r = store
            .begin_restore(&t, "{\"format\":1}", "app-1")
            .await
            .unwrap();
        store.record_step(r, 1, "done", "{}").await.unwrap();
        store
            .record_lineage(&t, r, rewind_model::Kind::Group, "g-old", "g-new")
            .await
            .unwrap();
        store.finish_restore(r, "finished").await.unwrap();
        store.close().await;
    });
    s.json(&["capture", "--json"]);
    std::fs::read(s.store()).unwrap()
}

/// Every column of the timeline's tables that the chain covers, edited one at a time (on a
/// fresh copy of the store each time): `verify` finds each edit.
#[test]
fn an_edit_to_any_covered_column_makes_verify_fail() {
    let (s, _) = attacked();
    let pristine = with_ledger(&s);
    let latest = "(SELECT MAX(id) FROM snapshots)";
    let with_rows = "(SELECT MAX(snapshot) FROM versions)";
    let changed = format!("(SELECT MIN(key) FROM versions WHERE snapshot = {with_rows})");
    let edits = [
        format!("UPDATE versions SET actors = '[\"Someone Else\"]' WHERE key = {changed}"),
        format!("UPDATE versions SET records = '[]' WHERE key = {changed} AND snapshot = {with_rows}"),
        format!(
            "UPDATE versions SET name = 'renamed' WHERE key = {changed} AND snapshot = {with_rows}"
        ),
        format!(
            "UPDATE versions SET change = 'created' WHERE key = {changed} AND snapshot = {with_rows}"
        ),
        format!("UPDATE versions SET kind = 'group' WHERE key = {changed} AND snapshot = {with_rows}"),
        format!("UPDATE versions SET hash = NULL WHERE key = {changed} AND snapshot = {with_rows}"),
        format!("DELETE FROM versions WHERE key = {changed} AND snapshot = {with_rows}"),
        format!("UPDATE snapshots SET taken_at = taken_at + 1 WHERE id = {latest}"),
        format!("UPDATE snapshots SET complete = 0 WHERE id = {latest}"),
        format!("UPDATE snapshots SET objects = objects + 1 WHERE id = {latest}"),
        format!("UPDATE snapshots SET counts = '{{}}' WHERE id = {latest}"),
        format!("UPDATE snapshots SET requests = requests + 1 WHERE id = {latest}"),
        format!("UPDATE snapshots SET millis = millis + 1 WHERE id = {latest}"),
        format!("UPDATE snapshots SET cursor_kinds = '{{}}' WHERE id = {latest}"),
        format!("UPDATE snapshots SET chain_version = 1 WHERE id = {latest}"),
        "UPDATE snapshots SET audit = NULL WHERE id = (SELECT MAX(id) FROM snapshots WHERE audit IS NOT NULL)".into(),
        format!("UPDATE snapshots SET manifest = chain WHERE id = {latest}"),
        format!("UPDATE snapshots SET parent = NULL WHERE id = {latest}"),
        "UPDATE snapshots SET chain = manifest WHERE id = (SELECT MIN(id) FROM snapshots)".into(),
        "UPDATE cursors SET link = link || '&x=1' WHERE kind = 'user'".into(),
        "UPDATE blobs SET data = zeroblob(length(data)) WHERE hash = (SELECT MIN(hash) FROM blobs)"
            .into(),
        "UPDATE blobs SET size = size + 1 WHERE hash = (SELECT MIN(hash) FROM blobs)".into(),
        "DELETE FROM snapshots WHERE id = (SELECT MIN(id) FROM snapshots)".into(),
        "UPDATE tenants SET graph_url = 'https://attacker.example'".into(),
        "UPDATE tenants SET authority_url = 'https://attacker.example'".into(),
        "UPDATE tenants SET name = 'other'".into(),
        "UPDATE alerts SET severity = 'low'".into(),
        "UPDATE alerts SET rule = 'bulk-change'".into(),
        "UPDATE alerts SET body = '{}'".into(),
        "UPDATE alerts SET snapshot = snapshot - 1".into(),
        "DELETE FROM alerts".into(),
        "UPDATE restores SET plan = '{}'".into(),
        "UPDATE restores SET status = 'running'".into(),
        "UPDATE restores SET writer = 'someone-else'".into(),
        "UPDATE restore_steps SET state = 'failed'".into(),
        "UPDATE restore_steps SET result = '{\"new_id\":\"x\"}'".into(),
        "UPDATE lineage SET new_key = 'g-attacker'".into(),
        "DELETE FROM lineage".into(),
        "UPDATE ledger SET body = '{}' WHERE seq = 1".into(),
        "DELETE FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)".into(),
    ];
    for sql in &edits {
        std::fs::write(s.store(), &pristine).unwrap();
        let _ = std::fs::remove_file(s.store().with_extension("db-wal"));
        assert_eq!(
            code(&s.run(&["verify"])),
            Some(0),
            "the copy verifies before: {sql}"
        );
        tamper(&s.store(), sql);
        let out = s.run(&["verify"]);
        assert_eq!(
            code(&out),
            Some(6),
            "verify missed: {sql}\n{}",
            stderr(&out)
        );
    }
}

/// Rows slipped into a store in use whose ledger is still empty are not entered into the
/// ledger as if they were from before it (every snapshot sealed since committed a head, the
/// empty text for an empty ledger): `verify` reports them. Nor can the heads be cleared to
/// make the store look as if it predated the ledger.
#[test]
fn rows_slipped_into_an_empty_ledger_are_reported_not_adopted() {
    let (s, pristine) = attacked();
    let slipped = [
        "INSERT INTO alerts (tenant, fingerprint, rule, severity, snapshot, created_at, body) \
         VALUES (1, 'fake', 'new-actor', 'low', 1, 0, '{}')",
        "INSERT INTO restores (tenant, created_at, plan, status, finished_at, writer) \
         VALUES (1, 0, '{}', 'finished', 0, 'app-1')",
        "UPDATE snapshots SET ledger_head = NULL",
    ];
    for sql in slipped {
        std::fs::write(s.store(), &pristine).unwrap();
        let _ = std::fs::remove_file(s.store().with_extension("db-wal"));
        assert_eq!(code(&s.run(&["verify"])), Some(0), "before: {sql}");
        tamper(&s.store(), sql);
        for _ in 0..2 {
            let out = s.run(&["verify"]);
            assert_eq!(
                code(&out),
                Some(6),
                "verify missed: {sql}\n{}",
                stderr(&out)
            );
        }
    }
}

/// The bug: with a version row deleted, `verify` failed but every other command went on with
/// the damaged state, and `forget` folded the damage away.
#[test]
fn damage_stops_every_command_that_would_read_it_until_a_full_capture() {
    let (s, _) = attacked();
    tamper(
        &s.store(),
        "DELETE FROM versions WHERE kind = 'group' AND key = (SELECT MIN(key) FROM versions WHERE kind = 'group')",
    );
    for args in [
        &["changes", "--from", "1"][..],
        &["diff", "--from", "1", "--to", "2"],
        &["check"],
        &[
            "show",
            "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
        ],
        &["restore", "--to", "1", "--all", "--dry-run"],
        &[
            "history",
            "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
        ],
        &["capture"],
        &["export", "-"],
        &["forget", "--keep-last", "1"],
    ] {
        let out = s.run(args);
        assert_eq!(code(&out), Some(6), "{args:?}: {}", stderr(&out));
        let why = stderr(&out);
        assert!(
            why.contains("is damaged")
                && why.contains("rewind verify")
                && why.contains("capture --full"),
            "{args:?}: {why}"
        );
    }
    // A full capture reads everything again: the newest point is one to rely on.
    let full = s.json(&["capture", "--full", "--json"]);
    assert_eq!(full["complete"], true);
    for args in [
        &["check"][..],
        &[
            "show",
            "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
        ],
        &["changes", "--from", "2"],
    ] {
        let out = s.run(args);
        assert!(
            matches!(code(&out), Some(0 | 6)) && !stderr(&out).contains("damaged"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(
        code(&s.run(&["verify"])),
        Some(6),
        "the old damage is still reported"
    );
}

#[test]
fn reading_commands_never_create_a_store_and_verify_needs_one() {
    let s = Setup::new(&[]);
    let nowhere = s.dir().join("typo.db");
    let arg = nowhere.to_str().unwrap();
    for args in [
        &["log", "--store", arg][..],
        &["show", "x", "--store", arg],
        &["verify", "--store", arg],
    ] {
        let out = s.run(args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("there is no store at"),
            "{}",
            stderr(&out)
        );
        assert!(!nowhere.exists(), "{args:?} created a store");
    }
    std::fs::write(&nowhere, b"").unwrap();
    let empty = s.run(&["verify", "--store", arg]);
    assert_eq!(code(&empty), Some(2), "{}", stderr(&empty));
    assert!(stderr(&empty).contains("is empty"), "{}", stderr(&empty));
    std::fs::remove_file(&nowhere).unwrap();
    let tenantless = s.dir().join("tenantless.db");
    let path = tenantless.clone();
    tokio_rt()
        .block_on(async move { rewind_store::Store::open_sqlite(&path, None).await.unwrap() });
    let out = s.run(&["verify", "--store", tenantless.to_str().unwrap()]);
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no tenant"), "{}", stderr(&out));
}

#[test]
fn the_chain_head_is_printed_and_can_be_checked_later() {
    let (s, _) = attacked();
    let verified = s.json(&["verify", "--json"]);
    let head = verified["heads"][0]["chain"].as_str().unwrap().to_string();
    let log: Value = s.json(&["log", "--json"]);
    assert_eq!(log["head"], head.as_str());
    assert_eq!(code(&s.run(&["verify", "--head", &head])), Some(0));
    let next = s.json(&["capture", "--json"]);
    let moved = next["chain"].as_str().unwrap();
    assert_ne!(moved, head);
    // History rewritten and the chain recomputed (a plain store lets anyone do that): the head
    // kept elsewhere no longer matches.
    let out = s.run(&["verify", "--head", moved]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let out = s.run(&["verify", "--head", "00"]);
    assert_eq!(code(&out), Some(6), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no tenant's chain head is"),
        "{}",
        stderr(&out)
    );
}
