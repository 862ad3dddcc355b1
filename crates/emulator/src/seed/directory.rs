//! People and groups: the named administrators and break-glass accounts, generated staff, the
//! baseline groups, generated security and Microsoft 365 groups (some nesting others), privileged
//! role assignments (active and PIM-eligible) and the authentication methods registered by
//! privileged users.

use rand::Rng;
use serde_json::{Map, Value, json};

use rewind_model::roles::{
    CONDITIONAL_ACCESS_ADMINISTRATOR, GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR,
    SECURITY_ADMINISTRATOR,
};

use super::{BUILTIN_ROLES, DEPARTMENTS, FIRST_NAMES, Groups, LAST_NAMES, People, Seeder, obj};
use crate::ops::security_identifier;
use crate::resource::Coll;
use crate::route::LinkKind;

const GROUP_WORDS: &[&str] = &[
    "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Indigo",
    "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quartz", "Redwood",
    "Summit", "Tundra",
];

/// Roles given to generated administrators, and how many users per administrator.
const ADMIN_ROLES: &[usize] = &[3, 5, 6, 8, 9, 10, 11];
const USERS_PER_ADMIN: usize = 400;

/// The well-known id of the password method.
const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

impl Seeder {
    fn user(
        &mut self,
        given: &str,
        surname: &str,
        nick: &str,
        extra: Map<String, Value>,
    ) -> String {
        let id = self.t.new_guid();
        let upn = format!("{nick}@{}", self.t.domain);
        let mut body = obj(
            json!({"accountEnabled": true, "displayName": format!("{given} {surname}").trim(),
            "givenName": given, "surname": surname, "mailNickname": nick, "userPrincipalName": upn, "mail": upn,
            "userType": "Member", "createdDateTime": self.created, "usageLocation": "US",
            "securityIdentifier": security_identifier(&id),
            "identities": [{"signInType": "userPrincipalName", "issuer": self.t.domain, "issuerAssignedId": upn}],
            "businessPhones": []}),
        );
        body.extend(extra);
        self.insert(Coll::Users, &id, body);
        id
    }

    pub(super) fn users(&mut self, count: usize) -> People {
        let bg = ["01", "02"].map(|n| {
            self.user("Break Glass", n, &format!("bg-admin-{n}"), obj(json!({"displayName": format!("Break Glass {n}"), "jobTitle": "Emergency access", "mail": null})))
        });
        let global_admin = self.user(
            "Adele",
            "Vance",
            "adele.vance",
            obj(json!({"jobTitle": "IT Director", "department": "IT"})),
        );
        let security_admin = self.user(
            "Megan",
            "Bowen",
            "megan.bowen",
            obj(json!({"jobTitle": "Security Lead", "department": "IT"})),
        );
        let ca_admin = self.user(
            "Nestor",
            "Wilke",
            "nestor.wilke",
            obj(json!({"jobTitle": "Identity Engineer", "department": "IT"})),
        );
        self.user("Pat", "Partner", "pat_fabrikam.com#EXT#", obj(json!({"userType": "Guest", "mail": "pat@fabrikam.com", "otherMails": ["pat@fabrikam.com"],
            "displayName": "Pat Partner (Fabrikam)", "externalUserState": "Accepted", "creationType": "Invitation"})));
        let staff = (0..count).map(|i| self.staff_member(i)).collect();
        People { bg: bg.to_vec(), global_admin, security_admin, ca_admin, staff }
    }

