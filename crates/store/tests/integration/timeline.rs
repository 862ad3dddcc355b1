//! Snapshots, versions, manifests, history, cursors, audit, tenants, verify and encryption.

use jiff::Timestamp;
use rewind_model::{ContentHash, Kind};
use rewind_store::{
    AuditEntry, Change, Manifest, NewSnapshot, NewTenant, ObjectKey, SnapshotInfo, Store,
    StoreError, StoreKey, TenantInfo, VersionChange,
};
use serde_json::json;

use crate::db::{Db, on_both};

on_both!(
    snapshots_fold_into_manifests_and_histories,
    a_stale_base_is_refused_and_changes_nothing,
    a_failing_commit_leaves_no_snapshot,
    verify_finds_damaged_blobs_versions_and_chain,
    encrypted_stores_need_their_key,
    a_newer_schema_is_refused,
    tenants_are_added_listed_and_removed,
    contained_objects_are_found_by_their_own_id,
    a_fleet_opening_a_new_store_at_once_all_succeed,
    many_blobs_at_once_are_each_checked,
);

fn tenant_spec(name: &str) -> NewTenant {
    NewTenant {
        tenant_id: format!("{name}-0000-0000-0000-000000000000"),
        name: name.into(),
        graph_url: "http://127.0.0.1:1".into(),
        authority_url: "http://127.0.0.1:1".into(),
        client_id: Some("client".into()),
    }
}

/// Stores `json` and returns a change for `object` to it.
async fn version(store: &Store, kind: Kind, key: &str, body: &serde_json::Value) -> VersionChange {
    let bytes = serde_json::to_vec(body).unwrap();
    let hash = ContentHash::of(&bytes);
    store.put_blobs(&[(hash, bytes)]).await.unwrap();
    VersionChange {
        object: ObjectKey::new(kind, key),
        hash: Some(hash),
        name: body["displayName"].as_str().map(str::to_string),
        change: Change::Created,
        actors: vec![],
        records: vec![],
    }
}

fn snapshot(changes: Vec<VersionChange>, at: i64) -> NewSnapshot {
    NewSnapshot {
        taken_at: Timestamp::from_second(at).unwrap(),
        changes,
        cursors: vec![],
        audit: vec![],
        amendments: vec![],
        drop_cursors: vec![],
        import_mark: None,
        unavailable: std::collections::BTreeMap::new(),
        requests: 3,
        millis: 10,
    }
}

/// Two snapshots: alice and bob created; then alice updated by "admin@contoso", bob deleted,
/// carol created.
async fn two_snapshots(store: &Store) -> (TenantInfo, SnapshotInfo, SnapshotInfo) {
    let t = store.add_tenant(&tenant_spec("contoso")).await.unwrap();
    let a = version(store, Kind::User, "alice", &json!({"displayName": "Alice"})).await;
    let b = version(store, Kind::User, "bob", &json!({"displayName": "Bob"})).await;
    let s1 = store.commit(&t, None, &Manifest::new(), &snapshot(vec![a, b], 1_000)).await.unwrap();
    let base = store.manifest(&t, &s1).await.unwrap();
    let mut a2 = version(store, Kind::User, "alice", &json!({"displayName": "Alice B"})).await;
    a2.change = Change::Updated;
    a2.actors = vec![rewind_model::Actor::named("admin@contoso")];
    let gone = VersionChange {
        object: ObjectKey::new(Kind::User, "bob"),
        hash: None,
        name: Some("Bob".into()),
        change: Change::Deleted,
        actors: vec![],
        records: vec![],
    };
    let c = version(store, Kind::Group, "carol", &json!({"displayName": "Carol"})).await;
    let mut next = snapshot(vec![a2, gone, c], 2_000);
    next.cursors = vec![(Kind::User, "https://graph/users/delta?$deltatoken=1".into())];
    next.audit = vec![AuditEntry {
        record_id: "Directory_1".into(),
        activity_time: Timestamp::from_second(1_500).unwrap(),
        activity: "Update user".into(),
        actor: Some(rewind_model::Actor::named("admin@contoso")),
        targets: vec!["alice".into()],
        raw: json!({"id": "Directory_1"}),
    }];
    let s2 = store.commit(&t, Some(&s1), &base, &next).await.unwrap();
    (t, s1, s2)
}

