//! How people name points in time and objects on the command line (DESIGN §8): `T` is an
//! RFC 3339 time, a snapshot id, or a time ago (`90m`, `2h`, `3d`, `1w`); `OBJECT` is an id,
//! a display name, or either prefixed by a kind (`group/Finance`, `ca/Block legacy auth`).
//! Misses are answered with the closest names the store knows.

use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use rewind_model::{Actor, Kind};
use rewind_store::{ObjectKey, SnapshotId, SnapshotInfo, Store, StoreError, TenantInfo};

/// A point in time as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSpec {
    /// An instant.
    At(Timestamp),
    /// A snapshot by id.
    Snapshot(SnapshotId),
    /// So long before now.
    Ago(SignedDuration),
}

/// Which identity an `ACTOR` argument names among `seen`: by object id, application id or user
/// principal name (stable), else by display name — refused when two identities share it, since
/// an attacker can name an app like the real automation. `None` when none answers to it.
pub fn resolve_actor<'a>(
    given: &str,
    seen: impl IntoIterator<Item = &'a Actor>,
) -> Result<Option<Actor>, LocateError> {
    let seen: Vec<&Actor> = seen.into_iter().collect();
    let given = given.trim();
    let stable = |a: &&Actor| {
        [&a.id, &a.app_id, &a.user_principal_name]
            .into_iter()
            .flatten()
            .any(|i| i.eq_ignore_ascii_case(given))
    };
    let mut found: Vec<&Actor> = seen.iter().copied().filter(stable).collect();
    if found.is_empty() {
        found = seen.iter().copied().filter(|a| a.answers_to(given)).collect();
    }
    let mut distinct: Vec<&Actor> = Vec::new();
    for a in found {
        if !distinct.iter().any(|d| d.same_identity(a)) {
            distinct.push(a);
        }
    }
    match distinct.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(LocateError::AmbiguousActor {
            given: given.to_string(),
            candidates: many.iter().map(|a| describe_actor(a)).collect(),
        }),
    }
}

/// An identity in words: `servicePrincipal "Contoso Automation" (id …, app id …)`.
pub fn describe_actor(a: &Actor) -> String {
    let kind = serde_json::to_value(a.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut ids = Vec::new();
    if let Some(id) = &a.id {
        ids.push(format!("id {id}"));
    }
    if let Some(app) = &a.app_id {
        ids.push(format!("app id {app}"));
    }
    if let Some(upn) = &a.user_principal_name {
        ids.push(upn.clone());
    }
    format!("{kind} \"{}\" ({})", a.label(), ids.join(", "))
}

/// Why a time or object cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// `T` does not parse.
    #[error(
        "'{0}' is not a time: use an RFC 3339 time (2026-11-27T09:30:00Z), a date, a snapshot id (42) or a time ago (90m, 2h, 3d, 1w)"
    )]
    BadTime(String),
    /// A date and time without a UTC offset: which instant it means depends on a time zone
    /// Rewind cannot know, so it is refused rather than guessed.
    #[error(
        "'{0}' has no UTC offset, so it could be any time zone's: write {0}Z for UTC, or add the offset (as in {0}+01:00)"
    )]
    NoOffset(String),
    /// No snapshot at or before the time.
    #[error("no snapshot of tenant '{tenant}' at or before {when}{}", first_hint(.first.as_ref()))]
    NoSnapshot {
        /// The tenant.
        tenant: String,
        /// The time asked for.
        when: String,
        /// The first snapshot there is, if any.
        first: Option<(SnapshotId, Timestamp)>,
    },
    /// No snapshot has that id (forgotten, another tenant's, or never taken).
    #[error("tenant '{tenant}' has no snapshot {id}{}", nearest_hint(.nearest))]
    NoSuchSnapshot {
        /// The tenant.
        tenant: String,
        /// The id asked for.
        id: SnapshotId,
        /// The snapshots closest to it (before and after), with their times.
        nearest: Vec<(SnapshotId, Timestamp)>,
    },
    /// No object matches.
    #[error("no object '{given}' in tenant '{tenant}'{}", suggest(.suggestions))]
    NoObject {
        /// What was asked for.
        given: String,
        /// The tenant.
        tenant: String,
        /// Close names.
        suggestions: Vec<String>,
    },
    /// Several objects match.
    #[error("'{given}' names {} objects; say which: {}", .candidates.len(), .candidates.join(", "))]
    Ambiguous {
        /// What was asked for.
        given: String,
        /// `kind/id (name)` of each.
        candidates: Vec<String>,
    },
    /// A display name that several identities share.
    #[error("'{given}' is the name of {} different identities; name one by its id or application id: {}", .candidates.len(), .candidates.join("; "))]
    AmbiguousActor {
        /// What was asked for.
        given: String,
        /// Each identity, described.
        candidates: Vec<String>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn first_hint(first: Option<&(SnapshotId, Timestamp)>) -> String {
    match first {
        Some((id, at)) => format!("; the first is snapshot {id} at {at}"),
        None => "; run `rewind capture` first".into(),
    }
}

fn suggest(s: &[String]) -> String {
    if s.is_empty() { String::new() } else { format!("; did you mean {}?", s.join(", ")) }
}

/// `90m`, `2h`, `3d`, `1w`, `30s` in seconds.
fn seconds_of(t: &str) -> Option<i64> {
    let split = t.find(|c: char| !c.is_ascii_digit()).filter(|i| *i > 0)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().ok()?;
    let unit = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    Some(n.saturating_mul(unit))
}

/// A duration as flags spell it: `30s`, `5m`, `2h`, `1d`; more than zero.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    seconds_of(s.trim())
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n > 0)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| {
            format!("'{s}' is not a duration: use a number and a unit, like 30s, 5m or 1h")
        })
}

