//! Risky-change rules (docs/design/watch.md): given what changed between two snapshots, who
//! changed it, and a little context about the tenant (its break-glass accounts, who holds
//! privileged permissions, which actors were seen before, the lockout verdicts), find what an
//! administrator must hear about now. Pure and deterministic: the same changes give the same
//! findings in the same order, each with a fingerprint that names the rule, the object and the
//! version, so re-evaluating a snapshot never alerts twice.

mod access;
mod catalog;
mod rule;
mod rules;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rewind_model::{Actor, Kind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use access::{GrownExclusion, Weakened};
pub use catalog::{
    GLOBAL_ADMINISTRATOR, PRIVILEGED_PERMISSIONS, privileged_permission, privileged_role,
};

pub use rewind_model::Severity;
pub use rule::Rule;

/// One rule's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetting {
    /// `false` turns the rule off.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replaces the rule's severity.
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// How the rules run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Per rule; rules not named run with their defaults.
    pub rules: BTreeMap<Rule, RuleSetting>,
    /// Deletions by one actor in one evaluation that make a bulk change.
    pub bulk_deletes: usize,
    /// Updates by one actor in one evaluation that make a bulk change.
    pub bulk_updates: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { rules: BTreeMap::new(), bulk_deletes: 25, bulk_updates: 250 }
    }
}

impl Settings {
    /// Whether `rule` runs (context only it needs is not computed otherwise).
    pub fn enabled(&self, rule: Rule) -> bool {
        self.rules.get(&rule).and_then(|s| s.enabled).unwrap_or(true)
    }

    fn severity(&self, rule: Rule, found: Severity) -> Severity {
        self.rules.get(&rule).and_then(|s| s.severity).unwrap_or(found)
    }
}

/// One object that changed, with its versions on either side.
#[derive(Debug, Clone, Copy)]
pub struct ObjectChange<'a> {
    /// Its kind.
    pub kind: Kind,
    /// Its key.
    pub key: &'a str,
    /// Before (`None`: created).
    pub before: Option<&'a Value>,
    /// After (`None`: deleted).
    pub after: Option<&'a Value>,
    /// Names the version (its hash, or the deleted version's): part of fingerprints.
    pub version: &'a str,
    /// Who changed it.
    pub actors: &'a [Actor],
}

/// The tenant's lockout verdict, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every protected principal can sign in.
    Ok,
    /// Some may not.
    AtRisk,
    /// Every break-glass account or every Global Administrator is locked out.
    Critical,
}

/// What the rules know about the tenant besides the changes.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Ids of break-glass users and of groups that contain them.
    pub break_glass: BTreeSet<String>,
    /// Service principal ids and app ids that hold a privileged permission or role.
    pub privileged_apps: BTreeSet<String>,
    /// App role id → permission name, from every service principal's app roles.
    pub permissions: HashMap<String, String>,
    /// Application object id → its app id (to find a federated credential's application).
    pub app_ids: HashMap<String, String>,
    /// Names of principals and roles the changes name, by id.
    pub names: HashMap<String, String>,
    /// Identities seen changing the tenant before ([`Actor::key`]): a new app named like a
    /// known one is still new. `None` while there is no history to compare with (the first
    /// evaluation), which turns the new-actor rule off.
    pub known_actors: Option<BTreeSet<String>>,
    /// The lockout verdict before and after, when computed.
    pub lockout: Option<(Verdict, Verdict)>,
    /// Exclusions from enforced policies that appeared, when computed.
    pub exclusions: Vec<GrownExclusion>,
    /// Protected principals that got weaker, when computed.
    pub weakened: Vec<Weakened>,
}

impl Context {
    fn name_of(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

/// Something a rule found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule.
    pub rule: Rule,
    /// How urgent.
    pub severity: Severity,
    /// What happened, in one line.
    pub summary: String,
    /// The object it is about, if one.
    pub kind: Option<Kind>,
    /// Its key.
    pub id: Option<String>,
    /// Its name.
    pub display_name: Option<String>,
    /// Who did it.
    pub actors: Vec<Actor>,
    /// Rule, object and version (or actor): equal fingerprints are one alert.
    pub fingerprint: String,
}

/// Runs every enabled rule over the changes.
pub fn evaluate(changes: &[ObjectChange<'_>], ctx: &Context, settings: &Settings) -> Vec<Finding> {
    let mut found = Vec::new();
    for rule in Rule::ALL {
        if !settings.enabled(rule) {
            continue;
        }
        let before = found.len();
        rules::run(rule, changes, ctx, settings, &mut found);
        for f in &mut found[before..] {
            f.severity = settings.severity(rule, f.severity);
        }
    }
    found
}

#[cfg(test)]
mod tests;
