//! Forgetting snapshots: kept states stay exactly as they were, the chain stays verifiable,
//! attribution survives the fold, and blobs only forgotten snapshots used are collected.

use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use rewind_store::{
    Change, KeepPolicy, Manifest, NewSnapshot, NewTenant, ObjectKey, SnapshotInfo, Store,
    StoreError, TenantInfo, VersionChange,
};
use serde_json::json;

use crate::db::{Db, on_both};

on_both!(
    forgetting_folds_changes_into_kept_snapshots_and_collects_blobs,
    forget_waits_for_no_one_and_refuses_while_a_capture_runs,
);

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

async fn change(
    store: &Store,
    key: &str,
    body: Option<serde_json::Value>,
    change: Change,
    actor: &str,
) -> VersionChange {
    let hash = match &body {
        Some(b) => {
            let bytes = serde_json::to_vec(b).unwrap();
            let h = ContentHash::of(&bytes);
            store.put_blobs(&[(h, bytes)]).await.unwrap();
            Some(h)
        }
        None => None,
    };
    VersionChange {
        object: ObjectKey::new(Kind::Group, key),
        hash,
        name: body.and_then(|b| b["displayName"].as_str().map(str::to_string)),
        change,
        actors: if actor.is_empty() { vec![] } else { vec![rewind_model::Actor::named(actor)] },
        records: vec![],
    }
}

async fn commit(
    store: &Store,
    t: &TenantInfo,
    changes: Vec<VersionChange>,
    at: i64,
) -> SnapshotInfo {
    let base = store.latest(t).await.unwrap();
    let manifest = match &base {
        Some(b) => store.manifest(t, b).await.unwrap(),
        None => Manifest::new(),
    };
    let new = NewSnapshot {
        taken_at: Timestamp::from_second(at).unwrap(),
        changes,
        cursors: vec![],
        audit: vec![],
        amendments: vec![],
        drop_cursors: vec![],
        import_mark: None,
        unavailable: std::collections::BTreeMap::new(),
        requests: 1,
        millis: 1,
    };
    store.commit(t, base.as_ref(), &manifest, &new).await.unwrap()
}

/// Six snapshots over three days (see the comments); keeping one a day keeps s1, s4 and s6.
async fn six_snapshots(store: &Store) -> (TenantInfo, Vec<SnapshotInfo>) {
    let t = store
        .add_tenant(&NewTenant {
            tenant_id: "f0000000-0000-0000-0000-000000000000".into(),
            name: "forgetful".into(),
            graph_url: "http://127.0.0.1:1".into(),
            authority_url: "http://127.0.0.1:1".into(),
            client_id: None,
        })
        .await
        .unwrap();
    let d0 = 1_800_000_000 - 1_800_000_000 % DAY + 10 * HOUR;
    let g = |n: &str, v: u32| Some(json!({"displayName": n, "v": v}));
    let mut s = Vec::new();
    // s1 (day 1): a and b created.
    let c1 = vec![
        change(store, "a", g("A", 1), Change::Created, "").await,
        change(store, "b", g("B", 1), Change::Created, "").await,
    ];
    s.push(commit(store, &t, c1, d0).await);
    // s2 (day 2): a updated by x; c created.
    let c2 = vec![
        change(store, "a", g("A", 2), Change::Updated, "x").await,
        change(store, "c", g("C", 1), Change::Created, "x").await,
    ];
    s.push(commit(store, &t, c2, d0 + DAY).await);
    // s3: a updated by y; c deleted (it lived only between kept snapshots).
    let c3 = vec![
        change(store, "a", g("A", 3), Change::Updated, "y").await,
        change(store, "c", None, Change::Deleted, "y").await,
    ];
    s.push(commit(store, &t, c3, d0 + DAY + HOUR).await);
    // s4 (the last of day 2): b updated.
    let c4 = vec![change(store, "b", g("B", 2), Change::Updated, "").await];
    s.push(commit(store, &t, c4, d0 + DAY + 2 * HOUR).await);
    // s5 (day 3): d created by z; s6: d updated by w.
    let c5 = vec![change(store, "d", g("D", 1), Change::Created, "z").await];
    s.push(commit(store, &t, c5, d0 + 2 * DAY).await);
    let c6 = vec![change(store, "d", g("D", 2), Change::Updated, "w").await];
    s.push(commit(store, &t, c6, d0 + 2 * DAY + HOUR).await);
    (t, s)
}

