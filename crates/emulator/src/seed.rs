//! A deterministic, realistic starting tenant: the same seed gives the same tenant, ids included.
//!
//! Every tenant has the Microsoft Graph service principal with its app roles, the emulator's two
//! clients (read and write) with their permissions granted as app role assignments, two
//! cloud-only break-glass accounts excluded from every CA policy through a group, Global
//! Administrators and other privileged roles (active and PIM-eligible), named locations, the
//! built-in authentication strengths and a custom one, the authentication methods policy, and CA
//! policies modelled on common baselines that name the tenant's real groups, roles, apps and
//! locations. Presets and explicit counts scale it from a demo tenant to 150,000 objects; the
//! same options always give the byte-identical tenant.

mod apps;
mod baseline;
mod directory;
mod policies;

pub(crate) use apps::{AUTOMATION_APP, CLEANUP_SCRIPT_APP, HR_SYNC_APP, PROVISIONING_APP};

use rand::Rng;
use serde_json::{Map, Value};

use crate::resource::Coll;
use rewind_model::roles::{
    APPLICATION_ADMINISTRATOR, AUTHENTICATION_ADMINISTRATOR, CLOUD_APPLICATION_ADMINISTRATOR,
    CONDITIONAL_ACCESS_ADMINISTRATOR, DIRECTORY_READERS, GLOBAL_ADMINISTRATOR, GLOBAL_READER,
    GROUPS_ADMINISTRATOR, HELPDESK_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR, SECURITY_ADMINISTRATOR, USER_ADMINISTRATOR,
};

use crate::tenant::Tenant;
pub(crate) use crate::tenant::obj;

/// What to seed. Counts are of generated objects on top of the named ones every tenant has
/// (break-glass accounts, administrators, baseline groups, the emulator's clients).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOptions {
    /// Seed of the random generator: same seed, same tenant.
    pub seed: u64,
    /// Ordinary member users besides the named administrators and break-glass accounts.
    pub users: usize,
    /// Groups besides the baseline ones (break glass, admins, all staff, departments).
    pub groups: usize,
    /// Applications (each with its service principal) besides the named ones.
    pub apps: usize,
    /// Conditional Access policies in all, baseline ones included (at least 7).
    pub policies: usize,
}

impl Default for SeedOptions {
    /// The demo tenant: small enough to read, with every kind represented.
    fn default() -> Self {
        SeedOptions { seed: 1, users: 25, groups: 0, apps: 0, policies: BASELINE_POLICIES }
    }
}

/// The number of baseline CA policies every tenant has.
pub const BASELINE_POLICIES: usize = 7;

/// Tenant sizes to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// About 30 objects.
    Tiny,
    /// About 500 objects.
    Small,
    /// About 20,000 objects.
    Medium,
    /// About 150,000 objects: 100k users, 20k groups with about 500k memberships, 5k
    /// applications with their service principals, 200 CA policies.
    Large,
}

impl Preset {
    /// Every preset, smallest first.
    pub const ALL: [Preset; 4] = [Preset::Tiny, Preset::Small, Preset::Medium, Preset::Large];

    /// The preset's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Small => "small",
            Preset::Medium => "medium",
            Preset::Large => "large",
        }
    }

    /// The counts of this preset with the given seed.
    pub fn options(self, seed: u64) -> SeedOptions {
        let (users, groups, apps, policies) = match self {
            Preset::Tiny => (4, 0, 0, BASELINE_POLICIES),
            Preset::Small => (300, 60, 30, 20),
            Preset::Medium => (14_000, 3_000, 1_000, 60),
            Preset::Large => (100_000, 20_000, 5_000, 200),
        };
        SeedOptions { seed, users, groups, apps, policies }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown preset '{s}'; use tiny, small, medium or large"))
    }
}

/// Built-in directory roles every seeded tenant has, by template id (their names are
/// `rewind_model::roles::name`). The seed assigns by position (the first seven are the
/// administrator roles policies target).
pub const BUILTIN_ROLES: &[&str] = &[
    GLOBAL_ADMINISTRATOR,
    PRIVILEGED_ROLE_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    SECURITY_ADMINISTRATOR,
    CONDITIONAL_ACCESS_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    APPLICATION_ADMINISTRATOR,
    CLOUD_APPLICATION_ADMINISTRATOR,
    GROUPS_ADMINISTRATOR,
    AUTHENTICATION_ADMINISTRATOR,
    HELPDESK_ADMINISTRATOR,
    GLOBAL_READER,
    DIRECTORY_READERS,
];

