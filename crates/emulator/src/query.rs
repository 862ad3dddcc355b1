//! `OData` system query options (`$select`, `$top`, `$filter`, `$count`, `$skiptoken`,
//! `$deltatoken`), the opaque paging tokens, and the response envelopes built from them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::error::GraphError;
use crate::filter::{self, Filter};
use crate::schema::schema;

/// The system query options of one request.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub filter: Option<Filter>,
    pub count: bool,
    pub skiptoken: Option<String>,
    pub deltatoken: Option<String>,
    /// `$expand`, each relationship with its nested `$select`.
    pub expand: Vec<Expand>,
    /// Every pair as received, for rebuilding `@odata.nextLink`.
    pub raw: Vec<(String, String)>,
}

/// One relationship of `$expand`: `owners` or `owners($select=id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expand {
    pub nav: String,
    pub select: Option<Vec<String>>,
}

/// Parses `$expand`: relationships separated by commas outside parentheses, each with an
/// optional `($select=…)`; other nested options are refused.
fn parse_expand(v: &str) -> Result<Vec<Expand>, GraphError> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, ch) in v.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&v[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&v[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let Some((nav, rest)) = p.split_once('(') else {
                return Ok(Expand { nav: p.to_string(), select: None });
            };
            let inner = rest.strip_suffix(')').unwrap_or(rest);
            let select = inner
                .strip_prefix("$select=")
                .or_else(|| inner.strip_prefix("select="))
                .ok_or_else(|| {
                GraphError::unsupported_query(format!(
                    "Only $select is supported inside $expand, not '{inner}'."
                ))
            })?;
            Ok(Expand {
                nav: nav.trim().to_string(),
                select: Some(select.split(',').map(|s| s.trim().to_string()).collect()),
            })
        })
        .collect()
}

impl Query {
    /// Parses the query pairs. Unknown system options are refused, as Graph does.
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Query, GraphError> {
        let mut q = Query { raw: pairs.to_vec(), ..Query::default() };
        for (k, v) in pairs {
            match k.trim_start_matches('$').to_ascii_lowercase().as_str() {
                "select" => {
                    q.select = Some(
                        v.split(',')
                            .map(|s| s.trim().to_string())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    );
                }
                "top" => q.top = Some(parse_top(v)?),
                "filter" => {
                    q.filter = Some(
                        filter::parse(v)
                            .map_err(|e| GraphError::unsupported_query(e.to_string()))?,
                    );
                }
                "count" => q.count = v.eq_ignore_ascii_case("true"),
                "skiptoken" => q.skiptoken = Some(v.clone()),
                "deltatoken" => q.deltatoken = Some(v.clone()),
                "expand" => q.expand = parse_expand(v)?,
                "orderby" | "search" | "skip" | "format" => {
                    return Err(GraphError::unsupported_query(format!(
                        "The query option '{k}' is not supported by this emulator for this resource."
                    )));
                }
                _ if k.starts_with('$') => {
                    return Err(GraphError::bad_request(format!(
                        "Unknown system query option '{k}'."
                    )));
                }
                _ => {}
            }
        }
        Ok(q)
    }

    /// Checks `$select` and `$filter` property names against the type.
    pub(crate) fn check_properties(
        &self,
        type_name: &str,
        extra: &[&str],
    ) -> Result<(), GraphError> {
        let known =
            |p: &str| p == "id" || extra.contains(&p) || schema().prop(type_name, p).is_some();
        let unknown = |p: &str| {
            GraphError::bad_request(format!(
                "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
            ))
        };
        for p in self.select.iter().flatten() {
            if !known(p) {
                return Err(unknown(p));
            }
        }
        if let Some(f) = &self.filter {
            for p in f.root_properties() {
                if !known(p) {
                    return Err(unknown(p));
                }
            }
        }
        Ok(())
    }

    /// The page size for a collection with Graph's default and maximum.
    pub(crate) fn page_size(
        &self,
        (default, max): (usize, usize),
        strict: bool,
    ) -> Result<usize, GraphError> {
        match self.top {
            None => Ok(default),
            Some(n) if n > max && strict => Err(GraphError::bad_request(format!(
                "Invalid page size specified: '{n}'. Must be between 1 and {max} inclusive."
            ))),
            Some(n) => Ok(n.min(max)),
        }
    }

