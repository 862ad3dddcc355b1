//! Who gets in, reasoned by hand from Microsoft's documentation: each case is a policy set, a
//! methods policy and the facts of one principal, the verdict a careful administrator would
//! reach, the words that must explain it, and the documented rule it checks.
//!
//! The tenant is `tenant::directory()`: bob is a Global Administrator (password + FIDO2),
//! carol a Privileged Role Administrator through the group g-admins, dave has no active role,
//! bg1 and bg2 are configured break-glass accounts in g-bg. Every method is enabled for all
//! users unless a case says otherwise.

use rewind_policy::{Analysis, Directory, LockoutOptions, MethodsPolicy, Verdict, analyse};
use serde_json::{Value, json};

use crate::tenant::{APP_X, GA, METHODS, directory, method, methods_policy, policy};

const PHISHING_RESISTANT: &str = "00000000-0000-0000-0000-000000000004";
const AAGUID: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

/// One hand-reasoned case.
struct Case {
    name: &'static str,
    /// The documented rule the case checks.
    rule: &'static str,
    policies: Vec<Value>,
    /// Method configurations that replace the all-enabled defaults; `None`: not captured.
    methods: Option<Vec<Value>>,
    /// The methods policy's migration is still in progress (legacy policies still apply).
    migrating: bool,
    /// The principal's facts.
    facts: fn(&mut Directory),
    /// The principal (user principal name), or `restore` for Rewind's own identity.
    who: &'static str,
    verdict: Verdict,
    /// Words the findings must hold (empty when safe).
    why: &'static str,
}

fn nothing(_: &mut Directory) {}

fn mfa_for_all() -> Vec<Value> {
    vec![policy("MFA for all", &json!({}))]
}

fn strength_for_all(strength: &str) -> Vec<Value> {
    vec![policy(
        "Strength for all",
        &json!({"grantControls": {"builtInControls": [], "authenticationStrength": {"id": strength}}}),
    )]
}

fn control_for_all(controls: &Value, operator: &str) -> Vec<Value> {
    vec![policy(
        "Controls for all",
        &json!({"conditions": {"users": {"excludeUsers": ["bg1", "bg2"]}},
            "grantControls": {"operator": operator, "builtInControls": controls}}),
    )]
}

fn state(id: &str, state: &str) -> Value {
    json!({"id": id, "state": state, "includeTargets": [{"id": "all_users", "targetType": "group"}], "excludeTargets": []})
}

fn targeted(id: &str, include: &[&str], exclude: &[&str]) -> Value {
    let t = |ids: &[&str]| -> Vec<Value> {
        ids.iter().map(|i| json!({"id": i, "targetType": "group"})).collect()
    };
    json!({"id": id, "state": "enabled", "includeTargets": t(include), "excludeTargets": t(exclude)})
}

/// Every method but those named disabled.
fn only(enabled: &[&str]) -> Vec<Value> {
    METHODS
        .iter()
        .map(|id| state(id, if enabled.contains(id) { "enabled" } else { "disabled" }))
        .collect()
}

fn key(restriction: &str, aaguids: &[&str]) -> Value {
    json!({"id": "Fido2", "state": "enabled", "includeTargets": [{"id": "all_users", "targetType": "group"}], "excludeTargets": [],
        "keyRestrictions": {"isEnforced": true, "enforcementType": restriction, "aaGuids": aaguids}})
}

fn bob_key_with_aaguid(d: &mut Directory) {
    let mut key = method("fido2");
    key["aaGuid"] = json!(AAGUID);
    d.add_methods("bob", vec![method("password"), key]);
}

fn bob_push_only(d: &mut Directory) {
    d.add_methods("bob", vec![method("password"), method("microsoftAuthenticator")]);
}

fn bob_phone_only(d: &mut Directory) {
    d.add_methods("bob", vec![method("password"), method("phone")]);
}

fn bob_password_only(d: &mut Directory) {
    d.add_methods("bob", vec![method("password")]);
}

