//! Planner cases, computed by hand, and proptests of its invariants.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use rewind_engine::restore::{Action, Current, NoticeKind, Plan, Wanted, plan};
use rewind_model::{Kind, ObjectKey};
use serde_json::{Value, json};

fn key(kind: Kind, id: &str) -> ObjectKey {
    ObjectKey::new(kind, id)
}

fn wanted(kind: Kind, id: &str, object: Option<Value>) -> Wanted {
    Wanted { key: key(kind, id), object, reason: "in scope".into() }
}

fn current(live: &[(Kind, &str, Value)], bin: &[(Kind, &str)]) -> Current {
    Current {
        live: live.iter().map(|(k, id, v)| (key(*k, id), v.clone())).collect(),
        recycle_bin: bin.iter().map(|(k, id)| (key(*k, id), None)).collect(),
    }
}

/// `(action, kind, id)` of each step, in order.
fn shape(p: &Plan) -> Vec<(Action, Kind, String)> {
    p.steps.iter().map(|s| (s.action, s.kind, s.id.clone())).collect()
}

fn group(name: &str, members: &[&str]) -> Value {
    json!({"displayName": name, "mailNickname": name.to_lowercase(), "mailEnabled": false,
           "securityEnabled": true, "members": members})
}

fn policy(state: &str, exclude_groups: &[&str]) -> Value {
    json!({"displayName": "CA001", "state": state,
           "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": exclude_groups},
                          "applications": {"includeApplications": ["All"]}},
           "grantControls": {"operator": "OR", "builtInControls": ["block"]}})
}

#[test]
fn a_hard_deleted_group_is_created_anew_and_the_policy_naming_it_relinked() {
    // The group is gone for good; the policy still excludes its old id (Graph keeps it).
    let p = plan(
        vec![
            wanted(Kind::Group, "g1", Some(group("Break glass", &["u1"]))),
            wanted(Kind::ConditionalAccessPolicy, "p1", Some(policy("enabled", &["g1"]))),
        ],
        &current(
            &[
                (Kind::ConditionalAccessPolicy, "p1", policy("enabled", &["g1"])),
                (Kind::User, "u1", json!({})),
            ],
            &[],
        ),
    );
    assert_eq!(
        shape(&p),
        vec![
            (Action::Create, Kind::Group, "g1".into()),
            (Action::Update, Kind::ConditionalAccessPolicy, "p1".into()),
            (Action::AddLink, Kind::Group, "g1".into()),
        ]
    );
    let create = &p.steps[0];
    assert_eq!(
        create.body,
        Some(json!({"displayName": "Break glass", "mailNickname": "break glass",
                    "mailEnabled": false, "securityEnabled": true})),
        "members are links, written after the group exists"
    );
    let relink = &p.steps[1];
    assert_eq!(relink.depends_on, vec![1]);
    assert_eq!(relink.remaps.len(), 1);
    assert_eq!(relink.remaps[0].path, "conditions.users.excludeGroups[0]");
    assert_eq!(relink.remaps[0].from, "g1");
    assert!(relink.body.as_ref().unwrap()["conditions"]["users"]["excludeGroups"] == json!(["g1"]));
    assert_eq!(p.steps[2].link.as_ref().unwrap().target, "u1");
    assert_eq!(p.steps[2].depends_on, vec![1]);
}

#[test]
fn a_policy_weakened_then_deleted_comes_back_then_is_written_report_only_and_switched_last() {
    // The attacker removed the break-glass exclusion, then deleted the policy: the bin holds the
    // weakened policy. Restoring it alone would bring it back enforced without the exclusion.
    let key = key(Kind::ConditionalAccessPolicy, "p1");
    let mut now = current(&[(Kind::Group, "bg", group("Break glass", &[]))], &[]);
    now.recycle_bin.insert(key.clone(), Some(policy("enabled", &[])));
    let back = |now: &Current| {
        let target = Some(policy("enabled", &["bg"]));
        plan(vec![wanted(Kind::ConditionalAccessPolicy, "p1", target)], now)
    };
    let p = back(&now);
    assert_eq!(
        shape(&p),
        vec![
            (Action::Restore, Kind::ConditionalAccessPolicy, "p1".into()),
            (Action::Update, Kind::ConditionalAccessPolicy, "p1".into()),
            (Action::SwitchState, Kind::ConditionalAccessPolicy, "p1".into()),
        ]
    );
    let update = &p.steps[1];
    assert_eq!(update.depends_on, vec![1]);
    let body = update.body.as_ref().unwrap();
    assert_eq!(body["state"], "enabledForReportingButNotEnforced");
    assert_eq!(body["conditions"]["users"]["excludeGroups"], json!(["bg"]));
    assert_eq!(p.steps[2].body, Some(json!({"state": "enabled"})));

    // Deleted as it was at the target time: the restore alone is the way back.
    now.recycle_bin.insert(key, Some(policy("enabled", &["bg"])));
    let p = back(&now);
    assert_eq!(shape(&p), vec![(Action::Restore, Kind::ConditionalAccessPolicy, "p1".into())]);
}

