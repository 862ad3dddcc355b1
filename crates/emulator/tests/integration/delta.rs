//! Delta queries: an initial round, changes only afterwards, `@removed` reasons, `members@delta`,
//! `$deltatoken=latest`, and for a token older than seven days one of the two documented answers
//! (410, or 400 `syncStateNotFound`), fixed by the seed.

use jiff::SignedDuration;
use reqwest::Method;
use rewind_emulator::{Access, EmulatorConfig, SeedOptions};
use serde_json::{Value, json};

use crate::harness::Harness;

/// Follows a delta round to its deltaLink; returns the items and the deltaLink.
async fn round(h: &Harness, token: &str, start: &str) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut url = if start.starts_with("http") { start.to_string() } else { h.url(start) };
    loop {
        let r = h.send(token, Method::GET, &url, None, &[("Prefer", "odata.maxpagesize=10")]).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        items.extend(r.body["value"].as_array().cloned().unwrap_or_default());
        if let Some(next) = r.body["@odata.nextLink"].as_str() {
            url = next.to_string();
        } else {
            return (
                items,
                r.body["@odata.deltaLink"]
                    .as_str()
                    .expect("deltaLink on the last page")
                    .to_string(),
            );
        }
    }
}

#[tokio::test]
async fn user_changes_arrive_once_with_removed_reasons() {
    let h = Harness::start().await;
    let (initial, link) = round(&h, &h.reader, "/users/delta?$select=displayName,jobTitle").await;
    assert_eq!(initial.len(), 31);
    let (empty, link) = round(&h, &h.reader, &link).await;
    assert!(empty.is_empty(), "nothing changed: {empty:?}");
    let id = initial[0]["id"].as_str().unwrap().to_string();
    h.patch(&format!("/users/{id}"), &json!({"jobTitle": "Changed"})).await;
    let created = h.new_user("delta.new").await;
    let (changes, link) = round(&h, &h.reader, &link).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(changes.iter().any(|c| c["id"] == id.as_str() && c["jobTitle"] == "Changed"));
    assert!(changes.iter().any(|c| c["id"] == created.as_str()));
    h.delete(&format!("/users/{created}")).await;
    let (soft, link) = round(&h, &h.reader, &link).await;
    assert_eq!(soft, vec![json!({"id": created, "@removed": {"reason": "changed"}})]);
    h.delete(&format!("/directory/deletedItems/{created}")).await;
    let (hard, _) = round(&h, &h.reader, &link).await;
    assert_eq!(hard, vec![json!({"id": created, "@removed": {"reason": "deleted"}})]);
}

#[tokio::test]
async fn group_membership_changes_come_as_members_delta() {
    let h = Harness::start().await;
    let (initial, link) = round(&h, &h.reader, "/groups/delta?$select=displayName,members").await;
    let finance = initial.iter().find(|g| g["displayName"] == "Finance").unwrap();
    let fid = finance["id"].as_str().unwrap().to_string();
    let members = finance["members@delta"].as_array().unwrap();
    assert!(!members.is_empty());
    let gone = members[0]["id"].as_str().unwrap().to_string();
    let newcomer = h.new_user("delta.member").await;
    h.post(&format!("/groups/{fid}/members/$ref"), &json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{newcomer}")})).await;
    h.delete(&format!("/groups/{fid}/members/{gone}/$ref")).await;
    let (changes, _) = round(&h, &h.reader, &link).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let delta = changes[0]["members@delta"].as_array().unwrap();
    assert!(delta.contains(&json!({"@odata.type": "#microsoft.graph.user", "id": newcomer})));
    assert!(delta.contains(&json!({"@odata.type": "#microsoft.graph.user", "id": gone, "@removed": {"reason": "deleted"}})));
}

/// One of the two documented answers to an expired delta token.
fn assert_expired(r: &crate::harness::Reply) {
    match r.status {
        410 => assert!(r.header("location").unwrap().ends_with("/v1.0/applications/delta")),
        400 => assert_eq!(r.body["error"]["code"], "syncStateNotFound"),
        other => panic!("{other}: {}", r.body),
    }
}

#[tokio::test]
async fn an_expired_token_answers_in_either_documented_form_by_seed() {
    let mut forms = std::collections::BTreeSet::new();
    for seed in 1..=6 {
        let h = Harness::with_config(EmulatorConfig {
            seed: SeedOptions { seed, users: 2, ..SeedOptions::default() },
            ..EmulatorConfig::default()
        })
        .await;
        let r = h.get("/applications/delta?$deltatoken=latest").await;
        let link = r.body["@odata.deltaLink"].as_str().unwrap().to_string();
        h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_hours(24 * 8)));
        let token = h.token(Access::Read).await;
        let r = h.send(&token, Method::GET, &link, None, &[]).await;
        assert_expired(&r);
        forms.insert((seed, r.status));
    }
    let statuses: std::collections::BTreeSet<u16> = forms.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses.len(), 2, "both forms among six seeds: {forms:?}");
}