fn bob_pass(usable: bool) -> Vec<Value> {
    let mut pass = method("temporaryAccessPass");
    pass["isUsable"] = json!(usable);
    pass["isUsableOnce"] = json!(true);
    vec![method("password"), pass]
}

fn bob_usable_pass(d: &mut Directory) {
    d.add_methods("bob", bob_pass(true));
}

fn bob_expired_pass(d: &mut Directory) {
    d.add_methods("bob", bob_pass(false));
}

fn bob_uncaptured(d: &mut Directory) {
    // A directory where bob's methods were never read.
    let mut fresh = Directory::new();
    fresh.add_user(&json!({"id": "bob", "userPrincipalName": "bob@contoso.com", "accountEnabled": true, "usageLocation": "US"}));
    fresh.add_role_assignment(
        &json!({"principalId": "bob", "roleDefinitionId": GA, "directoryScopeId": "/"}),
    );
    *d = fresh;
}

fn carol_nested(d: &mut Directory) {
    d.add_group(&json!({"id": "g-outer", "displayName": "Outer", "members": ["g-admins"]}));
}

fn dave_eligible(d: &mut Directory) {
    d.add_role_eligibility(
        &json!({"principalId": "dave", "roleDefinitionId": GA, "directoryScopeId": "/"}),
    );
}

fn dave_eligible_with_push(d: &mut Directory) {
    dave_eligible(d);
    d.add_methods("dave", vec![method("password"), method("microsoftAuthenticator")]);
}

