//! Every property the emulator returns is checked against Microsoft Graph's v1.0 types as listed
//! in `fixtures/graph-types.md` (extracted from the CSDL): the property must exist on the
//! type (or its bases), and its value must have the declared shape — primitive kind, enum member,
//! or a complex value checked recursively. Types the reference does not list come from the
//! supplementary block of the emulator's own schema file and are named in the failure message.
//!
//! The parser here is written independently of the emulator's, on purpose.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::harness::Harness;

#[derive(Debug, Default)]
struct Types {
    props: HashMap<String, HashMap<String, (String, bool)>>,
    bases: HashMap<String, String>,
    enums: HashMap<String, (bool, Vec<String>)>,
    origin: HashMap<String, &'static str>,
}

impl Types {
    fn load() -> Types {
        let reference =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/graph-types.md");
        let text = std::fs::read_to_string(&reference)
            .unwrap_or_else(|e| panic!("cannot read the fixture {} ({e})", reference.display()));
        let mut types = Types::default();
        types.add(&text, "graph-types.md");
        let own = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/graph-v1.types"),
        )
        .unwrap();
        let supplementary = own.split("# Supplementary").nth(1).expect("supplementary block");
        types.add(supplementary, "supplementary");
        types
    }

    fn add(&mut self, text: &str, origin: &'static str) {
        let mut current: Option<String> = None;
        for line in text.lines() {
            if let Some(h) = line.strip_prefix("## ") {
                current = None;
                if let Some(rest) = h.strip_prefix("enum ") {
                    let (name, members) = rest.split_once(':').unwrap_or((rest, ""));
                    let flags = name.contains("(Flags)");
                    let name = name.replace("(Flags)", "").trim().to_string();
                    self.enums.entry(name).or_insert((
                        flags,
                        members.split(',').map(|m| m.trim().to_string()).collect(),
                    ));
                    continue;
                }
                let rest = h.trim_start_matches("entity ").trim_start_matches("complex ");
                let rest = rest.split('[').next().unwrap().trim();
                let (name, base) = match rest.split_once(':') {
                    Some((n, b)) => (
                        n.trim().to_string(),
                        Some(b.trim().trim_start_matches("graph.").to_string()),
                    ),
                    None => (rest.to_string(), None),
                };
                if self.props.contains_key(&name) {
                    continue;
                }
                if let Some(b) = base {
                    self.bases.insert(name.clone(), b);
                }
                self.props.insert(name.clone(), HashMap::new());
                self.origin.insert(name.clone(), origin);
                current = Some(name);
            } else if let Some(name) = &current {
                let l = line.trim();
                if l.is_empty() || l.starts_with("annotations:") {
                    continue;
                }
                let l = if l.starts_with("(from ") { l.split_once(") ").unwrap().1 } else { l };
                let l = l.trim_start_matches("NAV ");
                let Some((prop, ty)) = l.split_once(':') else {
                    continue;
                };
                let ty =
                    ty.split('[').next().unwrap().replace("NOT NULL", "").replace("contained", "");
                let ty = ty.trim();
                let (coll, inner) = match ty.strip_prefix("Collection(") {
                    Some(i) => (true, i.trim_end_matches(')').to_string()),
                    None => (false, ty.to_string()),
                };
                self.props.get_mut(name).unwrap().insert(
                    prop.trim().to_string(),
                    (inner.trim_start_matches("graph.").to_string(), coll),
                );
            }
        }
    }

    fn prop(&self, ty: &str, name: &str) -> Option<&(String, bool)> {
        let mut cur = Some(ty.to_string());
        while let Some(t) = cur {
            if let Some(p) = self.props.get(&t).and_then(|m| m.get(name)) {
                return Some(p);
            }
            cur = self.bases.get(&t).cloned();
        }
        None
    }
}

struct Checker<'a> {
    types: &'a Types,
    checked: usize,
    problems: Vec<String>,
}

impl Checker<'_> {
    fn object(&mut self, declared: &str, v: &Value, path: &str) {
        let Some(obj) = v.as_object() else {
            self.problems.push(format!("{path}: expected an object of {declared}, got {v}"));
            return;
        };
        let ty = obj.get("@odata.type").and_then(Value::as_str).map_or(declared.to_string(), |t| {
            t.trim_start_matches("#microsoft.graph.").to_string()
        });
        if !self.types.props.contains_key(&ty) {
            self.problems.push(format!("{path}: type {ty} is not in the reference"));
            return;
        }
        for (k, val) in obj {
            if k.starts_with('@') || k.contains("@odata.") || k == "members@delta" {
                continue;
            }
            let here = format!("{path}.{k}");
            match self.types.prop(&ty, k) {
                None => self
                    .problems
                    .push(format!("{here}: not a property of {ty} ({})", self.types.origin[&ty])),
                Some((pty, coll)) => {
                    self.checked += 1;
                    self.value(pty, *coll, val, &here);
                }
            }
        }
    }

    fn value(&mut self, ty: &str, coll: bool, v: &Value, path: &str) {
        if v.is_null() {
            return;
        }
        if coll {
            match v.as_array() {
                Some(items) => items
                    .iter()
                    .enumerate()
                    .for_each(|(i, x)| self.value(ty, false, x, &format!("{path}[{i}]"))),
                None => {
                    self.problems.push(format!("{path}: expected a collection of {ty}, got {v}"));
                }
            }
            return;
        }
        let ok = match ty {
            "Edm.String" | "Edm.Binary" | "Edm.Duration" | "Edm.Date" => v.is_string(),
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Int32" | "Edm.Int64" | "Edm.Double" => v.is_number(),
            "Edm.DateTimeOffset" => {
                v.as_str().is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok())
            }
            "Edm.Guid" => v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
            t if self.types.enums.contains_key(t) => {
                let (flags, members) = &self.types.enums[t];
                let s = v.as_str().unwrap_or("");
                let parts: Vec<&str> = if *flags { s.split(',').collect() } else { vec![s] };
                parts.iter().all(|p| members.iter().any(|m| m == p))
            }
            t if self.types.props.contains_key(t) => {
                self.object(t, v, path);
                true
            }
            _ => true,
        };
        if !ok {
            self.problems.push(format!("{path}: {v} is not a valid {ty}"));
        }
    }
}

