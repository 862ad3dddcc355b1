//! Restore journals and lineage: a step's latest state wins, plans and results are sealed in an
//! encrypted store, restores are listed newest first, and removing a tenant removes its
//! restores.

use rewind_model::Kind;
use rewind_store::{RestoreStatus, StepState, StoreKey};

use crate::db::{Db, on_both, spec};

on_both!(
    a_journal_keeps_each_steps_latest_state_and_the_lineage,
    journals_are_sealed_in_an_encrypted_store,
    one_restore_per_tenant_holds_the_lock,
);

async fn one_restore_per_tenant_holds_the_lock(db: Db) {
    let store = db.store().await;
    let t = store.add_tenant(&spec("one")).await.unwrap();
    let other = store.add_tenant(&spec("two")).await.unwrap();
    let held = store.lock_restore(&t, "host-a, pid 1").await.unwrap();
    let err = store.lock_restore(&t, "host-b, pid 2").await.err().unwrap();
    assert!(
        matches!(&err, rewind_store::StoreError::Conflict(m) if m.contains("host-a, pid 1")),
        "{err}"
    );
    // Another tenant's restore is not held up.
    let elsewhere = store.lock_restore(&other, "host-b, pid 2").await.unwrap();
    held.release().await.unwrap();
    let again = store.lock_restore(&t, "host-b, pid 2").await.unwrap();
    drop((again, elsewhere));
    db.cleanup(store).await;
}

async fn a_journal_keeps_each_steps_latest_state_and_the_lineage(db: Db) {
    let store = db.store().await;
    let t = store.add_tenant(&spec("journal")).await.unwrap();
    let first = store.begin_restore(&t, "{\"format\":1}", "writer-app").await.unwrap();
    store
        .record_steps(
            first,
            &[(1, StepState::Started, String::new()), (2, StepState::Started, String::new())],
        )
        .await
        .unwrap();
    store.record_step(first, 1, StepState::Done, "{\"new_id\":\"g2\"}").await.unwrap();
    store.record_lineage(&t, first, Kind::Group, "g1", "g2").await.unwrap();
    let steps = store.restore_steps(first).await.unwrap();
    assert_eq!(steps[&1].state, StepState::Done);
    assert_eq!(steps[&1].result, "{\"new_id\":\"g2\"}");
    assert_eq!(steps[&2].state, StepState::Started);
    let second = store.begin_restore(&t, "{}", "writer-app").await.unwrap();
    store.finish_restore(first, RestoreStatus::Partial).await.unwrap();
    let listed = store.restores(&t).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| (r.id, r.status.as_str())).collect::<Vec<_>>(),
        vec![(second, "running"), (first, "partial")]
    );
    assert_eq!(listed[1].plan, "{\"format\":1}");
    assert!(listed[1].finished_at.is_some());
    let lineage = store.lineage(&t).await.unwrap();
    assert_eq!(lineage.len(), 1);
    assert_eq!((lineage[0].old_key.as_str(), lineage[0].new_key.as_str()), ("g1", "g2"));
    store.remove_tenant(&t).await.unwrap();
    assert!(store.tenant("journal").await.unwrap().is_none());
    db.cleanup(store).await;
}

async fn journals_are_sealed_in_an_encrypted_store(db: Db) {
    let key = StoreKey::generate();
    let store = db.open(Some(&key)).await.unwrap();
    let t = store.add_tenant(&spec("sealed")).await.unwrap();
    let id = store.begin_restore(&t, "{\"secret\":\"policy body\"}", "writer-app").await.unwrap();
    store.record_step(id, 1, StepState::Failed, "{\"error\":\"x\"}").await.unwrap();
    assert_eq!(store.restores(&t).await.unwrap()[0].plan, "{\"secret\":\"policy body\"}");
    assert_eq!(store.restore_steps(id).await.unwrap()[&1].result, "{\"error\":\"x\"}");
    store.close().await;
    let raw = db.open(Some(&key)).await.unwrap();
    let leaked = db.scalar("SELECT COUNT(*) FROM restores WHERE plan LIKE '%policy body%'").await;
    assert_eq!(leaked, 0, "the plan is sealed at rest");
    db.cleanup(raw).await;
}