const FIRST_NAMES: &[&str] = &[
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Ravi",
    "Sofia",
    "Tomas",
    "Yuki",
];
const LAST_NAMES: &[&str] = &[
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Cantrell",
    "Bell",
    "Lorenz",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Caldwell",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Nair",
    "Costa",
    "Novak",
    "Tanaka",
];
const DEPARTMENTS: &[&str] =
    &["Finance", "Engineering", "Sales", "Marketing", "Operations", "Legal", "HR"];

struct Seeder {
    t: Tenant,
    created: String,
}

/// Builds a tenant from the options.
pub fn build(opts: &SeedOptions) -> Tenant {
    let mut rng =
        <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(opts.seed ^ 0x005e_ed7e_4aa7);
    let tenant_id = uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string();
    let t = Tenant::empty(opts.seed, tenant_id, "contoso.onmicrosoft.com".into());
    let created = "2024-01-15T09:00:00Z".to_string();
    let mut s = Seeder { t, created };
    s.seed_all(opts);
    s.t
}

/// Makes `t`'s clients the app registrations `home` has — one multi-tenant app consented in
/// every tenant, as a managed service provider's is: same client id (appId) and secret.
pub fn share_clients(t: &mut Tenant, home: &[crate::client::Client]) {
    let mut clients = std::mem::take(&mut t.clients);
    for c in &mut clients {
        let Some(h) = home.iter().find(|h| h.access == c.access) else {
            continue;
        };
        for coll in [Coll::Applications, Coll::ServicePrincipals] {
            let ids: Vec<String> = t
                .coll(coll)
                .iter()
                .filter(|(_, o)| o.get("appId").and_then(Value::as_str) == Some(&c.client_id))
                .map(|(id, _)| id.clone())
                .collect();
            for id in ids {
                if let Some(mut o) = t.get(coll, &id).cloned() {
                    o.insert("appId".into(), Value::String(h.client_id.clone()));
                    t.put(coll, &id, o);
                }
            }
        }
        c.client_id.clone_from(&h.client_id);
        c.client_secret.clone_from(&h.client_secret);
    }
    t.clients = clients;
    t.audit.clear();
    t.journal.clear();
}

impl Seeder {
    fn insert(&mut self, coll: Coll, id: &str, mut body: Map<String, Value>) {
        let mut stored = Map::new();
        if let Some(t) = body.remove("@odata.type") {
            stored.insert("@odata.type".into(), t);
        }
        stored.insert("id".into(), Value::String(id.to_string()));
        stored.extend(body);
        self.t.put(coll, id, stored);
    }

    fn seed_all(&mut self, opts: &SeedOptions) {
        self.singletons();
        self.roles(opts.users / 20_000 + 1);
        self.strengths();
        let graph_sp = self.graph_service_principal();
        self.clients(&graph_sp);
        let people = self.users(opts.users);
        let groups = self.groups(&people, opts.groups);
        self.role_assignments(&people);
        let locations = self.named_locations(opts.policies / 10);
        let apps = self.applications(&graph_sp, &people, &groups, opts.apps);
        self.ca_policies(&groups, &locations, &apps, opts.policies);
        self.write_client_roles();
        // The seeded state is the starting point: no history, no pending delta changes.
        self.t.audit.clear();
        self.t.journal.clear();
    }
}

/// The named people every tenant has, and the generated staff.
struct People {
    bg: Vec<String>,
    global_admin: String,
    security_admin: String,
    ca_admin: String,
    staff: Vec<String>,
}

/// Groups that policies and scenarios refer to, and the generated ones.
struct Groups {
    break_glass: String,
    admins: String,
    all_staff: String,
    service_accounts: String,
    generated: Vec<String>,
}

struct Locations {
    office: String,
    allowed: String,
    blocked: String,
    branches: Vec<String>,
}

/// Applications policies refer to, by appId.
struct Apps {
    payroll_app_id: String,
    generated_app_ids: Vec<String>,
}
