//! Who changed something: an identity, as the directory audit log names it — a user, a service
//! principal (an app acting as itself), or Rewind's own write app — never only a display name,
//! which is neither stable nor unique (an attacker can name an app like the real automation).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What kind of identity made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActorKind {
    /// A user (delegated sign-in).
    User,
    /// A service principal: an application acting as itself.
    ServicePrincipal,
    /// An application known only by its application id.
    Application,
    /// Rewind's own write app, restoring.
    Rewind,
    /// Known by a name only (recorded before identities were kept).
    Unknown,
}

/// An identity that changed the tenant, with what the audit record said of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// What kind of identity.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// Its object id (the user's, or the service principal's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The application id, for apps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// The user principal name, for users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// The display name at the time of the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Actor {
    /// The initiator of a `directoryAudit` record (`initiatedBy.user` or `initiatedBy.app`);
    /// `None` when the record names neither.
    pub fn from_audit(record: &Value) -> Option<Actor> {
        let by = record.get("initiatedBy")?;
        let text = |v: &Value, k: &str| {
            v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
        };
        if let Some(user) = by.get("user").filter(|u| u.is_object()) {
            let actor = Actor {
                kind: ActorKind::User,
                id: text(user, "id"),
                app_id: None,
                user_principal_name: text(user, "userPrincipalName"),
                display_name: text(user, "displayName"),
            };
            if actor.is_named() {
                return Some(actor);
            }
        }
        let app = by.get("app").filter(|a| a.is_object())?;
        let id = text(app, "servicePrincipalId");
        let actor = Actor {
            kind: if id.is_some() { ActorKind::ServicePrincipal } else { ActorKind::Application },
            id,
            app_id: text(app, "appId"),
            user_principal_name: None,
            display_name: text(app, "displayName"),
        };
        actor.is_named().then_some(actor)
    }

    /// An actor known only by a name (history recorded before identities were kept).
    pub fn named(name: &str) -> Actor {
        Actor {
            kind: ActorKind::Unknown,
            id: None,
            app_id: None,
            user_principal_name: None,
            display_name: Some(name.to_string()),
        }
    }

    fn is_named(&self) -> bool {
        self.identifiers().next().is_some()
    }

    /// How it reads: the user principal name of a user, else the display name, else an id.
    pub fn label(&self) -> String {
        let name = match self.kind {
            ActorKind::User => self.user_principal_name.as_ref().or(self.display_name.as_ref()),
            _ => self.display_name.as_ref(),
        };
        name.or(self.app_id.as_ref())
            .or(self.id.as_ref())
            .cloned()
            .unwrap_or_else(|| "unknown".into())
    }

    /// A stable key for the identity: its object id, else its application id, else its user
    /// principal name, else (history from before identities were kept) its name, lowercased.
    pub fn key(&self) -> String {
        let tag = match self.kind {
            ActorKind::User => "user",
            ActorKind::ServicePrincipal | ActorKind::Rewind => "sp",
            ActorKind::Application => "app",
            ActorKind::Unknown => "name",
        };
        if let Some(id) = &self.id {
            return format!("{tag}:{}", id.to_lowercase());
        }
        if let Some(app) = &self.app_id {
            return format!("app:{}", app.to_lowercase());
        }
        if let Some(upn) = &self.user_principal_name {
            return format!("user:{}", upn.to_lowercase());
        }
        format!("name:{}", self.label().to_lowercase())
    }

    /// Every name it goes by: object id, application id, user principal name, display name.
    pub fn identifiers(&self) -> impl Iterator<Item = &str> {
        [&self.id, &self.app_id, &self.user_principal_name, &self.display_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Whether `given` names this actor: its object id, application id or user principal name
    /// (stable), or its display name (which another identity may share; see
    /// [`Actor::same_identity`]). Case does not matter.
    pub fn answers_to(&self, given: &str) -> bool {
        let given = given.trim();
        self.identifiers().any(|i| i.eq_ignore_ascii_case(given))
    }

    /// Whether two records name the same identity: by object id, else application id, else
    /// user principal name; a name-only actor is the same as another only by name.
    pub fn same_identity(&self, other: &Actor) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
        if self.id.is_some() && other.id.is_some() {
            return eq(&self.id, &other.id);
        }
        if self.app_id.is_some() && other.app_id.is_some() {
            return eq(&self.app_id, &other.app_id);
        }
        if self.user_principal_name.is_some() && other.user_principal_name.is_some() {
            return eq(&self.user_principal_name, &other.user_principal_name);
        }
        eq(&self.display_name, &other.display_name)
    }
}

/// Parses a stored list of actors: identity objects, or (history written before identities
/// were kept) plain names.
pub fn parse_actors(value: &Value) -> Option<Vec<Actor>> {
    value
        .as_array()?
        .iter()
        .map(|v| match v {
            Value::String(name) => Some(Actor::named(name)),
            other => serde_json::from_value(other.clone()).ok(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn apps_and_users_are_identities_and_answer_to_every_identifier() {
        let app = Actor::from_audit(&json!({"initiatedBy": {"user": null, "app": {
            "appId": "a1", "displayName": "Contoso Automation", "servicePrincipalId": "sp1"}}}))
        .unwrap();
        assert_eq!(app.kind, ActorKind::ServicePrincipal);
        assert_eq!(app.label(), "Contoso Automation");
        for given in ["a1", "SP1", "contoso automation"] {
            assert!(app.answers_to(given), "{given}");
        }
        let user = Actor::from_audit(&json!({"initiatedBy": {"app": null, "user": {
            "id": "u1", "displayName": "Adele", "userPrincipalName": "adele@contoso.com"}}}))
        .unwrap();
        assert_eq!(user.label(), "adele@contoso.com");
        assert!(Actor::from_audit(&json!({"initiatedBy": {"user": null, "app": null}})).is_none());
    }

    #[test]
    fn a_shared_display_name_is_not_the_same_identity() {
        let real = Actor {
            kind: ActorKind::ServicePrincipal,
            id: Some("sp1".into()),
            app_id: Some("a1".into()),
            user_principal_name: None,
            display_name: Some("Contoso Automation".into()),
        };
        let impostor = Actor { id: Some("sp2".into()), app_id: Some("a2".into()), ..real.clone() };
        assert!(!real.same_identity(&impostor));
        assert!(real.same_identity(&real.clone()));
        assert!(Actor::named("x").same_identity(&Actor::named("X")));
    }

    #[test]
    fn stored_lists_old_and_new_parse() {
        let list = parse_actors(&json!(["HR Sync", {"type": "user", "id": "u1"}])).unwrap();
        assert_eq!(list[0], Actor::named("HR Sync"));
        assert_eq!(list[1].kind, ActorKind::User);
        assert!(parse_actors(&json!({"not": "a list"})).is_none());
    }
}
