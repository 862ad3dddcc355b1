//! `POST /identity/conditionalAccess/evaluate`: Graph's What If in its request and response
//! shapes, answered by the CA engine over the emulated tenant.

use serde_json::{Value, json};

use crate::harness::Harness;

fn request(user: &str, app: &str, conditions: &Value, applied_only: bool) -> Value {
    json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": user},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [app]},
        "signInConditions": conditions,
        "appliedPoliciesOnly": applied_only,
    })
}

fn applied(body: &Value) -> Vec<String> {
    body["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["policyApplies"] == true)
        .map(|p| p["displayName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn what_if_answers_in_graph_shapes() {
    let h = Harness::start().await;
    let users = h.get_all("/users").await;
    let upn = |prefix: &str| {
        users
            .iter()
            .find(|u| u["userPrincipalName"].as_str().unwrap().starts_with(prefix))
            .and_then(|u| u["id"].as_str())
            .unwrap()
            .to_string()
    };
    let adele = upn("adele.vance@");
    let portal = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
    // Every policy comes back, each saying whether it applies and why not.
    let all = h
        .post(
            "/identity/conditionalAccess/evaluate",
            &request(&adele, portal, &json!({"devicePlatform": "windows", "clientAppType": "browser", "country": "US", "ipAddress": "198.51.100.200"}), false),
        )
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert!(
        all.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#Collection(microsoft.graph.whatIfAnalysisResult)")
    );
    let policies = h.get_all("/identity/conditionalAccess/policies").await;
    assert_eq!(all.body["value"].as_array().unwrap().len(), policies.len());
    let names = applied(&all.body);
    assert!(names.iter().any(|n| n.starts_with("CA000-")), "{names:?}");
    let ca100 = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA100-"))
        .unwrap();
    assert!(
        names.iter().any(|n| n.starts_with("CA100-")),
        "{names:?} {}",
        ca100["analysisReasons"]
    );
    let legacy = all.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA002-"))
        .unwrap();
    assert_eq!(legacy["policyApplies"], false);
    assert_eq!(legacy["analysisReasons"], "clientApps");
    assert!(
        legacy["conditions"]["users"]["includeUsers"].is_array(),
        "the policy is rendered whole"
    );
    // From a country outside the allowed ones the country block applies; only applied
    // policies are listed when asked.
    let abroad = h
        .post(
            "/identity/conditionalAccess/evaluate",
            &request(
                &adele,
                portal,
                &json!({"devicePlatform": "windows", "clientAppType": "browser", "country": "BR"}),
                true,
            ),
        )
        .await;
    assert_eq!(abroad.status, 200, "{}", abroad.text);
    let names = applied(&abroad.body);
    assert_eq!(names.len(), abroad.body["value"].as_array().unwrap().len());
    assert!(names.iter().any(|n| n.starts_with("CA001-")), "{names:?}");
    // A signal not given leaves a condition unknown: the policy is not said to apply.
    let unknown = h
        .post("/identity/conditionalAccess/evaluate", &request(&adele, portal, &json!({}), false))
        .await;
    let block = unknown.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["displayName"].as_str().unwrap().starts_with("CA001-"))
        .unwrap();
    assert_eq!(
        (&block["policyApplies"], &block["analysisReasons"]),
        (&json!(false), &json!("notEnoughInformation"))
    );
    // Break-glass accounts are excluded from every policy.
    let bg = upn("bg-admin-01@");
    let bg_reply = h
        .post(
            "/identity/conditionalAccess/evaluate",
            &request(
                &bg,
                portal,
                &json!({"country": "BR", "clientAppType": "browser", "devicePlatform": "linux"}),
                true,
            ),
        )
        .await;
    assert_eq!(applied(&bg_reply.body), Vec::<String>::new());
}

#[tokio::test]
async fn bad_what_if_requests_say_what_to_fix() {
    let h = Harness::start().await;
    for (body, message) in [
        (json!({}), "The parameter 'signInIdentity' is required"),
        (
            json!({"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "x"}, "signInContext": {"@odata.type": "#microsoft.graph.nothing"}}),
            "is not applicationContext",
        ),
        (
            request("x", "y", &json!({"devicePlatform": "beos"}), false),
            "Invalid value 'beos' for signInConditions.devicePlatform",
        ),
        (request("x", "y", &json!({"ipAddress": "300.1.1.1"}), false), "is not an IP address"),
        (request("nobody", "y", &json!({}), false), "no user 'nobody'"),
    ] {
        let r = h.post("/identity/conditionalAccess/evaluate", &body).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(r.text.contains(message), "{body}: {}", r.text);
    }
    let r = h.get("/identity/conditionalAccess/evaluate").await;
    assert_eq!(r.status, 405);
}
