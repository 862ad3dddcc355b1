//! Seeded tenants: sizes of the presets, byte-identical for the same seed, and everything a
//! realistic tenant has — break-glass accounts excluded from every CA policy through a group,
//! privileged roles active and eligible, custom roles, locations, strengths, methods — with CA
//! policies that name the tenant's own objects.

use std::collections::HashSet;

use rewind_emulator::{Coll, Preset, SeedOptions, seed_tenant};
use serde_json::Value;

use crate::harness::Harness;

fn objects(t: &rewind_emulator::Tenant) -> usize {
    [
        Coll::Users,
        Coll::Groups,
        Coll::Applications,
        Coll::ServicePrincipals,
        Coll::CaPolicies,
        Coll::NamedLocations,
    ]
    .iter()
    .map(|c| t.count(*c))
    .sum()
}

#[test]
fn presets_have_the_sizes_they_promise() {
    let tiny = seed_tenant(&Preset::Tiny.options(1));
    assert!((25..=45).contains(&objects(&tiny)), "tiny has {}", objects(&tiny));
    let small = seed_tenant(&Preset::Small.options(1));
    assert!((400..=650).contains(&objects(&small)), "small has {}", objects(&small));
    let medium = seed_tenant(&Preset::Medium.options(1));
    assert!((18_000..=22_000).contains(&objects(&medium)), "medium has {}", objects(&medium));
    assert_eq!(medium.count(Coll::CaPolicies), 60);
    let explicit =
        seed_tenant(&SeedOptions { seed: 2, users: 40, groups: 12, apps: 6, policies: 15 });
    assert_eq!(explicit.count(Coll::Users), 46, "40 staff and 6 named people");
    assert_eq!(explicit.count(Coll::CaPolicies), 15);
}

#[test]
fn the_same_seed_gives_a_byte_identical_tenant() {
    let a = serde_json::to_vec(&seed_tenant(&Preset::Small.options(42))).unwrap();
    let b = serde_json::to_vec(&seed_tenant(&Preset::Small.options(42))).unwrap();
    assert!(a == b, "two tenants from seed 42 differ");
    let c = serde_json::to_vec(&seed_tenant(&Preset::Small.options(43))).unwrap();
    assert!(a != c, "another seed gives another tenant");
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
}

