//! The closed vocabularies of Conditional Access (v1.0 enum members, as Graph spells them).
//! Parsing is case-insensitive, as Graph accepts; rendering uses Graph's spelling.

use serde::Serialize;

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every member, in Graph's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Graph's spelling.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The member Graph spells `s` (case-insensitive).
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }

            /// What the members are, for error messages: `a, b or c`.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
                match names.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => names.join(""),
                }
            }
        }

        /// Parses Graph's spelling (any case); the error lists the members.
        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<$name, String> {
                $name::parse(s).ok_or_else(|| format!("use {}", $name::expected()))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

vocabulary! {
    /// A device platform (`conditionalAccessDevicePlatform`).
    Platform {
        /// Android.
        Android = "android",
        /// iOS and iPadOS.
        Ios = "iOS",
        /// Windows.
        Windows = "windows",
        /// Windows Phone.
        WindowsPhone = "windowsPhone",
        /// macOS.
        MacOs = "macOS",
        /// Linux.
        Linux = "linux",
    }
}

vocabulary! {
    /// A client application type (`conditionalAccessClientApp`).
    ClientApp {
        /// A browser.
        Browser = "browser",
        /// Modern-authentication mobile and desktop apps.
        MobileAppsAndDesktopClients = "mobileAppsAndDesktopClients",
        /// Exchange ActiveSync.
        ExchangeActiveSync = "exchangeActiveSync",
        /// Exchange ActiveSync on supported platforms.
        EasSupported = "easSupported",
        /// Other (legacy) clients: IMAP, POP, SMTP, older Office.
        Other = "other",
    }
}

vocabulary! {
    /// A risk level (`riskLevel`).
    RiskLevel {
        /// Low.
        Low = "low",
        /// Medium.
        Medium = "medium",
        /// High.
        High = "high",
        /// Hidden.
        Hidden = "hidden",
        /// No risk.
        None = "none",
    }
}

vocabulary! {
    /// An insider risk level (`conditionalAccessInsiderRiskLevels`, a flags enum).
    InsiderRisk {
        /// Minor.
        Minor = "minor",
        /// Moderate.
        Moderate = "moderate",
        /// Elevated.
        Elevated = "elevated",
    }
}

vocabulary! {
    /// An authentication transfer method (`conditionalAccessTransferMethods`, a flags enum).
    TransferMethod {
        /// No transfer.
        None = "none",
        /// Device code flow.
        DeviceCodeFlow = "deviceCodeFlow",
        /// Authentication transfer.
        AuthenticationTransfer = "authenticationTransfer",
    }
}

vocabulary! {
    /// A user action a policy may target.
    UserAction {
        /// Registering security information (`urn:user:registersecurityinfo`).
        RegisterSecurityInformation = "registerSecurityInformation",
        /// Registering or joining a device (`urn:user:registerdevice`).
        RegisterOrJoinDevices = "registerOrJoinDevices",
    }
}

impl UserAction {
    /// The URN a policy names the action by.
    pub fn urn(self) -> &'static str {
        match self {
            UserAction::RegisterSecurityInformation => "urn:user:registersecurityinfo",
            UserAction::RegisterOrJoinDevices => "urn:user:registerdevice",
        }
    }

    /// The action a policy's URN names.
    pub fn from_urn(s: &str) -> Option<UserAction> {
        UserAction::ALL.iter().copied().find(|a| a.urn().eq_ignore_ascii_case(s.trim()))
    }
}

vocabulary! {
    /// A built-in grant control (`conditionalAccessGrantControl`).
    BuiltInControl {
        /// Block access.
        Block = "block",
        /// Require multifactor authentication.
        Mfa = "mfa",
        /// Require a compliant device.
        CompliantDevice = "compliantDevice",
        /// Require a hybrid Microsoft Entra joined device.
        DomainJoinedDevice = "domainJoinedDevice",
        /// Require an approved client app.
        ApprovedApplication = "approvedApplication",
        /// Require an app protection policy.
        CompliantApplication = "compliantApplication",
        /// Require a password change.
        PasswordChange = "passwordChange",
        /// Require risk remediation.
        RiskRemediation = "riskRemediation",
    }
}

vocabulary! {
    /// A kind of guest or external user (`conditionalAccessGuestOrExternalUserTypes`, flags).
    GuestType {
        /// A guest account of the tenant itself (`userType` Guest, local account).
        InternalGuest = "internalGuest",
        /// A B2B collaboration guest.
        B2bCollaborationGuest = "b2bCollaborationGuest",
        /// A B2B collaboration member.
        B2bCollaborationMember = "b2bCollaborationMember",
        /// A B2B direct connect user.
        B2bDirectConnectUser = "b2bDirectConnectUser",
        /// Any other external user.
        OtherExternalUser = "otherExternalUser",
        /// A service provider (GDAP/partner) user.
        ServiceProvider = "serviceProvider",
    }
}

/// The members of a flags enum value (`"a,b"`, as Graph emits it, or `"a, b"`, as its
/// examples send it). Unknown members are returned as errors.
pub fn flags<T>(value: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| s.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_renders_graph_spelling() {
        assert_eq!(Platform::parse("ios"), Some(Platform::Ios));
        assert_eq!(Platform::Ios.name(), "iOS");
        assert_eq!(Platform::parse("all"), None);
        assert_eq!(
            flags("deviceCodeFlow, authenticationTransfer", TransferMethod::parse),
            Ok(vec![TransferMethod::DeviceCodeFlow, TransferMethod::AuthenticationTransfer])
        );
        assert_eq!(flags("minor,bogus", InsiderRisk::parse), Err("bogus".to_string()));
        assert_eq!(RiskLevel::expected(), "low, medium, high, hidden or none");
        assert_eq!(
            UserAction::from_urn("urn:user:registerdevice"),
            Some(UserAction::RegisterOrJoinDevices)
        );
    }
}
