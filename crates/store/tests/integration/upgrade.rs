//! A store written by the release before the ledger (schema 3, `fixtures/stores/schema-3.db`:
//! `tiny`, the `attacker` scenario seen by `watch`, its alerts, an actor undo) opens, upgrades
//! and verifies: its alerts, restore journal, known actors and watch state are entered into the
//! ledger once, as they were, and from then on an edit to them is found.

use rewind_store::Store;
use sqlx::Row as _;

/// A copy of the fixture in a directory of its own, removed when dropped.
struct Copy(std::path::PathBuf);

impl Copy {
    fn new() -> Copy {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/stores/schema-3.db");
        let dir = std::env::temp_dir().join(format!("rewind-upgrade-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&fixture, dir.join("old.db"))
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
        Copy(dir)
    }

    fn path(&self) -> std::path::PathBuf {
        self.0.join("old.db")
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn ledger_entries(path: &std::path::Path) -> Vec<String> {
    use sqlx::Connection as _;
    sqlx::any::install_default_drivers();
    let mut c =
        sqlx::AnyConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("SELECT entry FROM ledger ORDER BY seq")
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

#[tokio::test]
async fn a_store_from_before_the_ledger_upgrades_and_verifies() {
    let copy = Copy::new();
    let path = copy.path();
    let store = Store::open_sqlite(&path, None).await.unwrap();
    let report = store.verify().await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.snapshots, 7);
    let t = store.tenants().await.unwrap().remove(0);
    let latest = store.latest(&t).await.unwrap().unwrap();
    // Version-1 snapshots are still read, and checked, as they were.
    assert_eq!(store.manifest(&t, &latest).await.unwrap().len(), 129);
    store.close().await;

    let entries = ledger_entries(&path).await;
    let count = |e: &str| entries.iter().filter(|x| *x == e).count();
    assert_eq!(count("alert"), 7, "{entries:?}");
    assert_eq!(count("delivered"), 7, "{entries:?}");
    assert_eq!(count("restore"), 1, "{entries:?}");
    assert_eq!(count("step"), 5, "{entries:?}");
    assert_eq!(count("finish"), 1, "{entries:?}");
    assert_eq!(count("known"), 1, "{entries:?}");
    assert_eq!(count("evaluated"), 1, "{entries:?}");

    // Opened again: entered once only.
    let store = Store::open_sqlite(&path, None).await.unwrap();
    store.close().await;
    assert_eq!(ledger_entries(&path).await, entries);

    // From now on the rows are covered.
    {
        use sqlx::Connection as _;
        let mut c =
            sqlx::AnyConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        sqlx::query("UPDATE alerts SET severity = 'low' WHERE rule = 'privileged-role-assigned'")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let store = Store::open_sqlite(&path, None).await.unwrap();
    let report = store.verify().await.unwrap();
    assert!(!report.ok(), "the edit to an alert went unnoticed");
    store.close().await;
}