#[tokio::test]
async fn a_small_tenant_is_realistic_and_its_policies_name_real_objects() {
    let h = Harness::with_config(rewind_emulator::EmulatorConfig {
        seed: Preset::Small.options(5),
        ..Default::default()
    })
    .await;
    let groups: HashSet<String> = h
        .get_all("/groups?$select=id")
        .await
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_string())
        .collect();
    let app_ids: HashSet<String> = h
        .get_all("/applications?$select=appId")
        .await
        .iter()
        .map(|a| a["appId"].as_str().unwrap().to_string())
        .collect();
    let roles: HashSet<String> = h
        .get_all("/roleManagement/directory/roleDefinitions")
        .await
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let locations: HashSet<String> = h
        .get_all("/identity/conditionalAccess/namedLocations")
        .await
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect();
    let break_glass = h.id_named("/groups", "CA - Break Glass Accounts - Exclude").await;
    let bg_members = h.get_all(&format!("/groups/{break_glass}/members")).await;
    assert_eq!(bg_members.len(), 2, "two break-glass accounts");
    assert!(
        bg_members
            .iter()
            .all(|m| { m["userPrincipalName"].as_str().unwrap().starts_with("bg-admin") })
    );

    let policies = h.get_all("/identity/conditionalAccess/policies").await;
    assert_eq!(policies.len(), 20);
    for p in &policies {
        let users = &p["conditions"]["users"];
        assert!(
            ids(&users["excludeGroups"]).contains(&break_glass),
            "{} must exclude break glass",
            p["displayName"]
        );
        for g in ids(&users["includeGroups"]).iter().chain(&ids(&users["excludeGroups"])) {
            assert!(groups.contains(g), "{} names a missing group {g}", p["displayName"]);
        }
        for r in ids(&users["includeRoles"]) {
            assert!(roles.contains(&r), "{} names a missing role {r}", p["displayName"]);
        }
        for a in ids(&p["conditions"]["applications"]["includeApplications"]) {
            assert!(
                ["All", "MicrosoftAdminPortals", "Office365"].contains(&a.as_str())
                    || app_ids.contains(&a),
                "{} names a missing app {a}",
                p["displayName"]
            );
        }
        let locs = &p["conditions"]["locations"];
        for l in ids(&locs["includeLocations"]).iter().chain(&ids(&locs["excludeLocations"])) {
            assert!(
                ["All", "AllTrusted"].contains(&l.as_str()) || locations.contains(l),
                "{} names a missing location {l}",
                p["displayName"]
            );
        }
    }
    let states: HashSet<&str> = policies.iter().map(|p| p["state"].as_str().unwrap()).collect();
    assert_eq!(states.len(), 3, "enabled, report-only and disabled policies: {states:?}");

    let assignments = h.get_all("/roleManagement/directory/roleAssignments").await;
    let ga = "62e90394-69f5-4237-9190-012177145e10";
    assert!(assignments.iter().filter(|a| a["roleDefinitionId"] == ga).count() >= 3);
    assert!(!h.get_all("/roleManagement/directory/roleEligibilitySchedules").await.is_empty());
    assert!(
        h.get_all("/roleManagement/directory/roleDefinitions")
            .await
            .iter()
            .any(|r| r["isBuiltIn"] == false)
    );
    let nl = h.get_all("/identity/conditionalAccess/namedLocations").await;
    assert!(nl.iter().any(|l| l["@odata.type"] == "#microsoft.graph.ipNamedLocation"));
    assert!(nl.iter().any(|l| l["@odata.type"] == "#microsoft.graph.countryNamedLocation"));
    let strengths = h.get_all("/policies/authenticationStrengthPolicies").await;
    assert_eq!(strengths.iter().filter(|s| s["policyType"] == "builtIn").count(), 3);
    assert!(strengths.iter().any(|s| s["policyType"] == "custom"));
    assert!(!h.get_all("/oauth2PermissionGrants").await.is_empty());
    let bg = bg_members[0]["id"].as_str().unwrap();
    let methods = h.get_all(&format!("/users/{bg}/authentication/methods")).await;
    assert!(
        methods.iter().any(|m| m["@odata.type"] == "#microsoft.graph.fido2AuthenticationMethod")
    );
    let all_staff = h.id_named("/groups", "All Staff").await;
    let members = h.get_all(&format!("/groups/{all_staff}/members")).await;
    assert!(members.iter().any(|m| m["@odata.type"] == "#microsoft.graph.group"), "groups nest");
}

/// PIM as a real tenant shows it: an activation and a time-bound assignment are plain entries
/// of `roleAssignments` with schedules saying what they are, and leave when they end (with a
/// PIM audit record); a permanent assignment's schedule has no end.
#[tokio::test]
async fn activations_and_time_bound_assignments_show_their_schedules_and_end() {
    let h = Harness::start().await;
    let schedules = h.get_all("/roleManagement/directory/roleAssignmentSchedules").await;
    let assignments = h.get_all("/roleManagement/directory/roleAssignments").await;
    assert_eq!(schedules.len(), assignments.len());
    let of_type = |t: &str| -> Vec<&Value> {
        schedules
            .iter()
            .filter(|s| {
                s["assignmentType"] == t
                    && s["scheduleInfo"]["expiration"]["type"] == "afterDateTime"
            })
            .collect()
    };
    let activated = of_type("Activated");
    let time_bound = of_type("Assigned");
    assert_eq!((activated.len(), time_bound.len()), (1, 1), "{schedules:#?}");
    for s in [activated[0], time_bound[0]] {
        assert!(
            assignments.iter().any(|a| a["id"] == s["id"] && a["principalId"] == s["principalId"])
        );
    }
    h.emu.with_tenant(|t| t.advance_clock(jiff::SignedDuration::from_hours(8)));
    let r = h.get_fresh("/roleManagement/directory/roleAssignments").await;
    let left = r.body["value"].as_array().unwrap();
    assert_eq!(left.len(), assignments.len() - 1, "the activation ended");
    assert!(left.iter().all(|a| a["id"] != activated[0]["id"]));
    assert!(left.iter().any(|a| a["id"] == time_bound[0]["id"]));
    let r = h.get_fresh("/auditLogs/directoryAudits").await;
    assert!(r.text.contains("PIM activation expired"), "{}", r.text);
}
