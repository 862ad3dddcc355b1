use serde_json::json;

use super::*;

fn change<'a>(
    kind: Kind,
    key: &'a str,
    before: Option<&'a Value>,
    after: Option<&'a Value>,
    actors: &'a [Actor],
) -> ObjectChange<'a> {
    ObjectChange { kind, key, before, after, version: "v1", actors }
}

fn rules_of(found: &[Finding]) -> Vec<(&'static str, Severity)> {
    found.iter().map(|f| (f.rule.id(), f.severity)).collect()
}

fn rogue() -> Vec<Actor> {
    vec![app("Rogue App", "sp-rogue")]
}

fn app(name: &str, id: &str) -> Actor {
    Actor {
        kind: rewind_model::ActorKind::ServicePrincipal,
        id: Some(id.into()),
        app_id: Some(format!("app-{id}")),
        user_principal_name: None,
        display_name: Some(name.into()),
    }
}

fn named(name: &str) -> Vec<Actor> {
    vec![Actor::named(name)]
}

#[test]
fn attacker_actions_each_raise_one_finding() {
    let actors = rogue();
    let ctx = Context {
        break_glass: ["bg-group".to_string()].into(),
        privileged_apps: ["app-id-1".to_string()].into(),
        app_ids: [("app1".to_string(), "app-id-1".to_string())].into(),
        names: [("bg-group".to_string(), "CA - Break Glass".to_string())].into(),
        known_actors: Some([Actor::named("admin@contoso.com").key()].into()),
        ..Context::default()
    };
    let p1 = json!({"displayName": "CA001", "state": "enabled",
        "conditions": {"users": {"excludeGroups": ["bg-group", "other"]}}});
    let p1b = json!({"displayName": "CA001", "state": "enabled",
        "conditions": {"users": {"excludeGroups": ["other"]}}});
    let p0 = json!({"displayName": "CA000", "state": "enabled"});
    let p0b = json!({"displayName": "CA000", "state": "enabledForReportingButNotEnforced"});
    let app = json!({"displayName": "Provisioning", "appId": "app-id-1", "passwordCredentials": [{"keyId": "k1"}]});
    let app2 = json!({"displayName": "Provisioning", "appId": "app-id-1", "passwordCredentials": [{"keyId": "k1"}, {"keyId": "k2"}]});
    let ga = json!({"roleDefinitionId": GLOBAL_ADMINISTRATOR, "principalId": "sp1", "directoryScopeId": "/"});
    let fic =
        json!({"name": "deploy-prod", "issuer": "https://token.actions.githubusercontent.com"});
    let changes = [
        change(Kind::ConditionalAccessPolicy, "p1", Some(&p1), Some(&p1b), &actors),
        change(Kind::ConditionalAccessPolicy, "p0", Some(&p0), Some(&p0b), &actors),
        change(Kind::Application, "app1", Some(&app), Some(&app2), &actors),
        change(Kind::RoleAssignment, "ra1", None, Some(&ga), &actors),
        change(Kind::FederatedIdentityCredential, "app1/f1", None, Some(&fic), &actors),
    ];
    let found = evaluate(&changes, &ctx, &Settings::default());
    assert_eq!(
        rules_of(&found),
        [
            ("break-glass-exclusion-removed", Severity::Critical),
            ("ca-policy-weakened", Severity::High),
            ("privileged-role-assigned", Severity::Critical),
            ("credential-added", Severity::High),
            ("credential-added", Severity::High),
            ("new-actor", Severity::Medium),
        ]
    );
    assert!(found.iter().all(|f| f.actors == actors));
    assert!(found[0].summary.contains("CA - Break Glass"), "{}", found[0].summary);
    // The same changes evaluated again give the same fingerprints: one alert each.
    let again = evaluate(&changes, &ctx, &Settings::default());
    assert_eq!(found, again);
}

