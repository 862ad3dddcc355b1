//! Effective scope: every path into a policy's exclusions is found and named, and a change is
//! judged by ids, not names.

use rewind_policy::{Via, exposure, exposure_changes};
use serde_json::json;

use crate::tenant::{GA, directory, policy, set};

fn exclusions(d: &rewind_policy::Directory) -> Vec<(String, Via)> {
    let p = policy(
        "Block abroad",
        &json!({"conditions": {"users": {"excludeUsers": ["alice"], "excludeGroups": ["g-bg", "g-all"], "excludeRoles": [GA]}},
            "grantControls": {"builtInControls": ["block"]}}),
    );
    let scopes = exposure(&set(&[p]), d);
    assert!(scopes[0].blocks && scopes[0].enforced());
    scopes[0].excluded.iter().map(|e| (e.id.clone(), e.via.clone())).collect()
}

#[test]
fn every_path_into_the_exclusions_is_named() {
    let mut d = directory();
    d.add_role_eligibility(
        &json!({"principalId": "dave", "roleDefinitionId": GA, "directoryScopeId": "/"}),
    );
    d.add_role_assignment(
        &json!({"principalId": "g-admins", "roleDefinitionId": GA, "directoryScopeId": "/"}),
    );
    let found = exclusions(&d);
    let has = |id: &str, via: &Via| found.iter().any(|(i, v)| i == id && v == via);
    assert!(has("alice", &Via::User), "{found:?}");
    // alice is in Staff, nested in Everyone.
    assert!(
        has("alice", &Via::Group { chain: vec!["Everyone".into(), "Staff".into()] }),
        "{found:?}"
    );
    assert!(has("bob", &Via::Group { chain: vec!["Everyone".into()] }));
    assert!(has(
        "bob",
        &Via::Role { role: "Global Administrator".into(), eligible: false, through: None }
    ));
    assert!(has(
        "carol",
        &Via::Role {
            role: "Global Administrator".into(),
            eligible: false,
            through: Some("Admins".into())
        }
    ));
    assert!(has(
        "dave",
        &Via::Role { role: "Global Administrator".into(), eligible: true, through: None }
    ));
    assert!(!found.iter().any(|(i, _)| i == "pat"), "{found:?}");
}

#[test]
fn renaming_a_group_is_not_a_new_exclusion_but_nesting_one_is() {
    let p = policy("MFA", &json!({"conditions": {"users": {"excludeGroups": ["g-bg"]}}}));
    let before = exposure(&set(std::slice::from_ref(&p)), &directory());
    let mut renamed = directory();
    renamed
        .add_group(&json!({"id": "g-bg", "displayName": "Emergency", "members": ["bg1", "bg2"]}));
    let after = exposure(&set(std::slice::from_ref(&p)), &renamed);
    assert!(exposure_changes(&before, &after).is_empty());
    let mut nested = directory();
    nested.add_group(
        &json!({"id": "g-bg", "displayName": "Break glass", "members": ["bg1", "bg2", "g-staff"]}),
    );
    let after = exposure(&set(&[p]), &nested);
    let changes = exposure_changes(&before, &after);
    assert_eq!(changes.len(), 1);
    let added: Vec<&str> = changes[0].added.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(added, ["alice"]);
    assert!(changes[0].removed.is_empty());
}