async fn snapshots_fold_into_manifests_and_histories(db: Db) {
    let store = db.store().await;
    let (t, s1, s2) = two_snapshots(&store).await;
    assert_eq!((s1.objects, s2.objects, s2.parent), (2, 2, Some(s1.id)));
    let totals = s2.totals();
    assert_eq!((totals.created, totals.updated, totals.deleted), (1, 1, 1));
    assert_eq!(s2.counts[&Kind::User].objects, 1);

    let m1 = store.manifest(&t, &s1).await.unwrap();
    let m2 = store.manifest(&t, &s2).await.unwrap();
    assert!(m1.contains_key(&ObjectKey::new(Kind::User, "bob")));
    assert!(!m2.contains_key(&ObjectKey::new(Kind::User, "bob")));
    let alice = m2[&ObjectKey::new(Kind::User, "alice")];
    assert_eq!(store.version(&alice).await.unwrap(), json!({"displayName": "Alice B"}));
    assert_eq!(rewind_store::manifest_hash(&m2), s2.manifest);

    let history = store.history(&t, &ObjectKey::new(Kind::User, "alice")).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].actors, vec![rewind_model::Actor::named("admin@contoso")]);
    assert_eq!(history[1].change, Change::Updated);

    let at = |s| Timestamp::from_second(s).unwrap();
    assert_eq!(store.snapshot_at(&t, at(1_500)).await.unwrap().unwrap().id, s1.id);
    assert!(store.snapshot_at(&t, at(999)).await.unwrap().is_none());
    assert_eq!(store.latest(&t).await.unwrap().unwrap().id, s2.id);
    assert_eq!(
        store.cursors(&t).await.unwrap()[&Kind::User],
        "https://graph/users/delta?$deltatoken=1"
    );
    assert_eq!(store.last_audit_time(&t).await.unwrap(), Some(at(1_500)));
    let found = store.find_objects(&t, None, "Bob").await.unwrap();
    assert_eq!(found, vec![(ObjectKey::new(Kind::User, "bob"), Some("Bob".into()))]);
    assert_eq!(store.find_objects(&t, Some(Kind::Group), "Bob").await.unwrap(), vec![]);
    assert!(!store.names_like(&t, "aro", 5).await.unwrap().is_empty());

    let records = store.audit_records(&s2).await.unwrap();
    assert_eq!(records, vec![json!({"id": "Directory_1"})]);
    // A record read again by the next capture (the overlap window) is kept once.
    let again = NewSnapshot {
        audit: vec![AuditEntry {
            record_id: "Directory_1".into(),
            activity_time: at(1_500),
            activity: "Update user".into(),
            actor: Some(rewind_model::Actor::named("admin@contoso")),
            targets: vec!["alice".into()],
            raw: json!({"id": "Directory_1"}),
        }],
        ..snapshot(vec![], 3_000)
    };
    let s3 = store.commit(&t, Some(&s2), &m2, &again).await.unwrap();
    assert_eq!(s3.audit, None);
    let report = store.verify().await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!((report.snapshots, report.versions, report.audit), (3, 5, 1));
    db.cleanup(store).await;
}