#[test]
fn harmless_changes_raise_nothing() {
    let actors = named("admin@contoso.com");
    let ctx = Context {
        known_actors: Some([Actor::named("admin@contoso.com").key()].into()),
        ..Context::default()
    };
    let a = json!({"displayName": "CA010", "state": "disabled"});
    let b = json!({"displayName": "CA010 renamed", "state": "enabled"});
    let user = json!({"displayName": "Ann"});
    let reader =
        json!({"roleDefinitionId": "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "principalId": "u1"});
    let changes = [
        change(Kind::ConditionalAccessPolicy, "p", Some(&a), Some(&b), &actors),
        change(Kind::User, "u1", None, Some(&user), &actors),
        change(Kind::RoleAssignment, "r", None, Some(&reader), &actors),
    ];
    assert!(evaluate(&changes, &ctx, &Settings::default()).is_empty());
}

#[test]
fn policies_weakened_blocking_and_authentication() {
    let actors = rogue();
    let ctx = Context::default();
    let report_only = json!({"state": "enabledForReportingButNotEnforced"});
    let block = json!({"displayName": "Block all", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}},
        "grantControls": {"builtInControls": ["block"]}});
    let on = json!({"isEnabled": true});
    let off = json!({"isEnabled": false});
    let sms_off = json!({"state": "disabled"});
    let sms_on = json!({"state": "enabled"});
    let changes = [
        change(Kind::ConditionalAccessPolicy, "a", Some(&report_only), None, &actors),
        change(Kind::ConditionalAccessPolicy, "b", None, Some(&block), &actors),
        change(
            Kind::IdentitySecurityDefaultsEnforcementPolicy,
            "sd",
            Some(&on),
            Some(&off),
            &actors,
        ),
        change(
            Kind::AuthenticationMethodConfiguration,
            "Sms",
            Some(&sms_off),
            Some(&sms_on),
            &actors,
        ),
        change(
            Kind::AuthenticationMethodConfiguration,
            "Fido2",
            Some(&sms_on),
            Some(&sms_off),
            &actors,
        ),
    ];
    let found = evaluate(&changes, &ctx, &Settings::default());
    assert_eq!(
        rules_of(&found),
        [
            ("ca-policy-weakened", Severity::Medium),
            ("broad-block-policy", Severity::High),
            ("authentication-weakened", Severity::High),
            ("authentication-weakened", Severity::High),
            ("authentication-weakened", Severity::High),
        ]
    );
    assert!(found[0].summary.contains("deleted"));
}

#[test]
fn permissions_and_consents() {
    let actors = rogue();
    let ctx = Context {
        permissions: [
            ("r1".to_string(), "RoleManagement.ReadWrite.Directory".to_string()),
            ("r2".to_string(), "User.Read.All".to_string()),
        ]
        .into(),
        ..Context::default()
    };
    let strong = json!({"appRoleId": "r1", "principalDisplayName": "Rogue", "resourceDisplayName": "Microsoft Graph"});
    let weak = json!({"appRoleId": "r2"});
    let consent = json!({"consentType": "AllPrincipals", "clientId": "sp9", "scope": "openid Mail.ReadWrite"});
    let personal =
        json!({"consentType": "Principal", "clientId": "sp9", "scope": "Mail.ReadWrite"});
    let changes = [
        change(Kind::AppRoleAssignment, "sp/a1", None, Some(&strong), &actors),
        change(Kind::AppRoleAssignment, "sp/a2", None, Some(&weak), &actors),
        change(Kind::OAuth2PermissionGrant, "g1", None, Some(&consent), &actors),
        change(Kind::OAuth2PermissionGrant, "g2", None, Some(&personal), &actors),
    ];
    let found = evaluate(&changes, &ctx, &Settings::default());
    assert_eq!(
        rules_of(&found),
        [("permission-granted", Severity::High), ("permission-granted", Severity::High),]
    );
    assert!(found[0].summary.contains("RoleManagement.ReadWrite.Directory"));
}

