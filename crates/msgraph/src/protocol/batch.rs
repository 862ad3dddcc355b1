//! JSON batching: requests grouped twenty to a `$batch`, each with an id, and the responses
//! matched back by id (Graph returns them in any order).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::page::PageError;

/// Graph's limit on requests per batch.
pub const MAX_BATCH: usize = 20;

/// One request inside a batch. `url` is relative to the version root (`/groups/{id}/members/$ref`).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRequest {
    /// GET, POST, PATCH, DELETE.
    pub method: &'static str,
    /// The relative URL.
    pub url: String,
    /// A JSON body, if any.
    pub body: Option<Value>,
}

/// One response of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    /// HTTP status of the inner request.
    pub status: u16,
    /// Its `Retry-After`, for an inner 429.
    pub retry_after: Option<String>,
    /// Its body.
    pub body: Value,
}

/// Sent on every request, inside a batch too: Graph applies the headers of each inner request
/// only, so evolvable enum members (`linux`, `riskRemediation`…) come back as themselves, not
/// as `unknownFutureValue`, only when each request asks — and a backup must be able to write
/// them back.
pub const PREFER: &str = "include-unknown-enum-members";

/// Builds the bodies of the batches for `requests`, twenty at a time; ids are the requests'
/// positions in the slice. Every inner request carries [`PREFER`].
pub fn batch_bodies(requests: &[BatchRequest]) -> Vec<Value> {
    requests
        .chunks(MAX_BATCH)
        .enumerate()
        .map(|(chunk, reqs)| {
            let items: Vec<Value> = reqs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut item = json!({
                        "id": (chunk * MAX_BATCH + i).to_string(),
                        "method": r.method,
                        "url": r.url,
                        "headers": {"Prefer": PREFER},
                    });
                    if let Some(b) = &r.body {
                        item["body"] = b.clone();
                        item["headers"]["Content-Type"] = json!("application/json");
                    }
                    item
                })
                .collect();
            json!({ "requests": items })
        })
        .collect()
}

/// Parses a batch response into responses by request position.
pub fn parse_batch_response(body: &[u8]) -> Result<HashMap<usize, BatchResponse>, PageError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| PageError::NotJson(e.to_string()))?;
    let items = v["responses"].as_array().ok_or(PageError::NoValue)?;
    let mut out = HashMap::new();
    for item in items {
        let Some(id) = item["id"].as_str().and_then(|s| s.parse::<usize>().ok()) else {
            continue;
        };
        let retry_after = item["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("retry-after")))
            .and_then(|(_, v)| {
                v.as_str().map(str::to_string).or_else(|| v.as_f64().map(|f| f.to_string()))
            });
        let status = item["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
        out.insert(id, BatchResponse { status, retry_after, body: item["body"].clone() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_one_requests_make_two_batches_with_global_ids() {
        let reqs: Vec<BatchRequest> = (0..21)
            .map(|i| BatchRequest {
                method: "POST",
                url: format!("/groups/g/members/$ref#{i}"),
                body: Some(json!({"@odata.id": i})),
            })
            .collect();
        let bodies = batch_bodies(&reqs);
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0]["requests"].as_array().unwrap().len(), 20);
        assert_eq!(bodies[1]["requests"][0]["id"], "20");
        assert_eq!(bodies[0]["requests"][0]["headers"]["Content-Type"], "application/json");
        assert_eq!(bodies[1]["requests"][0]["headers"]["Prefer"], PREFER);
    }

    #[test]
    fn responses_come_back_in_any_order_and_with_decimal_retry_after() {
        let body = br#"{"responses":[{"id":"1","status":429,"headers":{"Retry-After":"0.249"},"body":{"error":{"code":"TooManyRequests"}}},{"id":"0","status":204,"headers":{}}]}"#;
        let r = parse_batch_response(body).unwrap();
        assert_eq!(r[&0].status, 204);
        assert_eq!((r[&1].status, r[&1].retry_after.as_deref()), (429, Some("0.249")));
        assert!(parse_batch_response(b"{}").is_err());
    }
}