    /// The query string for `@odata.nextLink`: the original options with a new `$skiptoken`.
    pub(crate) fn next_link(
        &self,
        base: &str,
        path: &str,
        token_name: &str,
        token: &str,
    ) -> String {
        let enc = |s: &str| {
            form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace("%24", "$")
        };
        let mut pairs: Vec<String> = self
            .raw
            .iter()
            .filter(|(k, _)| {
                !matches!(k.to_ascii_lowercase().as_str(), "$skiptoken" | "$deltatoken")
            })
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        pairs.push(format!("{token_name}={}", enc(token)));
        format!("{base}/v1.0/{}?{}", path.trim_start_matches('/'), pairs.join("&"))
    }
}

fn parse_top(v: &str) -> Result<usize, GraphError> {
    match v.trim().parse::<i64>() {
        Ok(n) if n >= 1 => {
            usize::try_from(n).map_err(|_| GraphError::bad_request("Invalid $top value."))
        }
        _ => Err(GraphError::bad_request(format!(
            "Invalid page size specified: '{v}'. Must be between 1 and 999 inclusive."
        ))),
    }
}

/// The paging cursor inside `$skiptoken` of lists ordered by key: the last key served.
#[derive(Serialize, serde::Deserialize)]
struct Cursor {
    after: String,
}

impl Query {
    /// The key after which this page starts, from `$skiptoken`.
    pub(crate) fn after(&self) -> Result<Option<String>, GraphError> {
        Ok(self.skiptoken.as_deref().map(decode_token::<Cursor>).transpose()?.map(|c| c.after))
    }
}

/// The `$skiptoken` of the page that starts after `key`.
pub(crate) fn after_token(key: &str) -> String {
    encode_token(&Cursor { after: key.to_string() })
}

/// Encodes a paging or delta token: opaque to clients, self-describing to the emulator.
pub(crate) fn encode_token<T: Serialize>(t: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(t).unwrap_or_default())
}

/// Decodes a token, or answers as Graph does for a token it did not issue.
pub(crate) fn decode_token<T: DeserializeOwned>(s: &str) -> Result<T, GraphError> {
    URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| GraphError::bad_request("Invalid skip or delta token; follow the @odata.nextLink or @odata.deltaLink as returned."))
}

/// `@odata.context` for a path, with the `$select` list when given.
pub(crate) fn context(base: &str, path: &str, select: Option<&[String]>, entity: bool) -> String {
    let mut s = format!("{base}/v1.0/$metadata#{path}");
    if let Some(sel) = select {
        s.push('(');
        s.push_str(&sel.join(","));
        s.push(')');
    }
    if entity {
        s.push_str("/$entity");
    }
    s
}

/// Restricts a rendered object to the selected properties (plus any `@odata.type`).
pub(crate) fn apply_select(
    obj: Map<String, Value>,
    select: Option<&[String]>,
) -> Map<String, Value> {
    let Some(sel) = select else { return obj };
    obj.into_iter().filter(|(k, _)| k == "@odata.type" || sel.iter().any(|s| s == k)).collect()
}

/// A collection response envelope.
pub(crate) fn collection(
    context: String,
    items: Vec<Value>,
    next: Option<String>,
    count: Option<usize>,
) -> Value {
    let mut m = Map::new();
    m.insert("@odata.context".into(), Value::String(context));
    if let Some(n) = count {
        m.insert("@odata.count".into(), Value::from(n));
    }
    if let Some(link) = next {
        m.insert("@odata.nextLink".into(), Value::String(link));
    }
    m.insert("value".into(), Value::Array(items));
    Value::Object(m)
}

/// An entity response: the object with `@odata.context` first.
pub(crate) fn entity(context: String, obj: Map<String, Value>) -> Value {
    let mut m = Map::new();
    m.insert("@odata.context".into(), Value::String(context));
    m.extend(obj);
    Value::Object(m)
}
