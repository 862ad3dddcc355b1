//! Tamper-evident end to end: every column the chain covers, changed, makes `verify` fail;
//! damage stops every command that would read the damaged snapshot (exit 6, the snapshot
//! named, the fix said) until `capture --full` gives a snapshot to rely on; reading commands
//! never create a store; the chain head can be kept elsewhere and checked.

use std::path::Path;

use serde_json::Value;

use super::timeline::{Setup, code, stderr};
use super::tokio_rt;

/// Runs statements on the test's SQLite store, as someone with write access to it would.
fn tamper(db: &Path, sql: &str) {
    let sql = sql.to_string();
    tokio_rt().block_on(async move {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c =
            sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let done = sqlx::raw_sql(&sql).execute(&mut c).await.unwrap();
        assert!(done.rows_affected() > 0, "{sql} changed nothing");
        // Closed here, not on drop: a connection still closing on its worker thread may
        // checkpoint its WAL into the file the next edit has already replaced.
        c.close().await.unwrap();
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

/// Adds what the ledger keeps through the store's own writers — alerts and a delivery, a
/// restore with a step, a lineage record, a known actor, the snapshot watch evaluated — and
/// captures again, so that a snapshot commits to it.
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
                    severity: rewind_model::Severity::Medium,
                    snapshot: latest.id,
                    body: "{\"summary\":\"first change ever by Rogue\"}".into(),
                }],
            )
            .await
            .unwrap();
        let alert = store.alerts(Some(&t), None).await.unwrap()[0].id;
        store.record_deliveries(&[(alert, vec!["webhook".into()], false)]).await.unwrap();
        store.add_known_actors(&t, &["user:u-1".to_string()].into()).await.unwrap();
        store.set_watch_evaluated(&t, latest.id).await.unwrap();
        // A late audit record, found by a capture after the change it explains.
        let manifest = store.manifest(&t, &latest).await.unwrap();
        let changed = store
            .changed_between(&t, rewind_store::SnapshotId(latest.id.0 - 1), latest.id)
            .await
            .unwrap()[0]
            .clone();
        let late = rewind_store::NewSnapshot {
            taken_at: jiff::Timestamp::now(),
            changes: vec![],
            cursors: vec![],
            audit: vec![],
            amendments: vec![rewind_store::Amendment {
                object: changed,
                version: latest.id,
                actors: vec![rewind_model::Actor::named("Late Admin")],
                records: vec!["late-record-1".into()],
            }],
            drop_cursors: vec![],
            import_mark: None,
            unavailable: std::collections::BTreeMap::new(),
            requests: 1,
            millis: 1,
        };
        store.commit(&t, Some(&latest), &manifest, &late).await.unwrap();
        let r = store.begin_restore(&t, "{\"format\":1}", "app-1").await.unwrap();
        store.record_step(r, 1, rewind_store::StepState::Done, "{}").await.unwrap();
        store.record_lineage(&t, r, rewind_model::Kind::Group, "g-old", "g-new").await.unwrap();
        store.finish_restore(r, rewind_store::RestoreStatus::Finished).await.unwrap();
        store.close().await;
    });
    s.json(&["capture", "--json"]);
    std::fs::read(s.store()).unwrap()
}

/// Columns no edit below touches, and why that is safe. Everything else in the schema is
/// edited by the test, which fails when a migration adds a column neither lists.
const NOT_COVERED: &[(&str, &str)] = &[
    ("watch_state.next_due", "scheduling: an edit delays a capture, which shows as its age"),
    ("watch_state.holder", "scheduling: a fleet lease, rewritten every claim"),
    ("watch_state.lease_until", "scheduling: a fleet lease, rewritten every claim"),
    ("watch_state.failures", "scheduling: the back-off after failed captures"),
    ("schema_migrations.description", "never read"),
    ("meta.key", "its rows are the key check (below) and import marks (covered)"),
];

