//! The authentication methods of protected principals — break-glass accounts and users with
//! an active or PIM-eligible Global or Privileged Role Administrator assignment — read after
//! everything else, so the lockout analysis knows whether they can meet the controls asked
//! of them. Only those principals: methods are personal data, and reading them for a whole
//! tenant would cost a request per user.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt as _;
use rewind_model::{ContentHash, Kind};
use rewind_msgraph::protocol::FailureKind;
use rewind_msgraph::{ClientError, GraphClient};
use rewind_policy::User;
use rewind_store::{Manifest, ObjectKey, Store, TenantInfo};
use serde_json::{Map, Value, json};

use super::assemble::{self, Observed};
use super::{CaptureError, FailureClass, class_of};
use crate::names;

/// Properties of a method that are kept: what it is, never secrets or phone numbers.
const KEPT: &[&str] = &[
    "@odata.type",
    "id",
    "displayName",
    "createdDateTime",
    "phoneType",
    "isUsableOnce",
    "isUsable",
    "model",
    "aaGuid",
];

/// The state of `kind` after this capture: what was read over what the last snapshot had.
fn state_of(
    kind: Kind,
    base: &Manifest,
    observed: &BTreeMap<Kind, Observed>,
) -> BTreeMap<String, ContentHash> {
    let seen = observed.get(&kind);
    let mut out: BTreeMap<String, ContentHash> = if seen.is_some_and(|s| s.complete) {
        BTreeMap::new()
    } else {
        base.range(ObjectKey::new(kind, "")..)
            .take_while(|(k, _)| k.kind == kind)
            .map(|(k, h)| (k.key.clone(), *h))
            .collect()
    };
    if let Some(s) = seen {
        for r in &s.removed {
            out.remove(r);
        }
        out.extend(s.entries.iter().map(|(k, e)| (k.clone(), e.hash)));
    }
    out
}

async fn values(
    store: &Store,
    state: &BTreeMap<String, ContentHash>,
    keys: impl IntoIterator<Item = &String>,
) -> Result<Vec<(String, Value)>, CaptureError> {
    let wanted: Vec<(String, ContentHash)> =
        keys.into_iter().filter_map(|k| state.get(k).map(|h| (k.clone(), *h))).collect();
    let hashes: Vec<ContentHash> = wanted.iter().map(|(_, h)| *h).collect();
    let loaded = names::load(store, &hashes).await?;
    Ok(wanted.into_iter().filter_map(|(k, h)| loaded.get(&h).cloned().map(|v| (k, v))).collect())
}

/// Who is protected in the state after this capture: user id → user principal name.
async fn protected(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    base: &Manifest,
    observed: &BTreeMap<Kind, Observed>,
    break_glass: &[String],
) -> Result<BTreeMap<String, String>, CaptureError> {
    let users = state_of(Kind::User, base, observed);
    let mut ids = administrators(store, base, observed, &users).await?;
    if break_glass.is_empty() {
        ids.extend(named_break_glass(store, tenant, observed, &users).await?);
    } else {
        ids.extend(configured_break_glass(client, &users, break_glass).await);
    }
    let named = values(store, &users, ids.iter()).await?;
    let upn = |(k, v): (String, Value)| {
        let upn = v.get("userPrincipalName").and_then(Value::as_str).unwrap_or(&k).to_string();
        (k, upn)
    };
    Ok(named.into_iter().map(upn).collect())
}

/// The users who hold an administrator role, active or PIM-eligible (an eligible one
/// activates with MFA), directly or through role-assignable (nested) groups.
async fn administrators(
    store: &Store,
    base: &Manifest,
    observed: &BTreeMap<Kind, Observed>,
    users: &BTreeMap<String, ContentHash>,
) -> Result<BTreeSet<String>, CaptureError> {
    let groups = state_of(Kind::Group, base, observed);
    let mut queue: Vec<String> = Vec::new();
    for kind in [Kind::RoleAssignment, Kind::RoleEligibilitySchedule] {
        let assignments = state_of(kind, base, observed);
        let principals = values(store, &assignments, assignments.keys()).await?.into_iter();
        queue.extend(
            principals
                .filter_map(|(_, a)| rewind_policy::protected_principal(&a).map(str::to_string)),
        );
    }
    let (mut ids, mut seen) = (BTreeSet::new(), BTreeSet::new());
    while !queue.is_empty() {
        let level: Vec<String> = queue.drain(..).filter(|p| seen.insert(p.clone())).collect();
        ids.extend(level.iter().filter(|p| users.contains_key(*p)).cloned());
        let nested: Vec<&String> = level.iter().filter(|p| groups.contains_key(*p)).collect();
        for (_, g) in values(store, &groups, nested).await? {
            let members = g.get("members").and_then(Value::as_array).into_iter().flatten();
            queue.extend(members.filter_map(Value::as_str).map(str::to_string));
        }
    }
    Ok(ids)
}

