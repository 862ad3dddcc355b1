//! Directory audit records: who did what to which objects, read with each capture and linked
//! to the changes they explain.

use std::collections::BTreeSet;

use jiff::Timestamp;
use rewind_store::{AuditEntry, VersionChange};
use serde_json::Value;

/// Reads one `directoryAudit` record; `None` when it lacks an id or a parsable time.
pub(crate) fn entry(raw: Value) -> Option<AuditEntry> {
    let record_id = raw.get("id")?.as_str()?.to_string();
    let activity_time: Timestamp = raw.get("activityDateTime")?.as_str()?.parse().ok()?;
    let activity = raw
        .get("activityDisplayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let targets = raw
        .get("targetResources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("id").and_then(Value::as_str).map(str::to_string))
        .collect();
    Some(AuditEntry {
        record_id,
        activity_time,
        activity,
        actor: actor(&raw),
        targets,
        raw,
    })
}

/// Who initiated a record: a user's principal name, or an app's display name.
pub(crate) fn actor(raw: &Value) -> String {
    let by = raw.get("initiatedBy");
    let text = |v: Option<&Value>, k: &str| {
        v.and_then(|x| x.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let user = by.and_then(|b| b.get("user")).filter(|u| !u.is_null());
    let app = by.and_then(|b| b.get("app")).filter(|a| !a.is_null());
    text(user, "userPrincipalName")
        .or_else(|| text(user, "displayName"))
        .or_else(|| text(app, "displayName"))
        .or_else(|| text(app, "appId"))
        .unwrap_or_else(|| "unknown".into())
}

/// Sets each change's actors to the initiators of the records that name its object (for a
/// contained object, its own id or its parent's).
pub(crate) fn attribute(changes: &mut [VersionChange], records: &[AuditEntry]) {
    for c in changes.iter_mut() {
        let ids: Vec<&str> = c.object.key.split('/').collect();
        let actors: BTreeSet<&str> = records
            .iter()
            .filter(|r| r.targets.iter().any(|t| ids.contains(&t.as_str())))
            .map(|r| r.actor.as_str())
            .collect();
        c.actors = actors.into_iter().map(str::to_string).collect();
    }
}

#[cfg(test)]
mod tests {
    use rewind_model::Kind;
    use rewind_store::{Change, ObjectKey};
    use serde_json::json;

    use super::*;

    #[test]
    fn records_name_users_or_apps_and_link_to_changes() {
        let by_user = entry(
            json!({"id": "r1", "activityDateTime": "2026-11-28T01:00:00Z",
            "activityDisplayName": "Update user", "initiatedBy": {"app": null,
            "user": {"userPrincipalName": "admin@contoso.com"}},
            "targetResources": [{"id": "u1"}]}),
        )
        .unwrap();
        let by_app = entry(
            json!({"id": "r2", "activityDateTime": "2026-11-28T01:00:01Z",
            "initiatedBy": {"user": null, "app": {"displayName": "HR Sync"}},
            "targetResources": [{"id": "app1"}]}),
        )
        .unwrap();
        assert_eq!(
            (by_user.actor.as_str(), by_app.actor.as_str()),
            ("admin@contoso.com", "HR Sync")
        );
        assert!(entry(json!({"id": "r3"})).is_none());
        let change = |kind, key: &str| VersionChange {
            object: ObjectKey::new(kind, key),
            hash: None,
            name: None,
            change: Change::Deleted,
            actors: vec![],
        };
        let mut cs = vec![
            change(Kind::User, "u1"),
            change(Kind::FederatedIdentityCredential, "app1/f1"),
            change(Kind::User, "u2"),
        ];
        attribute(&mut cs, &[by_user, by_app]);
        assert_eq!(cs[0].actors, ["admin@contoso.com"]);
        assert_eq!(cs[1].actors, ["HR Sync"]);
        assert!(cs[2].actors.is_empty());
    }
}