impl FromStr for TimeSpec {
    type Err = LocateError;

    fn from_str(s: &str) -> Result<TimeSpec, LocateError> {
        let t = s.trim();
        let bad = || LocateError::BadTime(s.to_string());
        if let Ok(id) = t.parse::<i64>() {
            return Ok(TimeSpec::Snapshot(SnapshotId(id)));
        }
        if let Some(secs) = seconds_of(t) {
            return Ok(TimeSpec::Ago(SignedDuration::from_secs(secs)));
        }
        if let Ok(at) = t.parse::<Timestamp>() {
            return Ok(TimeSpec::At(at));
        }
        // jiff reads the date of a date-time too; a time of day without an offset must not
        // quietly become the end of its day.
        if t.contains(['T', 't', ' ', ':']) {
            return Err(if t.parse::<jiff::civil::DateTime>().is_ok() {
                LocateError::NoOffset(t.to_string())
            } else {
                bad()
            });
        }
        if let Ok(date) = t.parse::<jiff::civil::Date>() {
            let end = date.at(23, 59, 59, 999_999_999);
            return end
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|z| TimeSpec::At(z.timestamp()))
                .map_err(|_| bad());
        }
        Err(bad())
    }
}

impl TimeSpec {
    /// The instant meant, given the time now (`None` for a snapshot id).
    pub fn instant(self, now: Timestamp) -> Option<Timestamp> {
        match self {
            TimeSpec::At(t) => Some(t),
            TimeSpec::Ago(d) => Some(now.saturating_sub(d).unwrap_or(now)),
            TimeSpec::Snapshot(_) => None,
        }
    }
}

/// The snapshot a time names: the last one taken at or before it, or the one with that id.
pub async fn snapshot_for(
    store: &Store,
    tenant: &TenantInfo,
    spec: TimeSpec,
    now: Timestamp,
) -> Result<SnapshotInfo, LocateError> {
    let found = match spec.instant(now) {
        Some(at) => store.snapshot_at(tenant, at).await?,
        None => match spec {
            TimeSpec::Snapshot(id) => store.snapshot(tenant, id).await?,
            _ => None,
        },
    };
    if let Some(s) = found {
        return Ok(s);
    }
    let all = store.snapshots(tenant).await?;
    if let TimeSpec::Snapshot(id) = spec {
        let before = all.iter().rev().find(|s| s.id < id);
        let after = all.iter().find(|s| s.id > id);
        return Err(LocateError::NoSuchSnapshot {
            tenant: tenant.name.clone(),
            id,
            nearest: before.into_iter().chain(after).map(|s| (s.id, s.taken_at)).collect(),
        });
    }
    let first = all.first().map(|s| (s.id, s.taken_at));
    let when = match spec {
        TimeSpec::Snapshot(id) => format!("snapshot {id}"),
        other => other.instant(now).map(|t| t.to_string()).unwrap_or_default(),
    };
    Err(LocateError::NoSnapshot { tenant: tenant.name.clone(), when, first })
}

fn nearest_hint(nearest: &[(SnapshotId, Timestamp)]) -> String {
    if nearest.is_empty() {
        return "; it has no snapshots yet".into();
    }
    let listed: Vec<String> =
        nearest.iter().map(|(id, t)| format!("snapshot {id} ({t})")).collect();
    format!("; the closest: {} (`rewind log` lists them all)", listed.join(", "))
}

/// The kind a command-line prefix names: a kind's name or a common short form.
pub fn kind_named(s: &str) -> Option<Kind> {
    let alias = match s.to_ascii_lowercase().as_str() {
        "ca" | "capolicy" | "policy" => Some(Kind::ConditionalAccessPolicy),
        "location" => Some(Kind::NamedLocation),
        "app" => Some(Kind::Application),
        "sp" => Some(Kind::ServicePrincipal),
        "au" => Some(Kind::AdministrativeUnit),
        "role" | "roledefinition" => Some(Kind::RoleDefinition),
        "roleassignment" => Some(Kind::RoleAssignment),
        _ => None,
    };
    alias.or_else(|| Kind::from_name(s))
}

