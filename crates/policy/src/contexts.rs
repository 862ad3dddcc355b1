//! The sign-in contexts every protected principal is tried in: two ways in (the admin portals
//! and Microsoft Graph PowerShell) × five platforms × the places (a trusted location, an
//! untrusted one at home, abroad) × two client types × two devices.
//!
//! The "managed device" is the principal's own device, which Rewind cannot see: its
//! compliance, join type and filter properties are left unknown, so a requirement on them is
//! never assumed met. The "unmanaged device" is a personal device Entra does not know, whose
//! properties are known to be empty.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::apps::AZURE_PORTAL;
use crate::evaluate::PolicySet;
use crate::locations::Area;
use crate::signin::{DeviceValue, Identity, SignIn, Target};
use crate::vocab::{ClientApp, Platform, RiskLevel, TransferMethod};

/// Microsoft Graph PowerShell: how an administrator repairs a tenant from a terminal.
const GRAPH_POWERSHELL: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Countries tried, in order, for "abroad": the first no country location of the tenant names.
const ABROAD: &[&str] = &["BR", "JP", "AU", "ZA", "IN", "MX", "SG", "AR", "NZ", "KE"];

/// Addresses tried, in order, for "an untrusted network": the first no IP location covers.
const UNTRUSTED: &[&str] =
    &["192.0.2.10", "100.64.0.10", "198.18.0.10", "172.16.0.10", "10.0.0.10"];

/// One class of sign-in context.
pub(crate) struct Context {
    pub(crate) label: String,
    pub(crate) admin_portal: bool,
    pub(crate) must_pass_admin: bool,
    pub(crate) sign_in: SignIn,
}

pub(crate) fn contexts(set: &PolicySet, home: Option<&str>) -> Vec<Context> {
    let ranges: Vec<_> = set
        .locations
        .values()
        .filter_map(|l| match &l.area {
            Area::Ip(r) => Some(r.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let untrusted: Option<IpAddr> = UNTRUSTED
        .iter()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| !ranges.iter().any(|r| r.contains(a)));
    let named_countries: BTreeSet<String> = set
        .locations
        .values()
        .filter_map(|l| match &l.area {
            Area::Countries { countries, .. } => Some(countries.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let abroad =
        ABROAD.iter().find(|c| !named_countries.contains(**c) && Some(**c) != home).copied();
    let mut trusted: Vec<_> = set
        .locations
        .values()
        .filter(|l| l.trusted)
        .filter_map(|l| l.sample_address().map(|a| (l.name.clone(), a)))
        .collect();
    trusted.sort();
    let mut places: Vec<(String, Option<IpAddr>, Option<String>, bool)> = Vec::new();
    if let Some((name, address)) = trusted.first() {
        places.push((format!("trusted '{name}'"), Some(*address), home.map(str::to_string), true));
    }
    let home_label = home.unwrap_or("home");
    places.push((format!("untrusted ({home_label})"), untrusted, home.map(str::to_string), true));
    if let Some(country) = abroad {
        places.push((format!("abroad ({country})"), untrusted, Some(country.to_string()), false));
    }
    let apps =
        [("admin portals", AZURE_PORTAL, true), ("Graph PowerShell", GRAPH_POWERSHELL, false)];
    let platforms =
        [Platform::Windows, Platform::MacOs, Platform::Linux, Platform::Ios, Platform::Android];
    let clients = [ClientApp::Browser, ClientApp::MobileAppsAndDesktopClients];
    let mut out = Vec::new();
    for (app_label, app, admin_portal) in apps {
        for platform in platforms {
            for (place, ip, country, at_home) in &places {
                for client in clients {
                    for managed in [true, false] {
                        let mut s =
                            SignIn::new(Identity::User(String::new()), Target::App(app.into()));
                        s.platform = Some(platform);
                        s.ip = *ip;
                        s.country.clone_from(country);
                        s.client_app = Some(client);
                        s.sign_in_risk = Some(RiskLevel::None);
                        s.user_risk = Some(RiskLevel::None);
                        s.transfer_method = Some(TransferMethod::None);
                        s.device = device(managed);
                        out.push(Context {
                            label: format!(
                                "{app_label} · {platform} · {place} · {client} · {}",
                                if managed { "own managed device" } else { "unmanaged device" }
                            ),
                            admin_portal,
                            must_pass_admin: managed && *at_home,
                            sign_in: s,
                        });
                    }
                }
            }
        }
    }
    out
}

/// The managed device is the principal's own, which Rewind cannot see: nothing about it is
/// given (`None`), so compliance, join type and device filters are unknown. The unmanaged
/// device is a personal one Entra does not know: it is not compliant and has no properties.
fn device(managed: bool) -> Option<BTreeMap<String, DeviceValue>> {
    (!managed).then(|| BTreeMap::from([("isCompliant".to_string(), DeviceValue::Bool(false))]))
}
