//! The authentication methods policy: which registered methods a user may actually use.
//!
//! A method a user registered counts only if the tenant's authentication methods policy
//! enables it for them: the method's configuration is `enabled`, the user is in its
//! `includeTargets` (`all_users`, the user, or a group) and not in its `excludeTargets`, and
//! the method's own settings allow it (FIDO2 key restrictions by AAGUID, the Authenticator's
//! authentication mode, a Temporary Access Pass still usable). Docs:
//! `authenticationmethodspolicy`, `authenticationmethodconfiguration`,
//! `fido2authenticationmethodconfiguration`, `microsoftauthenticatorauthenticationmethodtarget`.
//!
//! Three-valued like the rest of the engine: membership through a nested group, a state whose
//! policy was not captured, a migration still in progress (the legacy MFA and SSPR policies may
//! still enable a method the new policy disables) and a key whose AAGUID was not captured are
//! all `unknown`, never guessed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::directory::{Directory, Principal};
use crate::tri::Tri;

/// The group id Graph uses for "every user" in method targets.
const ALL_USERS: &str = "all_users";

/// One method configuration, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MethodConfig {
    enabled: bool,
    include: Vec<Target>,
    exclude: Vec<String>,
    /// FIDO2: (`allow` or `block`, AAGUIDs) when key restrictions are enforced.
    key_restrictions: Option<(bool, BTreeSet<String>)>,
    /// Microsoft Authenticator: also usable as a software OATH token.
    software_oath: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    id: String,
    /// Microsoft Authenticator: `any`, `push` or `deviceBasedPush`.
    authentication_mode: Option<String>,
}

/// A state's authentication methods policy, compiled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MethodsPolicy {
    /// Method configurations by lower-case id (`fido2`, `microsoftauthenticator`, …); `None`
    /// when the state holds no methods policy at all.
    configs: Option<BTreeMap<String, MethodConfig>>,
    /// The legacy MFA and SSPR policies still govern methods until migration completes.
    legacy: bool,
}

/// Whether one method mode is usable, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usability {
    /// Usable: yes, no, or cannot be decided.
    pub usable: Tri,
    /// Why it is not (certainly) usable, in words.
    pub why: Option<String>,
}

impl Usability {
    fn yes() -> Usability {
        Usability { usable: Tri::Yes, why: None }
    }

    fn not(usable: Tri, why: String) -> Usability {
        Usability { usable, why: Some(why) }
    }
}

impl MethodsPolicy {
    /// From the policy singleton (for its migration state) and its method configurations as
    /// Graph returns them (`id` `Fido2`, `MicrosoftAuthenticator`, …).
    pub fn from_graph(policy: Option<&Value>, configs: &[Value]) -> MethodsPolicy {
        if policy.is_none() && configs.is_empty() {
            return MethodsPolicy::default();
        }
        let migration = policy.and_then(|p| p.get("policyMigrationState")).and_then(Value::as_str);
        MethodsPolicy {
            configs: Some(
                configs
                    .iter()
                    .filter_map(|c| Some((c.get("id")?.as_str()?.to_lowercase(), compile(c))))
                    .collect(),
            ),
            legacy: matches!(migration, Some("preMigration" | "migrationInProgress")),
        }
    }

