//! The planner: from the desired state of the objects in scope and what the tenant holds now,
//! the steps that get there (DESIGN §6.3). Pure and deterministic: the same input gives the same
//! plan, byte for byte.
//!
//! Order: restores from the recycle bin first (ids and links come back), then creates in
//! dependency order (what others name first), updates, credential removals, link changes,
//! deletes (referrers before what they name), and last the switch of Conditional Access
//! policies from report-only to their target state.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::{Kind, ObjectKey, Target, display_name, key, references};
use serde_json::{Map, Value};

use super::order::{Node, order};
use super::plan::{Action, Desired, Link, Notice, NoticeKind, PLAN_FORMAT, Plan, Remap, Step};
use super::writes::{
    Writable, create_body, has_dynamic_members, is_built_in, is_credentials, is_exchange_managed,
    is_guest, is_synced, links, update_body, writable,
};
use crate::diff::{PropertyChange, property_changes};

/// One object of the scope and the state wanted for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    /// The object.
    pub key: ObjectKey,
    /// Its configuration wanted (canonical); `None`: it must not exist.
    pub object: Option<Value>,
    /// Why it is in scope (`in scope`, `excluded by policy 'Block legacy' (…)`).
    pub reason: String,
}

/// What the tenant holds now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    /// Each live object of the scope (and any it names), canonical.
    pub live: BTreeMap<ObjectKey, Value>,
    /// Objects in scope that are not live but lie in a recycle bin, restorable with their id,
    /// with what the bin holds of each (canonical) where it was read: a restore brings an
    /// object back as it was deleted, which may be after the change that matters.
    pub recycle_bin: BTreeMap<ObjectKey, Option<Value>>,
}

/// The state a report-only policy is written in before its switch.
pub const REPORT_ONLY: &str = "enabledForReportingButNotEnforced";

/// Plans the restore of `wanted` against `current`.
pub fn plan(mut wanted: Vec<Wanted>, current: &Current) -> Plan {
    wanted.sort_by(|a, b| order_key(&a.key).cmp(&order_key(&b.key)));
    wanted.dedup_by(|a, b| a.key == b.key);
    let mut b = Builder {
        current,
        recreated: recreated(&wanted, current),
        steps: Vec::new(),
        notices: Vec::new(),
        primary: BTreeMap::new(),
        restored_ids: current.recycle_bin.keys().map(|k| key::own_id(&k.key).to_string()).collect(),
        not_coming_back: not_coming_back(&wanted, current),
    };
    for w in &wanted {
        b.object(w);
    }
    b.link_dependencies();
    let steps = order(b.steps);
    let desired = wanted
        .into_iter()
        .filter(|w| writable(w.key.kind) != Writable::Never)
        .map(|w| Desired { kind: w.key.kind, id: w.key.key, object: w.object })
        .collect();
    b.notices.sort();
    b.notices.dedup();
    Plan { format: PLAN_FORMAT, steps, notices: b.notices, desired, mac: None }
}

/// Kinds in creation order, then keys.
fn order_key(k: &ObjectKey) -> (usize, &str) {
    (k.kind.rank(), k.key.as_str())
}

/// The property changes from `live` to `desired` that an update writes: links and credentials
/// have steps of their own.
fn configuration_changes(kind: Kind, live: &Value, desired: &Value) -> Vec<PropertyChange> {
    property_changes(live, desired)
        .into_iter()
        .filter(|c| {
            let top = c.path.split('.').next().unwrap_or(&c.path);
            !links(kind).contains(&top) && !is_credentials(kind, top)
        })
        .collect()
}

/// Why Rewind will not make `object` anew, when it will not: what to do instead. Mail-enabled
/// groups are made in Exchange Online; a guest is invited again, unless its address is unknown.
fn made_elsewhere(kind: Kind, object: &Value) -> Option<&'static str> {
    if is_guest(kind, object) && guest_email(object).is_none() {
        Some(
            "a guest, deleted for good, whose email address was not captured: Graph makes guests by invitation; invite them again (Entra admin center › Users › Invite external user), then re-add their groups and roles",
        )
    } else if is_exchange_managed(kind, object) {
        Some(
            "a mail-enabled security group or distribution list, deleted for good: Graph cannot create it; create it in Exchange Online (New-DistributionGroup) with its members",
        )
    } else {
        None
    }
}