#[test]
fn recycle_bin_first_links_come_back_with_the_object() {
    let p = plan(
        vec![
            wanted(
                Kind::User,
                "u1",
                Some(json!({"displayName": "Ann", "userPrincipalName": "ann@x"})),
            ),
            wanted(Kind::Group, "g1", Some(group("Sales", &["u1", "u2"]))),
        ],
        &current(
            &[(Kind::Group, "g1", group("Sales", &[])), (Kind::User, "u2", json!({}))],
            &[(Kind::User, "u1")],
        ),
    );
    assert_eq!(
        shape(&p),
        vec![
            (Action::Restore, Kind::User, "u1".into()),
            (Action::AddLink, Kind::Group, "g1".into()),
        ],
        "u1's membership comes back with u1; only u2 is added"
    );
    assert_eq!(p.steps[1].link.as_ref().unwrap().target, "u2");
    assert!(p.notices.is_empty(), "a restored user keeps its password");
}

#[test]
fn a_policy_turned_off_is_switched_on_last_and_one_created_is_written_report_only() {
    let p = plan(
        vec![
            wanted(Kind::ConditionalAccessPolicy, "p1", Some(policy("enabled", &[]))),
            wanted(Kind::ConditionalAccessPolicy, "p2", Some(policy("enabled", &["g9"]))),
            wanted(Kind::Group, "g9", Some(group("Ops", &[]))),
            wanted(Kind::ConditionalAccessPolicy, "p3", None),
        ],
        &current(
            &[
                (Kind::ConditionalAccessPolicy, "p1", policy("disabled", &[])),
                (Kind::ConditionalAccessPolicy, "p3", policy("enabled", &[])),
            ],
            &[],
        ),
    );
    assert_eq!(
        shape(&p),
        vec![
            (Action::Create, Kind::Group, "g9".into()),
            (Action::Create, Kind::ConditionalAccessPolicy, "p2".into()),
            (Action::Delete, Kind::ConditionalAccessPolicy, "p3".into()),
            (Action::SwitchState, Kind::ConditionalAccessPolicy, "p1".into()),
            (Action::SwitchState, Kind::ConditionalAccessPolicy, "p2".into()),
        ]
    );
    assert_eq!(p.steps[1].body.as_ref().unwrap()["state"], "enabledForReportingButNotEnforced");
    assert_eq!(p.steps[1].depends_on, vec![1]);
    assert_eq!(p.steps[3].changes[0].path, "state", "p1's only change is its state");
    assert_eq!(p.steps[4].depends_on, vec![2]);
}

#[test]
fn credentials_added_are_removed_and_those_lost_listed() {
    let app = |creds: Value| json!({"displayName": "Payroll", "passwordCredentials": creds});
    let p = plan(
        vec![wanted(
            Kind::Application,
            "a1",
            Some(app(json!([{"keyId": "k1", "displayName": "old"}]))),
        )],
        &current(
            &[(Kind::Application, "a1", app(json!([{"keyId": "k2", "displayName": "backdoor"}])))],
            &[],
        ),
    );
    assert_eq!(shape(&p), vec![(Action::RemoveCredential, Kind::Application, "a1".into())]);
    assert_eq!(p.steps[0].key_id.as_deref(), Some("k2"));
    assert_eq!(p.notices.len(), 1);
    assert_eq!(p.notices[0].notice, NoticeKind::RotateByHand);
    assert!(p.notices[0].detail.contains("'old'"));
}

