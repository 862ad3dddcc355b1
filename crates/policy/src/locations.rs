//! Named locations: IP ranges (trusted or not) and countries, and whether a sign-in is in one.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::tri::Tri;

/// What a named location covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    /// IP ranges.
    Ip(Vec<IpNet>),
    /// Countries (ISO 3166 alpha-2), and whether addresses no country is known for count.
    Countries {
        /// The countries.
        countries: Vec<String>,
        /// `includeUnknownCountriesAndRegions`.
        include_unknown: bool,
    },
    /// A kind Rewind cannot place a sign-in in (compliant network, unknown type).
    Other,
}

/// A named location, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedLocation {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Marked trusted (IP locations only).
    pub trusted: bool,
    /// What it covers.
    pub area: Area,
}

/// The country a sign-in with no resolvable country is placed in by tests and contexts.
pub const UNKNOWN_COUNTRY: &str = "unknown";

impl NamedLocation {
    /// Compiles a location from its Graph representation; a malformed range is an error
    /// naming it.
    pub fn from_graph(object: &Value) -> Result<NamedLocation, String> {
        let id = object
            .get("id")
            .and_then(Value::as_str)
            .ok_or("a named location has no id")?
            .to_string();
        let name = object.get("displayName").and_then(Value::as_str).unwrap_or(&id).to_string();
        let kind = object.get("@odata.type").and_then(Value::as_str).unwrap_or_default();
        let (trusted, area) = if kind.ends_with("ipNamedLocation")
            || object.get("ipRanges").is_some()
        {
            let mut ranges = Vec::new();
            for r in object.get("ipRanges").and_then(Value::as_array).into_iter().flatten() {
                let cidr = r.get("cidrAddress").and_then(Value::as_str).ok_or_else(|| {
                    format!("named location '{name}': an IP range has no cidrAddress")
                })?;
                let net: IpNet = cidr.trim().parse().map_err(|_| {
                    format!("named location '{name}': '{cidr}' is not a CIDR range such as 203.0.113.0/24")
                })?;
                ranges.push(net);
            }
            (object.get("isTrusted").and_then(Value::as_bool) == Some(true), Area::Ip(ranges))
        } else if kind.ends_with("countryNamedLocation")
            || object.get("countriesAndRegions").is_some()
        {
            let countries = object
                .get("countriesAndRegions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_ascii_uppercase)
                .collect();
            let include_unknown =
                object.get("includeUnknownCountriesAndRegions").and_then(Value::as_bool)
                    == Some(true);
            (false, Area::Countries { countries, include_unknown })
        } else {
            (false, Area::Other)
        };
        Ok(NamedLocation { id, name, trusted, area })
    }

    /// Whether a sign-in from `ip` in `country` is in this location.
    pub fn contains(&self, ip: Option<IpAddr>, country: Option<&str>) -> Tri {
        match &self.area {
            Area::Ip(ranges) => match ip {
                Some(ip) => Tri::from_bool(ranges.iter().any(|r| r.contains(&ip))),
                None => Tri::Unknown,
            },
            Area::Countries { countries, include_unknown } => match country {
                Some(c) if c.eq_ignore_ascii_case(UNKNOWN_COUNTRY) => {
                    Tri::from_bool(*include_unknown)
                }
                Some(c) => Tri::from_bool(countries.iter().any(|x| x.eq_ignore_ascii_case(c))),
                None => Tri::Unknown,
            },
            Area::Other => Tri::Unknown,
        }
    }

    /// One address inside this location (the first of its first range), for contexts that
    /// stand for "signing in from here".
    pub fn sample_address(&self) -> Option<IpAddr> {
        match &self.area {
            Area::Ip(ranges) => {
                ranges.first().map(|r| r.hosts().next().unwrap_or_else(|| r.addr()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ip_and_country_locations() {
        let office = NamedLocation::from_graph(&json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": "o", "displayName": "Office", "isTrusted": true,
            "ipRanges": [{"cidrAddress": "203.0.113.0/24"}, {"cidrAddress": "2001:db8:1234::/48"}]}))
        .unwrap();
        assert!(office.trusted);
        assert_eq!(office.contains("203.0.113.9".parse().ok(), None), Tri::Yes);
        assert_eq!(office.contains("2001:db8:1234::1".parse().ok(), None), Tri::Yes);
        assert_eq!(office.contains("198.51.100.1".parse().ok(), None), Tri::No);
        assert_eq!(office.contains(None, Some("US")), Tri::Unknown);
        assert_eq!(office.sample_address(), "203.0.113.1".parse().ok());
        let blocked = NamedLocation::from_graph(
            &json!({"@odata.type": "#microsoft.graph.countryNamedLocation",
            "id": "b", "countriesAndRegions": ["KP"], "includeUnknownCountriesAndRegions": true}),
        )
        .unwrap();
        assert_eq!(blocked.contains(None, Some("kp")), Tri::Yes);
        assert_eq!(blocked.contains(None, Some("US")), Tri::No);
        assert_eq!(blocked.contains(None, Some(UNKNOWN_COUNTRY)), Tri::Yes);
        assert_eq!(blocked.contains("203.0.113.9".parse().ok(), None), Tri::Unknown);
        let bad =
            NamedLocation::from_graph(&json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
            "id": "x", "displayName": "Bad", "ipRanges": [{"cidrAddress": "300.1.1.1/8"}]}));
        assert!(bad.unwrap_err().contains("'300.1.1.1/8' is not a CIDR range"));
    }
}