fn block_registration() -> Vec<Value> {
    let mut p = mfa_for_all();
    p.push(policy(
        "Block registering",
        &json!({"conditions": {"applications": {"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]}},
            "grantControls": {"builtInControls": ["block"]}}),
    ));
    p
}

fn workload_block(locations: Option<Value>) -> Vec<Value> {
    let mut conditions = json!({"users": {"includeUsers": ["None"]},
        "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}});
    if let Some(l) = locations {
        conditions["locations"] = l;
    }
    vec![policy(
        "Block workloads",
        &json!({"conditions": conditions, "grantControls": {"builtInControls": ["block"]}}),
    )]
}

#[expect(clippy::too_many_lines, reason = "a table: one entry per case")]
fn cases() -> Vec<Case> {
    use Verdict::{AtRisk, LockedOut, Safe};
    vec![
        // The authentication methods policy decides which registered methods count.
        Case {
            name: "FIDO2 off tenant-wide, phishing-resistant MFA for all",
            rule: "fido2AuthenticationMethodConfiguration: state disabled — the method cannot be used to sign in",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![state("Fido2", "disabled")]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "FIDO2 security key (passkey) is disabled in the authentication methods policy",
        },
        Case {
            name: "FIDO2 on, phishing-resistant MFA for all",
            rule: "authentication strengths: a combination is met by a registered, enabled method",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "FIDO2 enabled only for a group bob is not in",
            rule: "authenticationMethodConfiguration includeTargets: only targeted users may use the method",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![
                targeted("Fido2", &["g-admins"], &[]),
                state("TemporaryAccessPass", "disabled"),
            ]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "is not enabled for the account",
        },
        Case {
            name: "bob's group excluded from FIDO2",
            rule: "authenticationMethodConfiguration excludeTargets: exclusion wins over inclusion",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![targeted("Fido2", &["all_users"], &["g-all"])]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "excluded from FIDO2",
        },
        Case {
            name: "FIDO2 enabled for a group bob is directly in",
            rule: "authenticationMethodTarget: a group target enables the method for its members",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![targeted("Fido2", &["g-all"], &[])]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "FIDO2 enabled for a group carol is in only through nesting",
            rule: "authenticationMethodTarget documents group members; nested membership is not documented to count, so it is unknown",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![targeted("Fido2", &["g-outer"], &[])]),
            migrating: false,
            facts: carol_nested,
            who: "carol@contoso.com",
            verdict: AtRisk,
            why: "only through nested groups",
        },
        Case {
            name: "key restrictions allow other keys only",
            rule: "fido2KeyRestrictions: enforced allow list admits only the listed AAGUIDs",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![key("allow", &["00000000-0000-0000-0000-00000000abcd"])]),
            migrating: false,
            facts: bob_key_with_aaguid,
            who: "bob@contoso.com",
            // Not locked out: an allowed key could be registered in its place.
            verdict: AtRisk,
            why: "is not allowed by the FIDO2 key restrictions",
        },
        Case {
            name: "key restrictions block bob's key",
            rule: "fido2KeyRestrictions: enforced block list refuses the listed AAGUIDs",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some({
                let mut v = only(&[]);
                v.retain(|c| c["id"] != "Fido2");
                v.push(key("block", &[AAGUID]));
                v
            }),
            migrating: false,
            facts: bob_key_with_aaguid,
            who: "bob@contoso.com",
            // Another key model could be registered: at risk, and the reason says why.
            verdict: AtRisk,
            why: "is blocked by the FIDO2 key restrictions",
        },
        Case {
            name: "key restrictions allow bob's key",
            rule: "fido2KeyRestrictions: a listed AAGUID on an allow list is usable",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![key("allow", &[AAGUID])]),
            migrating: false,
            facts: bob_key_with_aaguid,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "key restrictions enforced, key model not captured",
            rule: "fido2AuthenticationMethod.aaGuid decides key restrictions; without it the answer is unknown",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![key("allow", &[AAGUID])]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "AAGUID was not captured",
        },
        Case {
            name: "Authenticator off and nothing else enabled, MFA for all",
            rule: "microsoftAuthenticatorAuthenticationMethodConfiguration: state disabled",
            policies: mfa_for_all(),
            methods: Some(only(&[])),
            migrating: false,
            facts: bob_push_only,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "Microsoft Authenticator is disabled",
        },
        Case {
            name: "Authenticator allowed for passwordless only, push registered",
            rule: "microsoftAuthenticatorAuthenticationMethodTarget.authenticationMode: deviceBasedPush allows passwordless phone sign-in only",
            policies: mfa_for_all(),
            methods: Some({
                let mut v = only(&["MicrosoftAuthenticator"]);
                v.retain(|c| c["id"] != "MicrosoftAuthenticator");
                v.push(json!({"id": "MicrosoftAuthenticator", "state": "enabled", "excludeTargets": [],
                    "includeTargets": [{"id": "all_users", "targetType": "group", "authenticationMode": "deviceBasedPush"}]}));
                v
            }),
            migrating: false,
            facts: bob_push_only,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "Microsoft Authenticator is not enabled for the account",
        },
        Case {
            name: "software OATH off, but allowed through Microsoft Authenticator",
            rule: "microsoftAuthenticatorAuthenticationMethodConfiguration.isSoftwareOathEnabled: the Authenticator's OTP codes count as software OATH",
            policies: mfa_for_all(),
            methods: Some({
                let mut v = only(&[]);
                v.retain(|c| c["id"] != "MicrosoftAuthenticator");
                v.push(json!({"id": "MicrosoftAuthenticator", "state": "enabled", "isSoftwareOathEnabled": true,
                    "excludeTargets": [], "includeTargets": [{"id": "all_users", "targetType": "group"}]}));
                v
            }),
            migrating: false,
            facts: |d| {
                d.add_methods("bob", vec![method("password"), method("softwareOath")]);
            },
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "SMS off, voice on, phone registered",
            rule: "sms and voice are separate method configurations; either meets MFA with a password",
            policies: mfa_for_all(),
            methods: Some(vec![state("Sms", "disabled")]),
            migrating: false,
            facts: bob_phone_only,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "SMS and voice off, phone only",
            rule: "smsAuthenticationMethodConfiguration / voiceAuthenticationMethodConfiguration: state disabled",
            policies: mfa_for_all(),
            methods: Some(only(&[])),
            migrating: false,
            facts: bob_phone_only,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "SMS is disabled",
        },
        Case {
            name: "migration in progress, FIDO2 off in the new policy",
            rule: "authenticationMethodsPolicy.policyMigrationState: until migrationComplete the legacy MFA and SSPR policies also govern methods",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(vec![state("Fido2", "disabled")]),
            migrating: true,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "the legacy MFA policy may still allow it",
        },
        Case {
            name: "the methods policy was not captured",
            rule: "three-valued honesty: a method's usability without the methods policy is unknown",
            policies: mfa_for_all(),
            methods: None,
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "the authentication methods policy was not captured",
        },
        Case {
            name: "bob's methods were not captured",
            rule: "three-valued honesty: methods not read are unknown (UserAuthenticationMethod.Read.All)",
            policies: mfa_for_all(),
            methods: Some(vec![]),
            migrating: false,
            facts: bob_uncaptured,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "were not captured",
        },
        // Temporary Access Pass.
        Case {
            name: "a usable Temporary Access Pass meets MFA",
            rule: "built-in Multifactor authentication strength allows temporaryAccessPassOneTime",
            policies: mfa_for_all(),
            methods: Some(vec![]),
            migrating: false,
            facts: bob_usable_pass,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "an expired pass, TAP enabled: another pass could be issued",
            rule: "temporaryAccessPassAuthenticationMethod.isUsable false: expired or used; TAP enabled lets an administrator issue one",
            policies: mfa_for_all(),
            methods: Some(only(&["TemporaryAccessPass"])),
            migrating: false,
            facts: bob_expired_pass,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "a Temporary Access Pass issued by an administrator",
        },
        Case {
            name: "a usable pass while TAP is disabled",
            rule: "temporaryAccessPassAuthenticationMethodConfiguration: state disabled — passes cannot be used",
            policies: mfa_for_all(),
            methods: Some(only(&[])),
            migrating: false,
            facts: bob_usable_pass,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "Temporary Access Pass is disabled",
        },
        Case {
            name: "a pass is not phishing-resistant, and FIDO2 is off",
            rule: "Phishing-resistant MFA strength: windowsHelloForBusiness, fido2, x509CertificateMultiFactor only",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(only(&["TemporaryAccessPass"])),
            migrating: false,
            facts: bob_usable_pass,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "which the usable methods cannot meet",
        },
        Case {
            name: "a pass, and FIDO2 on: a key could be registered with it",
            rule: "a Temporary Access Pass can be used to register a passkey; strengths prompt registration of an allowed method",
            policies: strength_for_all(PHISHING_RESISTANT),
            methods: Some(only(&["TemporaryAccessPass", "Fido2"])),
            migrating: false,
            facts: bob_usable_pass,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "could be met by registering a FIDO2 security key",
        },
        // Registering security information.
        Case {
            name: "password only, MFA for all, Authenticator enabled",
            rule: "combined registration: a user who must do MFA and has no method is asked to register one",
            policies: mfa_for_all(),
            methods: Some(only(&["MicrosoftAuthenticator"])),
            migrating: false,
            facts: bob_password_only,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "could be met by registering Microsoft Authenticator",
        },
        Case {
            name: "password only, and registering security info is blocked",
            rule: "user action 'register security information' (urn:user:registersecurityinfo) is a Conditional Access target",
            policies: block_registration(),
            methods: Some(only(&["MicrosoftAuthenticator"])),
            migrating: false,
            facts: bob_password_only,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "which the usable methods cannot meet",
        },
        // Authentication strengths, custom.
        Case {
            name: "custom strength password+SMS while SMS is off",
            rule: "custom authentication strength: only its allowedCombinations satisfy it",
            policies: strength_for_all("sms-only"),
            methods: Some(only(&["Voice"])),
            migrating: false,
            facts: bob_phone_only,
            who: "bob@contoso.com",
            verdict: LockedOut,
            why: "SMS is disabled",
        },
        Case {
            name: "custom strength of keys only, FIDO2 on",
            rule: "custom authentication strength: fido2 in allowedCombinations",
            policies: strength_for_all("keys-only"),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        // What Rewind cannot see.
        Case {
            name: "compliant device required for all",
            rule: "grant control compliantDevice: Intune compliance, not in Entra configuration — unknown",
            policies: control_for_all(&json!(["compliantDevice"]), "OR"),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "Rewind cannot see devices; confirm in Intune",
        },
        Case {
            name: "hybrid joined device required for all",
            rule: "grant control domainJoinedDevice: the device's join type is not in the configuration — unknown",
            policies: control_for_all(&json!(["domainJoinedDevice"]), "OR"),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "hybrid joined device",
        },
        Case {
            name: "compliant device or MFA",
            rule: "grant operator OR: one control met is enough",
            policies: control_for_all(&json!(["compliantDevice", "mfa"]), "OR"),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: Safe,
            why: "",
        },
        Case {
            name: "compliant device and MFA",
            rule: "grant operator AND: every control must be met",
            policies: control_for_all(&json!(["compliantDevice", "mfa"]), "AND"),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "compliant device",
        },
        Case {
            name: "approved client app required",
            rule: "grant control approvedApplication: which app signs in is not a configuration fact — unknown",
            policies: control_for_all(&json!(["approvedApplication"]), "OR"),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "which client app signs in is not in the configuration",
        },
        Case {
            name: "blocked unless the device matches a filter",
            rule: "device filter: properties of an unseen device are unknown",
            policies: vec![policy(
                "Block unmanaged",
                &json!({"conditions": {"users": {"excludeUsers": ["bg1", "bg2"]},
                    "devices": {"deviceFilter": {"mode": "include", "rule": "device.trustType -ne \"ServerAD\""}}},
                    "grantControls": {"builtInControls": ["block"]}}),
            )],
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "the device filter",
        },
        Case {
            name: "blocked at elevated insider risk",
            rule: "insiderRiskLevels: set by Microsoft Purview, not configuration — unknown",
            policies: vec![policy(
                "Insider risk",
                &json!({"conditions": {"users": {"excludeUsers": ["bg1", "bg2"]}, "insiderRiskLevels": "elevated"},
                    "grantControls": {"builtInControls": ["block"]}}),
            )],
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "bob@contoso.com",
            verdict: AtRisk,
            why: "insider risk level",
        },
        Case {
            name: "break-glass account not excluded from a compliant-device policy",
            rule: "Microsoft's emergency access guidance: break-glass accounts must work from any device",
            policies: vec![policy(
                "Compliant for all",
                &json!({"grantControls": {"builtInControls": ["compliantDevice"]}}),
            )],
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "emergency1@contoso.com",
            verdict: AtRisk,
            why: "which this device does not meet",
        },
        // PIM-eligible administrators.
        Case {
            name: "eligible Global Administrator with password only",
            rule: "PIM role settings: activation requires Azure MFA by default",
            policies: vec![],
            methods: Some(only(&[])),
            migrating: false,
            facts: dave_eligible,
            who: "dave@contoso.com",
            verdict: LockedOut,
            why: "activation asks for multifactor authentication",
        },
        Case {
            name: "eligible Global Administrator, policy on the active role needs keys, FIDO2 off",
            rule: "Conditional Access targets directory roles once active: after activation the role's policies apply",
            policies: vec![policy(
                "Admins need keys",
                &json!({"conditions": {"users": {"includeUsers": [], "includeRoles": [GA]}},
                    "grantControls": {"builtInControls": [], "authenticationStrength": {"id": PHISHING_RESISTANT}}}),
            )],
            methods: Some(only(&["MicrosoftAuthenticator"])),
            migrating: false,
            facts: dave_eligible_with_push,
            who: "dave@contoso.com",
            verdict: LockedOut,
            why: "Admins need keys",
        },
        Case {
            name: "eligible Global Administrator blocked unless already holding the role",
            rule: "excludeRoles matches active roles only: before activation the block applies",
            policies: vec![policy(
                "Only admins",
                &json!({"conditions": {"users": {"excludeRoles": [GA], "excludeUsers": ["bg1", "bg2"]}},
                    "grantControls": {"builtInControls": ["block"]}}),
            )],
            methods: Some(vec![]),
            migrating: false,
            facts: dave_eligible_with_push,
            who: "dave@contoso.com",
            verdict: LockedOut,
            why: "blocked by Only admins",
        },
        // Rewind's own identity.
        Case {
            name: "workload identities blocked outside named locations",
            rule: "Conditional Access for workload identities: block by location; Rewind's address is not known",
            policies: workload_block(Some(
                json!({"includeLocations": ["All"], "excludeLocations": ["office"]}),
            )),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "restore",
            verdict: AtRisk,
            why: "where the sign-in comes from",
        },
        Case {
            name: "every workload identity blocked",
            rule: "Conditional Access for workload identities: ServicePrincipalsInMyTenant with block",
            policies: workload_block(None),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "restore",
            verdict: LockedOut,
            why: "blocked by Block workloads",
        },
        Case {
            name: "no policy targets workload identities",
            rule: "a service principal is only subject to policies that target workload identities",
            policies: mfa_for_all(),
            methods: Some(vec![]),
            migrating: false,
            facts: nothing,
            who: "restore",
            verdict: Safe,
            why: "",
        },
    ]
}

fn run(case: &Case) -> Analysis {
    let mut dir = directory();
    (case.facts)(&mut dir);
    let methods = match &case.methods {
        None => MethodsPolicy::default(),
        Some(changed) if case.migrating => {
            let mut configs: Vec<Value> = METHODS
                .iter()
                .map(|id| state(id, "enabled"))
                .filter(|c| !changed.iter().any(|x| x["id"] == c["id"]))
                .collect();
            configs.extend(changed.iter().cloned());
            MethodsPolicy::from_graph(
                Some(&json!({"policyMigrationState": "migrationInProgress"})),
                &configs,
            )
        }
        Some(changed) => methods_policy(changed),
    };
    let mut strengths = crate::tenant::strengths();
    strengths.push(json!({"id": "sms-only", "displayName": "SMS only", "allowedCombinations": ["password,sms"]}));
    let set =
        rewind_policy::PolicySet::compile(&case.policies, &crate::tenant::locations(), &strengths)
            .with_methods(methods);
    let options = LockoutOptions {
        break_glass: vec!["bg1".into(), "bg2".into()],
        home_country: None,
        restore_app: Some(APP_X.into()),
    };
    analyse(&set, &dir, &options)
}

#[test]
fn every_case_reaches_the_verdict_reasoned_by_hand() {
    let cases = cases();
    assert!(cases.len() >= 30, "the issue asks for at least 30 cases");
    let mut wrong = Vec::new();
    for case in &cases {
        let analysis = run(case);
        let report = if case.who == "restore" {
            analysis.restore_identity.clone()
        } else {
            analysis.principals.iter().find(|p| p.user_principal_name == case.who).cloned()
        };
        let Some(report) = report else {
            wrong.push(format!("{}: {} is not analysed", case.name, case.who));
            continue;
        };
        let why: Vec<&str> = report.findings.iter().map(|f| f.why.as_str()).collect();
        let explained = case.why.is_empty() || why.iter().any(|w| w.contains(case.why));
        if report.verdict != case.verdict || !explained {
            wrong.push(format!(
                "{} ({}): expected {:?} with '{}', got {:?}: {:?}",
                case.name,
                case.rule,
                case.verdict,
                case.why,
                report.verdict,
                why.iter().take(2).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