#[test]
fn synced_built_in_and_analysis_only_objects_are_listed_not_written() {
    let p = plan(
        vec![
            wanted(
                Kind::User,
                "u1",
                Some(json!({"displayName": "Synced", "onPremisesSyncEnabled": true})),
            ),
            wanted(
                Kind::User,
                "u2",
                Some(json!({"displayName": "Cloud", "userPrincipalName": "c@x",
                                                  "accountEnabled": true, "mailNickname": "c"})),
            ),
            wanted(
                Kind::RoleDefinition,
                "r1",
                Some(json!({"displayName": "Reader", "isBuiltIn": true})),
            ),
            wanted(Kind::UserAuthenticationMethods, "u3", Some(json!({"methods": []}))),
            wanted(
                Kind::User,
                "guest",
                Some(json!({"displayName": "Pat Partner", "userType": "Guest",
                    "userPrincipalName": "pat_fabrikam.com#EXT#@contoso.onmicrosoft.com"})),
            ),
        ],
        &current(&[], &[]),
    );
    assert_eq!(
        shape(&p),
        vec![
            (Action::Create, Kind::User, "guest".into()),
            (Action::Create, Kind::User, "u2".into())
        ],
    );
    // A guest is invited again, by the address its sign-in name encodes, not created.
    assert_eq!(p.steps[0].body.as_ref().unwrap()["invitedUserEmailAddress"], "pat@fabrikam.com");
    assert!(
        p.steps[1].body.as_ref().unwrap().get("passwordProfile").is_none(),
        "the executor makes the password"
    );
    let notices: BTreeSet<(NoticeKind, String)> =
        p.notices.iter().map(|n| (n.notice.clone(), n.id.clone())).collect();
    assert_eq!(
        notices,
        BTreeSet::from([
            (NoticeKind::RestoreOnPremises, "u1".into()),
            (NoticeKind::NewPassword, "u2".into()),
            (NoticeKind::NotRestorable, "r1".into()),
            (NoticeKind::RedeemInvitation, "guest".into()),
        ])
    );
    assert!(p.desired.iter().all(|d| d.kind != Kind::UserAuthenticationMethods));
}

#[test]
fn assignments_are_replaced_not_updated_and_deletes_go_referrers_first() {
    let assignment = |principal: &str| json!({"principalId": principal, "roleDefinitionId": "r", "directoryScopeId": "/"});
    let p = plan(
        vec![
            wanted(Kind::RoleAssignment, "ra1", Some(assignment("u1"))),
            wanted(Kind::Group, "g1", None),
            wanted(Kind::ConditionalAccessPolicy, "p1", None),
        ],
        &current(
            &[
                (Kind::RoleAssignment, "ra1", assignment("u2")),
                (Kind::Group, "g1", group("G", &[])),
                (Kind::ConditionalAccessPolicy, "p1", policy("enabled", &["g1"])),
            ],
            &[],
        ),
    );
    assert_eq!(
        shape(&p),
        vec![
            (Action::Delete, Kind::ConditionalAccessPolicy, "p1".into()),
            (Action::Delete, Kind::RoleAssignment, "ra1".into()),
            (Action::Create, Kind::RoleAssignment, "ra1".into()),
            (Action::Delete, Kind::Group, "g1".into()),
        ]
    );
    assert_eq!(p.steps[2].body, Some(assignment("u1")));
    assert_eq!(p.steps[2].depends_on, vec![2]);
}

/// A small random tenant: groups that may exist now, at the target, both or neither, with
/// members among a few users, and a policy excluding some of them.
fn tenant() -> impl Strategy<Value = (Vec<Wanted>, Current)> {
    let groups = proptest::collection::vec(
        (0u8..4, proptest::collection::btree_set(0u8..5, 0..4), any::<bool>()),
        1..8,
    );
    (groups, proptest::collection::btree_set(0u8..8, 0..3), any::<bool>()).prop_map(
        |(groups, excluded, enabled)| {
            let mut wanted = Vec::new();
            let mut live = BTreeMap::new();
            let mut bin = BTreeMap::new();
            for (i, (presence, members, in_bin)) in groups.iter().enumerate() {
                let id = format!("g{i}");
                let members: Vec<String> = members.iter().map(|m| format!("u{m}")).collect();
                let members: Vec<&str> = members.iter().map(String::as_str).collect();
                let target = (presence & 1 == 1).then(|| group(&id, &members));
                if presence & 2 == 2 {
                    live.insert(key(Kind::Group, &id), group(&id, &members[..members.len() / 2]));
                } else if *in_bin {
                    bin.insert(key(Kind::Group, &id), None);
                }
                wanted.push(wanted_of(Kind::Group, &id, target));
            }
            for u in 0..5 {
                live.insert(key(Kind::User, &format!("u{u}")), json!({}));
            }
            let excluded: Vec<String> =
                excluded.iter().map(|e| format!("g{}", usize::from(*e) % groups.len())).collect();
            let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
            wanted.push(wanted_of(
                Kind::ConditionalAccessPolicy,
                "p",
                Some(policy(if enabled { "enabled" } else { "disabled" }, &excluded)),
            ));
            live.insert(key(Kind::ConditionalAccessPolicy, "p"), policy("disabled", &excluded));
            (wanted, Current { live, recycle_bin: bin })
        },
    )
}

fn wanted_of(kind: Kind, id: &str, object: Option<Value>) -> Wanted {
    wanted(kind, id, object)
}