#[tokio::test]
async fn latest_tokens_and_expiry() {
    let h = Harness::start().await;
    let r = h.get("/applications/delta?$deltatoken=latest").await;
    assert!(r.body["value"].as_array().unwrap().is_empty());
    let link = r.body["@odata.deltaLink"].as_str().unwrap().to_string();
    h.post("/applications", &json!({"displayName": "After latest"})).await;
    let (changes, link) = round(&h, &h.reader, &link).await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0]["displayName"], "After latest");
    h.emu.with_tenant(|t| t.advance_clock(SignedDuration::from_hours(24 * 8)));
    let token = h.token(Access::Read).await;
    let r = h.send(&token, Method::GET, &link, None, &[]).await;
    assert_expired(&r);
    for kind in ["servicePrincipals", "oauth2PermissionGrants", "directory/administrativeUnits"] {
        assert_eq!(
            h.send(&token, Method::GET, &format!("/{kind}/delta"), None, &[]).await.status,
            200,
            "{kind}"
        );
    }
}

/// `odata.maxpagesize` is a hint: pages hold at most 200 objects and 500 links whatever the
/// client asks, so a large group comes in slices on several pages — and the slices together are
/// its members. Administrative units carry `members@delta` too.
#[tokio::test]
async fn pages_are_capped_and_large_groups_come_in_slices() {
    let h = Harness::with_users(1200).await;
    let mut url = h.url("/groups/delta?$select=displayName,members,owners");
    let (mut pages, mut slices) = (0, Vec::new());
    let mut all_staff_members = std::collections::BTreeSet::new();
    loop {
        let r = h
            .send(&h.reader, Method::GET, &url, None, &[("Prefer", "odata.maxpagesize=999")])
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        let items = r.body["value"].as_array().unwrap();
        assert!(items.len() <= 200, "page of {} objects", items.len());
        let links: usize = items
            .iter()
            .map(|g| {
                ["members@delta", "owners@delta"]
                    .iter()
                    .filter_map(|k| g[*k].as_array())
                    .map(Vec::len)
                    .sum::<usize>()
            })
            .sum();
        assert!(links <= 500, "page of {links} links");
        for g in items.iter().filter(|g| g["displayName"] == "All Staff") {
            let part = g["members@delta"].as_array().map_or(0, Vec::len);
            slices.push(part);
            all_staff_members.extend(
                g["members@delta"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| m["id"].as_str().unwrap().to_string()),
            );
        }
        match r.body["@odata.nextLink"].as_str() {
            Some(next) => url = next.to_string(),
            None => break,
        }
    }
    assert!(slices.len() >= 3, "All Staff in slices: {slices:?}");
    assert!(pages > 3);
    let id = h.id_named("/groups", "All Staff").await;
    let members = h.get_all(&format!("/groups/{id}/members?$select=id")).await;
    assert_eq!(all_staff_members.len(), members.len());

    let (units, _) = round(&h, &h.reader, "/directory/administrativeUnits/delta").await;
    let west = units.iter().find(|u| u["displayName"] == "Region West").unwrap();
    let uid = west["id"].as_str().unwrap();
    let listed =
        h.get_all(&format!("/directory/administrativeUnits/{uid}/members?$select=id")).await;
    assert_eq!(west["members@delta"].as_array().unwrap().len(), listed.len());
}
