//! Capture as Microsoft Graph documents it, where the emulator models a behaviour of the real
//! service that an earlier client got wrong (the capture-side conformance issue): evolvable
//! enum members through `$batch`, both forms of an expired delta token, synced users, method
//! configurations from the policy that carries them.

use reqwest::Method;
use rewind_emulator::SeedOptions;
use rewind_model::Kind;
use rewind_store::Store;
use serde_json::{Value, json};

use crate::env::Env;

/// Every stored version of `kind` in the latest snapshot.
async fn versions(env: &Env, store: &Store, kind: Kind) -> Vec<Value> {
    let mut out = Vec::new();
    for (k, hash) in env.manifest(store).await {
        if k.kind == kind {
            out.push(store.version(&hash).await.unwrap());
        }
    }
    out
}

#[tokio::test]
async fn a_late_enum_member_read_through_batch_is_kept_as_itself() {
    // Graph applies the headers of each request inside a batch, not the batch's own: without
    // `Prefer: include-unknown-enum-members` on the inner request, `linux` comes back as
    // `unknownFutureValue` and a restore would write that.
    let env = Env::start(SeedOptions::default()).await;
    let store = env.sqlite("timeline").await;
    env.capture(&env.reader(), &store, false).await;
    let policies = versions(&env, &store, Kind::ConditionalAccessPolicy).await;
    let platforms: Vec<&Value> = policies
        .iter()
        .filter_map(|p| p.pointer("/conditions/platforms/includePlatforms"))
        .collect();
    assert!(
        platforms.iter().any(|p| p.as_array().unwrap().contains(&json!("linux"))),
        "{platforms:?}"
    );
    assert!(
        !serde_json::to_string(&policies).unwrap().contains("unknownFutureValue"),
        "no member was replaced"
    );
}

/// Captures, lets every delta token expire, changes the tenant and captures again: the kinds
/// whose tokens expired are read in full and the timeline equals a fresh full read.
async fn an_expired_token_is_read_again_in_full(seed: u64, form: u16) {
    let env = Env::start(SeedOptions { seed, ..SeedOptions::default() }).await;
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    env.admin(Method::POST, "/_emulator/clock", &json!({"advanceSeconds": 8 * 86_400})).await;
    // The form this seed's tenant answers with, as a client sees it.
    let (_, latest) = env.graph(Method::GET, "/users/delta?$deltatoken=latest", None).await;
    let link = latest["@odata.deltaLink"].as_str().unwrap().to_string();
    env.admin(Method::POST, "/_emulator/clock", &json!({"advanceSeconds": 8 * 86_400})).await;
    let path = link.split_once("/v1.0").unwrap().1;
    let (status, body) = env.graph(Method::GET, path, None).await;
    assert_eq!(status, form, "seed {seed}: {body}");
    env.admin(Method::POST, "/_emulator/scenarios/script-gone-wrong", &json!({})).await;
    let report = env.capture(&client, &store, false).await;
    assert!(!report.full && report.snapshot.complete);
    let fresh = env.sqlite("fresh").await;
    env.capture(&client, &fresh, true).await;
    assert_eq!(env.manifest(&store).await, env.manifest(&fresh).await);
}

#[tokio::test]
async fn an_expired_delta_token_answered_410_starts_the_kind_again() {
    an_expired_token_is_read_again_in_full(SEED_410, 410).await;
}

#[tokio::test]
async fn an_expired_delta_token_answered_sync_state_not_found_starts_the_kind_again() {
    an_expired_token_is_read_again_in_full(SEED_400, 400).await;
}

/// Seeds whose tenants answer an expired delta token with each documented form.
const SEED_410: u64 = 4;
const SEED_400: u64 = 1;

#[tokio::test]
async fn synced_users_are_captured_as_synced() {
    let env = Env::start(SeedOptions::default()).await;
    let store = env.sqlite("timeline").await;
    env.capture(&env.reader(), &store, false).await;
    let users = versions(&env, &store, Kind::User).await;
    let synced: Vec<&Value> =
        users.iter().filter(|u| u["onPremisesSyncEnabled"] == json!(true)).collect();
    assert!(!synced.is_empty(), "the seeded tenant has synced users");
    assert!(synced.iter().all(|u| u["onPremisesImmutableId"].is_string()));
    assert!(users.iter().any(|u| u["creationType"] == json!("Invitation")), "the invited guest");
}