async fn forgetting_folds_changes_into_kept_snapshots_and_collects_blobs(db: Db) {
    let store = db.open(None).await.unwrap();
    let (t, s) = six_snapshots(&store).await;
    let mut before = Vec::new();
    for snap in &s {
        before.push(store.manifest(&t, snap).await.unwrap());
    }
    let policy = KeepPolicy { daily: 7, ..KeepPolicy::default() };
    let dry = store.forget(&t, policy, true).await.unwrap();
    let forgotten: Vec<i64> =
        dry.decisions.iter().filter(|d| !d.keep()).map(|d| d.snapshot.0).collect();
    assert_eq!(forgotten, vec![s[4].id.0, s[2].id.0, s[1].id.0]);
    assert_eq!(store.snapshots(&t).await.unwrap().len(), 6, "a dry run changes nothing");

    let report = store.forget(&t, policy, false).await.unwrap();
    assert_eq!(
        report.blobs_removed, 3,
        "a's second version, c's only one and d's first: {report:?}"
    );
    let left = store.snapshots(&t).await.unwrap();
    assert_eq!(left.iter().map(|x| x.id).collect::<Vec<_>>(), vec![s[0].id, s[3].id, s[5].id]);
    for (i, snap) in [(0, &left[0]), (3, &left[1]), (5, &left[2])] {
        assert_eq!(store.manifest(&t, snap).await.unwrap(), before[i], "state at s{}", i + 1);
        assert_eq!(snap.manifest, s[i].manifest, "every kept state reads as before");
    }
    // The first snapshot kept its chain; the folded ones were sealed again.
    assert_eq!(left[0].chain, s[0].chain);
    assert_ne!(left[1].chain, s[3].chain);
    assert_eq!(left[1].parent, Some(left[0].id));
    let a = store.history(&t, &ObjectKey::new(Kind::Group, "a")).await.unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!((a[1].snapshot, a[1].change), (s[3].id, Change::Updated));
    assert_eq!(a[1].actors, named(&["x", "y"]));
    assert!(
        store.history(&t, &ObjectKey::new(Kind::Group, "c")).await.unwrap().is_empty(),
        "c lived and died between kept snapshots"
    );
    let d = store.history(&t, &ObjectKey::new(Kind::Group, "d")).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].change, d[0].actors.clone()), (Change::Created, named(&["z", "w"])));
    assert_eq!(left[1].totals().updated, 2, "s4 now records a's and b's updates");

    let verify = store.verify().await.unwrap();
    assert!(verify.ok(), "{:?}", verify.problems);
    // The timeline goes on: a capture on top of the kept latest, and another forget.
    commit(
        &store,
        &t,
        vec![change(&store, "e", Some(json!({"displayName": "E"})), Change::Created, "").await],
        s[5].taken_at.as_second() + HOUR,
    )
    .await;
    let again =
        store.forget(&t, KeepPolicy { last: 1, ..KeepPolicy::default() }, false).await.unwrap();
    assert_eq!(again.decisions.iter().filter(|d| d.keep()).count(), 1);
    let verify = store.verify().await.unwrap();
    assert!(verify.ok(), "{:?}", verify.problems);
    let latest = store.latest(&t).await.unwrap().unwrap();
    assert_eq!(store.manifest(&t, &latest).await.unwrap().len(), 4, "a, b, d, e");
    db.cleanup(store).await;
}

async fn forget_waits_for_no_one_and_refuses_while_a_capture_runs(db: Db) {
    let store = db.open(None).await.unwrap();
    let (t, _) = six_snapshots(&store).await;
    let capture = store.lock_shared().await.unwrap();
    let policy = KeepPolicy { last: 1, ..KeepPolicy::default() };
    match store.forget(&t, policy, false).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("running"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.snapshots(&t).await.unwrap().len(), 6);
    drop(capture);
    store.forget(&t, policy, false).await.unwrap();
    assert_eq!(store.snapshots(&t).await.unwrap().len(), 1);
    db.cleanup(store).await;
}

fn named(names: &[&str]) -> Vec<rewind_model::Actor> {
    names.iter().map(|n| rewind_model::Actor::named(n)).collect()
}