#[test]
fn bulk_changes_count_per_actor_and_thresholds_are_settings() {
    let script = named("Cleanup Script");
    let admin = named("admin@contoso.com");
    let v = json!({"displayName": "x"});
    let keys: Vec<String> = (0..30).map(|i| format!("u{i}")).collect();
    let mut changes: Vec<ObjectChange<'_>> =
        keys.iter().map(|k| change(Kind::User, k, Some(&v), None, &script)).collect();
    changes.push(change(Kind::User, "other", Some(&v), None, &admin));
    let ctx = Context::default();
    let found = evaluate(&changes, &ctx, &Settings::default());
    assert_eq!(rules_of(&found), [("bulk-change", Severity::High)]);
    assert_eq!(found[0].actors, script);
    assert!(found[0].summary.contains("deleted 30"), "{}", found[0].summary);
    let strict = Settings { bulk_deletes: 31, ..Settings::default() };
    assert!(evaluate(&changes, &ctx, &strict).is_empty());
}

#[test]
fn lockout_worse_names_who_changed_access() {
    let actors = rogue();
    let p = json!({"state": "enabled"});
    let q = json!({"state": "enabled", "displayName": "tightened"});
    let changes = [change(Kind::ConditionalAccessPolicy, "p", Some(&p), Some(&q), &actors)];
    let worse = Context { lockout: Some((Verdict::Ok, Verdict::Critical)), ..Context::default() };
    let found = evaluate(&changes, &worse, &Settings::default());
    assert_eq!(rules_of(&found), [("lockout-worse", Severity::Critical)]);
    assert_eq!(found[0].actors, actors);
    let better =
        Context { lockout: Some((Verdict::Critical, Verdict::AtRisk)), ..Context::default() };
    assert!(evaluate(&changes, &better, &Settings::default()).is_empty());
}

#[test]
fn rules_can_be_turned_off_or_given_a_severity() {
    let actors = rogue();
    let p = json!({"state": "enabled"});
    let off = json!({"state": "disabled"});
    let changes = [change(Kind::ConditionalAccessPolicy, "p", Some(&p), Some(&off), &actors)];
    let ctx = Context::default();
    let mut settings = Settings::default();
    settings.rules.insert(
        Rule::CaPolicyWeakened,
        RuleSetting { enabled: None, severity: Some(Severity::Critical) },
    );
    let found = evaluate(&changes, &ctx, &settings);
    assert_eq!(rules_of(&found), [("ca-policy-weakened", Severity::Critical)]);
    settings
        .rules
        .insert(Rule::CaPolicyWeakened, RuleSetting { enabled: Some(false), severity: None });
    assert!(evaluate(&changes, &ctx, &settings).is_empty());
    assert_eq!("ca-policy-weakened".parse::<Rule>().unwrap(), Rule::CaPolicyWeakened);
    assert!("nope".parse::<Rule>().unwrap_err().contains("new-actor"));
    assert!("urgent".parse::<Severity>().is_err());
}

#[test]
fn an_app_named_like_a_known_one_is_a_new_actor() {
    let real = vec![app("Contoso Automation", "sp-real")];
    let impostor = vec![app("Contoso Automation", "sp-impostor")];
    let v = json!({"displayName": "x"});
    let ctx = Context { known_actors: Some([real[0].key()].into()), ..Context::default() };
    let known = evaluate(
        &[change(Kind::Group, "g1", Some(&v), Some(&v), &real)],
        &ctx,
        &Settings::default(),
    );
    assert!(known.iter().all(|f| f.rule != Rule::NewActor), "{known:?}");
    let found = evaluate(
        &[change(Kind::Group, "g1", Some(&v), Some(&v), &impostor)],
        &ctx,
        &Settings::default(),
    );
    let new: Vec<&Finding> = found.iter().filter(|f| f.rule == Rule::NewActor).collect();
    assert_eq!(new.len(), 1, "{found:?}");
    assert_eq!(new[0].actors, impostor);
}