#[tokio::test]
async fn method_configurations_come_from_the_policy_that_carries_them() {
    // v1.0 documents no list of method configurations; the emulator refuses one, and the
    // capture reads them inline from the methods policy.
    let env = Env::start(SeedOptions::default()).await;
    let (status, _) = env
        .graph(
            Method::GET,
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
            None,
        )
        .await;
    assert_eq!(status, 400);
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    let configs = versions(&env, &store, Kind::AuthenticationMethodConfiguration).await;
    assert!(configs.len() >= 5, "{configs:?}");
    let policy = versions(&env, &store, Kind::AuthenticationMethodsPolicy).await;
    assert!(policy[0].get("authenticationMethodConfigurations").is_none());
    // Switching one over is one updated configuration in the next snapshot.
    let sms = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms";
    let (_, now) = env.graph(Method::GET, sms, None).await;
    let flipped = if now["state"] == "enabled" { "disabled" } else { "enabled" };
    let (s, body) = env
        .graph(
            Method::PATCH,
            sms,
            Some(&json!({"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration", "state": flipped})),
        )
        .await;
    assert!(s < 300, "{body}");
    let report = env.capture(&client, &store, false).await;
    let counts = &report.snapshot.counts;
    assert_eq!(counts[&Kind::AuthenticationMethodConfiguration].updated, 1, "{counts:?}");
}

#[tokio::test]
async fn a_tenant_without_pim_is_captured_with_pim_marked_unavailable() {
    // Microsoft 365 Business Premium has Entra ID P1: no PIM. Its capture must succeed, keep
    // the rest, and say which kind it could not read and why.
    let emulator = rewind_emulator::start(rewind_emulator::EmulatorConfig {
        license: rewind_emulator::License::P1,
        ..rewind_emulator::EmulatorConfig::default()
    })
    .await
    .unwrap();
    let env = Env::with(emulator);
    let store = env.sqlite("timeline").await;
    let report = env.capture(&env.reader(), &store, false).await;
    let pim = &report.snapshot.counts[&Kind::RoleEligibilitySchedule];
    assert_eq!(pim.unavailable, Some(rewind_store::Unavailable::LicenseRequired), "{pim:?}");
    assert_eq!(pim.objects, 0);
    assert!(
        report.warnings.iter().any(|w| w.contains("roleEligibilitySchedule") && w.contains("P2")),
        "{:?}",
        report.warnings
    );
    assert!(report.snapshot.counts[&Kind::ConditionalAccessPolicy].objects >= 7);
    // The mark is part of the snapshot as stored (and of its chain).
    let tenant = env.tenant(&store).await;
    let stored = store.snapshots(&tenant).await.unwrap();
    assert_eq!(stored[0].counts, report.snapshot.counts);
    assert!(store.verify().await.unwrap().ok());
    // The next capture says the same and changes nothing.
    let again = env.capture(&env.reader(), &store, false).await;
    assert_eq!(again.snapshot.totals().created + again.snapshot.totals().updated, 0);
}

/// A timeline with one capture, after which audit records reach the log up to five minutes
/// late, as Entra's do.
async fn captured_then_audit_late(env: &Env) -> (Store, rewind_msgraph::GraphClient) {
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    env.admin(Method::PUT, "/_emulator/faults", &json!({"audit_latency_s": 300})).await;
    (store, client)
}

#[tokio::test]
async fn a_new_group_owner_is_captured_before_the_audit_log_says_so() {
    // Audit records arrive minutes late; group delta tracks owners when they are selected, so
    // the capture right after an incident has the owner without waiting for the log.
    let env = Env::start(SeedOptions::default()).await;
    let (store, client) = captured_then_audit_late(&env).await;
    let (_, groups) = env.graph(Method::GET, "/groups?$select=id", None).await;
    let gid = groups["value"][0]["id"].as_str().unwrap().to_string();
    let (_, users) = env.graph(Method::GET, "/users?$select=id", None).await;
    let owner = users["value"][3]["id"].as_str().unwrap().to_string();
    let bind = json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/users/{owner}")});
    let (s, body) =
        env.graph(Method::POST, &format!("/groups/{gid}/owners/$ref"), Some(&bind)).await;
    assert_eq!(s, 204, "{body}");
    let (_, log) = env.graph(Method::GET, "/auditLogs/directoryAudits?$top=5", None).await;
    assert!(!log.to_string().contains(&gid), "the record is not readable yet: {log}");
    let report = env.capture(&client, &store, false).await;
    assert_eq!(report.snapshot.counts[&Kind::Group].updated, 1);
    let m = env.manifest(&store).await;
    let group =
        store.version(&m[&rewind_store::ObjectKey::new(Kind::Group, gid.as_str())]).await.unwrap();
    assert!(group["owners"].as_array().unwrap().contains(&json!(owner)), "{group}");
}

#[tokio::test]
async fn reads_whose_page_tokens_expire_start_again_and_miss_nothing() {
    // Next links of long reads expire (`400 Directory_ExpiredPageToken`): the read starts again
    // from its first page instead of failing the capture.
    let env =
        Env::start(SeedOptions { users: 300, groups: 40, apps: 150, ..SeedOptions::default() })
            .await;
    let client = env.reader();
    let fault_free = env.sqlite("fault-free").await;
    env.capture(&client, &fault_free, true).await;
    env.admin(Method::PUT, "/_emulator/faults", &json!({"expire_page_tokens": 4})).await;
    let store = env.sqlite("timeline").await;
    let report = env.capture(&client, &store, true).await;
    let left = env.admin(Method::GET, "/_emulator/faults", &json!({})).await;
    assert_eq!(left["expire_page_tokens"], 0, "every expiry was met: {left}");
    assert!(report.snapshot.complete);
    assert_eq!(env.manifest(&store).await, env.manifest(&fault_free).await);
}

