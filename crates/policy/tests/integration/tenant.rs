//! A small hand-made tenant the cases are computed against, and builders for policies and
//! sign-ins.

use rewind_policy::{DeviceValue, Directory, Identity, MethodsPolicy, PolicySet, SignIn, Target};
use serde_json::{Value, json};

pub const GA: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const PRA: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const PORTAL: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
pub const APP_X: &str = "aaaaaaaa-0000-0000-0000-00000000000a";

/// alice: member, in g-staff (nested in g-all), password + Authenticator.
/// bob: Global Administrator by direct assignment, password + FIDO2.
/// carol: Privileged Role Administrator through the role-assignable group g-admins.
/// dave: eligible for Global Administrator only (no active assignment), password only.
/// pat: a B2B guest.
/// bg1, bg2: break-glass Global Administrators in g-bg, password + FIDO2.
pub fn directory() -> Directory {
    let mut d = Directory::new();
    for (id, upn, user_type) in [
        ("alice", "alice@contoso.com", "Member"),
        ("bob", "bob@contoso.com", "Member"),
        ("carol", "carol@contoso.com", "Member"),
        ("dave", "dave@contoso.com", "Member"),
        ("pat", "pat_fabrikam.com#EXT#@contoso.com", "Guest"),
        ("bg1", "emergency1@contoso.com", "Member"),
        ("bg2", "emergency2@contoso.com", "Member"),
    ] {
        d.add_user(&json!({"id": id, "userPrincipalName": upn, "userType": user_type, "displayName": id, "accountEnabled": true, "usageLocation": "US"}));
    }
    d.add_group(&json!({"id": "g-staff", "displayName": "Staff", "members": ["alice"]}));
    d.add_group(&json!({"id": "g-all", "displayName": "Everyone", "members": ["g-staff", "bob"]}));
    d.add_group(&json!({"id": "g-admins", "displayName": "Admins", "members": ["carol"]}));
    d.add_group(&json!({"id": "g-bg", "displayName": "Break glass", "members": ["bg1", "bg2"]}));
    for bg in ["bg1", "bg2"] {
        d.add_role_assignment(
            &json!({"principalId": bg, "roleDefinitionId": GA, "directoryScopeId": "/"}),
        );
        d.add_methods(bg, vec![method("password"), method("fido2")]);
    }
    d.add_methods(
        "carol",
        vec![method("password"), method("microsoftAuthenticator"), method("fido2")],
    );
    d.add_role_assignment(
        &json!({"principalId": "bob", "roleDefinitionId": GA, "directoryScopeId": "/"}),
    );
    d.add_role_assignment(
        &json!({"principalId": "g-admins", "roleDefinitionId": PRA, "directoryScopeId": "/"}),
    );
    d.add_role_definition(&json!({"id": GA, "displayName": "Global Administrator"}));
    d.add_service_principal(&json!({"id": "sp-x", "appId": APP_X, "displayName": "App X"}));
    d.add_methods("alice", vec![method("password"), method("microsoftAuthenticator")]);
    d.add_methods("bob", vec![method("password"), method("fido2")]);
    d.add_methods("dave", vec![method("password")]);
    d
}

/// The method configurations of the authentication methods policy, by id.
pub const METHODS: &[&str] = &[
    "Fido2",
    "MicrosoftAuthenticator",
    "Sms",
    "Voice",
    "SoftwareOath",
    "HardwareOath",
    "TemporaryAccessPass",
    "Email",
    "X509Certificate",
];

/// The authentication methods policy with every method enabled for all users, but for the
/// configurations replaced by `changed` (each a configuration with its `id`).
pub fn methods_policy(changed: &[Value]) -> MethodsPolicy {
    let all = json!([{"id": "all_users", "targetType": "group", "isRegistrationRequired": false}]);
    let mut configs: Vec<Value> = METHODS
        .iter()
        .map(
            |id| json!({"id": id, "state": "enabled", "includeTargets": all, "excludeTargets": []}),
        )
        .collect();
    for c in changed {
        configs.retain(|k| k["id"] != c["id"]);
        configs.push(c.clone());
    }
    MethodsPolicy::from_graph(
        Some(
            &json!({"id": "authenticationMethodsPolicy", "policyMigrationState": "migrationComplete"}),
        ),
        &configs,
    )
}

pub fn method(kind: &str) -> Value {
    json!({"@odata.type": format!("#microsoft.graph.{kind}AuthenticationMethod"), "id": kind})
}

pub fn locations() -> Vec<Value> {
    vec![
        json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "office", "displayName": "Office",
            "isTrusted": true, "ipRanges": [{"cidrAddress": "203.0.113.0/24"}]}),
        json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": "branch", "displayName": "Branch",
            "isTrusted": false, "ipRanges": [{"cidrAddress": "198.51.100.0/24"}]}),
        json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "allowed", "displayName": "Allowed",
            "countriesAndRegions": ["US", "NL"], "includeUnknownCountriesAndRegions": false}),
        json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "blocked", "displayName": "Blocked",
            "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": true}),
    ]
}

pub fn strengths() -> Vec<Value> {
    vec![
        json!({"id": "keys-only", "displayName": "Keys only", "allowedCombinations": ["fido2", "windowsHelloForBusiness"]}),
    ]
}

/// An enabled policy for all users and apps requiring MFA, with `patch` merged in (objects
/// merge, everything else replaces).
pub fn policy(id: &str, patch: &Value) -> Value {
    let mut base = json!({"id": id, "displayName": id, "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}});
    merge(&mut base, patch);
    base
}

fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

/// The policies compiled with the tenant's locations and strengths, every method enabled.
pub fn set(policies: &[Value]) -> PolicySet {
    PolicySet::compile(policies, &locations(), &strengths()).with_methods(methods_policy(&[]))
}

/// A sign-in of `user` to `app` with no other signal.
pub fn sign_in(user: &str, app: &str) -> SignIn {
    SignIn::new(Identity::User(user.into()), Target::App(app.into()))
}

#[expect(clippy::unnecessary_wraps, reason = "it fills `SignIn::device`, an option")]
pub fn device(
    pairs: &[(&str, DeviceValue)],
) -> Option<std::collections::BTreeMap<String, DeviceValue>> {
    Some(pairs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect())
}