async fn populate(h: &Harness) {
    h.post(
        "/directory/administrativeUnits",
        &json!({"displayName": "Seattle", "description": "West coast"}),
    )
    .await;
    let user = h.new_user("fidelity.user").await;
    h.delete(&format!("/users/{user}")).await;
    let ca = h
        .id_named(
            "/identity/conditionalAccess/policies",
            "CA201-Internals-IdentityProtection-AnyApp-AnyPlatform-BLOCK-HighRiskUser",
        )
        .await;
    h.delete(&format!("/identity/conditionalAccess/policies/{ca}")).await;
    let payroll = h.id_named("/applications", "Contoso Payroll").await;
    h.post(&format!("/applications/{payroll}/addPassword"), &json!({})).await;
    h.post(
        "/policies/crossTenantAccessPolicy/partners",
        &json!({"tenantId": "9f0e4a1b-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}),
    )
    .await;
}

#[tokio::test]
async fn every_returned_property_is_a_v1_property_of_its_type() {
    let types = Types::load();
    let h = Harness::start().await;
    populate(&h).await;
    let graph_sp = h.id_named("/servicePrincipals", "Microsoft Graph").await;
    let payroll = h.id_named("/applications", "Contoso Payroll").await;
    let user_props: Vec<&str> = types.props["user"]
        .iter()
        .filter(|(_, (t, _))| !t.contains('.') || t.starts_with("Edm."))
        .map(|(k, _)| k.as_str())
        .collect();
    let lists = [
        ("/users".to_string(), "user"),
        (format!("/users?$select={}", user_props.join(",")), "user"),
        ("/groups".into(), "group"),
        ("/applications".into(), "application"),
        ("/servicePrincipals".into(), "servicePrincipal"),
        ("/directory/administrativeUnits".into(), "administrativeUnit"),
        ("/oauth2PermissionGrants".into(), "oAuth2PermissionGrant"),
        (format!("/servicePrincipals/{graph_sp}/appRoleAssignedTo"), "appRoleAssignment"),
        (
            format!("/applications/{payroll}/federatedIdentityCredentials"),
            "federatedIdentityCredential",
        ),
        ("/identity/conditionalAccess/policies".into(), "conditionalAccessPolicy"),
        ("/identity/conditionalAccess/deletedItems/policies".into(), "conditionalAccessPolicy"),
        ("/identity/conditionalAccess/namedLocations".into(), "namedLocation"),
        ("/policies/authenticationStrengthPolicies".into(), "authenticationStrengthPolicy"),
        ("/roleManagement/directory/roleDefinitions".into(), "unifiedRoleDefinition"),
        ("/roleManagement/directory/roleAssignments".into(), "unifiedRoleAssignment"),
        (
            "/roleManagement/directory/roleEligibilitySchedules".into(),
            "unifiedRoleEligibilitySchedule",
        ),
        (
            "/policies/crossTenantAccessPolicy/partners".into(),
            "crossTenantAccessPolicyConfigurationPartner",
        ),
        ("/auditLogs/directoryAudits".into(), "directoryAudit"),
        ("/directory/deletedItems/microsoft.graph.user".into(), "user"),
    ];
    let singles = [
        ("/policies/authenticationMethodsPolicy", "authenticationMethodsPolicy"),
        ("/policies/authorizationPolicy", "authorizationPolicy"),
        (
            "/policies/identitySecurityDefaultsEnforcementPolicy",
            "identitySecurityDefaultsEnforcementPolicy",
        ),
        ("/policies/crossTenantAccessPolicy", "crossTenantAccessPolicy"),
        (
            "/policies/crossTenantAccessPolicy/default",
            "crossTenantAccessPolicyConfigurationDefault",
        ),
    ];
    let mut checker = Checker { types: &types, checked: 0, problems: Vec::new() };
    for (path, ty) in &lists {
        let items = h.get_all(path).await;
        assert!(!items.is_empty(), "{path} returned nothing to check");
        for (i, item) in items.iter().enumerate() {
            checker.object(ty, item, &format!("{path}[{i}]"));
        }
    }
    for (path, ty) in singles {
        let r = h.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        checker.object(ty, &r.body, path);
    }
    assert!(
        checker.problems.is_empty(),
        "{} problems:\n{}",
        checker.problems.len(),
        checker.problems.join("\n")
    );
    assert!(checker.checked > 5_000, "checked only {} properties", checker.checked);
}