/// Where an invited guest lands after redeeming: Microsoft's My Apps portal, the usual choice.
const INVITE_REDIRECT: &str = "https://myapps.microsoft.com";

/// A guest's email address: `mail`, else the first of `otherMails`, else what their `#EXT#`
/// sign-in name encodes (`pat_fabrikam.com#EXT#@…` is pat@fabrikam.com).
fn guest_email(guest: &Value) -> Option<String> {
    let text = |k: &str| guest.get(k).and_then(Value::as_str).map(str::to_string);
    text("mail")
        .or_else(|| guest.get("otherMails")?.as_array()?.first()?.as_str().map(str::to_string))
        .or_else(|| {
            let upn = text("userPrincipalName")?;
            let (local, _) = upn.split_once("#EXT#")?;
            let (name, domain) = local.rsplit_once('_')?;
            Some(format!("{name}@{domain}"))
        })
        .filter(|e| e.contains('@'))
}

/// Objects the plan creates anew (not live, not in a recycle bin, not synchronised, not made
/// elsewhere; guests invited again included): their ids change, so
/// every reference to them is remapped. An application is known by its appId too, which
/// changes with it (its service principal and the policies naming it follow).
fn recreated(wanted: &[Wanted], current: &Current) -> BTreeMap<String, ObjectKey> {
    let made: Vec<&Wanted> = wanted
        .iter()
        .filter(|w| {
            w.object.as_ref().is_some_and(|o| {
                !is_synced(o)
                    && made_elsewhere(w.key.kind, o).is_none()
                    && !is_built_in(w.key.kind, o)
                    && creatable(w.key.kind)
            }) && !current.live.contains_key(&w.key)
                && !current.recycle_bin.contains_key(&w.key)
        })
        .collect();
    let app_ids = made.iter().filter_map(|w| {
        let app_id = w.object.as_ref()?.get("appId")?.as_str()?;
        (w.key.kind == Kind::Application).then(|| (app_id.to_string(), w.key.clone()))
    });
    made.iter()
        .map(|w| (key::own_id(&w.key.key).to_string(), w.key.clone()))
        .chain(app_ids)
        .collect()
}

/// Objects wanted back that are gone for good and that Rewind does not create: synchronised
/// from on-premises, or made elsewhere (guests, Exchange-managed groups).
fn not_coming_back(wanted: &[Wanted], current: &Current) -> BTreeSet<String> {
    wanted
        .iter()
        .filter(|w| !current.live.contains_key(&w.key) && !current.recycle_bin.contains_key(&w.key))
        .filter(|w| {
            w.object
                .as_ref()
                .is_some_and(|o| is_synced(o) || made_elsewhere(w.key.kind, o).is_some())
        })
        .map(|w| key::own_id(&w.key.key).to_string())
        .collect()
}

fn creatable(kind: Kind) -> bool {
    matches!(writable(kind), Writable::Full | Writable::Replace)
}

struct Builder<'a> {
    current: &'a Current,
    /// Old id → object, for objects created anew.
    recreated: BTreeMap<String, ObjectKey>,
    steps: Vec<Node>,
    notices: Vec<Notice>,
    /// The step that brings each object into existence (restore or create).
    primary: BTreeMap<ObjectKey, usize>,
    /// Ids of objects restored from a recycle bin, links and all.
    restored_ids: BTreeSet<String>,
    /// Ids of objects gone for good that Rewind cannot bring back (synchronised ones, guests,
    /// Exchange-managed groups): links to them wait until a person has.
    not_coming_back: BTreeSet<String>,
}

