//! Named locations and Conditional Access policies: the baseline policies every tenant has
//! (modelled on the public baselines in `fixtures/corpus`) and generated ones in ten shapes seen
//! in real tenants. All of them exclude the break-glass group and name the tenant's own objects.

use rand::Rng;
use serde_json::{Value, json};

use super::{Apps, BASELINE_POLICIES, BUILTIN_ROLES, DEPARTMENTS, Groups, Locations, Seeder, obj};
use crate::resource::Coll;

impl Seeder {
    pub(super) fn named_locations(&mut self, branches: usize) -> Locations {
        let office = self.location(json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "Contoso head office", "isTrusted": true,
            "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
                         {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8:1234::/48"}]}));
        let allowed = self.location(json!({"@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "ALLOWED COUNTRIES", "countriesAndRegions": ["US", "CA", "GB", "NL", "DE"], "includeUnknownCountriesAndRegions": false,
            "countryLookupMethod": "clientIpAddress"}));
        let blocked = self.location(json!({"@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "BLOCKED COUNTRIES", "countriesAndRegions": ["KP", "IR", "SY", "CU"], "includeUnknownCountriesAndRegions": true,
            "countryLookupMethod": "clientIpAddress"}));
        let branches = (0..branches.min(200))
            .map(|i| self.location(json!({"@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": format!("Branch office {}", i + 1), "isTrusted": i % 2 == 0,
                "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": format!("198.51.100.{i}/32")}]})))
            .collect();
        Locations { office, allowed, blocked, branches }
    }

    fn location(&mut self, body: Value) -> String {
        let id = self.t.new_guid();
        let mut body = obj(body);
        body.insert("createdDateTime".into(), Value::String(self.created.clone()));
        body.insert("modifiedDateTime".into(), Value::String(self.created.clone()));
        self.insert(Coll::NamedLocations, &id, body);
        id
    }

    fn policy(&mut self, name: &str, state: &str, users: &Value, apps: &Value, extra: &Value) {
        let id = self.t.new_guid();
        let mut conditions =
            obj(json!({"users": users, "applications": apps, "clientAppTypes": ["all"],
            "signInRiskLevels": [], "userRiskLevels": [], "servicePrincipalRiskLevels": []}));
        if let Some(Value::Object(c)) = extra.get("conditions") {
            conditions.extend(c.clone());
        }
        let mut body = obj(
            json!({"displayName": name, "state": state, "createdDateTime": self.created, "conditions": conditions}),
        );
        for k in ["grantControls", "sessionControls"] {
            if let Some(v) = extra.get(k) {
                body.insert(k.into(), v.clone());
            }
        }
        self.insert(Coll::CaPolicies, &id, body);
    }