async fn a_stale_base_is_refused_and_changes_nothing(db: Db) {
    let store = db.store().await;
    let (t, s1, s2) = two_snapshots(&store).await;
    let base = store.manifest(&t, &s1).await.unwrap();
    let d = version(&store, Kind::User, "dave", &json!({"displayName": "Dave"})).await;
    let err = store.commit(&t, Some(&s1), &base, &snapshot(vec![d], 3_000)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(store.latest(&t).await.unwrap().unwrap().id, s2.id);
    assert!(store.verify().await.unwrap().ok());
    db.cleanup(store).await;
}

async fn a_failing_commit_leaves_no_snapshot(db: Db) {
    let store = db.store().await;
    let (t, _, s2) = two_snapshots(&store).await;
    let base = store.manifest(&t, &s2).await.unwrap();
    let d = version(&store, Kind::User, "dave", &json!({"displayName": "Dave"})).await;
    // The same object twice violates the versions key half way through the transaction.
    let mut next = snapshot(vec![d.clone(), d], 3_000);
    next.cursors = vec![(Kind::User, "advanced".into())];
    assert!(store.commit(&t, Some(&s2), &base, &next).await.is_err());
    assert_eq!(store.latest(&t).await.unwrap().unwrap().id, s2.id);
    assert_ne!(store.cursors(&t).await.unwrap()[&Kind::User], "advanced");
    assert!(store.verify().await.unwrap().ok());
    db.cleanup(store).await;
}

async fn verify_finds_damaged_blobs_versions_and_chain(db: Db) {
    let store = db.store().await;
    let (t, s1, s2) = two_snapshots(&store).await;
    let alice = store.manifest(&t, &s2).await.unwrap()[&ObjectKey::new(Kind::User, "alice")];
    let other = ContentHash::of(b"{\"displayName\":\"Mallory\"}");
    store.put_blobs(&[(other, b"{\"displayName\":\"Mallory\"}".to_vec())]).await.unwrap();
    let hex = |h: &ContentHash| match &db {
        Db::Sqlite(_) => format!("X'{}'", h.to_hex()),
        Db::Postgres { .. } => format!("'\\x{}'::bytea", h.to_hex()),
    };
    // A blob whose bytes were swapped for another's.
    db.tamper(&format!(
        "UPDATE blobs SET data = (SELECT data FROM blobs WHERE hash = {}) WHERE hash = {}",
        hex(&other),
        hex(&alice)
    ))
    .await;
    // A version row pointed at different content.
    db.tamper(&format!("UPDATE versions SET hash = {} WHERE key = 'carol'", hex(&other))).await;
    let report = store.verify().await.unwrap();
    let whats: Vec<&str> = report.problems.iter().map(|p| p.what.as_str()).collect();
    assert!(whats.iter().any(|w| w.contains("does not match its hash")), "{whats:?}");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.snapshot == Some(s2.id) && p.what.contains("manifest hash")),
        "{whats:?}"
    );
    // A snapshot's audit records swapped for other content.
    db.tamper(&format!("UPDATE snapshots SET audit = {} WHERE id = {}", hex(&other), s2.id)).await;
    let report = store.verify().await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.what.contains("audit records are missing")),
        "{:?}",
        report.problems
    );
    // A snapshot removed from the middle of the chain.
    db.tamper(&format!("DELETE FROM snapshots WHERE id = {}", s1.id)).await;
    let report = store.verify().await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.what.contains("belongs to no snapshot")),
        "{:?}",
        report.problems
    );
    assert!(report.problems.iter().any(|p| p.what.contains("parent")), "{:?}", report.problems);
    db.cleanup(store).await;
}

async fn encrypted_stores_need_their_key(db: Db) {
    let key = StoreKey::generate();
    let store = db.open(Some(&key)).await.unwrap();
    assert!(store.encrypted());
    let (t, _, s2) = two_snapshots(&store).await;
    store.close().await;
    let err = db.open(None).await.err().expect("no key");
    assert!(err.to_string().contains("REWIND_STORE_KEY"), "{err}");
    let err = db.open(Some(&StoreKey::generate())).await.err().expect("wrong key");
    assert!(err.to_string().contains("not this store's key"), "{err}");
    let store = db.open(Some(&key)).await.unwrap();
    let m = store.manifest(&t, &s2).await.unwrap();
    let v = store.version(&m[&ObjectKey::new(Kind::User, "alice")]).await.unwrap();
    assert_eq!(v["displayName"], "Alice B");
    assert!(store.verify().await.unwrap().ok());
    if let Db::Sqlite(path) = &db {
        store.close().await;
        let raw = std::fs::read(path).unwrap();
        let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
        for bytes in [raw, wal] {
            assert!(!bytes.windows(5).any(|w| w == b"Alice"), "plaintext on disk");
        }
    }
    db.cleanup(store).await;
}

async fn a_newer_schema_is_refused(db: Db) {
    let store = db.store().await;
    store.close().await;
    db.tamper("INSERT INTO schema_migrations (version, description) VALUES (99, 'future')").await;
    let err = db.open(None).await.err().expect("too new");
    assert!(matches!(err, StoreError::TooNew { found: 99, known: 4 }), "{err}");
    assert!(err.to_string().contains("upgrade Rewind"));
    db.cleanup(store).await;
}