impl Builder<'_> {
    fn object(&mut self, w: &Wanted) {
        let live = self.current.live.get(&w.key);
        let name = w.object.as_ref().or(live).and_then(display_name).map(str::to_string);
        let kind = w.key.kind;
        if writable(kind) == Writable::Never {
            return;
        }
        match (&w.object, live) {
            (None, None) => {}
            (None, Some(l)) => self.delete(w, l, name.as_ref()),
            (Some(d), None) => self.bring_back(w, d, name.as_ref()),
            (Some(d), Some(l)) => self.update(w, l, d, name.as_ref()),
        }
    }

    fn notice(
        &mut self,
        notice: NoticeKind,
        key: &ObjectKey,
        name: Option<&String>,
        detail: String,
    ) {
        self.notices.push(Notice {
            notice,
            kind: key.kind,
            id: key.key.clone(),
            display_name: name.cloned(),
            detail,
        });
    }

    fn push(&mut self, step: Step) -> usize {
        self.steps.push(Node { step, after: Vec::new() });
        self.steps.len() - 1
    }

    fn step(action: Action, key: &ObjectKey, name: Option<&String>, reason: &str) -> Step {
        Step {
            n: 0,
            action,
            kind: key.kind,
            id: key.key.clone(),
            display_name: name.cloned(),
            reason: reason.to_string(),
            depends_on: Vec::new(),
            body: None,
            changes: Vec::new(),
            link: None,
            key_id: None,
            remaps: Vec::new(),
        }
    }

    fn delete(&mut self, w: &Wanted, live: &Value, name: Option<&String>) {
        let kind = w.key.kind;
        if is_built_in(kind, live) || writable(kind) == Writable::Singleton {
            let detail = "did not exist at the target time but cannot be deleted".to_string();
            self.notice(NoticeKind::NotRestorable, &w.key, name, detail);
            return;
        }
        if is_synced(live) {
            let detail =
                "created after the target time by directory synchronisation: delete it on-premises"
                    .to_string();
            self.notice(NoticeKind::RestoreOnPremises, &w.key, name, detail);
            return;
        }
        let reason = format!("{}: did not exist at the target time", w.reason);
        let mut step = Self::step(Action::Delete, &w.key, name, &reason);
        if kind == Kind::RoleEligibilitySchedule {
            // Revoked by a request naming the principal, role and scope, not by its id.
            step.body = Some(replace_body(kind, live));
        }
        self.push(step);
    }

    fn bring_back(&mut self, w: &Wanted, desired: &Value, name: Option<&String>) {
        let kind = w.key.kind;
        if is_synced(desired) {
            let detail = "synchronised from on-premises: restore it there (or in the on-premises recycle bin) and let sync bring it back with its id".to_string();
            self.notice(NoticeKind::RestoreOnPremises, &w.key, name, detail);
            return;
        }
        if is_built_in(kind, desired) || writable(kind) == Writable::Singleton {
            let detail = "missing, but built in: Rewind does not create it".to_string();
            self.notice(NoticeKind::NotRestorable, &w.key, name, detail);
            return;
        }
        if let Some(binned) = self.current.recycle_bin.get(&w.key) {
            let reason = format!("{}: deleted, still in the recycle bin", w.reason);
            let step = Self::step(Action::Restore, &w.key, name, &reason);
            let i = self.push(step);
            self.primary.insert(w.key.clone(), i);
            if let Some(binned) = binned {
                self.after_restore(w, binned, desired, name, i);
            }
            self.links(w, &Value::Null, desired, name, true);
            return;
        }
        if let Some(how) = made_elsewhere(kind, desired) {
            self.notice(NoticeKind::NotRestorable, &w.key, name, how.to_string());
            return;
        }
        if let Some(email) = guest_email(desired).filter(|_| is_guest(kind, desired)) {
            self.invite(w, desired, name, &email);
            return;
        }
        if writable(kind) == Writable::Replace
            && let Some(waiting) =
                references(kind, desired).into_iter().find(|r| self.not_coming_back.contains(&r.id))
        {
            let detail = format!(
                "not re-created: its {} {} must be brought back by a person first (see its notice)",
                waiting.path, waiting.id
            );
            self.notice(NoticeKind::NotRestorable, &w.key, name, detail);
            return;
        }
        let reason = format!("{}: deleted for good, created anew with a new id", w.reason);
        let mut step = Self::step(Action::Create, &w.key, name, &reason);
        let mut body = if writable(kind) == Writable::Replace {
            replace_body(kind, desired)
        } else {
            create_body(kind, desired)
        };
        let switch = Self::report_only_first(kind, None, desired, &mut body);
        step.remaps = self.remaps(kind, &body);
        step.body = Some(body);
        let i = self.push(step);
        self.primary.insert(w.key.clone(), i);
        if let Some(state) = switch {
            self.switch_state(w, name, state, Some(i));
        }
        if kind == Kind::User {
            let detail = "created anew with a random password nobody knows (never stored): issue a Temporary Access Pass or reset the password; it must be changed at next sign-in".to_string();
            self.notice(NoticeKind::NewPassword, &w.key, name, detail);
        }
        if kind == Kind::Application {
            let detail = "created anew: its appId changes, so clients configured with the old one must be given the new one".to_string();
            self.notice(NoticeKind::RotateByHand, &w.key, name, detail);
        }
        self.credentials(w, &Value::Null, desired, name);
        self.links(w, &Value::Null, desired, name, false);
    }

    /// A guest gone for good is invited again (invitation-post.md: Graph makes guests by
    /// invitation, never by `POST /users`) with no email sent, then given the properties it
    /// had; it gets a new id, which its groups and roles follow.
    fn invite(&mut self, w: &Wanted, desired: &Value, name: Option<&String>, email: &str) {
        let reason = format!(
            "{}: deleted for good; a guest is invited again (POST /invitations, no email sent) and gets a new id",
            w.reason
        );
        let mut step = Self::step(Action::Create, &w.key, name, &reason);
        step.body = Some(serde_json::json!({
            "invitedUserEmailAddress": email,
            "invitedUserDisplayName": display_name(desired).unwrap_or(email),
            "inviteRedirectUrl": INVITE_REDIRECT,
            "sendInvitationMessage": false,
        }));
        let i = self.push(step);
        self.primary.insert(w.key.clone(), i);
        let mut rest = create_body(w.key.kind, desired);
        if let Some(o) = rest.as_object_mut() {
            for made in ["userPrincipalName", "displayName", "userType", "identities"] {
                o.shift_remove(made);
            }
        }
        if rest.as_object().is_some_and(|o| !o.is_empty()) {
            let reason = format!("{}: what the invited guest had at the target time", w.reason);
            let mut update = Self::step(Action::Update, &w.key, name, &reason);
            update.remaps = self.remaps(w.key.kind, &rest);
            update.body = Some(rest);
            self.push(update);
        }
        let detail = format!(
            "invited again as {email} with a new id and no email sent: they sign in once they redeem the invitation (resend it from Entra admin center › Users to email them)"
        );
        self.notice(NoticeKind::RedeemInvitation, &w.key, name, detail);
        self.links(w, &Value::Null, desired, name, false);
    }

    /// An object comes back from a bin as it was deleted — a policy weakened and then deleted
    /// comes back weakened: the update to the target version follows the restore. A policy to
    /// be enforced is written report-only by that update and switched last, like one created.
    fn after_restore(
        &mut self,
        w: &Wanted,
        binned: &Value,
        desired: &Value,
        name: Option<&String>,
        restore: usize,
    ) {
        let kind = w.key.kind;
        let changes = configuration_changes(kind, binned, desired);
        let Some(mut body) = update_body(kind, binned, desired) else {
            return;
        };
        if changes.is_empty() {
            return;
        }
        let reason = format!(
            "{}: comes back from the bin as it was deleted, which differs from the target time",
            w.reason
        );
        let mut step = Self::step(Action::Update, &w.key, name, &reason);
        let switch = Self::report_only_first(kind, None, desired, &mut body);
        step.remaps = self.remaps(kind, &body);
        step.body = Some(body);
        step.changes = changes;
        let i = self.push(step);
        self.steps[i].after.push(restore);
        if let Some(state) = switch {
            self.switch_state(w, name, state, Some(i));
        }
    }

    fn update(&mut self, w: &Wanted, live: &Value, desired: &Value, name: Option<&String>) {
        let kind = w.key.kind;
        if is_built_in(kind, live) {
            return;
        }
        if live == desired {
            self.relink(w, desired, name);
            return;
        }
        let changes = configuration_changes(kind, live, desired);
        if !changes.is_empty() && is_synced(live) {
            let detail = format!(
                "synchronised from on-premises: change {} there",
                changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>().join(", ")
            );
            self.notice(NoticeKind::RestoreOnPremises, &w.key, name, detail);
        } else if !changes.is_empty() && writable(kind) == Writable::Replace {
            let reason = format!(
                "{}: changed since the target time; this kind is replaced, not updated",
                w.reason
            );
            let del = Self::step(Action::Delete, &w.key, name, &reason);
            let d = self.push(del);
            let mut create = Self::step(Action::Create, &w.key, name, &reason);
            let body = replace_body(kind, desired);
            create.remaps = self.remaps(kind, &body);
            create.body = Some(body);
            let c = self.push(create);
            self.steps[c].after.push(d);
        } else if let Some(mut body) =
            self.with_relinks(kind, desired, update_body(kind, live, desired))
        {
            let reason = format!("{}: changed since the target time", w.reason);
            let mut step = Self::step(Action::Update, &w.key, name, &reason);
            let switch = Self::report_only_first(kind, Some(live), desired, &mut body);
            // A policy whose only change is being switched on needs the switch alone.
            let only_state = switch.is_some()
                && body.as_object().is_some_and(|b| b.len() == 1 && b.contains_key("state"));
            step.remaps = self.remaps(kind, &body);
            step.body = Some(body);
            step.changes.clone_from(&changes);
            let i = (!only_state).then(|| self.push(step));
            if let Some(state) = switch {
                let s = self.switch_state(w, name, state, i);
                if only_state {
                    let step = &mut self.steps[s].step;
                    step.changes = changes;
                    step.reason = format!(
                        "{}: not enforced since the target time; switched back last, once every other step has succeeded",
                        w.reason
                    );
                }
            }
        }
        self.credentials(w, live, desired, name);
        self.links(w, live, desired, name, false);
    }

    /// `body` with, in addition, every top-level property of `desired` that names an object
    /// created anew (its references must be rewritten even if nothing else in it changed).
    fn with_relinks(&self, kind: Kind, desired: &Value, body: Option<Value>) -> Option<Value> {
        let full = create_body(kind, desired);
        let tops: BTreeSet<String> = self
            .remaps(kind, &full)
            .iter()
            .map(|r| r.path.split(['.', '[']).next().unwrap_or(&r.path).to_string())
            .collect();
        if tops.is_empty() {
            return body;
        }
        let mut out = body.unwrap_or_else(|| Value::Object(Map::new()));
        if let (Some(o), Some(f)) = (out.as_object_mut(), full.as_object()) {
            for t in &tops {
                if let Some(v) = f.get(t) {
                    o.entry(t.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        Some(out)
    }

    /// An object unchanged but naming objects created anew (a policy still excluding a group
    /// that was deleted for good keeps its old id): the properties holding those references
    /// are written again with the new ids.
    fn relink(&mut self, w: &Wanted, desired: &Value, name: Option<&String>) {
        let kind = w.key.kind;
        let body = if writable(kind) == Writable::Replace {
            replace_body(kind, desired)
        } else {
            create_body(kind, desired)
        };
        let remaps = self.remaps(kind, &body);
        if remaps.is_empty() {
            return;
        }
        let reason =
            format!("{}: names objects created anew; re-linked to their new ids", w.reason);
        if writable(kind) == Writable::Replace {
            let del = Self::step(Action::Delete, &w.key, name, &reason);
            let d = self.push(del);
            let mut create = Self::step(Action::Create, &w.key, name, &reason);
            create.remaps = remaps;
            create.body = Some(body);
            let c = self.push(create);
            self.steps[c].after.push(d);
            return;
        }
        let tops: BTreeSet<&str> =
            remaps.iter().map(|r| r.path.split(['.', '[']).next().unwrap_or(&r.path)).collect();
        let patch: Map<String, Value> = body
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| tops.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut step = Self::step(Action::Update, &w.key, name, &reason);
        step.body = Some(Value::Object(patch));
        step.remaps = remaps;
        self.push(step);
    }

    /// A Conditional Access policy that is not enforced now and should be is written
    /// report-only, and switched on last: if anything before fails, it never enforces a
    /// half-restored state. A policy enforced now stays enforced while it is updated (making it
    /// report-only meanwhile would open a gap); the guard has judged the end state.
    fn report_only_first(
        kind: Kind,
        live: Option<&Value>,
        desired: &Value,
        body: &mut Value,
    ) -> Option<String> {
        if kind != Kind::ConditionalAccessPolicy {
            return None;
        }
        let target = desired.get("state").and_then(Value::as_str)?;
        let now = live.and_then(|l| l.get("state")).and_then(Value::as_str);
        if target != "enabled" || now == Some("enabled") {
            return None;
        }
        body.as_object_mut()?.insert("state".into(), Value::String(REPORT_ONLY.into()));
        Some(target.to_string())
    }

    fn switch_state(
        &mut self,
        w: &Wanted,
        name: Option<&String>,
        state: String,
        after: Option<usize>,
    ) -> usize {
        let reason = "written report-only first; enforced once every other step has succeeded";
        let mut step = Self::step(Action::SwitchState, &w.key, name, reason);
        let mut body = Map::new();
        body.insert("state".into(), Value::String(state));
        step.body = Some(Value::Object(body));
        let i = self.push(step);
        self.steps[i].after.extend(after);
        i
    }

    /// Password credentials added after the target time are removed; those gone since cannot be
    /// brought back (Graph never returns a secret) and are listed. Certificates likewise listed.
    fn credentials(&mut self, w: &Wanted, live: &Value, desired: &Value, name: Option<&String>) {
        let kind = w.key.kind;
        if !matches!(kind, Kind::Application | Kind::ServicePrincipal) {
            return;
        }
        for property in ["passwordCredentials", "keyCredentials"] {
            let have = key_ids(live, property);
            let want = key_ids(desired, property);
            for (id, label) in have.iter().filter(|(id, _)| !want.contains_key(*id)) {
                if property == "passwordCredentials" {
                    let reason =
                        format!("{}: secret '{label}' was added after the target time", w.reason);
                    let mut step = Self::step(Action::RemoveCredential, &w.key, name, &reason);
                    step.key_id = Some((*id).to_string());
                    self.push(step);
                } else {
                    let detail = format!(
                        "certificate '{label}' ({id}) was added after the target time: remove it (removeKey needs a proof signed by an existing key)"
                    );
                    self.notice(NoticeKind::RotateByHand, &w.key, name, detail);
                }
            }
            for (id, label) in want.iter().filter(|(id, _)| !have.contains_key(*id)) {
                let what = if property == "passwordCredentials" { "secret" } else { "certificate" };
                let detail = format!(
                    "{what} '{label}' ({id}) existed at the target time and cannot be restored: issue a new one and give it to whoever used the old one"
                );
                self.notice(NoticeKind::RotateByHand, &w.key, name, detail);
            }
        }
    }

    /// Members and owners to add and remove. A member restored from the recycle bin comes back
    /// into the groups that kept their id (Entra keeps its memberships), so no link is planned
    /// for it there. A group restored from the recycle bin gets every wanted link added (what
    /// it had when deleted may not be what it had at the target; adding a link that exists
    /// succeeds) and none removed.
    fn links(
        &mut self,
        w: &Wanted,
        live: &Value,
        desired: &Value,
        name: Option<&String>,
        restored: bool,
    ) {
        let kept_id = self.current.live.contains_key(&w.key);
        for relation in links(w.key.kind) {
            if *relation == "members"
                && (is_exchange_managed(w.key.kind, desired)
                    || has_dynamic_members(w.key.kind, desired))
            {
                self.member_notice(w, live, desired, name);
                continue;
            }
            let have = ids(live, relation);
            let want = ids(desired, relation);
            let waiting: Vec<&str> = want
                .difference(&have)
                .copied()
                .filter(|t| self.not_coming_back.contains(*t))
                .collect();
            if !waiting.is_empty() {
                let (noun, it, notice) = if waiting.len() == 1 {
                    (singular(relation), "it", "its notice")
                } else {
                    (*relation, "they", "their notices")
                };
                let detail = format!(
                    "{noun} {} not added: {it} must be brought back by a person first (see {notice}), then added",
                    waiting.join(", "),
                );
                self.notice(NoticeKind::NotRestorable, &w.key, name, detail);
            }
            for target in want.difference(&have) {
                if (kept_id && self.restored_ids.contains(*target))
                    || self.not_coming_back.contains(*target)
                {
                    continue;
                }
                let why = if restored {
                    "of the restored object"
                } else {
                    "was removed after the target time"
                };
                let reason = format!("{}: {} {target} {why}", w.reason, singular(relation));
                self.link_step(Action::AddLink, w, name, relation, target, &reason);
            }
            if restored {
                continue;
            }
            let kept = self.last_owner_kept(w, relation, &have, &want, name);
            for target in have.difference(&want).filter(|t| Some(**t) != kept) {
                let reason = format!(
                    "{}: {} {target} was added after the target time",
                    w.reason,
                    singular(relation)
                );
                self.link_step(Action::RemoveLink, w, name, relation, target, &reason);
            }
        }
    }

    /// Graph does not let a group lose its last user owner (group-delete-owners.md): when the
    /// target had no user owner, one owner now (the first by id) stays, with a notice.
    fn last_owner_kept<'v>(
        &mut self,
        w: &Wanted,
        relation: &str,
        have: &BTreeSet<&'v str>,
        want: &BTreeSet<&str>,
        name: Option<&String>,
    ) -> Option<&'v str> {
        if w.key.kind != Kind::Group || relation != "owners" {
            return None;
        }
        // An owner not known to be a service principal is taken for a user.
        let is_user =
            |id: &str| !self.current.live.contains_key(&ObjectKey::new(Kind::ServicePrincipal, id));
        if want.iter().any(|id| is_user(id)) {
            return None;
        }
        let kept = have.iter().copied().find(|id| is_user(id))?;
        let detail = format!(
            "had no user owner at the target time, but Graph does not let a group lose its last one: owner {kept} stays (remove it by hand once the group has another)"
        );
        self.notice(NoticeKind::NotRestorable, &w.key, name, detail);
        Some(kept)
    }

    /// Members Graph does not let Rewind write (a dynamic group's come from its rule, an
    /// Exchange-managed group's are changed in Exchange): said when they differ.
    fn member_notice(&mut self, w: &Wanted, live: &Value, desired: &Value, name: Option<&String>) {
        if ids(live, "members") == ids(desired, "members") {
            return;
        }
        let detail = if has_dynamic_members(w.key.kind, desired) {
            "members differ, but come from the group's membership rule: Rewind restores the rule, Entra recomputes the members"
        } else {
            "members differ, but this mail-enabled group's members are changed in Exchange Online (Add-DistributionGroupMember / Remove-DistributionGroupMember)"
        };
        self.notice(NoticeKind::NotRestorable, &w.key, name, detail.to_string());
    }

    fn link_step(
        &mut self,
        action: Action,
        w: &Wanted,
        name: Option<&String>,
        relation: &str,
        target: &str,
        reason: &str,
    ) {
        let mut step = Self::step(action, &w.key, name, reason);
        step.link = Some(Link { relation: (*relation).to_string(), target: target.to_string() });
        if let Some(k) = self.recreated.get(target) {
            step.remaps.push(Remap { path: "link".into(), from: target.to_string(), kind: k.kind });
        }
        self.push(step);
    }

    /// References in `body` to objects created anew.
    fn remaps(&self, kind: Kind, body: &Value) -> Vec<Remap> {
        references(kind, body)
            .into_iter()
            .filter_map(|r| {
                let k = self.recreated.get(&r.id)?;
                let fits = match r.target {
                    Target::Id(want) => want == k.kind,
                    Target::Principal => {
                        matches!(k.kind, Kind::User | Kind::Group | Kind::ServicePrincipal)
                    }
                    Target::RoleTemplate => k.kind == Kind::RoleDefinition,
                    Target::AppId => k.kind == Kind::Application,
                };
                fits.then_some(Remap { path: r.path, from: r.id, kind: k.kind })
            })
            .collect()
    }

    /// Each step waits for the steps that bring back what it names or links.
    fn link_dependencies(&mut self) {
        let by_id: BTreeMap<&str, usize> =
            self.primary.iter().map(|(k, i)| (key::own_id(&k.key), *i)).collect();
        let mut edges = Vec::new();
        for (i, node) in self.steps.iter().enumerate() {
            let s = &node.step;
            if !matches!(s.action, Action::Restore | Action::Create)
                && let Some(&p) = self.primary.get(&s.object())
            {
                edges.push((i, p));
            }
            if let Some(parent) = key::split(&s.id).0
                && let Some(&p) = by_id.get(parent)
            {
                edges.push((i, p));
            }
            let named = s
                .remaps
                .iter()
                .map(|r| r.from.as_str())
                .chain(s.link.iter().map(|l| l.target.as_str()));
            for id in named {
                // An appId names its application's step through the object it belongs to.
                let by_key = self.recreated.get(id).and_then(|k| self.primary.get(k));
                if let Some(&p) = by_key.or_else(|| by_id.get(id)) {
                    edges.push((i, p));
                }
            }
        }
        for (i, p) in edges {
            if i != p && !self.steps[i].after.contains(&p) {
                self.steps[i].after.push(p);
            }
        }
    }
}

/// Create body of a kind that is replaced, never updated: only what identifies the assignment.
fn replace_body(kind: Kind, desired: &Value) -> Value {
    let keep: &[&str] = match kind {
        Kind::RoleAssignment => {
            &["principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "condition"]
        }
        Kind::AppRoleAssignment => &["principalId", "resourceId", "appRoleId"],
        Kind::RoleEligibilitySchedule => {
            &["principalId", "roleDefinitionId", "directoryScopeId", "appScopeId", "scheduleInfo"]
        }
        _ => return create_body(kind, desired),
    };
    Value::Object(
        keep.iter().filter_map(|k| Some(((*k).to_string(), desired.get(*k)?.clone()))).collect(),
    )
}

fn singular(relation: &str) -> &str {
    relation.strip_suffix('s').unwrap_or(relation)
}

fn ids<'v>(v: &'v Value, property: &str) -> BTreeSet<&'v str> {
    v.get(property)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// A credential list's `keyId`s with a label (display name or hint).
fn key_ids<'v>(v: &'v Value, property: &str) -> BTreeMap<&'v str, &'v str> {
    v.get(property)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let id = c.get("keyId")?.as_str()?;
            let label = c
                .get("displayName")
                .or_else(|| c.get("hint"))
                .and_then(Value::as_str)
                .unwrap_or("");
            Some((id, label))
        })
        .collect()
}