    pub(super) fn ca_policies(&mut self, g: &Groups, l: &Locations, apps: &Apps, total: usize) {
        let all_users = json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": []});
        let all_apps = json!({"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []});
        let mfa = json!({"operator": "OR", "builtInControls": ["mfa"], "customAuthenticationFactors": [], "termsOfUse": []});
        let block = json!({"operator": "OR", "builtInControls": ["block"], "customAuthenticationFactors": [], "termsOfUse": []});
        self.policy(
            "CA000-Global-IdentityProtection-AnyApp-AnyPlatform-MFA",
            "enabled",
            &all_users,
            &all_apps,
            &json!({"grantControls": mfa}),
        );
        self.policy("CA001-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-CountryWhitelist", "enabled",
            &json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass, g.service_accounts], "includeRoles": [], "excludeRoles": []}),
            &all_apps, &json!({"grantControls": block, "conditions": {"locations": {"includeLocations": ["All"], "excludeLocations": [l.allowed]}}}));
        self.policy("CA002-Global-IdentityProtection-AnyApp-AnyPlatform-Block-LegacyAuthentication", "enabled", &all_users, &all_apps,
            &json!({"grantControls": block, "conditions": {"clientAppTypes": ["exchangeActiveSync", "other"]}}));
        let admin_roles: Vec<&str> = BUILTIN_ROLES.iter().take(7).copied().collect();
        self.policy("CA100-Admins-IdentityProtection-AdminPortals-AnyPlatform-PhishingResistantMFA", "enabled",
            &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [g.admins], "excludeGroups": [g.break_glass], "includeRoles": admin_roles, "excludeRoles": []}),
            &json!({"includeApplications": ["MicrosoftAdminPortals"], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []}),
            &json!({"grantControls": {"operator": "OR", "builtInControls": [], "customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}}));
        self.policy(
            "CA201-Internals-IdentityProtection-AnyApp-AnyPlatform-BLOCK-HighRiskUser",
            "enabledForReportingButNotEnforced",
            &all_users,
            &all_apps,
            &json!({"grantControls": block, "conditions": {"userRiskLevels": ["high"]}}),
        );
        self.policy("CA205-Internals-BaseProtection-AnyApp-Windows-CompliantorAADHJ", "enabled",
            &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [g.all_staff], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": []}),
            &json!({"includeApplications": ["All"], "excludeApplications": [apps.payroll_app_id], "includeUserActions": [], "includeAuthenticationContextClassReferences": []}),
            &json!({"grantControls": {"operator": "OR", "builtInControls": ["compliantDevice", "domainJoinedDevice"], "customAuthenticationFactors": [], "termsOfUse": []},
                    "conditions": {"platforms": {"includePlatforms": ["windows", "linux"], "excludePlatforms": []}}}));
        self.policy("CA400-GuestUsers-IdentityProtection-AnyApp-AnyPlatform-MFA", "enabled",
            &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": [],
                   "includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "internalGuest,b2bCollaborationGuest,b2bCollaborationMember,b2bDirectConnectUser,otherExternalUser,serviceProvider",
                   "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}}}),
            &all_apps, &json!({"grantControls": mfa, "sessionControls": {"signInFrequency": {"isEnabled": true, "type": "hours", "value": 12, "frequencyInterval": "timeBased", "authenticationType": "primaryAndSecondaryAuthentication"}}}));
        for i in 0..total.saturating_sub(BASELINE_POLICIES) {
            self.generated_policy(i, g, l, apps);
        }
    }

    fn pick<'a>(&mut self, items: &'a [String], fallback: &'a str) -> &'a str {
        if items.is_empty() { fallback } else { &items[self.t.rng.random_range(0..items.len())] }
    }

    /// One of ten policy shapes seen in real tenants, naming real groups, apps, roles and
    /// locations of the tenant; every one excludes the break-glass group.
    fn generated_policy(&mut self, i: usize, g: &Groups, l: &Locations, apps: &Apps) {
        let group = self.pick(&g.generated, &g.all_staff).to_string();
        let app = self.pick(&apps.generated_app_ids, &apps.payroll_app_id).to_string();
        let users = json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [group], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": []});
        let all_users = json!({"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass], "includeRoles": [], "excludeRoles": []});
        let one_app = json!({"includeApplications": [app], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []});
        let all_apps = json!({"includeApplications": ["All"], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []});
        let grant = |controls: &[&str], op: &str| json!({"operator": op, "builtInControls": controls, "customAuthenticationFactors": [], "termsOfUse": []});
        let n = 300 + i;
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        match i % 10 {
            0 => self.policy(&format!("CA{n}-{dept}-IdentityProtection-App-AnyPlatform-MFA"), "enabled", &users, &one_app, &json!({"grantControls": grant(&["mfa"], "OR")})),
            1 => self.policy(&format!("CA{n}-{dept}-DataProtection-AnyApp-iOSAndroid-CompliantOrApproved"), "enabled", &users, &all_apps,
                &json!({"grantControls": grant(&["compliantDevice", "approvedApplication"], "OR"), "conditions": {"platforms": {"includePlatforms": ["iOS", "android"], "excludePlatforms": []}}})),
            2 => self.policy(&format!("CA{n}-Global-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-BlockedCountries"), "enabled", &all_users, &all_apps,
                &json!({"grantControls": grant(&["block"], "OR"), "conditions": {"locations": {"includeLocations": [l.blocked], "excludeLocations": []}}})),
            3 => {
                let roles: Vec<&str> = BUILTIN_ROLES.iter().take(5).copied().collect();
                self.policy(&format!("CA{n}-Admins-IdentityProtection-AdminPortals-AnyPlatform-SigninFrequency"), "enabled",
                    &json!({"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [g.break_glass], "includeRoles": roles, "excludeRoles": []}),
                    &json!({"includeApplications": ["MicrosoftAdminPortals"], "excludeApplications": [], "includeUserActions": [], "includeAuthenticationContextClassReferences": []}),
                    &json!({"grantControls": grant(&["mfa"], "OR"), "sessionControls": {"signInFrequency": {"isEnabled": true, "type": "hours", "value": 4, "frequencyInterval": "timeBased", "authenticationType": "primaryAndSecondaryAuthentication"}}}));
            }
            4 => self.policy(&format!("CA{n}-{dept}-AttackSurfaceReduction-AnyApp-AnyPlatform-BLOCK-LegacyAuth"), "enabledForReportingButNotEnforced", &users, &all_apps,
                &json!({"grantControls": grant(&["block"], "OR"), "conditions": {"clientAppTypes": ["exchangeActiveSync", "other"]}})),
            5 => self.policy(&format!("CA{n}-{dept}-IdentityProtection-App-AnyPlatform-MFA-Old"), "disabled", &users, &one_app, &json!({"grantControls": grant(&["mfa"], "OR")})),
            6 => self.policy(&format!("CA{n}-{dept}-IdentityProtection-App-AnyPlatform-AuthStrength"), "enabled", &users, &one_app,
                &json!({"grantControls": {"operator": "OR", "builtInControls": [], "customAuthenticationFactors": [], "termsOfUse": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000002"}}})),
            7 => self.policy(&format!("CA{n}-{dept}-IdentityProtection-AnyApp-AnyPlatform-BLOCK-HighRiskSignIn"), "enabled", &users, &all_apps,
                &json!({"grantControls": grant(&["block"], "OR"), "conditions": {"signInRiskLevels": ["high"]}})),
            8 => {
                let trusted = l.branches.first().map_or_else(|| l.office.clone(), Clone::clone);
                self.policy(&format!("CA{n}-{dept}-IdentityProtection-AnyApp-AnyPlatform-MFA-UntrustedLocations"), "enabled", &users, &all_apps,
                    &json!({"grantControls": grant(&["mfa"], "OR"), "conditions": {"locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted", trusted]}}}));
            }
            _ => self.policy(&format!("CA{n}-{dept}-BaseProtection-AnyApp-Windows-CompliantDevice-DeviceFilter"), "enabled", &users, &all_apps,
                &json!({"grantControls": grant(&["compliantDevice"], "OR"), "conditions": {
                    "platforms": {"includePlatforms": ["windows"], "excludePlatforms": []},
                    "devices": {"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"ServerAD\" -or device.isCompliant -eq True"}}}})),
        }
    }
}
