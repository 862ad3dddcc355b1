//! The chain as documented: an independent checker written from docs/design/store-format.md
//! alone (`tests/checker/check_store.py`, Python and BLAKE3, no Rewind code) verifies stores
//! Rewind wrote — plain and encrypted, with late attributions, cursors and a `forget` that sealed
//! the chain again — finds the same head as `verify`, and finds an edit.

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Timestamp;
use rewind_model::{Actor, ContentHash, Kind};
use rewind_store::{
    Amendment, Change, KeepPolicy, Manifest, NewSnapshot, ObjectKey, Store, StoreKey, TenantInfo,
    VersionChange,
};
use serde_json::json;

use crate::db::spec;

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/sdk-venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run ./dev/test, which installs the tests' Python packages",
        venv.display()
    );
    venv
}

/// Runs the checker; its lines and whether it found everything intact.
fn check(path: &Path, key: Option<&StoreKey>) -> (Vec<String>, bool) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/checker/check_store.py");
    let mut c = Command::new(python());
    c.arg(&script).arg(path);
    if let Some(k) = key {
        c.args(["--key", &k.to_hex()]);
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.stderr.is_empty(), "the checker failed: {}", String::from_utf8_lossy(&out.stderr));
    (stdout.lines().map(str::to_string).collect(), out.status.success())
}

async fn put(store: &Store, key: &str, name: &str) -> ContentHash {
    let bytes = serde_json::to_vec(&json!({"displayName": name, "id": key})).unwrap();
    let h = ContentHash::of(&bytes);
    store.put_blobs(&[(h, bytes)]).await.unwrap();
    h
}

fn change(
    kind: Kind,
    key: &str,
    hash: Option<ContentHash>,
    change: Change,
    by: &str,
) -> VersionChange {
    VersionChange {
        object: ObjectKey::new(kind, key),
        hash,
        name: Some(format!("name of {key}")),
        change,
        actors: if by.is_empty() { vec![] } else { vec![Actor::named(by)] },
        records: if by.is_empty() { vec![] } else { vec![format!("record-{key}")] },
    }
}

/// One snapshot to commit: its changes, cursors and late attributions.
type Step = (Vec<VersionChange>, Vec<(Kind, String)>, Vec<Amendment>);

/// Four snapshots: creations, an update with a cursor, a deletion, a late attribution.
async fn history(store: &Store) -> TenantInfo {
    let t = store.add_tenant(&spec("checked")).await.unwrap();
    let mut base: Option<rewind_store::SnapshotInfo> = None;
    let mut manifest = Manifest::new();
    let steps: Vec<Step> = vec![
        (
            vec![
                change(Kind::Group, "g1", Some(put(store, "g1", "One").await), Change::Created, ""),
                change(Kind::User, "u1", Some(put(store, "u1", "Ann").await), Change::Created, ""),
                change(
                    Kind::ConditionalAccessPolicy,
                    "p1",
                    Some(put(store, "p1", "MFA").await),
                    Change::Created,
                    "",
                ),
            ],
            vec![(Kind::User, "https://graph/users/delta?token=1".into())],
            vec![],
        ),
        (
            vec![change(
                Kind::Group,
                "g1",
                Some(put(store, "g1", "One!").await),
                Change::Updated,
                "admin@contoso.com",
            )],
            vec![(Kind::Group, "https://graph/groups/delta?token=2".into())],
            vec![],
        ),
        (
            vec![change(Kind::User, "u1", None, Change::Deleted, "HR Sync")],
            vec![(Kind::User, "https://graph/users/delta?token=3".into())],
            vec![],
        ),
        (
            vec![],
            vec![],
            vec![Amendment {
                object: ObjectKey::new(Kind::Group, "g1"),
                version: rewind_store::SnapshotId(0),
                actors: vec![Actor::named("Late Script")],
                records: vec!["record-late".into()],
            }],
        ),
    ];
    for (i, (changes, cursors, mut amendments)) in steps.into_iter().enumerate() {
        for a in &mut amendments {
            a.version = rewind_store::SnapshotId(base.as_ref().map_or(0, |b| b.id.0 - 1));
        }
        let new = NewSnapshot {
            taken_at: Timestamp::from_second(1_000 + i64::try_from(i).unwrap()).unwrap(),
            changes,
            cursors,
            audit: vec![],
            amendments,
            drop_cursors: vec![],
            import_mark: None,
            unavailable: std::collections::BTreeMap::new(),
            requests: 5,
            millis: 7,
        };
        let s = store.commit(&t, base.as_ref(), &manifest, &new).await.unwrap();
        manifest = store.manifest(&t, &s).await.unwrap();
        base = Some(s);
    }
    t
}

#[tokio::test]
async fn an_independent_checker_verifies_the_chain_from_the_document_alone() {
    let dir = std::env::temp_dir().join(format!("rewind-checker-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    for key in [None, Some(StoreKey::generate())] {
        let path = dir.join(if key.is_some() { "sealed.db" } else { "plain.db" });
        let store = Store::open_sqlite(&path, key.as_ref()).await.unwrap();
        let t = history(&store).await;
        let report = store.verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
        let head = report.heads[0].chain.to_hex();
        let (lines, ok) = check(&path, key.as_ref());
        assert!(ok, "{lines:?}");
        assert_eq!(lines, [format!("ok checked {head}")]);
        if key.is_some() {
            // Without the key, the keyed chain cannot be recomputed.
            let (lines, ok) = check(&path, None);
            assert!(!ok, "{lines:?}");
        }
        // `forget` folds and seals the chain again: still what the document says.
        store.forget(&t, KeepPolicy { last: 2, ..KeepPolicy::default() }, false).await.unwrap();
        let (lines, ok) = check(&path, key.as_ref());
        assert!(ok, "after forget: {lines:?}");
        // An edit the checker must see: an actor rewritten.
        store.close().await;
        let db = path.clone();
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
            "sqlite://{}",
            db.display()
        ))
        .await
        .unwrap();
        sqlx::query("UPDATE versions SET actors = '[\"Someone Else\"]' WHERE key = 'g1'")
            .execute(&mut c)
            .await
            .unwrap();
        drop(c);
        let (lines, ok) = check(&path, key.as_ref());
        assert!(!ok && lines[0].starts_with("damaged checked"), "{lines:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
