//! Delta queries (`GET /users/delta` and friends), answered from the tenant's change journal.
//!
//! A round starts at a journal position: the initial round lists every live object, a later
//! round every object the journal shows changed since the position in the delta token. Pages
//! are chained with `$skiptoken`; the last page carries `@odata.deltaLink` with the position the
//! round started at, so a change made while paging shows up (again) in the next round — Graph
//! allows such replays. Removed objects carry `@removed` with reason `changed` while they are in
//! the recycle bin and `deleted` once they are gone. Groups and administrative units carry
//! `members@delta`, groups `owners@delta` when asked.
//!
//! `Prefer: odata.maxpagesize` is a hint, as on Graph: a page holds at most [`MAX_OBJECTS`]
//! objects and [`MAX_LINKS`] links, so a large group comes in slices, the same group on several
//! pages each with part of its `members@delta` (graph-api.md §6.1: "merge by id").

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Ctx;
use super::render::render_selected;
use crate::error::GraphError;
use crate::query::{self, collection, context};
use crate::resource::Coll;
use crate::tenant::Tenant;
use crate::wire::GraphResponse;

/// Directory delta tokens expire after seven days.
const TOKEN_DAYS: i64 = 7;
const DEFAULT_PAGE: usize = 100;
/// The most objects a delta page holds whatever the client prefers: Microsoft's answer on the
/// directory's `odata.maxpagesize` ("200 for objects, such as users and contacts … even if a
/// higher value is specified, the API will cap the page size", Microsoft Q&A 2052165).
const MAX_OBJECTS: usize = 200;
/// The most links (`members@delta` and `owners@delta` entries) a delta page holds: "500 for
/// directory link objects (group members, for example)" (the same answer). A group with more
/// continues on the next page.
const MAX_LINKS: usize = 500;

/// Per group, the members added (`true`) or removed (`false`) in a round.
type MemberChanges = BTreeMap<String, Vec<(String, bool)>>;

/// A round's link changes per group: members, and owners.
#[derive(Default)]
struct LinkChanges {
    members: MemberChanges,
    owners: MemberChanges,
}

/// The state carried by `$deltatoken` and `$skiptoken`.
#[derive(Debug, Serialize, Deserialize)]
struct DeltaState {
    coll: Coll,
    /// Changes after this journal position are reported (0 = initial round).
    since: u64,
    /// The journal position when the round began.
    upto: u64,
    /// When the token was issued (Unix seconds), for expiry.
    issued: i64,
    select: Option<Vec<String>>,
    /// Where the next page starts: this object, from this many of its links on.
    #[serde(default)]
    resume: Option<(String, usize)>,
    initial: bool,
}

pub(crate) fn delta(
    t: &mut Tenant,
    ctx: &Ctx<'_>,
    coll: Coll,
) -> Result<GraphResponse, GraphError> {
    let q = &ctx.query;
    let state = match (&q.deltatoken, &q.skiptoken) {
        (Some(tok), _) if tok == "latest" => return Ok(latest(t, ctx, coll)),
        (Some(tok), _) => resumed(t, ctx, coll, tok)?,
        (None, Some(tok)) => query::decode_token::<DeltaState>(tok)?,
        (None, None) => {
            q.check_properties(coll.entity_type(), &["members", "owners"])?;
            DeltaState {
                coll,
                since: 0,
                upto: settled(t, coll, 0),
                issued: t.now().as_second(),
                select: q.select.clone(),
                resume: None,
                initial: true,
            }
        }
    };
    if state.coll != coll {
        return Err(GraphError::bad_request("The token belongs to another resource."));
    }
    Ok(page(t, ctx, state))
}

fn latest(t: &Tenant, ctx: &Ctx<'_>, coll: Coll) -> GraphResponse {
    let state = DeltaState {
        coll,
        since: t.seq,
        upto: t.seq,
        issued: t.now().as_second(),
        select: ctx.query.select.clone(),
        resume: None,
        initial: false,
    };
    let mut body =
        collection(context(ctx.base_url, coll.context_path(), None, false), Vec::new(), None, None);
    body["@odata.deltaLink"] = Value::String(delta_link(ctx, coll, &state));
    GraphResponse::json(200, body)
}

fn resumed(t: &Tenant, ctx: &Ctx<'_>, coll: Coll, tok: &str) -> Result<DeltaState, GraphError> {
    let prev: DeltaState = query::decode_token(tok)?;
    let age = t.now().as_second() - prev.issued;
    if age > SignedDuration::from_hours(24 * TOKEN_DAYS).as_secs() || prev.upto > t.seq {
        return Err(expired(t, ctx, coll));
    }
    Ok(DeltaState {
        coll,
        since: prev.upto,
        upto: settled(t, coll, prev.upto),
        issued: t.now().as_second(),
        select: prev.select,
        resume: None,
        initial: false,
    })
}

