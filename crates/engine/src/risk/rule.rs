//! The built-in rules: their ids (as configuration and alerts name them), what each means and
//! how severe its findings are unless configured otherwise.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Severity;

/// The built-in rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A Conditional Access policy disabled, deleted or switched to report-only.
    CaPolicyWeakened,
    /// A break-glass account or group removed from a policy's exclusions.
    BreakGlassExclusionRemoved,
    /// A new or newly enabled policy that blocks all users.
    BroadBlockPolicy,
    /// The lockout analysis's verdict got worse.
    LockoutWorse,
    /// A privileged directory role assigned (active or eligible).
    PrivilegedRoleAssigned,
    /// A secret, certificate or federated credential added to an application or service
    /// principal.
    CredentialAdded,
    /// A privileged application permission assigned or an admin-consented delegated grant.
    PermissionGranted,
    /// Security defaults turned off or authentication methods weakened.
    AuthenticationWeakened,
    /// Many objects deleted or updated by one actor.
    BulkChange,
    /// A change by an actor never seen changing the tenant before.
    NewActor,
    /// Someone became excluded from an enforced Conditional Access policy, by any path.
    PolicyExclusionGrew,
    /// A break-glass account or administrator lost a usable method, or its methods no longer
    /// meet a policy.
    ProtectedPrincipalWeakened,
}

impl Rule {
    /// Every rule, in the order findings are reported.
    pub const ALL: [Rule; 12] = [
        Rule::LockoutWorse,
        Rule::ProtectedPrincipalWeakened,
        Rule::BreakGlassExclusionRemoved,
        Rule::PolicyExclusionGrew,
        Rule::CaPolicyWeakened,
        Rule::BroadBlockPolicy,
        Rule::PrivilegedRoleAssigned,
        Rule::CredentialAdded,
        Rule::PermissionGranted,
        Rule::AuthenticationWeakened,
        Rule::BulkChange,
        Rule::NewActor,
    ];

    /// Its stable id, as configuration and alerts spell it.
    pub fn id(self) -> &'static str {
        match self {
            Rule::CaPolicyWeakened => "ca-policy-weakened",
            Rule::BreakGlassExclusionRemoved => "break-glass-exclusion-removed",
            Rule::BroadBlockPolicy => "broad-block-policy",
            Rule::LockoutWorse => "lockout-worse",
            Rule::PrivilegedRoleAssigned => "privileged-role-assigned",
            Rule::CredentialAdded => "credential-added",
            Rule::PermissionGranted => "permission-granted",
            Rule::AuthenticationWeakened => "authentication-weakened",
            Rule::BulkChange => "bulk-change",
            Rule::NewActor => "new-actor",
            Rule::PolicyExclusionGrew => "policy-exclusion-grew",
            Rule::ProtectedPrincipalWeakened => "protected-principal-weakened",
        }
    }

    /// Why the rule exists and what to do, in one paragraph.
    pub fn explanation(self) -> &'static str {
        match self {
            Rule::CaPolicyWeakened => {
                "Conditional Access policies are the tenant's sign-in controls. A policy that is \
                 disabled, deleted or switched to report-only no longer enforces anything: MFA, \
                 device or location requirements it carried are gone for everyone it covered. \
                 Attackers do this right after gaining admin rights. Confirm the change was \
                 planned; if not, restore the policy (`rewind restore --object`)."
            }
            Rule::BreakGlassExclusionRemoved => {
                "Break-glass accounts are excluded from Conditional Access so that someone can \
                 always sign in when policies go wrong. Removing the exclusion means a faulty or \
                 malicious policy can lock every administrator out. Put the exclusion back unless \
                 the break-glass design changed on purpose."
            }
            Rule::BroadBlockPolicy => {
                "An enabled policy that blocks all users stops every sign-in it matches, \
                 administrators included, within minutes. Check its exclusions and conditions \
                 now; `rewind check` shows who it locks out."
            }
            Rule::LockoutWorse => {
                "The lockout analysis evaluates every Conditional Access policy against the \
                 break-glass accounts and administrators. Its verdict got worse: someone who \
                 could sign in to the admin portals may no longer be able to. Run `rewind check` \
                 for the principals and policies involved."
            }
            Rule::PrivilegedRoleAssigned => {
                "A privileged directory role lets its holder change sign-in policies, \
                 credentials or other roles. Attackers grant themselves Global Administrator to \
                 persist. Confirm who approved the assignment; remove it if nobody did."
            }
            Rule::CredentialAdded => {
                "A new secret, certificate or federated credential lets whoever holds it sign in \
                 as the application, with every permission the application has, without MFA or \
                 Conditional Access for users. It is the most common way attackers persist in a \
                 tenant. Confirm the owner added it; otherwise remove it and rotate the others."
            }
            Rule::PermissionGranted => {
                "Application permissions and admin-consented delegated grants give an app access \
                 to the whole tenant's data without any user present. A privileged permission \
                 (directory, roles, mail, files) is enough to take over the tenant. Confirm the \
                 consent was reviewed."
            }
            Rule::AuthenticationWeakened => {
                "Turning security defaults off, enabling phishable methods (SMS, voice, email) or \
                 disabling phishing-resistant ones weakens every sign-in in the tenant. Confirm \
                 the change is part of a planned move (for example to Conditional Access)."
            }
            Rule::BulkChange => {
                "Many deletions or updates by one actor in a few minutes is what a script gone \
                 wrong or a destructive attacker looks like. Check the actor's changes with \
                 `rewind changes --actor`; `rewind restore --changed-by` undoes them."
            }
            Rule::NewActor => {
                "An account or application that has never changed this tenant before just did. \
                 New automation and new administrators are normal; an unknown app changing \
                 configuration is how compromises look. Confirm the actor is known."
            }
            Rule::PolicyExclusionGrew => {
                "The classic way around Conditional Access is to add oneself to a policy's \
                 exclusion group, to a group nested in it, or to an excluded role: the policy \
                 stays enabled and looks untouched. Someone became excluded from an enforced \
                 policy; the alert names the path. Confirm the exclusion was approved; \
                 `rewind exposure --from` lists every change, `rewind restore --object` undoes it."
            }
            Rule::ProtectedPrincipalWeakened => {
                "Break-glass accounts and administrators must keep a way to meet the policies \
                 that protect them. One of them lost a method it could use (a method disabled \
                 or narrowed in the authentication methods policy, a key model restricted) or \
                 no longer meets a policy's requirement. Run `rewind check` before the day it \
                 is needed."
            }
        }
    }

    /// Its severity unless configured otherwise (some rules raise it for worse cases).
    pub fn default_severity(self) -> Severity {
        match self {
            Rule::BreakGlassExclusionRemoved | Rule::LockoutWorse => Severity::Critical,
            Rule::PolicyExclusionGrew | Rule::ProtectedPrincipalWeakened => Severity::High,
            Rule::CaPolicyWeakened
            | Rule::BroadBlockPolicy
            | Rule::PrivilegedRoleAssigned
            | Rule::BulkChange
            | Rule::AuthenticationWeakened => Severity::High,
            Rule::CredentialAdded | Rule::PermissionGranted | Rule::NewActor => Severity::Medium,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL.into_iter().find(|r| r.id().eq_ignore_ascii_case(s)).ok_or_else(|| {
            let ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
            format!("unknown rule '{s}'; the rules are {}", ids.join(", "))
        })
    }
}
