//! The two access rules of watch on the emulated tenant: nesting a group into a policy's
//! exclusion group raises `policy-exclusion-grew` naming the path; switching FIDO2 off in the
//! authentication methods policy raises `protected-principal-weakened` for the break-glass
//! accounts, whose only strong method is a security key.

use reqwest::Method;
use rewind_app::watch::{EvaluateOptions, evaluate};
use rewind_emulator::SeedOptions;
use serde_json::{Value, json};

use crate::env::Env;

async fn id_where(env: &Env, path: &str, wanted: impl Fn(&Value) -> bool) -> String {
    let (_, list) = env.graph(Method::GET, path, None).await;
    list["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| wanted(v))
        .unwrap_or_else(|| panic!("nothing at {path} is as the test needs"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn add_member(env: &Env, group: &str, member: &str) {
    let (status, body) = env
        .graph(
            Method::POST,
            &format!("/groups/{group}/members/$ref"),
            Some(&json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
}

#[tokio::test]
async fn exclusions_gained_and_methods_lost_are_alerted() {
    let env = Env::start(SeedOptions::default()).await;
    let store = env.sqlite("timeline").await;
    let client = env.reader();
    let tenant = env.tenant(&store).await;
    let options = EvaluateOptions::default();
    let first = env.capture(&client, &store, false).await.snapshot;
    evaluate(&store, &tenant, None, &first, &options).await.unwrap();

    let excluded = id_where(&env, "/groups", |g| {
        g["displayName"].as_str().is_some_and(|n| n.contains("Service Accounts"))
    })
    .await;
    let user = id_where(&env, "/users", |u| {
        u["jobTitle"].as_str().is_some_and(|t| t.starts_with("Sales"))
    })
    .await;
    let (status, nested) = env
        .graph(
            Method::POST,
            "/groups",
            Some(&json!({"displayName": "Helpdesk tools", "mailEnabled": false,
                "mailNickname": "helpdesk-tools", "securityEnabled": true})),
        )
        .await;
    assert_eq!(status, 201, "{nested}");
    let nested = nested["id"].as_str().unwrap().to_string();
    add_member(&env, &nested, &user).await;
    add_member(&env, &excluded, &nested).await;
    let second = env.capture(&client, &store, false).await.snapshot;
    let alerts = evaluate(&store, &tenant, Some(&first), &second, &options).await.unwrap();
    let grew: Vec<_> = alerts.iter().filter(|a| a.rule == "policy-exclusion-grew").collect();
    assert!(!grew.is_empty(), "{alerts:#?}");
    for a in &grew {
        assert!(
            a.summary.contains("via group 'CA - Service Accounts' › 'Helpdesk tools'"),
            "{}",
            a.summary
        );
    }
    // The same changes evaluated again raise nothing new.
    let again = evaluate(&store, &tenant, Some(&first), &second, &options).await.unwrap();
    assert!(again.is_empty(), "{again:#?}");

    let (status, body) = env
        .graph(
            Method::PATCH,
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2",
            Some(&json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
                "state": "disabled"})),
        )
        .await;
    assert!(status < 300, "{body}");
    let third = env.capture(&client, &store, false).await.snapshot;
    let alerts = evaluate(&store, &tenant, Some(&second), &third, &options).await.unwrap();
    let weakened: Vec<_> =
        alerts.iter().filter(|a| a.rule == "protected-principal-weakened").collect();
    assert!(
        weakened.iter().any(|a| a.severity == rewind_engine::risk::Severity::Critical
            && a.summary.contains("can no longer use fido2")),
        "{alerts:#?}"
    );
}
