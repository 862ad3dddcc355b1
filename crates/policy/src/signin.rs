//! The signals of one sign-in. Every signal is optional: a condition that needs a signal that
//! was not given evaluates to [`Tri::Unknown`](crate::Tri::Unknown), never to a guess.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::vocab::{
    ClientApp, GuestType, InsiderRisk, Platform, RiskLevel, TransferMethod, UserAction,
};

/// Who signs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Identity {
    /// A user of the directory, by object id.
    User(String),
    /// A service principal of the tenant (a workload identity), by object id.
    ServicePrincipal(String),
}

/// What the sign-in is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
pub enum Target {
    /// An application, by application (client) id.
    App(String),
    /// A user action.
    UserAction(UserAction),
    /// Data protected by an authentication context (`c1`…`c99`).
    AuthContext(String),
}

/// A device property as the device filter rule language sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DeviceValue {
    /// A string property (`trustType`, `model`, `extensionAttribute1`…).
    Text(String),
    /// A boolean property (`isCompliant`).
    Bool(bool),
    /// A collection property (`physicalIds`, `systemLabels`).
    List(Vec<String>),
}

/// Everything known about one sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignIn {
    /// Who signs in.
    pub identity: Identity,
    /// What for.
    pub target: Target,
    /// The client's IP address.
    pub ip: Option<IpAddr>,
    /// The country (ISO 3166 alpha-2) the IP address or GPS resolves to.
    pub country: Option<String>,
    /// The device platform.
    pub platform: Option<Platform>,
    /// The client application type.
    pub client_app: Option<ClientApp>,
    /// Device properties by name as in device filter rules (`isCompliant`, `trustType`…);
    /// `None` when nothing is known about the device.
    pub device: Option<BTreeMap<String, DeviceValue>>,
    /// Sign-in risk.
    pub sign_in_risk: Option<RiskLevel>,
    /// User risk.
    pub user_risk: Option<RiskLevel>,
    /// Service principal risk.
    pub service_principal_risk: Option<RiskLevel>,
    /// Insider risk.
    pub insider_risk: Option<InsiderRisk>,
    /// The authentication flow's transfer method.
    pub transfer_method: Option<TransferMethod>,
    /// For an external user, the kind of guest or external user they are, when the directory
    /// cannot tell (it can for B2B guests).
    pub guest_type: Option<GuestType>,
    /// For an external user, their home tenant.
    pub external_tenant: Option<String>,
}

impl SignIn {
    /// A sign-in of `identity` to `target` with no other signal known.
    pub fn new(identity: Identity, target: Target) -> SignIn {
        SignIn {
            identity,
            target,
            ip: None,
            country: None,
            platform: None,
            client_app: None,
            device: None,
            sign_in_risk: None,
            user_risk: None,
            service_principal_risk: None,
            insider_risk: None,
            transfer_method: None,
            guest_type: None,
            external_tenant: None,
        }
    }

    /// A device property, if known.
    pub fn device_property(&self, name: &str) -> Option<&DeviceValue> {
        let device = self.device.as_ref()?;
        device.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Whether the device is known to be compliant.
    pub fn device_flag(&self, name: &str) -> Option<bool> {
        match self.device_property(name)? {
            DeviceValue::Bool(b) => Some(*b),
            DeviceValue::Text(t) => match t.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            DeviceValue::List(_) => None,
        }
    }
}
