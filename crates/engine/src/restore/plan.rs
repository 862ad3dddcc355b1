//! A restore plan: data, not code (DESIGN §3). Ordered steps, each with its reason and the steps
//! it waits for, the desired state they lead to (what the guard evaluates and verification
//! compares with), and what Rewind cannot do and a person must.

use rewind_model::{Kind, ObjectKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diff::PropertyChange;

/// The version of the plan file format; `rewind apply` refuses other versions.
pub const PLAN_FORMAT: u32 = 1;

/// What one step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Restore a soft-deleted object from the recycle bin: same id, same links.
    Restore,
    /// Create an object that is gone for good: it gets a new id, recorded as lineage.
    Create,
    /// Change the properties that differ (`PATCH`).
    Update,
    /// Delete an object the desired state does not have.
    Delete,
    /// Add a member or owner.
    AddLink,
    /// Remove a member or owner.
    RemoveLink,
    /// Remove a password credential added after the target time.
    RemoveCredential,
    /// Switch a Conditional Access policy from report-only to its target state, last.
    SwitchState,
}

impl Action {
    /// The sign the plan is rendered with, Terraform-style.
    pub fn sign(self) -> &'static str {
        match self {
            Action::Restore => "↺",
            Action::Create | Action::AddLink => "+",
            Action::Update | Action::SwitchState => "~",
            Action::Delete | Action::RemoveLink | Action::RemoveCredential => "-",
        }
    }
}

/// A member or owner to add or remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// `members` or `owners`.
    pub relation: String,
    /// The member's or owner's id (before remapping).
    pub target: String,
}

/// A reference in a step's body (or its link) to an object this plan re-creates: the executor
/// writes the new id there once the object exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remap {
    /// Where in the body (`conditions.users.excludeGroups[0]`); `link` for a link's target.
    pub path: String,
    /// The re-created object's old id.
    pub from: String,
    /// Its kind.
    pub kind: Kind,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Its number, from 1, in the order the executor runs steps.
    pub n: usize,
    /// What it does.
    pub action: Action,
    /// The object's kind.
    pub kind: Kind,
    /// The object's key (its old id when re-created).
    pub id: String,
    /// The name people know it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Why the step is in the plan.
    pub reason: String,
    /// Steps that must succeed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<usize>,
    /// What is written (`POST`/`PATCH` body), with old ids where `remaps` say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// For updates: the properties that change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PropertyChange>,
    /// For link steps: the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    /// For `removeCredential`: the credential's `keyId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// References to re-created objects, remapped when the step runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remaps: Vec<Remap>,
}

impl Step {
    /// The object the step acts on.
    pub fn object(&self) -> ObjectKey {
        ObjectKey::new(self.kind, self.id.clone())
    }
}

/// What a person must do because Graph does not let Rewind do it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A synchronised object: restore it in the on-premises directory; sync brings it back.
    RestoreOnPremises,
    /// A secret or certificate Graph never returns: issue a new one and update its users.
    RotateByHand,
    /// A re-created user has a random password nobody knows: issue a Temporary Access Pass or
    /// reset it; they must change it at next sign-in.
    NewPassword,
    /// Something Rewind does not write (a built-in object, a kind kept only for analysis).
    NotRestorable,
    /// A guest invited again: they must redeem the invitation before they can sign in.
    RedeemInvitation,
}

/// One notice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Notice {
    /// What kind of notice.
    pub notice: NoticeKind,
    /// The object's kind.
    pub kind: Kind,
    /// The object's key.
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// What to do, in a sentence.
    pub detail: String,
}

/// One object of the desired state: `object` is its configuration after the restore (canonical,
/// old ids), `None` when it must not exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    /// The kind.
    pub kind: Kind,
    /// The key (old id when re-created).
    pub id: String,
    /// The configuration wanted.
    pub object: Option<Value>,
}

/// A restore plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// What a person must do.
    #[serde(default)]
    pub notices: Vec<Notice>,
    /// The state the steps lead to.
    pub desired: Vec<Desired>,
    /// In a plan written out by a restore of an encrypted store: the store's MAC over the
    /// plan without this field (hex), which `apply` requires of a file it runs against that
    /// store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

impl Plan {
    /// The bytes a plan's MAC is computed over: the plan without its MAC, as compact JSON.
    pub fn mac_input(&self) -> Vec<u8> {
        if self.mac.is_none() {
            return serde_json::to_vec(self).unwrap_or_default();
        }
        let unsigned = Plan { mac: None, ..self.clone() };
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }

    /// Counts of steps per action, for summaries.
    pub fn counts(&self) -> std::collections::BTreeMap<Action, usize> {
        let mut out = std::collections::BTreeMap::new();
        for s in &self.steps {
            *out.entry(s.action).or_insert(0) += 1;
        }
        out
    }
}
