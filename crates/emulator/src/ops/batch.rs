//! JSON batching (`POST /$batch`): at most 20 requests, unique ids, `dependsOn` ordering with
//! 424 for dependents of a failed request, and responses in no particular order — Graph does
//! not promise one, so the emulator shuffles them to keep clients honest.

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};

use super::Ctx;
use crate::error::GraphError;
use crate::tenant::Tenant;
use crate::wire::{Body, GraphRequest, GraphResponse, Method};

/// Graph's limit on requests per batch.
pub(crate) const MAX_BATCH: usize = 20;

struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::new(400, "BadRequest", message)
}

fn parse_item(v: &Value, index: usize) -> Result<Item, GraphError> {
    let o = v.as_object().ok_or_else(|| bad(format!("requests[{index}] must be an object.")))?;
    let field = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let id = field("id").ok_or_else(|| bad(format!("requests[{index}].id is required.")))?;
    let method = field("method")
        .and_then(|m| Method::parse(&m))
        .ok_or_else(|| bad(format!("requests[{index}].method is missing or not supported.")))?;
    let url = field("url").ok_or_else(|| bad(format!("requests[{index}].url is required.")))?;
    if url.starts_with("http") {
        return Err(bad(format!(
            "requests[{index}].url must be relative to the version root, e.g. '/users'."
        )));
    }
    let headers: Vec<(String, String)> = o
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let body = o.get("body").cloned().filter(|b| !b.is_null());
    if body.is_some() && !headers.iter().any(|(k, _)| k == "content-type") {
        return Err(bad(format!(
            "requests[{index}] has a body, so its headers must include Content-Type."
        )));
    }
    let depends_on = o
        .get("dependsOn")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Item { id, method, url, headers, body, depends_on })
}

fn parse(body: &Map<String, Value>) -> Result<Vec<Item>, GraphError> {
    let reqs = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("The batch body needs a 'requests' array."))?;
    if reqs.is_empty() {
        return Err(bad("The batch contains no requests."));
    }
    if reqs.len() > MAX_BATCH {
        return Err(bad(format!(
            "The batch contains {} requests; the maximum is {MAX_BATCH}.",
            reqs.len()
        )));
    }
    let items: Vec<Item> =
        reqs.iter().enumerate().map(|(i, v)| parse_item(v, i)).collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for it in &items {
        if !seen.insert(it.id.to_ascii_lowercase()) {
            return Err(bad(format!("Batch request ids must be unique; '{}' repeats.", it.id)));
        }
    }
    for it in &items {
        for d in &it.depends_on {
            if !seen.contains(&d.to_ascii_lowercase()) || d.eq_ignore_ascii_case(&it.id) {
                return Err(bad(format!(
                    "Request '{}' depends on '{d}', which is not an earlier request of this batch.",
                    it.id
                )));
            }
        }
    }
    Ok(items)
}

/// Orders items so that each comes after its dependencies; a cycle is an error.
fn order(items: &[Item]) -> Result<Vec<usize>, GraphError> {
    let index: HashMap<String, usize> =
        items.iter().enumerate().map(|(i, it)| (it.id.to_ascii_lowercase(), i)).collect();
    let mut done = vec![false; items.len()];
    let mut out = Vec::new();
    while out.len() < items.len() {
        let before = out.len();
        for (i, it) in items.iter().enumerate() {
            if !done[i]
                && it
                    .depends_on
                    .iter()
                    .all(|d| index.get(&d.to_ascii_lowercase()).is_some_and(|j| done[*j]))
            {
                done[i] = true;
                out.push(i);
            }
        }
        if out.len() == before {
            return Err(bad("The dependsOn relations of the batch form a cycle."));
        }
    }
    Ok(out)
}

pub(crate) fn run(t: &mut Tenant, ctx: &Ctx<'_>) -> Result<GraphResponse, GraphError> {
    if ctx.depth > 0 {
        return Err(bad("A batch cannot contain another batch."));
    }
    let items = parse(&ctx.body_object()?)?;
    let auth = ctx.req.header("authorization").map(str::to_string);
    let mut status: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    for i in order(&items)? {
        let it = &items[i];
        let failed_dep = it
            .depends_on
            .iter()
            .any(|d| status.get(&d.to_ascii_lowercase()).is_none_or(|s| *s >= 400));
        let resp = if failed_dep {
            let e = GraphError::new(
                424,
                "FailedDependency",
                "A request this request depends on failed.",
            );
            let rid = t.new_guid();
            t.error_response(&e, &rid, &rid)
        } else {
            let inner = inner_request(it, auth.as_deref());
            t.handle_at_depth(ctx.base_url, &inner, ctx.depth + 1)
        };
        status.insert(it.id.to_ascii_lowercase(), resp.status);
        responses.push(to_json(&it.id, &resp));
    }
    responses.shuffle(&mut t.rng);
    Ok(GraphResponse::json(200, json!({ "responses": responses })))
}

fn inner_request(it: &Item, auth: Option<&str>) -> GraphRequest {
    let url = if it.url.starts_with('/') { it.url.clone() } else { format!("/{}", it.url) };
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut headers = it.headers.clone();
    if let Some(a) = auth {
        headers.push(("authorization".into(), a.to_string()));
    }
    GraphRequest {
        method: it.method,
        path: path.to_string(),
        query: form_urlencoded::parse(query.as_bytes()).into_owned().collect(),
        headers,
        body: it
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default(),
    }
}

fn to_json(id: &str, resp: &GraphResponse) -> Value {
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        headers.insert(k.clone(), Value::String(v.clone()));
    }
    let body = match &resp.body {
        Body::Json(v) => {
            headers.insert(
                "Content-Type".into(),
                Value::String(crate::wire::JSON_CONTENT_TYPE.into()),
            );
            v.clone()
        }
        Body::Text(s) => Value::String(s.clone()),
        Body::Empty => Value::Null,
    };
    let mut item = json!({ "id": id, "status": resp.status, "headers": headers });
    if !body.is_null() {
        item["body"] = body;
    }
    item
}
