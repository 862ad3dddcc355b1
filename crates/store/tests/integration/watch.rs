//! What watch keeps: alerts stored once per fingerprint and sealed, actors remembered without
//! case, the evaluated mark, and leases that hand each tenant to one worker at a time
//! (`PostgreSQL`; `SQLite` refuses clearly).

use std::collections::BTreeSet;
use std::time::Duration;

use rewind_store::{NewAlert, StoreError};

use crate::db::{Db, on_both, spec};

on_both!(alerts_are_stored_once_and_actors_remembered, leases_give_each_tenant_to_one_worker,);

fn alert(fingerprint: &str) -> NewAlert {
    NewAlert {
        fingerprint: fingerprint.into(),
        rule: "credential-added".into(),
        severity: rewind_model::Severity::High,
        snapshot: rewind_store::SnapshotId(1),
        body: format!("{{\"fingerprint\":\"{fingerprint}\"}}"),
    }
}

async fn alerts_are_stored_once_and_actors_remembered(db: Db) {
    let store = db.store().await;
    let t = store.add_tenant(&spec("watched")).await.unwrap();
    let other = store.add_tenant(&spec("other")).await.unwrap();
    let first = store.add_alerts(&t, &[alert("a"), alert("b")]).await.unwrap();
    assert_eq!(first.len(), 2);
    let again = store.add_alerts(&t, &[alert("b"), alert("c")]).await.unwrap();
    assert_eq!(again.len(), 1, "b was stored before");
    assert_eq!(again[0].body, "{\"fingerprint\":\"c\"}");
    store.add_alerts(&other, &[alert("a")]).await.unwrap();
    // Delivery is at least once: what was not delivered is offered again.
    let epoch = jiff::Timestamp::UNIX_EPOCH;
    let pending = store.undelivered_alerts(&t, epoch, 10).await.unwrap();
    assert_eq!(pending.len(), 3);
    assert_eq!(store.undelivered_alerts(&t, epoch, 2).await.unwrap().len(), 2);
    let both = vec!["webhook".to_string(), "email".to_string()];
    store
        .record_deliveries(&[
            (pending[0].id, both.clone(), true),
            (pending[1].id, vec!["email".into()], false),
            (pending[2].id, both, true),
        ])
        .await
        .unwrap();
    let left = store.undelivered_alerts(&t, epoch, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, pending[1].id);
    assert_eq!(left[0].delivered_to, ["email"], "the webhook still owes it");
    // Offered again while the webhook keeps failing: nothing changes, nothing is recorded.
    let entries = db.scalar("SELECT COUNT(*) FROM ledger").await;
    store.record_deliveries(&[(pending[1].id, vec!["email".into()], false)]).await.unwrap();
    assert_eq!(db.scalar("SELECT COUNT(*) FROM ledger").await, entries);
    store
        .record_deliveries(&[(pending[1].id, vec!["email".into(), "webhook".into()], true)])
        .await
        .unwrap();
    assert_eq!(db.scalar("SELECT COUNT(*) FROM ledger").await, entries + 1);
    assert!(store.verify().await.unwrap().ok());
    let left = store.undelivered_alerts(&t, epoch, 10).await.unwrap();
    assert!(left.is_empty());
    assert!(store.alerts(Some(&t), None).await.unwrap()[0].delivered_at.is_some());
    assert_eq!(store.alerts(Some(&t), None).await.unwrap().len(), 3);
    assert_eq!(store.alerts(None, None).await.unwrap().len(), 4);
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
    assert!(store.alerts(None, Some(later)).await.unwrap().is_empty());

    let seen: BTreeSet<String> = ["Admin@Contoso.com".to_string()].into();
    store.add_known_actors(&t, &seen).await.unwrap();
    let asked: BTreeSet<String> = ["admin@contoso.com".into(), "Rogue App".into()].into();
    let known = store.known_actors(&t, &asked).await.unwrap();
    assert_eq!(known, ["admin@contoso.com".to_string()].into());
    assert!(store.known_actors(&other, &asked).await.unwrap().is_empty());

    assert_eq!(store.watch_evaluated(&t).await.unwrap(), None);
    store.set_watch_evaluated(&t, rewind_store::SnapshotId(7)).await.unwrap();
    store.set_watch_evaluated(&t, rewind_store::SnapshotId(9)).await.unwrap();
    assert_eq!(store.watch_evaluated(&t).await.unwrap(), Some(rewind_store::SnapshotId(9)));
    store.remove_tenant(&t).await.unwrap();
    assert_eq!(store.alerts(None, None).await.unwrap().len(), 1);
}