/// The answer to an expired delta token. Graph documents two: `410 Gone` with a `Location` to
/// start again from (delta-query-overview.md, "resync"), and "a 40X-series error with error
/// codes such as `syncStateNotFound`" for a token past its lifetime (the same page, "token
/// duration"). Which one a tenant gives is fixed by its seed, so a client must handle both.
fn expired(t: &Tenant, ctx: &Ctx<'_>, coll: Coll) -> GraphError {
    if t.signing_key[0] & 1 == 0 {
        let fresh = format!("{}/v1.0/{}/delta", ctx.base_url, coll.context_path());
        GraphError::new(
            410,
            "resyncRequired",
            "The delta token has expired or is no longer valid. Start a full synchronization from the URL in the Location header.",
        )
        .with_header("Location", fresh)
    } else {
        GraphError::new(
            400,
            "syncStateNotFound",
            "The sync state generation is not found. Delta token is expired or is invalid.",
        )
    }
}

/// The journal position a round can report up to: just before the first change to an object
/// that is still replicating, so that the change is reported in a later round instead of lost.
fn settled(t: &Tenant, coll: Coll, since: u64) -> u64 {
    if t.faults.replication_lag_ms == 0 {
        return t.seq;
    }
    let start = t.journal.partition_point(|c| c.seq <= since);
    t.journal[start..]
        .iter()
        .find(|c| c.coll == coll && t.is_lagging(&c.id))
        .map_or(t.seq, |c| c.seq - 1)
}

fn page_size(ctx: &Ctx<'_>) -> usize {
    ctx.req
        .header("prefer")
        .and_then(|p| p.split(',').find_map(|part| part.trim().strip_prefix("odata.maxpagesize=")))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(DEFAULT_PAGE, |n| n.clamp(1, MAX_OBJECTS))
}

fn page(t: &Tenant, ctx: &Ctx<'_>, mut state: DeltaState) -> GraphResponse {
    let size = page_size(ctx);
    let (lower, offset) = match state.resume.take() {
        Some((id, offset)) => (Bound::Included(id), offset),
        None => (Bound::Unbounded, 0),
    };
    let changed;
    let link_changes;
    let candidates: Box<dyn Iterator<Item = &String>> = if state.initial {
        link_changes = LinkChanges::default();
        Box::new(
            t.coll(state.coll)
                .range::<String, _>((lower, Bound::Unbounded))
                .filter(|(k, _)| !t.is_lagging(k))
                .map(|(k, _)| k),
        )
    } else {
        let tracks_owners = selects(&state, "owners") && state.select.is_some();
        (changed, link_changes) =
            changes_between(t, state.coll, state.since, state.upto, tracks_owners);
        Box::new(changed.range::<String, _>((lower, Bound::Unbounded)))
    };
    let mut items = Vec::new();
    let mut links_left = MAX_LINKS;
    for id in candidates {
        let from = if items.is_empty() { offset } else { 0 };
        let links = tracked_links(t, &state, id, &link_changes);
        let remaining = links_total(&links).saturating_sub(from);
        if items.len() == size || (remaining > 0 && links_left == 0) {
            state.resume = Some((id.clone(), from));
            break;
        }
        let taken = remaining.min(links_left);
        items.push(entry(t, ctx, &state, id, &links, from..from + taken));
        links_left -= taken;
        if taken < remaining {
            state.resume = Some((id.clone(), from + taken));
            break;
        }
    }
    let more = state.resume.is_some();
    let mut body = collection(
        context(ctx.base_url, state.coll.context_path(), state.select.as_deref(), false),
        items,
        None,
        None,
    );
    if more {
        let link = format!(
            "{}/v1.0/{}/delta?$skiptoken={}",
            ctx.base_url,
            state.coll.context_path(),
            query::encode_token(&state)
        );
        body["@odata.nextLink"] = Value::String(link);
    } else {
        body["@odata.deltaLink"] = Value::String(delta_link(ctx, state.coll, &state));
    }
    GraphResponse::json(200, body)
}

