//! What Rewind cannot see from configuration, in words: for every requirement or condition the
//! lockout analysis leaves undecided, which fact was missing and how a person confirms it
//! (docs/design/ca-evaluation.md, "Three-valued honesty").

use crate::evaluate::{Capabilities, Condition};
use crate::policy::Control;
use crate::vocab::BuiltInControl;

/// Why a control could not be decided for `upn`, and how to confirm it.
pub(crate) fn control(c: &Control, caps: &Capabilities, upn: &str) -> String {
    match c {
        Control::BuiltIn { control } => match control {
            BuiltInControl::CompliantDevice => format!(
                "a compliant device: Rewind cannot see devices; confirm in Intune (Devices › All devices, filtered by user) that {upn} has a compliant device"
            ),
            BuiltInControl::DomainJoinedDevice => format!(
                "a Microsoft Entra hybrid joined device: Rewind cannot see devices; confirm in Entra ID (Devices › All devices, join type) that {upn} has one"
            ),
            BuiltInControl::ApprovedApplication | BuiltInControl::CompliantApplication => format!(
                "{}: which client app signs in is not in the configuration; confirm that {upn} can sign in with one",
                control.name()
            ),
            _ => methods(c, caps, upn),
        },
        Control::AuthenticationStrength { .. } => methods(c, caps, upn),
        Control::Custom { id } => format!(
            "custom control {id}: its answer comes from another provider; confirm with it that {upn} passes"
        ),
        Control::TermsOfUse { id } => format!("terms of use {id}"),
    }
}

/// Why a methods requirement could not be decided.
fn methods(c: &Control, caps: &Capabilities, upn: &str) -> String {
    if caps.modes.is_none() {
        return format!(
            "{}: the methods of {upn} were not captured (grant UserAuthenticationMethod.Read.All and capture again)",
            c.label()
        );
    }
    let reasons: Vec<&str> =
        caps.maybe.iter().filter_map(|m| caps.limits.get(m).map(String::as_str)).collect();
    if reasons.is_empty() { c.label() } else { format!("{} — {}", c.label(), reasons.join("; ")) }
}

/// Why a condition could not be decided in a lockout context, and how to confirm it.
pub(crate) fn condition(c: Condition) -> &'static str {
    match c {
        Condition::Devices => {
            "the device filter (Rewind cannot see the device; check the filter against the account's devices in Entra ID › Devices)"
        }
        Condition::InsiderRisk => {
            "the insider risk level (set by Microsoft Purview, not in the configuration)"
        }
        Condition::Location => "where the sign-in comes from (a location Rewind cannot resolve)",
        Condition::InvalidPolicy => "the policy itself, which could not be read",
        Condition::Application => "the application filter (custom security attributes)",
        Condition::WorkloadIdentities => "the service principal filter",
        Condition::ServicePrincipalRisk | Condition::SignInRisk | Condition::UserRisk => {
            "the risk level at sign-in"
        }
        _ => "a signal of the sign-in",
    }
}
