//! Authentication strengths: which combinations of authentication methods satisfy a policy, and
//! whether the methods a user registered can make one of them.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// The id of the built-in "Multifactor authentication" strength, which the `mfa` grant
/// control is equivalent to.
pub const MFA: &str = "00000000-0000-0000-0000-000000000002";

/// The built-in strengths, as Graph returns them (`policyType: builtIn`): id, display name,
/// allowed combinations (docs `authenticationstrengthroot-list-policies`, `conditionalaccessroot-evaluate`).
pub const BUILT_IN_STRENGTHS: &[(&str, &str, &[&str])] = &[
    (
        MFA,
        "Multifactor authentication",
        &[
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,x509CertificateSingleFactor",
            "password,x509CertificateMultiFactor",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        "Passwordless MFA",
        &["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"],
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        "Phishing-resistant MFA",
        &["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
    ),
];

/// An authentication strength: a set of allowed method combinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Strength {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Allowed combinations, each a set of `authenticationMethodModes` members.
    pub combinations: Vec<BTreeSet<String>>,
}

impl Strength {
    /// A strength from its Graph representation (`allowedCombinations` as flags strings).
    pub fn from_graph(object: &Value) -> Option<Strength> {
        let id = object.get("id")?.as_str()?.to_string();
        let name = object.get("displayName").and_then(Value::as_str).unwrap_or(&id).to_string();
        let combinations = object
            .get("allowedCombinations")?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .map(combination)
            .collect();
        Some(Strength { id, name, combinations })
    }

    /// The built-in strengths.
    pub fn built_in() -> Vec<Strength> {
        BUILT_IN_STRENGTHS
            .iter()
            .map(|(id, name, combos)| Strength {
                id: (*id).to_string(),
                name: (*name).to_string(),
                combinations: combos.iter().map(|c| combination(c)).collect(),
            })
            .collect()
    }

    /// Whether someone with these method modes can make one of the allowed combinations.
    pub fn satisfied_by(&self, modes: &BTreeSet<String>) -> bool {
        self.combinations.iter().any(|c| c.is_subset(modes))
    }
}

fn combination(flags: &str) -> BTreeSet<String> {
    flags.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The `authenticationMethodModes` a registered method (as `GET
/// /users/{id}/authentication/methods` returns it) lets its user perform.
pub fn modes_of_method(method: &Value) -> Vec<&'static str> {
    let kind = method
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_start_matches("#microsoft.graph.");
    match kind {
        "passwordAuthenticationMethod" => vec!["password"],
        "microsoftAuthenticatorAuthenticationMethod" => vec!["microsoftAuthenticatorPush"],
        "fido2AuthenticationMethod" => vec!["fido2"],
        "windowsHelloForBusinessAuthenticationMethod" => vec!["windowsHelloForBusiness"],
        "platformCredentialAuthenticationMethod" => vec!["windowsHelloForBusiness"],
        "softwareOathAuthenticationMethod" => vec!["softwareOath"],
        "hardwareOathAuthenticationMethod" => vec!["hardwareOath"],
        "phoneAuthenticationMethod" => vec!["sms", "voice"],
        "temporaryAccessPassAuthenticationMethod" => {
            if method.get("isUsableOnce").and_then(Value::as_bool) == Some(false) {
                vec!["temporaryAccessPassMultiUse"]
            } else {
                vec!["temporaryAccessPassOneTime"]
            }
        }
        "emailAuthenticationMethod" => vec!["email"],
        "qrCodePinAuthenticationMethod" => vec!["qrCodePin"],
        _ => Vec::new(),
    }
}

/// The method modes of a list of registered methods.
pub fn modes(methods: &[Value]) -> BTreeSet<String> {
    methods.iter().flat_map(modes_of_method).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registered_methods_make_combinations() {
        let strengths = Strength::built_in();
        let phishing_resistant = &strengths[2];
        let mfa = &strengths[0];
        let push = modes(&[
            json!({"@odata.type": "#microsoft.graph.passwordAuthenticationMethod"}),
            json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod"}),
        ]);
        assert!(mfa.satisfied_by(&push));
        assert!(!phishing_resistant.satisfied_by(&push));
        let key = modes(&[json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethod"})]);
        assert!(phishing_resistant.satisfied_by(&key));
        let password =
            modes(&[json!({"@odata.type": "#microsoft.graph.passwordAuthenticationMethod"})]);
        assert!(!mfa.satisfied_by(&password));
        let custom = Strength::from_graph(&json!({"id": "s", "displayName": "SMS",
            "allowedCombinations": ["password, sms"]}))
        .unwrap();
        assert!(custom.satisfied_by(&modes(&[
            json!({"@odata.type": "#microsoft.graph.passwordAuthenticationMethod"}),
            json!({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod"}),
        ])));
    }
}