proptest! {
    #[test]
    fn plans_are_deterministic_and_topological((mut w, current) in tenant(), seed in any::<u64>()) {
        let first = plan(w.clone(), &current);
        // Any order of the input gives the same plan, byte for byte.
        let n = w.len();
        for i in 0..n {
            let j = usize::try_from(seed.rotate_left(u32::try_from(i).unwrap()) % (n as u64)).unwrap();
            w.swap(i, j);
        }
        let second = plan(w, &current);
        prop_assert_eq!(serde_json::to_string(&first).unwrap(), serde_json::to_string(&second).unwrap());
        for (i, s) in first.steps.iter().enumerate() {
            prop_assert_eq!(s.n, i + 1);
            prop_assert!(s.depends_on.iter().all(|d| *d < s.n), "step {} waits for a later one", s.n);
            // Every reference to an object created anew is remapped, and waits for its create.
            for r in &s.remaps {
                let creator = first.steps.iter().find(|c| c.action == Action::Create && c.id == r.from);
                prop_assert!(creator.is_some_and(|c| s.depends_on.contains(&c.n)));
            }
        }
        // Switches come last.
        let first_switch = first.steps.iter().position(|s| s.action == Action::SwitchState);
        if let Some(f) = first_switch {
            prop_assert!(first.steps[f..].iter().all(|s| s.action == Action::SwitchState));
        }
    }
}

#[test]
fn an_eligibility_added_since_is_revoked_by_a_request_naming_it() {
    let eligibility = json!({"principalId": "u1", "roleDefinitionId": "r", "directoryScopeId": "/",
        "status": "Provisioned"});
    let p = plan(
        vec![wanted(Kind::RoleEligibilitySchedule, "e1", None)],
        &current(&[(Kind::RoleEligibilitySchedule, "e1", eligibility)], &[]),
    );
    assert_eq!(shape(&p), [(Action::Delete, Kind::RoleEligibilitySchedule, "e1".into())]);
    // Revoked by principal, role and scope (adminRemove), not by id.
    assert_eq!(
        p.steps[0].body,
        Some(json!({"principalId": "u1", "roleDefinitionId": "r", "directoryScopeId": "/"}))
    );
}

#[test]
fn a_group_keeps_its_last_user_owner_and_new_owners_come_before_old_ones_go() {
    let owned = |owners: &[&str]| {
        let mut g = group("Finance", &[]);
        g["owners"] = json!(owners);
        g
    };
    // Owners replaced: the new one is added before the old one is removed.
    let p = plan(
        vec![wanted(Kind::Group, "g1", Some(owned(&["u1"])))],
        &current(&[(Kind::Group, "g1", owned(&["u2"]))], &[]),
    );
    assert_eq!(
        p.steps.iter().map(|s| s.action).collect::<Vec<_>>(),
        [Action::AddLink, Action::RemoveLink]
    );
    // No user owner at the target time: the last one stays, and the plan says so. A service
    // principal owner is removed.
    let p = plan(
        vec![wanted(Kind::Group, "g1", Some(owned(&[])))],
        &current(
            &[
                (Kind::Group, "g1", owned(&["u2", "sp1"])),
                (Kind::ServicePrincipal, "sp1", json!({})),
            ],
            &[],
        ),
    );
    let removed: Vec<&str> =
        p.steps.iter().filter_map(|s| s.link.as_ref().map(|l| l.target.as_str())).collect();
    assert_eq!(removed, ["sp1"]);
    assert!(
        p.notices
            .iter()
            .any(|n| n.notice == NoticeKind::NotRestorable && n.detail.contains("owner u2 stays")),
        "{:?}",
        p.notices
    );
}

#[test]
fn links_and_roles_of_a_synced_user_gone_for_good_wait_for_a_person() {
    // A synchronised user deleted for good comes back from on-premises, not from Rewind: the
    // group does not get a member that does not exist, nor the role a principal that does not.
    let synced = json!({"displayName": "Sync User", "onPremisesSyncEnabled": true,
        "userPrincipalName": "sync@contoso.com"});
    let role = json!({"principalId": "u9", "roleDefinitionId": "r1", "directoryScopeId": "/"});
    let p = plan(
        vec![
            wanted(Kind::User, "u9", Some(synced)),
            wanted(Kind::Group, "g1", Some(group("Finance", &["u1", "u9"]))),
            wanted(Kind::RoleAssignment, "ra1", Some(role)),
        ],
        &current(
            &[(Kind::Group, "g1", group("Finance", &["u1"])), (Kind::User, "u1", json!({}))],
            &[],
        ),
    );
    assert_eq!(p.steps, [], "{:?}", shape(&p));
    let details: Vec<&str> = p.notices.iter().map(|n| n.detail.as_str()).collect();
    assert!(details.iter().any(|d| d.starts_with("member u9 not added")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("principalId u9")), "{details:?}");
}