    fn staff_member(&mut self, i: usize) -> String {
        let first = FIRST_NAMES[i % FIRST_NAMES.len()];
        let last = LAST_NAMES[(i * 7 + i / FIRST_NAMES.len()) % LAST_NAMES.len()];
        let nick = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i);
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        let mut extra = obj(json!({"department": dept, "jobTitle": format!("{dept} Specialist"),
            "officeLocation": format!("Building {}", i % 5 + 1), "employeeId": format!("E{:06}", i + 1000)}));
        if i % 10 == 9 {
            // Accounts synchronised from on-premises AD: Rewind lists them as "restore on-premises".
            extra.insert("onPremisesSyncEnabled".into(), Value::Bool(true));
            extra
                .insert("onPremisesImmutableId".into(), Value::String(format!("{nick}-immutable")));
            extra.insert(
                "onPremisesSamAccountName".into(),
                Value::String(format!("{first}{i}").to_lowercase()),
            );
        }
        if i % 23 == 5 {
            extra.insert("accountEnabled".into(), Value::Bool(false));
        }
        self.user(first, last, &nick, extra)
    }

    fn group(&mut self, name: &str, nick: &str, unified: bool, extra: &Value) -> String {
        let id = self.t.new_guid();
        let mut body = obj(
            json!({"displayName": name, "description": format!("{name}."), "mailNickname": nick,
            "mailEnabled": unified, "securityEnabled": !unified, "groupTypes": if unified { json!(["Unified"]) } else { json!([]) },
            "createdDateTime": self.created, "renewedDateTime": self.created, "securityIdentifier": security_identifier(&id)}),
        );
        if unified {
            let mail = format!("{nick}@{}", self.t.domain);
            body.insert("mail".into(), json!(mail));
            body.insert("proxyAddresses".into(), json!([format!("SMTP:{mail}")]));
            body.insert("visibility".into(), json!("Private"));
        }
        if let Value::Object(m) = extra {
            body.extend(m.clone());
        }
        self.insert(Coll::Groups, &id, body);
        id
    }

    fn members(&mut self, group: &str, members: &[String]) {
        for m in members {
            self.t.add_link(Coll::Groups, LinkKind::Members, group, m);
        }
    }

    pub(super) fn groups(&mut self, p: &People, generated: usize) -> Groups {
        let break_glass = self.group(
            "CA - Break Glass Accounts - Exclude",
            "ca-breakglass-exclude",
            false,
            &json!({"isAssignableToRole": true}),
        );
        self.members(&break_glass, &p.bg);
        let admins = self.group(
            "Privileged Admins",
            "privileged-admins",
            false,
            &json!({"isAssignableToRole": true}),
        );
        self.members(
            &admins,
            &[p.global_admin.clone(), p.security_admin.clone(), p.ca_admin.clone()],
        );
        let all_staff = self.group("All Staff", "allstaff", true, &Value::Null);
        self.members(&all_staff, &p.staff);
        let departments = DEPARTMENTS.len().min((p.staff.len() / 2).max(2));
        let mut department_groups = Vec::new();
        for (d, dept) in DEPARTMENTS.iter().enumerate().take(departments) {
            let g = self.group(dept, &dept.to_lowercase(), false, &Value::Null);
            let members: Vec<String> = p
                .staff
                .iter()
                .enumerate()
                .filter(|(i, _)| i % DEPARTMENTS.len() == d)
                .map(|(_, id)| id.clone())
                .collect();
            self.members(&g, &members);
            department_groups.push(g);
        }
        let service_accounts =
            self.group("CA - Service Accounts", "ca-service-accounts", false, &Value::Null);
        if let Some(last) = p.staff.last() {
            self.members(&service_accounts, std::slice::from_ref(last));
        }
        if let Some(first) = department_groups.first() {
            self.members(&all_staff, std::slice::from_ref(first));
        }
        for g in [&break_glass, &admins, &all_staff] {
            self.t.add_link(Coll::Groups, LinkKind::Owners, g, &p.global_admin);
        }
        self.group_types(p);
        let generated = self.generated_groups(p, generated);
        Groups { break_glass, admins, all_staff, service_accounts, generated }
    }

    /// The groups real tenants hold beside cloud security and Microsoft 365 groups, each of which
    /// Graph refuses to change some way (group.md, "groupTypes", "mailEnabled",
    /// "securityEnabled"; group-post-members.md): a dynamic group (members from its rule), a
    /// mail-enabled security group and a distribution list (managed in Exchange), and a group
    /// synchronised from on-premises Active Directory (managed there). And administrative units
    /// holding users and a group (administrativeunit.md).
    fn group_types(&mut self, p: &People) {
        let in_dept = |d: usize| -> Vec<String> {
            p.staff
                .iter()
                .enumerate()
                .filter(|(i, _)| i % DEPARTMENTS.len() == d)
                .map(|(_, id)| id.clone())
                .collect()
        };
        let dynamic = self.group(
            "Sales (dynamic)",
            "sales-dynamic",
            false,
            &json!({"groupTypes": ["DynamicMembership"],
                "membershipRule": "(user.department -eq \"Sales\")", "membershipRuleProcessingState": "On"}),
        );
        self.members(&dynamic, &in_dept(2));
        let domain = self.t.domain.clone();
        let alerts = self.group(
            "Security Alerts",
            "security-alerts",
            false,
            &json!({"mailEnabled": true, "mail": format!("security-alerts@{domain}"),
                "proxyAddresses": [format!("SMTP:security-alerts@{domain}")]}),
        );
        self.members(&alerts, &[p.global_admin.clone(), p.security_admin.clone()]);
        let everyone = self.group(
            "Company Announcements",
            "announcements",
            false,
            &json!({"mailEnabled": true, "securityEnabled": false, "mail": format!("announcements@{domain}"),
                "proxyAddresses": [format!("SMTP:announcements@{domain}")]}),
        );
        self.members(&everyone, &p.staff[..p.staff.len().min(50)]);
        let synced = self.group(
            "SG-OnPrem-Engineering",
            "sg-onprem-engineering",
            false,
            &json!({"onPremisesSyncEnabled": true, "onPremisesSamAccountName": "SG-OnPrem-Engineering",
                "onPremisesDomainName": "corp.contoso.local", "onPremisesNetBiosName": "CORP",
                "onPremisesSecurityIdentifier": "S-1-5-21-1004336348-1177238915-682003330-4121",
                "onPremisesLastSyncDateTime": self.created}),
        );
        let engineers = in_dept(1);
        self.members(&synced, &engineers);
        for (name, people) in [("Region West", in_dept(0)), ("Region East", in_dept(3))] {
            let id = self.t.new_guid();
            let body = obj(json!({"displayName": name, "description": format!("{name} users."),
                "visibility": null, "membershipType": "Assigned", "membershipRule": null,
                "membershipRuleProcessingState": null, "isMemberManagementRestricted": false}));
            self.insert(Coll::AdministrativeUnits, &id, body);
            for m in people.iter().chain(std::iter::once(&synced)) {
                self.t.add_link(Coll::AdministrativeUnits, LinkKind::Members, &id, m);
            }
        }
    }

    /// Project and team groups: mostly security groups, a quarter Microsoft 365 groups, one in
    /// twenty nesting a few others; about fifteen members each, some with an owner.
    fn generated_groups(&mut self, p: &People, count: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            let word = GROUP_WORDS[i % GROUP_WORDS.len()];
            let unified = i % 4 == 1;
            let (name, nick) = if unified {
                (format!("Team {word} {i}"), format!("team-{}-{i}", word.to_lowercase()))
            } else {
                let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
                (
                    format!("SG-{dept}-{word}-{i}"),
                    format!("sg-{}-{}-{i}", dept.to_lowercase(), word.to_lowercase()),
                )
            };
            let g = self.group(&name, &nick, unified, &Value::Null);
            if !p.staff.is_empty() {
                let k = self.t.rng.random_range(5..=25).min(p.staff.len());
                for _ in 0..k {
                    let m = &p.staff[self.t.rng.random_range(0..p.staff.len())];
                    self.t.add_link(Coll::Groups, LinkKind::Members, &g, m);
                }
                if i % 3 == 0 {
                    let owner = &p.staff[self.t.rng.random_range(0..p.staff.len())];
                    self.t.add_link(Coll::Groups, LinkKind::Owners, &g, owner);
                }
            }
            if i % 20 == 19 && ids.len() > 4 {
                for _ in 0..self.t.rng.random_range(2..=4) {
                    let child: &String = &ids[self.t.rng.random_range(0..ids.len())];
                    let child = child.clone();
                    self.t.add_link(Coll::Groups, LinkKind::Members, &g, &child);
                }
            }
            ids.push(g);
        }
        ids
    }

    pub(super) fn assign(&mut self, principal: &str, role: &str) {
        let id = format!("{}-1", self.t.new_opaque_id());
        let body = obj(
            json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/", "appScopeId": null, "condition": null,
            "principalOrganizationId": self.t.tenant_id}),
        );
        let schedule = crate::ops::pim::permanent_schedule(&id, &body);
        self.insert(Coll::RoleAssignments, &id, body);
        self.insert(Coll::RoleAssignmentSchedules, &id, schedule);
    }

    fn eligible(&mut self, principal: &str, role: &str) {
        let id = self.t.new_guid();
        let body = obj(
            json!({"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/", "appScopeId": null,
            "createdUsing": id, "createdDateTime": self.created, "modifiedDateTime": null, "status": "Provisioned", "memberType": "Direct",
            "scheduleInfo": {"startDateTime": self.created, "recurrence": null, "expiration": {"type": "noExpiration", "endDateTime": null, "duration": null}}}),
        );
        self.insert(Coll::RoleEligibilitySchedules, &id, body);
    }

    /// Global Administrators (both break-glass accounts and the IT director), the named admins'
    /// roles, PIM eligibility, one generated administrator per few hundred users, and the
    /// authentication methods every privileged user registered.
    pub(super) fn role_assignments(&mut self, p: &People) {
        for bg in &p.bg {
            self.assign(bg, GLOBAL_ADMINISTRATOR);
        }
        self.assign(&p.global_admin, GLOBAL_ADMINISTRATOR);
        self.assign(&p.security_admin, SECURITY_ADMINISTRATOR);
        self.assign(&p.ca_admin, CONDITIONAL_ACCESS_ADMINISTRATOR);
        self.assign(&p.global_admin, PRIVILEGED_ROLE_ADMINISTRATOR);
        self.eligible(&p.security_admin, GLOBAL_ADMINISTRATOR);
        self.eligible(&p.ca_admin, PRIVILEGED_ROLE_ADMINISTRATOR);
        let mut privileged =
            vec![p.global_admin.clone(), p.security_admin.clone(), p.ca_admin.clone()];
        for (n, i) in (0..p.staff.len()).step_by(USERS_PER_ADMIN).enumerate().skip(1) {
            let role = BUILTIN_ROLES[ADMIN_ROLES[n % ADMIN_ROLES.len()]];
            let user = p.staff[i].clone();
            if n.is_multiple_of(3) {
                self.eligible(&user, role);
            } else {
                self.assign(&user, role);
            }
            privileged.push(user);
        }
        for (i, user) in p.staff.iter().enumerate().skip(USERS_PER_ADMIN / 2).step_by(25_000) {
            if i > 0 {
                self.assign(user, GLOBAL_ADMINISTRATOR);
                privileged.push(user.clone());
            }
        }
        for bg in &p.bg {
            self.methods(bg, &["password", "fido2"]);
        }
        // Administrators of a tenant that asks phishing-resistant MFA of them on the admin
        // portals (CA100) registered a security key; their other methods vary.
        for (i, user) in privileged.iter().enumerate() {
            let kinds: &[&str] = match i % 3 {
                0 => &["password", "microsoftAuthenticator", "fido2"],
                1 => &["password", "fido2"],
                _ => &["password", "phone", "microsoftAuthenticator", "fido2"],
            };
            self.methods(user, kinds);
        }
    }

    /// Registers authentication methods for a user, as `GET /users/{id}/authentication/methods`
    /// returns them.
    fn methods(&mut self, user: &str, kinds: &[&str]) {
        let mut list = Vec::new();
        for kind in kinds {
            let method = match *kind {
                "password" => {
                    json!({"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": PASSWORD_METHOD_ID,
                    "password": null, "createdDateTime": self.created})
                }
                "fido2" => {
                    json!({"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": self.t.new_guid(),
                    "displayName": "YubiKey 5 NFC", "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "model": "YubiKey 5 Series",
                    "attestationLevel": "attested", "attestationCertificates": [], "createdDateTime": self.created})
                }
                "phone" => {
                    json!({"@odata.type": "#microsoft.graph.phoneAuthenticationMethod", "id": "3179e48a-750b-4051-897c-87b9720928f7",
                    "phoneNumber": format!("+1 425555{:04}", self.t.rng.random_range(0..10_000)), "phoneType": "mobile", "smsSignInState": "notEnabled"})
                }
                _ => {
                    json!({"@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod", "id": self.t.new_guid(),
                    "displayName": "iPhone 15", "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.8.12", "createdDateTime": self.created})
                }
            };
            list.push(obj(method));
        }
        self.t.auth_methods.insert(user.to_string(), list);
    }
}