/// With no break-glass accounts configured: the users whose names say they are.
async fn named_break_glass(
    store: &Store,
    tenant: &TenantInfo,
    observed: &BTreeMap<Kind, Observed>,
    users: &BTreeMap<String, ContentHash>,
) -> Result<Vec<String>, CaptureError> {
    let words = rewind_policy::BREAK_GLASS_WORDS;
    let stored = store.keys_named_like(tenant, Kind::User, words).await?;
    let mut candidates: BTreeSet<String> = stored.into_iter().collect();
    // Names read by this capture are not in the store yet.
    let named = |n: &str| words.iter().any(|w| n.to_lowercase().contains(w));
    if let Some(o) = observed.get(&Kind::User) {
        let read = o.entries.iter().filter(|(_, e)| e.name.as_deref().is_some_and(named));
        candidates.extend(read.map(|(k, _)| k.clone()));
    }
    let mut found = Vec::new();
    for (key, mut v) in values(store, users, candidates.iter()).await? {
        v["id"] = Value::String(key.clone());
        if User::from_graph(&v).is_some_and(|u| rewind_policy::break_glass_by_name(&u).is_some()) {
            found.push(key);
        }
    }
    Ok(found)
}

/// The configured break-glass accounts, by object id or (asked of Graph) user principal name.
async fn configured_break_glass(
    client: &GraphClient,
    users: &BTreeMap<String, ContentHash>,
    break_glass: &[String],
) -> Vec<String> {
    let mut found = Vec::new();
    for b in break_glass {
        if users.contains_key(b) {
            found.push(b.clone());
        } else if let Ok(u) = client.get(&format!("/users/{b}?$select=id")).await
            && let Some(id) = u.get("id").and_then(Value::as_str)
            && users.contains_key(id)
        {
            found.push(id.to_string());
        }
    }
    found
}

fn kept(method: &Value) -> Value {
    let mut out = Map::new();
    for k in KEPT {
        if let Some(v) = method.get(*k).filter(|v| !v.is_null()) {
            out.insert((*k).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// Reads the methods of every protected principal. Without the permission to read them, the
/// capture goes on and says so; the lockout analysis then treats the methods as unknown.
pub(super) async fn read_methods(
    client: &GraphClient,
    store: &Store,
    tenant: &TenantInfo,
    base: &Manifest,
    observed: &BTreeMap<Kind, Observed>,
    break_glass: &[String],
) -> Result<(Observed, Option<String>), CaptureError> {
    let kind = Kind::UserAuthenticationMethods;
    let people = protected(client, store, tenant, base, observed, break_glass).await?;
    let mut seen = Observed { complete: true, ..Observed::default() };
    let mut blobs = Vec::new();
    for (id, upn, read) in fetch_methods(client, &people).await {
        let methods = match read {
            Ok(m) => m,
            Err(e) if class_of(&e) == FailureClass::Permission => {
                return Ok((Observed::default(), Some(not_permitted(&e))));
            }
            // Deleted since the users were read: the next capture sees it gone.
            Err(ClientError::Graph(f)) if f.kind() == FailureKind::NotFound => continue,
            Err(e) => return Err(graph_error(kind, e)),
        };
        let built = methods_of(id, upn, &methods);
        let hash = built.canonical.hash();
        if base.get(&ObjectKey::new(kind, id.as_str())) != Some(&hash) {
            blobs.push((hash, built.canonical.bytes().to_vec()));
        }
        seen.entries.insert(built.key, assemble::Entry { hash, name: built.name });
    }
    store.put_blobs(&blobs).await?;
    Ok((seen, None))
}

/// Each person's registered methods, as many at a time as the client sends: a tenant may
/// have hundreds of administrators.
async fn fetch_methods<'p>(
    client: &GraphClient,
    people: &'p BTreeMap<String, String>,
) -> Vec<(&'p String, &'p String, Result<Vec<Value>, ClientError>)> {
    let reads = people.iter().map(|(id, upn)| async move {
        (id, upn, client.list(&format!("/users/{id}/authentication/methods")).await)
    });
    futures_util::stream::iter(reads).buffer_unordered(client.concurrency().max(1)).collect().await
}

/// One person's methods as the object Rewind keeps: the kept properties, in a stable order,
/// named by the user principal name.
fn methods_of(id: &str, upn: &str, methods: &[Value]) -> assemble::Built {
    let mut list: Vec<Value> = methods.iter().map(kept).collect();
    list.sort_by_key(|m| {
        (m.get("@odata.type").map(Value::to_string), m.get("id").map(Value::to_string))
    });
    let kind = Kind::UserAuthenticationMethods;
    let mut built = assemble::build(kind, id.to_string(), &json!({"methods": list}));
    built.name = Some(upn.to_string());
    built
}

fn not_permitted(e: &ClientError) -> String {
    format!(
        "the authentication methods of protected principals were not read ({e}); grant UserAuthenticationMethod.Read.All so the lockout analysis can tell whether they can meet MFA"
    )
}

fn graph_error(kind: Kind, e: ClientError) -> CaptureError {
    CaptureError::Graph {
        what: format!("{} ({})", kind.name(), kind.graph_path()),
        permission: "UserAuthenticationMethod.Read.All",
        source: Box::new(e),
    }
}