/// One edit, as someone with write access to the database would make it; the first word of
/// `column` names what it touches, and `exit` is what `verify` must exit with afterwards.
struct Edit {
    column: &'static str,
    sql: String,
    exit: i32,
}

fn edit(column: &'static str, sql: impl Into<String>) -> Edit {
    Edit { column, sql: sql.into(), exit: 6 }
}

/// Every column of every table, edited one at a time (on a fresh copy of the store each time):
/// `verify` finds each edit; the test enumerates the schema so a new column cannot be missed.
#[test]
fn an_edit_to_any_column_of_any_table_makes_verify_fail() {
    let (s, _) = attacked();
    let pristine = with_ledger(&s);
    let latest = "(SELECT MAX(id) FROM snapshots)";
    let with_rows = "(SELECT MAX(snapshot) FROM versions)";
    let changed = format!("(SELECT MIN(key) FROM versions WHERE snapshot = {with_rows})");
    let row = format!("key = {changed} AND snapshot = {with_rows}");
    let other_tenant = "INSERT INTO tenants (id, tenant_id, name, graph_url, authority_url, \
                        created_at) VALUES (2, 't2', 'other', 'u', 'u', 0);";
    let edits = [
        edit(
            "versions.actors",
            format!("UPDATE versions SET actors = '[\"Someone Else\"]' WHERE key = {changed}"),
        ),
        edit("versions.records", format!("UPDATE versions SET records = '[]' WHERE {row}")),
        edit("versions.name", format!("UPDATE versions SET name = 'renamed' WHERE {row}")),
        edit(
            "versions.change",
            // Whatever the row's change is, another one: an edit must never be a no-op.
            format!(
                "UPDATE versions SET change = CASE change WHEN 'created' THEN 'updated' ELSE 'created' END WHERE {row}"
            ),
        ),
        edit("versions.kind", format!("UPDATE versions SET kind = 'group' WHERE {row}")),
        edit("versions.key", format!("UPDATE versions SET key = 'other' WHERE {row}")),
        edit("versions.hash", format!("UPDATE versions SET hash = NULL WHERE {row}")),
        edit("versions.snapshot", format!("UPDATE versions SET snapshot = {latest} WHERE {row}")),
        edit(
            "versions.tenant",
            format!("{other_tenant} UPDATE versions SET tenant = 2 WHERE {row}"),
        ),
        edit("versions", format!("DELETE FROM versions WHERE {row}")),
        edit("snapshots.id", format!("UPDATE snapshots SET id = id + 10 WHERE id = {latest}")),
        edit(
            "snapshots.tenant",
            format!("{other_tenant} UPDATE snapshots SET tenant = 2 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.taken_at",
            format!("UPDATE snapshots SET taken_at = taken_at + 1 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.complete",
            format!("UPDATE snapshots SET complete = 0 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.objects",
            format!("UPDATE snapshots SET objects = objects + 1 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.counts",
            format!("UPDATE snapshots SET counts = '{{}}' WHERE id = {latest}"),
        ),
        edit(
            "snapshots.requests",
            format!("UPDATE snapshots SET requests = requests + 1 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.millis",
            format!("UPDATE snapshots SET millis = millis + 1 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.cursor_kinds",
            // A value no capture writes: a capture that found no new delta cursor writes `{}`,
            // so setting `{}` could change nothing.
            format!(
                "UPDATE snapshots SET cursor_kinds = '{{\"user\":\"forged\"}}' WHERE id = {latest}"
            ),
        ),
        edit(
            "snapshots.chain_version",
            format!("UPDATE snapshots SET chain_version = 1 WHERE id = {latest}"),
        ),
        edit(
            "snapshots.chain_anchor",
            format!("UPDATE snapshots SET chain_anchor = chain WHERE id = {latest}"),
        ),
        edit(
            "snapshots.audit",
            "UPDATE snapshots SET audit = NULL WHERE id = (SELECT MAX(id) FROM snapshots WHERE audit IS NOT NULL)",
        ),
        edit(
            "snapshots.audit_until",
            format!(
                "UPDATE snapshots SET audit_until = COALESCE(audit_until, 0) + 1 WHERE id = {latest}"
            ),
        ),
        edit(
            "snapshots.ledger_head",
            format!("UPDATE snapshots SET ledger_head = NULL WHERE id = {latest}"),
        ),
        edit(
            "snapshots.manifest",
            format!("UPDATE snapshots SET manifest = chain WHERE id = {latest}"),
        ),
        edit("snapshots.parent", format!("UPDATE snapshots SET parent = NULL WHERE id = {latest}")),
        edit(
            "snapshots.chain",
            "UPDATE snapshots SET chain = manifest WHERE id = (SELECT MIN(id) FROM snapshots)",
        ),
        edit("snapshots", "DELETE FROM snapshots WHERE id = (SELECT MIN(id) FROM snapshots)"),
        edit("amendments.actors", "UPDATE amendments SET actors = '[]'"),
        edit("amendments.records", "UPDATE amendments SET records = '[]'"),
        edit("amendments.kind", "UPDATE amendments SET kind = 'user'"),
        edit("amendments.key", "UPDATE amendments SET key = 'other'"),
        edit("amendments.version", "UPDATE amendments SET version = version - 1"),
        edit("amendments.snapshot", format!("UPDATE amendments SET snapshot = {latest}")),
        edit("amendments.tenant", format!("{other_tenant} UPDATE amendments SET tenant = 2")),
        edit(
            "amendments",
            format!(
                "INSERT INTO amendments (tenant, snapshot, kind, key, version, actors, records) \
              VALUES (1, {latest}, 'group', 'g', 1, '[]', '[]')"
            ),
        ),
        edit("cursors.link", "UPDATE cursors SET link = link || '&x=1' WHERE kind = 'user'"),
        edit("cursors.kind", "UPDATE cursors SET kind = 'bogus' WHERE kind = 'user'"),
        edit("cursors.snapshot", "UPDATE cursors SET snapshot = snapshot - 1 WHERE kind = 'user'"),
        edit(
            "cursors.tenant",
            format!("{other_tenant} UPDATE cursors SET tenant = 2 WHERE kind = 'user'"),
        ),
        edit(
            "blobs.data",
            "UPDATE blobs SET data = zeroblob(length(data)) WHERE hash = (SELECT MIN(hash) FROM blobs)",
        ),
        edit(
            "blobs.size",
            "UPDATE blobs SET size = size + 1 WHERE hash = (SELECT MIN(hash) FROM blobs)",
        ),
        edit(
            "blobs.hash",
            "UPDATE blobs SET hash = zeroblob(32) WHERE hash = (SELECT MIN(hash) FROM blobs)",
        ),
        edit("tenants.graph_url", "UPDATE tenants SET graph_url = 'https://attacker.example'"),
        edit(
            "tenants.authority_url",
            "UPDATE tenants SET authority_url = 'https://attacker.example'",
        ),
        edit("tenants.name", "UPDATE tenants SET name = 'other'"),
        edit("tenants.tenant_id", "UPDATE tenants SET tenant_id = 'other'"),
        edit("tenants.client_id", "UPDATE tenants SET client_id = 'other'"),
        edit("tenants.created_at", "UPDATE tenants SET created_at = created_at + 1"),
        edit("tenants.id", "PRAGMA foreign_keys = OFF; UPDATE tenants SET id = 7"),
        edit("alerts.severity", "UPDATE alerts SET severity = 'low'"),
        edit("alerts.rule", "UPDATE alerts SET rule = 'bulk-change'"),
        edit("alerts.body", "UPDATE alerts SET body = '{}'"),
        edit("alerts.snapshot", "UPDATE alerts SET snapshot = snapshot - 1"),
        edit("alerts.fingerprint", "UPDATE alerts SET fingerprint = 'other'"),
        edit("alerts.created_at", "UPDATE alerts SET created_at = created_at + 1"),
        edit("alerts.id", "UPDATE alerts SET id = id + 10"),
        edit("alerts.tenant", format!("{other_tenant} UPDATE alerts SET tenant = 2")),
        edit("alerts.delivered_at", "UPDATE alerts SET delivered_at = 1"),
        edit("alerts.delivered_to", "UPDATE alerts SET delivered_to = 'webhook,email'"),
        edit("alerts", "DELETE FROM alerts"),
        edit("restores.plan", "UPDATE restores SET plan = '{}'"),
        edit("restores.status", "UPDATE restores SET status = 'running'"),
        edit("restores.writer", "UPDATE restores SET writer = 'someone-else'"),
        edit("restores.created_at", "UPDATE restores SET created_at = created_at + 1"),
        edit("restores.finished_at", "UPDATE restores SET finished_at = NULL"),
        edit("restores.id", "PRAGMA foreign_keys = OFF; UPDATE restores SET id = id + 10"),
        edit("restores.tenant", format!("{other_tenant} UPDATE restores SET tenant = 2")),
        edit("restore_steps.state", "UPDATE restore_steps SET state = 'failed'"),
        edit("restore_steps.result", "UPDATE restore_steps SET result = '{\"new_id\":\"x\"}'"),
        edit("restore_steps.updated_at", "UPDATE restore_steps SET updated_at = updated_at + 1"),
        edit("restore_steps.step", "UPDATE restore_steps SET step = step + 1"),
        edit(
            "restore_steps.restore",
            "PRAGMA foreign_keys = OFF; UPDATE restore_steps SET restore = restore + 10",
        ),
        edit("lineage.new_key", "UPDATE lineage SET new_key = 'g-attacker'"),
        edit("lineage.old_key", "UPDATE lineage SET old_key = 'g-other'"),
        edit("lineage.kind", "UPDATE lineage SET kind = 'user'"),
        edit("lineage.created_at", "UPDATE lineage SET created_at = created_at + 1"),
        edit(
            "lineage.restore",
            "PRAGMA foreign_keys = OFF; UPDATE lineage SET restore = restore + 10",
        ),
        edit("lineage.tenant", format!("{other_tenant} UPDATE lineage SET tenant = 2")),
        edit("lineage", "DELETE FROM lineage"),
        edit(
            "known_actors",
            "INSERT INTO known_actors (tenant, actor, first_seen) VALUES (1, 'attacker', 0)",
        ),
        edit("known_actors.actor", "UPDATE known_actors SET actor = 'attacker'"),
        edit("known_actors.first_seen", "UPDATE known_actors SET first_seen = first_seen + 1"),
        edit("known_actors.tenant", format!("{other_tenant} UPDATE known_actors SET tenant = 2")),
        edit("watch_state.evaluated", "UPDATE watch_state SET evaluated = evaluated + 1"),
        edit("watch_state.tenant", format!("{other_tenant} UPDATE watch_state SET tenant = 2")),
        edit("meta.value", "INSERT INTO meta (key, value) VALUES ('git-import:1', 'abc')"),
        Edit {
            column: "meta.value",
            sql: "UPDATE meta SET value = 'x' WHERE key = 'key_check'".into(),
            exit: 2,
        },
        Edit {
            column: "schema_migrations.version",
            sql: "UPDATE schema_migrations SET version = 40 WHERE version = 4".into(),
            exit: 2,
        },
        edit("ledger.body", "UPDATE ledger SET body = '{}' WHERE seq = 1"),
        edit("ledger.entry", "UPDATE ledger SET entry = 'alert' WHERE seq = 2"),
        edit("ledger.subject", "UPDATE ledger SET subject = '9' WHERE seq = 1"),
        edit("ledger.at", "UPDATE ledger SET at = at + 1 WHERE seq = 1"),
        edit(
            "ledger.chain",
            "UPDATE ledger SET chain = zeroblob(32) WHERE seq = (SELECT MAX(seq) FROM ledger)",
        ),
        edit(
            "ledger.seq",
            "UPDATE ledger SET seq = seq + 100 WHERE seq = (SELECT MAX(seq) FROM ledger)",
        ),
        edit("ledger.tenant", format!("{other_tenant} UPDATE ledger SET tenant = 2 WHERE seq = 1")),
        edit("ledger", "DELETE FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)"),
    ];
    let edited: std::collections::BTreeSet<&str> = edits.iter().map(|e| e.column).collect();
    let missed: Vec<String> = schema_columns(&s.store())
        .into_iter()
        .filter(|c| !edited.contains(c.as_str()) && !NOT_COVERED.iter().any(|(n, _)| n == c))
        .collect();
    assert!(missed.is_empty(), "columns no edit touches: {missed:?}");
    for e in &edits {
        std::fs::write(s.store(), &pristine).unwrap();
        let _ = std::fs::remove_file(s.store().with_extension("db-wal"));
        assert_eq!(code(&s.run(&["verify"])), Some(0), "the copy verifies before: {}", e.sql);
        tamper(&s.store(), &e.sql);
        let out = s.run(&["verify"]);
        assert_eq!(code(&out), Some(e.exit), "verify missed: {}\n{}", e.sql, stderr(&out));
    }
}

/// Every `table.column` of the store's schema.
fn schema_columns(db: &Path) -> Vec<String> {
    let db = db.to_path_buf();
    tokio_rt().block_on(async move {
        use sqlx::{Connection as _, Row as _};
        sqlx::any::install_default_drivers();
        let mut c =
            sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        let rows = sqlx::query(
            "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        // Closed before the edits replace the file (see `tamper`).
        c.close().await.unwrap();
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    })
}

/// A snapshot deleted from the middle of the chain cannot be hidden by giving the next one an
/// anchor (only snapshots sealed before `forget` re-sealed chains may have one).
#[test]
fn a_deleted_snapshot_cannot_hide_behind_an_anchor() {
    let (s, _) = attacked();
    s.json(&["capture", "--json"]);
    s.json(&["capture", "--json"]);
    let before = s.json(&["verify", "--json"]);
    assert_eq!(before["ok"], true, "{before}");
    // The third snapshot changed nothing, so deleting it leaves every manifest as it was.
    tamper(
        &s.store(),
        "UPDATE snapshots SET chain_anchor = (SELECT chain FROM snapshots WHERE id = 3) WHERE id = 4",
    );
    tamper(&s.store(), "DELETE FROM snapshots WHERE id = 3");
    let out = s.run(&["verify"]);
    assert_eq!(code(&out), Some(6), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("its parent is 3, but the snapshot before it is 2"), "{said}");
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
            assert_eq!(code(&out), Some(6), "verify missed: {sql}\n{}", stderr(&out));
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
        &["show", "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA"],
        &["restore", "--to", "1", "--all", "--dry-run"],
        &["history", "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA"],
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
        &["show", "ca/CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA"],
        &["changes", "--from", "2"],
    ] {
        let out = s.run(args);
        assert!(
            matches!(code(&out), Some(0 | 6)) && !stderr(&out).contains("damaged"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(code(&s.run(&["verify"])), Some(6), "the old damage is still reported");
}

#[test]
fn reading_commands_never_create_a_store_and_verify_needs_one() {
    let s = Setup::new(&[]);
    let nowhere = s.dir().join("typo.db");
    let arg = nowhere.to_str().unwrap();
    for args in
        [&["log", "--store", arg][..], &["show", "x", "--store", arg], &["verify", "--store", arg]]
    {
        let out = s.run(args);
        assert_eq!(code(&out), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("there is no store at"), "{}", stderr(&out));
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
    assert!(stderr(&out).contains("no tenant's chain head is"), "{}", stderr(&out));
}