async fn leases_give_each_tenant_to_one_worker(db: Db) {
    let store = db.store().await;
    store.add_tenant(&spec("a")).await.unwrap();
    store.add_tenant(&spec("b")).await.unwrap();
    let lease = Duration::from_secs(30);
    if matches!(db, Db::Sqlite(_)) {
        let refused = store.claim_due_tenant("w1", lease).await.unwrap_err();
        assert!(matches!(refused, StoreError::Unsupported(_)), "{refused}");
        assert!(refused.to_string().contains("PostgreSQL"));
        return;
    }
    assert!(
        store.claim_due_tenant("w1", lease).await.unwrap().is_none(),
        "tenants are claimed once enrolled"
    );
    store.enroll_tenants().await.unwrap();
    let first = store.claim_due_tenant("w1", lease).await.unwrap().unwrap().0;
    let second = store.claim_due_tenant("w2", lease).await.unwrap().unwrap().0;
    assert_ne!(first.id, second.id);
    assert!(store.claim_due_tenant("w3", lease).await.unwrap().is_none());
    assert!(store.renew_lease(&first, "w1", lease).await.unwrap());
    assert!(!store.renew_lease(&first, "w2", lease).await.unwrap());
    // Given back, due again at once, it can be claimed again; due later, it cannot.
    store.release_lease(&first, "w1", Duration::ZERO, false).await.unwrap();
    let (again, failures) = store.claim_due_tenant("w3", lease).await.unwrap().unwrap();
    assert_eq!((again.id, failures), (first.id, 0));
    let failures = store.release_lease(&again, "w3", Duration::from_mins(10), true).await.unwrap();
    assert_eq!(failures, 1);
    assert!(store.claim_due_tenant("w1", lease).await.unwrap().is_none());
    // An expired lease is free for another worker; its old holder can no longer renew it.
    store.release_lease(&second, "w2", Duration::ZERO, false).await.unwrap();
    // A lease of no length has expired by the next statement (PostgreSQL's clock moves on).
    let (short, _) = store.claim_due_tenant("w4", Duration::ZERO).await.unwrap().unwrap();
    let taken = store.claim_due_tenant("w5", lease).await.unwrap().unwrap().0;
    assert_eq!(taken.id, short.id);
    assert!(!store.renew_lease(&short, "w4", lease).await.unwrap());
}

on_both!(concurrent_captures_sharing_blobs_never_deadlock);

/// Tenants of a fleet share many versions (built-in roles, default policies): their captures
/// insert the same blobs at once, in whatever order each read them. `PostgreSQL` must never
/// find two such inserts waiting on each other.
async fn concurrent_captures_sharing_blobs_never_deadlock(db: Db) {
    let store = db.store().await;
    for round in 0..4u32 {
        let blobs: Vec<(rewind_model::ContentHash, Vec<u8>)> = (0..1500u32)
            .map(|i| {
                let bytes = format!("{{\"round\":{round},\"i\":{i}}}").into_bytes();
                (rewind_model::ContentHash::of(&bytes), bytes)
            })
            .collect();
        let mut tasks = Vec::new();
        for w in 0..6usize {
            let (store, mut mine) = (store.clone(), blobs.clone());
            // Every writer in its own order, as each capture reads its own tenant.
            mine.rotate_left(w * 250);
            if w % 2 == 1 {
                mine.reverse();
            }
            tasks.push(tokio::spawn(async move { store.put_blobs(&mine).await }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        for (h, bytes) in blobs.iter().step_by(100) {
            assert_eq!(&store.blob(h).await.unwrap(), bytes);
        }
    }
}
