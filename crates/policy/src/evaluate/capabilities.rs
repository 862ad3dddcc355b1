//! What a principal can do to meet controls: the methods they registered, as far as the
//! authentication methods policy lets them use them, and whether those meet a strength.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{PolicySet, Requirement};
use crate::directory::{Directory, Principal};
use crate::methods_policy::REGISTRABLE;
use crate::policy::{Control, Operator};
use crate::signin::{DeviceValue, SignIn};
use crate::strength::{self, Strength};
use crate::tri::Tri;
use crate::vocab::BuiltInControl;

/// The built-in strength the `mfa` control is equivalent to, built once: the lockout analysis
/// asks about it in every context.
static MFA_STRENGTH: std::sync::LazyLock<Strength> = std::sync::LazyLock::new(|| {
    Strength::built_in().into_iter().find(|b| b.id == strength::MFA).unwrap_or_else(|| Strength {
        id: strength::MFA.to_string(),
        name: "Multifactor authentication".to_string(),
        combinations: Vec::new(),
    })
});

/// What a principal can do to meet controls: the authentication methods they registered, as
/// far as the authentication methods policy lets them use them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `authenticationMethodModes` the principal registered and may use; `None` when their
    /// methods were not captured.
    pub modes: Option<BTreeSet<String>>,
    /// Registered modes the methods policy may or may not let them use.
    pub maybe: BTreeSet<String>,
    /// Why registered modes are not (certainly) usable: mode → reason.
    pub limits: BTreeMap<String, String>,
    /// Modes the methods policy certainly enables for them that they have not registered:
    /// what they could register, or be issued, to meet a requirement.
    pub registrable: BTreeSet<String>,
}

impl Capabilities {
    /// Every registered method counted as usable (what-if without a methods policy).
    pub fn from_methods(methods: Option<&[Value]>) -> Capabilities {
        Capabilities { modes: methods.map(strength::modes), ..Capabilities::default() }
    }

    /// A principal's registered methods through the state's authentication methods policy.
    pub fn of(set: &PolicySet, dir: &Directory, p: &Principal<'_>) -> Capabilities {
        let policy = &set.methods;
        let mut caps = Capabilities::default();
        if let Some(methods) = dir.methods(&p.user.id) {
            let mut usable = BTreeSet::new();
            for m in methods {
                for mode in strength::modes_of_method(m) {
                    let u = policy.usable(mode, Some(m), p, dir);
                    match u.usable {
                        Tri::Yes => {
                            usable.insert(mode.to_string());
                        }
                        Tri::Unknown => {
                            caps.maybe.insert(mode.to_string());
                        }
                        Tri::No => {}
                    }
                    if let Some(why) = u.why {
                        caps.limits.entry(mode.to_string()).or_insert(why);
                    }
                }
            }
            // A mode usable through one method is usable, whatever another says.
            caps.maybe.retain(|m| !usable.contains(m));
            caps.limits.retain(|m, _| !usable.contains(m));
            caps.modes = Some(usable);
        }
        caps.registrable = REGISTRABLE
            .iter()
            .map(|(mode, _)| *mode)
            .filter(|mode| policy.usable(mode, None, p, dir).usable == Tri::Yes)
            .map(str::to_string)
            .collect();
        caps
    }

    fn strength(&self, s: &Strength) -> Tri {
        let Some(modes) = &self.modes else {
            return Tri::Unknown;
        };
        if s.satisfied_by(modes) {
            return Tri::Yes;
        }
        let perhaps: BTreeSet<String> = modes.union(&self.maybe).cloned().collect();
        if s.satisfied_by(&perhaps) { Tri::Unknown } else { Tri::No }
    }

    /// The methods the principal could register (or be issued) that would meet a requirement
    /// their usable methods do not, in words; `None` when registering would not help.
    pub fn by_registering(&self, r: &Requirement, s: &SignIn) -> Option<String> {
        let mut more = self.clone();
        let modes = more.modes.get_or_insert_with(BTreeSet::new);
        let added: Vec<&str> =
            self.registrable.iter().filter(|m| !modes.contains(*m)).map(String::as_str).collect();
        if added.is_empty() {
            return None;
        }
        let base = modes.clone();
        // Name the methods that help on their own; failing that, all of them together.
        let helps = |extra: &[&str]| {
            let mut with = more.clone();
            with.modes =
                Some(base.iter().cloned().chain(extra.iter().map(ToString::to_string)).collect());
            with.requirement(r, s) != Tri::No
        };
        let alone: Vec<&str> = added.iter().copied().filter(|m| helps(&[*m])).collect();
        let useful = if alone.is_empty() {
            if !helps(&added) {
                return None;
            }
            added.clone()
        } else {
            alone
        };
        let labels: Vec<&str> = REGISTRABLE
            .iter()
            .filter(|(m, _)| useful.contains(m))
            .map(|(_, label)| *label)
            .collect();
        Some(labels.join(" or "))
    }

    /// Whether the principal can meet one control in a sign-in.
    pub fn control(&self, control: &Control, s: &SignIn) -> Tri {
        match control {
            Control::BuiltIn { control } => match control {
                BuiltInControl::Block => Tri::No,
                BuiltInControl::Mfa | BuiltInControl::RiskRemediation => {
                    self.strength(&MFA_STRENGTH)
                }
                BuiltInControl::CompliantDevice => {
                    s.device_flag("isCompliant").map_or(Tri::Unknown, Tri::from_bool)
                }
                BuiltInControl::DomainJoinedDevice => match s.device_property("trustType") {
                    Some(DeviceValue::Text(t)) => {
                        Tri::from_bool(t.eq_ignore_ascii_case("ServerAD"))
                    }
                    Some(_) => Tri::No,
                    None if s.device.is_some() => Tri::No,
                    None => Tri::Unknown,
                },
                BuiltInControl::PasswordChange => self
                    .modes
                    .as_ref()
                    .map_or(Tri::Unknown, |m| Tri::from_bool(m.contains("password"))),
                // Which client app signs in is not a signal Rewind is given.
                BuiltInControl::ApprovedApplication | BuiltInControl::CompliantApplication => {
                    Tri::Unknown
                }
            },
            Control::AuthenticationStrength { strength } => self.strength(strength),
            Control::TermsOfUse { .. } => Tri::Yes,
            Control::Custom { .. } => Tri::Unknown,
        }
    }

    /// Whether the principal can meet a requirement (its controls with their operator).
    pub fn requirement(&self, r: &Requirement, s: &SignIn) -> Tri {
        let each = r.controls.iter().map(|c| self.control(c, s));
        match r.operator {
            Operator::And => Tri::all(each),
            Operator::Or => Tri::any(each),
        }
    }
}