/// The key and latest version of the object of `kind` named `name`.
async fn named(env: &Env, store: &Store, kind: Kind, name: &str) -> (String, Value) {
    for (k, hash) in env.manifest(store).await {
        let v = store.version(&hash).await.unwrap();
        if k.kind == kind && v["displayName"] == name {
            return (k.key.clone(), v);
        }
    }
    panic!("no {kind:?} named {name}")
}

/// The ids a stored version holds in `prop`, sorted.
fn held(version: &Value, prop: &str) -> Vec<String> {
    let mut ids: Vec<String> = version[prop]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// The ids Graph lists at `path`, sorted.
async fn listed(env: &Env, path: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut url = path.to_string();
    loop {
        let (s, page) = env.graph(Method::GET, &url, None).await;
        assert_eq!(s, 200, "{page}");
        ids.extend(
            page["value"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()),
        );
        match page["@odata.nextLink"].as_str() {
            Some(next) => url = next.split_once("/v1.0").unwrap().1.to_string(),
            None => break,
        }
    }
    ids.sort();
    ids
}

#[tokio::test]
async fn a_group_split_over_pages_and_unit_members_come_whole_from_delta() {
    // Graph caps delta pages below what the client asks (200 objects, 500 links): a large group
    // arrives in slices on several pages; administrative units carry `members@delta`.
    let env = Env::start(SeedOptions { users: 1200, ..SeedOptions::default() }).await;
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    env.capture(&client, &store, false).await;
    let (gid, staff) = named(&env, &store, Kind::Group, "All Staff").await;
    let members = held(&staff, "members");
    assert!(members.len() > 1000);
    assert_eq!(members, listed(&env, &format!("/groups/{gid}/members?$select=id")).await);
    let (uid, west) = named(&env, &store, Kind::AdministrativeUnit, "Region West").await;
    let unit_members = format!("/directory/administrativeUnits/{uid}/members?$select=id");
    assert_eq!(held(&west, "members"), listed(&env, &unit_members).await);

    // A member leaves the unit: the next (incremental) capture sees it from the unit's delta.
    let gone = held(&west, "members")[0].clone();
    let (s, body) = env
        .graph(
            Method::DELETE,
            &format!("/directory/administrativeUnits/{uid}/members/{gone}/$ref"),
            None,
        )
        .await;
    assert_eq!(s, 204, "{body}");
    let report = env.capture(&client, &store, false).await;
    assert_eq!(report.snapshot.counts[&Kind::AdministrativeUnit].updated, 1);
    let (_, west) = named(&env, &store, Kind::AdministrativeUnit, "Region West").await;
    assert!(!held(&west, "members").contains(&gone));
    assert_eq!(held(&west, "members"), listed(&env, &unit_members).await);
}

#[tokio::test]
async fn a_credential_and_an_app_role_added_before_the_log_knows_are_in_the_next_capture() {
    // The attacker's moves the audit log reports minutes late: a federated credential on an
    // application and an app role assignment to a service principal. The capture right after
    // has both, whatever the log says yet.
    let env = Env::start(SeedOptions::default()).await;
    let (store, client) = captured_then_audit_late(&env).await;
    let (_, apps) = env.graph(Method::GET, "/applications?$select=id", None).await;
    let app = apps["value"][0]["id"].as_str().unwrap().to_string();
    let fic = json!({"name": "backdoor", "issuer": "https://token.actions.githubusercontent.com",
        "subject": "repo:mallory/x:ref:refs/heads/main", "audiences": ["api://AzureADTokenExchange"]});
    let (s, body) = env
        .graph(
            Method::POST,
            &format!("/applications/{app}/federatedIdentityCredentials"),
            Some(&fic),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (_, sps) =
        env.graph(Method::GET, "/servicePrincipals?$select=id,appRoles,displayName", None).await;
    let graph = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["displayName"] == "Microsoft Graph")
        .unwrap();
    let role = graph["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Directory.ReadWrite.All")
        .unwrap();
    let client_sp = sps["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["displayName"] != "Microsoft Graph")
        .unwrap();
    let grant =
        json!({"principalId": client_sp["id"], "resourceId": graph["id"], "appRoleId": role["id"]});
    let (s, body) = env
        .graph(
            Method::POST,
            &format!("/servicePrincipals/{}/appRoleAssignedTo", graph["id"].as_str().unwrap()),
            Some(&grant),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let (_, log) = env.graph(Method::GET, "/auditLogs/directoryAudits?$top=5", None).await;
    assert!(!log.to_string().contains(&app), "the records are not readable yet: {log}");
    let report = env.capture(&client, &store, false).await;
    let counts = &report.snapshot.counts;
    assert_eq!(counts[&Kind::FederatedIdentityCredential].created, 1, "{counts:?}");
    assert_eq!(counts[&Kind::AppRoleAssignment].created, 1, "{counts:?}");
}