/// A round's links of one object, per annotation: the other end and whether it was added.
type Links<'t> = Vec<(&'static str, Vec<(&'t str, bool)>)>;

fn links_total(links: &Links<'_>) -> usize {
    links.iter().map(|(_, l)| l.len()).sum()
}

fn delta_link(ctx: &Ctx<'_>, coll: Coll, state: &DeltaState) -> String {
    let next = DeltaState {
        coll,
        since: state.upto,
        upto: state.upto,
        issued: state.issued,
        select: state.select.clone(),
        resume: None,
        initial: false,
    };
    format!(
        "{}/v1.0/{}/delta?$deltatoken={}",
        ctx.base_url,
        coll.context_path(),
        query::encode_token(&next)
    )
}

/// Whether the round asked for `property` (no `$select` asks for the default set).
fn selects(state: &DeltaState, property: &str) -> bool {
    state.select.as_ref().is_none_or(|s| s.iter().any(|x| x == property))
}

/// Objects changed in `(since, upto]`, and per group the net member (and, when the round
/// tracks them, owner) changes. An owner change alone does not report a group to a round that
/// does not select owners: Graph tracks owners only when asked.
fn changes_between(
    t: &Tenant,
    coll: Coll,
    since: u64,
    upto: u64,
    owners: bool,
) -> (BTreeSet<String>, LinkChanges) {
    let start = t.journal.partition_point(|c| c.seq <= since);
    let mut ids = BTreeSet::new();
    let mut members: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    let mut owned: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
    for c in t.journal[start..]
        .iter()
        .take_while(|c| c.seq <= upto)
        .filter(|c| c.coll == coll && (owners || !c.owners))
    {
        ids.insert(c.id.clone());
        if let Some((other, added)) = &c.link {
            let map = if c.owners { &mut owned } else { &mut members };
            map.entry(c.id.clone()).or_default().insert(other.clone(), *added);
        }
    }
    let flat = |m: BTreeMap<String, BTreeMap<String, bool>>| {
        m.into_iter().map(|(g, m)| (g, m.into_iter().collect())).collect()
    };
    (ids, LinkChanges { members: flat(members), owners: flat(owned) })
}

/// The links a round reports for an object, in page order: a group's and an administrative
/// unit's members come by default, a group's owners only when selected (group-delta.md:
/// "owners" can be tracked by including it in `$select`; administrativeunit-delta.md's
/// example carries `members@delta`). All of them in an initial round, the net changes later.
fn tracked_links<'t>(
    t: &'t Tenant,
    state: &DeltaState,
    id: &str,
    link_changes: &'t LinkChanges,
) -> Links<'t> {
    use crate::route::LinkKind;
    let owners_too = state.coll == Coll::Groups && state.select.is_some();
    let tracked = [
        ("members", LinkKind::Members, &link_changes.members, true),
        ("owners", LinkKind::Owners, &link_changes.owners, owners_too),
    ];
    if !matches!(state.coll, Coll::Groups | Coll::AdministrativeUnits) {
        return Vec::new();
    }
    tracked
        .into_iter()
        .filter(|(name, _, _, wanted)| *wanted && selects(state, name))
        .map(|(name, kind, changes, _)| {
            let links: Vec<(&str, bool)> = if state.initial {
                t.link_set(kind, id).into_iter().flatten().map(|m| (m.as_str(), true)).collect()
            } else {
                changes
                    .get(id)
                    .into_iter()
                    .flatten()
                    .map(|(m, added)| (m.as_str(), *added))
                    .collect()
            };
            (name, links)
        })
        .collect()
}

/// One object as a delta item, with the slice `part` of its links (counted across all of them,
/// members first): an object whose links do not fit on a page appears again on the next.
fn entry(
    t: &Tenant,
    ctx: &Ctx<'_>,
    state: &DeltaState,
    id: &str,
    links: &Links<'_>,
    part: std::ops::Range<usize>,
) -> Value {
    let Some(obj) = t.get(state.coll, id) else {
        let reason = if t.recycle_bin.contains_key(id) { "changed" } else { "deleted" };
        return json!({ "id": id, "@removed": { "reason": reason } });
    };
    let select = state.select.clone().or_else(|| state.coll.default_selection());
    let mut out: Map<String, Value> = render_selected(t, ctx, state.coll, obj, select.as_deref());
    if !out.contains_key("id") {
        out.insert("id".into(), Value::String(id.to_string()));
    }
    let mut start = 0;
    for (name, all) in links {
        let end = start + all.len();
        let lo = part.start.clamp(start, end) - start;
        let hi = part.end.clamp(start, end) - start;
        start = end;
        // An initial round says "no links" on an object's first appearance; later slices and
        // rounds name only what they carry.
        if lo < hi || (state.initial && part.start == 0) {
            let slice = all[lo..hi].iter().map(|(m, added)| member_ref(t, m, *added));
            out.insert(format!("{name}@delta"), slice.collect());
        }
    }
    Value::Object(out)
}

/// A link as `members@delta` carries it; a removed one with `@removed`.
fn member_ref(t: &Tenant, member: &str, added: bool) -> Value {
    let ty = t.directory_object(member).map_or("user", |(c, _)| c.entity_type());
    let mut v = json!({ "@odata.type": format!("#microsoft.graph.{ty}"), "id": member });
    if !added {
        v["@removed"] = json!({ "reason": "deleted" });
    }
    v
}