    /// Whether `p` may use `mode` (an `authenticationMethodModes` member) of the registered
    /// `method` (`None`: a method they could register or be issued).
    pub fn usable(
        &self,
        mode: &str,
        method: Option<&Value>,
        p: &Principal<'_>,
        dir: &Directory,
    ) -> Usability {
        // Passwords, Windows Hello for Business and platform credentials are not governed by
        // the methods policy in v1.0.
        if matches!(mode, "password" | "windowsHelloForBusiness") {
            return Usability::yes();
        }
        let Some(configs) = &self.configs else {
            return Usability::not(
                Tri::Unknown,
                "the authentication methods policy was not captured".into(),
            );
        };
        let (config_id, label) = config_of(mode);
        let Some(config) = configs.get(config_id) else {
            return Usability::not(
                Tri::Unknown,
                format!("the methods policy has no {label} configuration"),
            );
        };
        let mut result = self.enabled_for(config, label, p, dir, mode);
        // A software OATH token also counts through Microsoft Authenticator when that allows
        // it, even with the SoftwareOath configuration off.
        if mode == "softwareOath"
            && let Some(auth) = configs.get("microsoftauthenticator")
            && auth.software_oath
            && result.usable != Tri::Yes
        {
            let via = self.enabled_for(auth, "Microsoft Authenticator", p, dir, "any");
            if via.usable == Tri::Yes {
                result = via;
            }
        }
        if result.usable == Tri::No {
            return result;
        }
        [fido2_key(config, method), temporary_pass(mode, method)]
            .into_iter()
            .flatten()
            .fold(result, combine)
    }

    fn enabled_for(
        &self,
        config: &MethodConfig,
        label: &str,
        p: &Principal<'_>,
        dir: &Directory,
        mode: &str,
    ) -> Usability {
        if !config.enabled {
            let why = format!("{label} is disabled in the authentication methods policy");
            let usable = if self.legacy { Tri::Unknown } else { Tri::No };
            let why = if self.legacy {
                format!(
                    "{why} (migration is not complete: the legacy MFA policy may still allow it)"
                )
            } else {
                why
            };
            return Usability::not(usable, why);
        }
        let included = Tri::any(
            config
                .include
                .iter()
                .filter(|t| mode_allowed(mode, t.authentication_mode.as_deref()))
                .map(|t| targets(&t.id, p, dir)),
        );
        let excluded = Tri::any(config.exclude.iter().map(|id| targets(id, p, dir)));
        match (included, excluded) {
            (_, Tri::Yes) => Usability::not(
                Tri::No,
                format!(
                    "the account is excluded from {label} in the authentication methods policy"
                ),
            ),
            (Tri::No, _) => Usability::not(
                Tri::No,
                format!(
                    "{label} is not enabled for the account in the authentication methods policy"
                ),
            ),
            (Tri::Yes, Tri::No) => Usability::yes(),
            _ => Usability::not(
                Tri::Unknown,
                format!(
                    "{label} is enabled for a group the account is in only through nested groups (not documented to count)"
                ),
            ),
        }
    }
}

/// The worse of two answers (no, then unknown, then yes), with its reason.
fn combine(a: Usability, b: Usability) -> Usability {
    let rank = |t: Tri| match t {
        Tri::No => 0,
        Tri::Unknown => 1,
        Tri::Yes => 2,
    };
    if rank(b.usable) < rank(a.usable) { b } else { a }
}

/// The configuration that governs a mode, and its name for people.
fn config_of(mode: &str) -> (&'static str, &'static str) {
    match mode {
        "microsoftAuthenticatorPush" | "deviceBasedPush" => {
            ("microsoftauthenticator", "Microsoft Authenticator")
        }
        "fido2" => ("fido2", "FIDO2 security key (passkey)"),
        "softwareOath" => ("softwareoath", "software OATH tokens"),
        "hardwareOath" => ("hardwareoath", "hardware OATH tokens"),
        "sms" => ("sms", "SMS"),
        "voice" => ("voice", "voice call"),
        "temporaryAccessPassOneTime" | "temporaryAccessPassMultiUse" => {
            ("temporaryaccesspass", "Temporary Access Pass")
        }
        "email" => ("email", "email OTP"),
        "x509CertificateSingleFactor" | "x509CertificateMultiFactor" => {
            ("x509certificate", "certificate-based authentication")
        }
        "qrCodePin" => ("qrcodepin", "QR code"),
        _ => ("", "this method"),
    }
}