async fn tenants_are_added_listed_and_removed(db: Db) {
    let store = db.store().await;
    let (t, _, _) = two_snapshots(&store).await;
    let other = store.add_tenant(&tenant_spec("fabrikam")).await.unwrap();
    let err = store.add_tenant(&tenant_spec("contoso")).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    let names: Vec<String> = store.tenants().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["contoso", "fabrikam"]);
    assert_eq!(store.tenant(&other.tenant_id).await.unwrap().unwrap().name, "fabrikam");
    store.remove_tenant(&t).await.unwrap();
    assert!(store.tenant("contoso").await.unwrap().is_none());
    assert!(store.snapshots(&t).await.unwrap().is_empty());
    assert!(store.verify().await.unwrap().ok());
    db.cleanup(store).await;
}

async fn contained_objects_are_found_by_their_own_id(db: Db) {
    let store = db.store().await;
    let t = store.add_tenant(&tenant_spec("contoso")).await.unwrap();
    let fic = version(
        &store,
        Kind::FederatedIdentityCredential,
        "app-1/fic_1",
        &json!({"name": "deploy"}),
    )
    .await;
    let other = version(
        &store,
        Kind::FederatedIdentityCredential,
        "app-2/xfic_1",
        &json!({"name": "other"}),
    )
    .await;
    store.commit(&t, None, &Manifest::new(), &snapshot(vec![fic, other], 1)).await.unwrap();
    let found = store.find_objects(&t, None, "fic_1").await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0.key, "app-1/fic_1");
    assert_eq!(store.find_objects(&t, None, "app-1/fic_1").await.unwrap().len(), 1);
    db.cleanup(store).await;
}

async fn a_fleet_opening_a_new_store_at_once_all_succeed(db: Db) {
    let opens = (0..4).map(|_| db.open(None));
    let stores = futures_util::future::join_all(opens).await;
    for s in &stores {
        assert!(s.is_ok(), "{:?}", s.as_ref().err());
    }
    let store = db.store().await;
    assert!(store.tenants().await.unwrap().is_empty());
    for s in stores.into_iter().flatten() {
        s.close().await;
    }
    db.cleanup(store).await;
}

/// Batches large enough for the bulk path (SQLite reads them through SQLite directly): every
/// blob comes back, a damaged one fails the read, a missing one too.
async fn many_blobs_at_once_are_each_checked(db: Db) {
    let store = db.store().await;
    let blobs: Vec<(ContentHash, Vec<u8>)> = (0..1_200)
        .map(|i| {
            let b = format!("{{\"n\":{i}}}").into_bytes();
            (ContentHash::of(&b), b)
        })
        .collect();
    store.put_blobs(&blobs).await.unwrap();
    let mut hashes: Vec<ContentHash> = blobs.iter().map(|(h, _)| *h).collect();
    hashes.push(hashes[0]);
    let mut got = store.blobs(&hashes).await.unwrap();
    got.sort();
    let mut want = blobs.clone();
    want.sort();
    assert_eq!(got.len(), want.len(), "each blob once");
    assert!(got == want);

    let hex = |h: &ContentHash| match &db {
        Db::Sqlite(_) => format!("X'{}'", h.to_hex()),
        Db::Postgres { .. } => format!("'\\x{}'::bytea", h.to_hex()),
    };
    db.tamper(&format!(
        "UPDATE blobs SET data = (SELECT data FROM blobs WHERE hash = {}) WHERE hash = {}",
        hex(&blobs[1].0),
        hex(&blobs[700].0)
    ))
    .await;
    match store.blobs(&hashes).await {
        Err(StoreError::Corrupt(m)) => assert!(m.contains(&blobs[700].0.to_hex()), "{m}"),
        other => panic!("a damaged blob must fail the read: {other:?}"),
    }
    let missing = ContentHash::of(b"never stored");
    match store.blobs(&[&hashes[..100], &[missing]].concat()).await {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("missing"), "{m}"),
        other => panic!("a missing blob must fail the read: {other:?}"),
    }
    db.cleanup(store).await;
}