/// The object `spec` names.
pub async fn resolve_object(
    store: &Store,
    tenant: &TenantInfo,
    spec: &str,
) -> Result<(ObjectKey, Option<String>), LocateError> {
    let (kind, rest) = match spec.split_once('/') {
        Some((k, rest)) if kind_named(k).is_some() => (kind_named(k), rest),
        _ => (None, spec),
    };
    let mut found = store.find_objects(tenant, kind, rest).await?;
    if rest.contains('@') && matches!(kind, None | Some(Kind::User)) {
        found = users_by_sign_in_name(store, tenant, kind, rest, found).await?;
    }
    if found.len() > 1 {
        // A key beats a name that happens to equal it.
        if let Some(exact) = found.iter().find(|(k, _)| k.key == rest).cloned() {
            found = vec![exact];
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let suggestions = store
                .names_like(tenant, rest, 5)
                .await?
                .into_iter()
                .map(|(k, n)| format!("{}/{n}", k.name()))
                .collect();
            Err(LocateError::NoObject {
                given: spec.to_string(),
                tenant: tenant.name.clone(),
                suggestions,
            })
        }
        _ => Err(LocateError::Ambiguous {
            given: spec.to_string(),
            candidates: found
                .iter()
                .map(|(k, n)| {
                    format!("{}/{} ({})", k.kind.name(), k.key, n.as_deref().unwrap_or("-"))
                })
                .collect(),
        }),
    }
}

/// A user principal name names the user. The only stored record named by it is the user's
/// authentication methods (kept for protected users), which stands for the user here; any
/// other user is found by reading the users of the latest snapshot.
async fn users_by_sign_in_name(
    store: &Store,
    tenant: &TenantInfo,
    kind: Option<Kind>,
    upn: &str,
    found: Vec<(ObjectKey, Option<String>)>,
) -> Result<Vec<(ObjectKey, Option<String>)>, LocateError> {
    let mut users: Vec<(ObjectKey, Option<String>)> = found
        .into_iter()
        .filter(|(k, _)| kind.is_none() || k.kind == Kind::User)
        .map(|(k, name)| match k.kind {
            Kind::UserAuthenticationMethods => (ObjectKey::new(Kind::User, k.key), name),
            _ => (k, name),
        })
        .collect();
    let latest = store.snapshots(tenant).await?.pop();
    if let Some(latest) = latest.filter(|_| !users.iter().any(|(k, _)| k.kind == Kind::User)) {
        for user in crate::access::users_by_upn(store, tenant, latest.id, &[upn]).await? {
            if let Some(id) = user.get("id").and_then(serde_json::Value::as_str) {
                let name = rewind_model::display_name(&user).map(str::to_string);
                users.push((ObjectKey::new(Kind::User, id), name));
            }
        }
    }
    users.sort();
    users.dedup_by(|a, b| a.0 == b.0);
    Ok(users)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_documented_form() {
        assert_eq!("42".parse::<TimeSpec>().unwrap(), TimeSpec::Snapshot(SnapshotId(42)));
        assert_eq!("2h".parse::<TimeSpec>().unwrap(), TimeSpec::Ago(SignedDuration::from_hours(2)));
        assert_eq!(
            "90m".parse::<TimeSpec>().unwrap(),
            TimeSpec::Ago(SignedDuration::from_mins(90))
        );
        assert_eq!(
            "1w".parse::<TimeSpec>().unwrap(),
            TimeSpec::Ago(SignedDuration::from_hours(168))
        );
        let at: Timestamp = "2026-11-27T09:30:00Z".parse().unwrap();
        assert_eq!("2026-11-27T09:30:00Z".parse::<TimeSpec>().unwrap(), TimeSpec::At(at));
        let end_of_day: Timestamp = "2026-11-27T23:59:59.999999999Z".parse().unwrap();
        assert_eq!("2026-11-27".parse::<TimeSpec>().unwrap(), TimeSpec::At(end_of_day));
        for local in ["2026-12-02T03:12:12", "2026-12-02 03:12", "2026-12-02t03:12:12.5"] {
            let err = local.parse::<TimeSpec>().unwrap_err();
            assert!(matches!(err, LocateError::NoOffset(_)), "{local}: {err}");
            assert!(err.to_string().contains(&format!("{local}Z")), "{err}");
        }
        assert!("2026-12-02T25:00".parse::<TimeSpec>().is_err());
        let err = "yesterday".parse::<TimeSpec>().unwrap_err().to_string();
        assert!(err.contains("RFC 3339") && err.contains("2h"), "{err}");
        assert!("3x".parse::<TimeSpec>().is_err());
    }

    #[test]
    fn kinds_have_short_names() {
        assert_eq!(kind_named("ca"), Some(Kind::ConditionalAccessPolicy));
        assert_eq!(kind_named("Group"), Some(Kind::Group));
        assert_eq!(kind_named("unifiedRoleAssignment"), Some(Kind::RoleAssignment));
        assert_eq!(kind_named("nope"), None);
    }
}