/// Microsoft Authenticator targets say which modes they allow (`any`, `push`,
/// `deviceBasedPush`: passwordless phone sign-in).
fn mode_allowed(mode: &str, target_mode: Option<&str>) -> bool {
    match (mode, target_mode) {
        (_, None | Some("any")) => true,
        ("microsoftAuthenticatorPush", Some(m)) => m == "push",
        ("deviceBasedPush", Some(m)) => m == "deviceBasedPush",
        _ => true,
    }
}

/// Whether a target id names the principal: every user, the user, a group they are in
/// directly (yes) or only through nesting (unknown).
fn targets(id: &str, p: &Principal<'_>, dir: &Directory) -> Tri {
    if id == ALL_USERS || id == p.user.id || dir.direct_groups(&p.user.id).any(|g| g == id) {
        Tri::Yes
    } else if p.groups.contains(id) {
        Tri::Unknown
    } else {
        Tri::No
    }
}

/// FIDO2 key restrictions: an enforced allow list admits only the listed AAGUIDs, a block list
/// refuses them.
fn fido2_key(config: &MethodConfig, method: Option<&Value>) -> Option<Usability> {
    let (allow, list) = config.key_restrictions.as_ref()?;
    let aaguid = method?.get("aaGuid").and_then(Value::as_str).map(str::to_lowercase);
    Some(match aaguid {
        None => Usability::not(
            Tri::Unknown,
            "FIDO2 key restrictions are enforced and the key's AAGUID was not captured".into(),
        ),
        Some(a) if list.contains(&a) == *allow => Usability::yes(),
        Some(a) => Usability::not(
            Tri::No,
            format!(
                "the security key (AAGUID {a}) is {} by the FIDO2 key restrictions",
                if *allow { "not allowed" } else { "blocked" }
            ),
        ),
    })
}

/// A Temporary Access Pass that expired or was used is not a method any more.
fn temporary_pass(mode: &str, method: Option<&Value>) -> Option<Usability> {
    if !mode.starts_with("temporaryAccessPass") {
        return None;
    }
    let usable = method?.get("isUsable").and_then(Value::as_bool)?;
    Some(if usable {
        Usability::yes()
    } else {
        Usability::not(Tri::No, "the Temporary Access Pass has expired or was used".into())
    })
}

fn compile(config: &Value) -> MethodConfig {
    let list = |k: &str| config.get(k).and_then(Value::as_array).into_iter().flatten();
    let restrictions = config.get("keyRestrictions");
    let enforced =
        restrictions.and_then(|r| r.get("isEnforced")).and_then(Value::as_bool) == Some(true);
    MethodConfig {
        enabled: config.get("state").and_then(Value::as_str) == Some("enabled"),
        include: list("includeTargets")
            .filter_map(|t| {
                Some(Target {
                    id: t.get("id")?.as_str()?.to_string(),
                    authentication_mode: t
                        .get("authenticationMode")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                })
            })
            .collect(),
        exclude: list("excludeTargets")
            .filter_map(|t| Some(t.get("id")?.as_str()?.to_string()))
            .collect(),
        key_restrictions: enforced.then(|| {
            let r = restrictions.unwrap_or(&Value::Null);
            (
                r.get("enforcementType").and_then(Value::as_str) == Some("allow"),
                r.get("aaGuids")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect(),
            )
        }),
        software_oath: config.get("isSoftwareOathEnabled").and_then(Value::as_bool) == Some(true),
    }
}

/// The modes the methods policy enables for a user without their registering anything first
/// being possible: the ones they could register or be issued (not passwords).
pub(crate) const REGISTRABLE: &[(&str, &str)] = &[
    ("microsoftAuthenticatorPush", "Microsoft Authenticator"),
    ("fido2", "a FIDO2 security key"),
    ("softwareOath", "a software OATH token"),
    ("sms", "a phone (SMS)"),
    ("voice", "a phone (voice)"),
    ("temporaryAccessPassOneTime", "a Temporary Access Pass issued by an administrator"),
];
