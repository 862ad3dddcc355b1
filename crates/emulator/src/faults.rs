//! Making the emulator unkind on purpose, the way Graph is on a bad day: throttling with Graph's
//! budgets, random 503/504, replication lag, and added latency — plus the counters that show
//! what happened (`/_emulator/stats`).
//!
//! Budgets follow `docs/reference/graph-api.md` §6.3 and run on the emulator clock:
//! - identity and access (directory) resources: resource units per app and tenant per 10 s,
//!   3,500 / 5,000 / 8,000 by tenant size (under 50, up to 500, over 500 users), with the
//!   documented costs and modifiers; 429 with `Retry-After` and the `x-ms-throttle-*` headers;
//! - Conditional Access and named locations: 1 request per second per tenant, 429 **without**
//!   `Retry-After`;
//! - audit logs: 5 requests per 10 s per app and tenant, 429 with `Retry-After`.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::GraphError;
use crate::resource::Coll;
use crate::route::{LinkKind, Route};
use crate::wire::Method;

/// The fault settings: the fields of `GET/PUT /_emulator/faults`, named like the flags of
/// `rewind emulator`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Added latency per request, in milliseconds.
    pub latency_ms: u64,
    /// Share of requests (0 to 1) answered 503 or 504 with `Retry-After`.
    pub error_rate: f64,
    /// Share of writes (0 to 1) that are applied and then answered 500, 503 or 504 anyway:
    /// Graph documents that a failed request may have been applied (graph-api.md §6.4 and
    /// best-practices-concept.md, "retry … only idempotent requests"), so a client that sends a
    /// create again may make a duplicate.
    pub error_after_commit_rate: f64,
    /// How long a just-created object stays invisible, in milliseconds.
    pub replication_lag_ms: u64,
    /// Graph's throttling budgets on.
    pub throttle: bool,
    /// Seconds of emulator clock before a write's audit record can be read: Entra documents
    /// audit latency of about 2 minutes at p95 and 5 at p99 (reference-reports-latencies.md).
    pub audit_latency_s: u64,
    /// The next this many requests that follow a next link (`$skiptoken`) answer `400
    /// Directory_ExpiredPageToken`, as Graph does for a page token followed too late. Graph
    /// does not document how long page tokens live, so the emulator expires them on demand
    /// rather than after a guessed lifetime.
    pub expire_page_tokens: u64,
}

impl Faults {
    /// Checks the values; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("error_after_commit_rate", self.error_after_commit_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) || rate.is_nan() {
                return Err(format!("{name} must be between 0 and 1, not {rate}"));
            }
        }
        if self.latency_ms > 60_000 || self.replication_lag_ms > 600_000 {
            return Err("latency_ms is at most 60000 and replication_lag_ms at most 600000".into());
        }
        if self.audit_latency_s > 3_600 {
            return Err("audit_latency_s is at most 3600".into());
        }
        Ok(())
    }
}

/// Counters of what the emulator served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Graph requests served (inner `$batch` requests included; token requests not).
    pub requests: u64,
    /// Requests answered 429.
    pub throttled: u64,
    /// Resource units charged to directory requests.
    pub resource_units: u64,
    /// Requests answered 503/504 by the injected error rate.
    pub injected_errors: u64,
    /// Writes applied and then answered with an error anyway.
    pub failed_after_commit: u64,
    /// Requests answered 404 or `NoBackingApplicationObject` because of replication lag.
    pub lagged: u64,
}

/// Which of Graph's throttling services a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Service {
    Directory,
    ConditionalAccess,
    Reports,
}

/// The throttle's memory: per (service, app) the current window and what it used.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Throttle {
    #[serde(skip)]
    windows: HashMap<(u8, String), Window>,
    #[serde(skip)]
    writes: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start_ms: i64,
    used: u64,
}

const DIRECTORY_WINDOW_MS: i64 = 10_000;
const WRITE_WINDOW_MS: i64 = 150_000;
const WRITE_QUOTA: u64 = 3_000;
const CA_WINDOW_MS: i64 = 1_000;
const REPORTS_WINDOW_MS: i64 = 10_000;
const REPORTS_LIMIT: u64 = 5;

/// The service a route is throttled by; `None` for routes with no budget (`$batch` itself).
pub(crate) fn service_of(route: &Route) -> Option<Service> {
    match route {
        Route::Batch => None,
        Route::AuditList | Route::AuditItem(_) => Some(Service::Reports),
        Route::Collection(c, _) | Route::Item(c, _, _) | Route::Delta(c) | Route::Count(c)
            if matches!(c, Coll::CaPolicies | Coll::NamedLocations) =>
        {
            Some(Service::ConditionalAccess)
        }
        Route::CaDeletedList(_) | Route::CaDeletedItem(..) => Some(Service::ConditionalAccess),
        Route::Action(Coll::CaPolicies | Coll::NamedLocations, ..) => {
            Some(Service::ConditionalAccess)
        }
        _ => Some(Service::Directory),
    }
}

/// Resource units Graph charges a directory request (graph-api.md §6.3).
pub(crate) fn resource_units(
    route: &Route,
    method: Method,
    has_select: bool,
    top: Option<usize>,
) -> u64 {
    if method.is_write() {
        return 1;
    }
    let base: u64 = match route {
        Route::Collection(Coll::Users | Coll::Applications | Coll::Oauth2PermissionGrants, _)
        | Route::Item(Coll::Users | Coll::Applications | Coll::Oauth2PermissionGrants, _, _)
        | Route::Delta(Coll::Users | Coll::Applications | Coll::Oauth2PermissionGrants) => 2,
        Route::Collection(Coll::AppRoleAssignments, _) => 2,
        Route::Links { kind: LinkKind::Members, .. } => 3,
        _ => 1,
    };
    let mut cost = base;
    if has_select {
        cost = cost.saturating_sub(1);
    }
    if top.is_some_and(|t| t < 20) {
        cost = cost.saturating_sub(1);
    }
    cost.max(1)
}

/// The directory budget per 10 s for a tenant of this many users.
pub(crate) fn directory_limit(users: usize) -> u64 {
    match users {
        0..50 => 3_500,
        50..=500 => 5_000,
        _ => 8_000,
    }
}

impl Throttle {
    /// Charges a request; `Err` is the 429 Graph would send.
    pub(crate) fn charge(
        &mut self,
        service: Service,
        app: &str,
        now: Timestamp,
        cost: u64,
        write: bool,
        directory_limit: u64,
    ) -> Result<(), GraphError> {
        let now_ms = now.as_millisecond();
        match service {
            Service::Directory => {
                let w =
                    window(&mut self.windows, (0, app.to_string()), now_ms, DIRECTORY_WINDOW_MS);
                if w.used + cost > directory_limit {
                    return Err(directory_throttled(
                        app,
                        w.start_ms + DIRECTORY_WINDOW_MS - now_ms,
                        "ResourceUnitLimitExceeded",
                    ));
                }
                if write {
                    let ww = window(&mut self.writes, app.to_string(), now_ms, WRITE_WINDOW_MS);
                    if ww.used + 1 > WRITE_QUOTA {
                        return Err(directory_throttled(
                            app,
                            ww.start_ms + WRITE_WINDOW_MS - now_ms,
                            "WriteLimitExceeded",
                        ));
                    }
                    ww.used += 1;
                }
                let w =
                    window(&mut self.windows, (0, app.to_string()), now_ms, DIRECTORY_WINDOW_MS);
                w.used += cost;
                Ok(())
            }
            Service::ConditionalAccess => {
                // One request per second per tenant, for all apps together.
                let w = window(&mut self.windows, (1, String::new()), now_ms, CA_WINDOW_MS);
                if w.used >= 1 {
                    return Err(GraphError::new(
                        429,
                        "TooManyRequests",
                        "Too many requests. The conditional access service allows one request per second per tenant.",
                    ));
                }
                w.used += 1;
                Ok(())
            }
            Service::Reports => {
                let w = window(&mut self.windows, (2, app.to_string()), now_ms, REPORTS_WINDOW_MS);
                if w.used >= REPORTS_LIMIT {
                    let wait = w.start_ms + REPORTS_WINDOW_MS - now_ms;
                    return Err(GraphError::new(
                        429,
                        "TooManyRequests",
                        "Too many requests to audit logs: 5 requests per 10 seconds per app.",
                    )
                    .with_header("Retry-After", retry_after_secs(wait)));
                }
                w.used += 1;
                Ok(())
            }
        }
    }
}

fn window<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Window>,
    key: K,
    now_ms: i64,
    len: i64,
) -> &mut Window {
    let w = map.entry(key).or_default();
    if now_ms - w.start_ms >= len || now_ms < w.start_ms {
        *w = Window { start_ms: now_ms, used: 0 };
    }
    w
}

fn retry_after_secs(wait_ms: i64) -> String {
    ((wait_ms.max(1) + 999) / 1000).to_string()
}

fn directory_throttled(app: &str, wait_ms: i64, info: &str) -> GraphError {
    GraphError::new(
        429,
        "Request_ThrottledTemporarily",
        "The request has been throttled. Retry after the time in the Retry-After header.",
    )
    .with_header("Retry-After", retry_after_secs(wait_ms))
    .with_header("x-ms-throttle-scope", format!("Tenant_Application/ReadWrite/{app}"))
    .with_header("x-ms-throttle-information", info.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Scope;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn directory_budget_resets_each_window() {
        let mut t = Throttle::default();
        for _ in 0..1_750 {
            t.charge(Service::Directory, "app", at(0), 2, false, 3_500).unwrap();
        }
        let e = t.charge(Service::Directory, "app", at(500), 2, false, 3_500).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (429, "Request_ThrottledTemporarily"));
        assert!(e.headers.iter().any(|(k, v)| k == "Retry-After" && v == "10"));
        assert!(
            t.charge(Service::Directory, "other-app", at(500), 2, false, 3_500).is_ok(),
            "budgets are per app"
        );
        assert!(t.charge(Service::Directory, "app", at(10_000), 2, false, 3_500).is_ok());
    }

    #[test]
    fn conditional_access_allows_one_request_per_second_without_retry_after() {
        let mut t = Throttle::default();
        t.charge(Service::ConditionalAccess, "a", at(0), 1, false, 0).unwrap();
        let e = t.charge(Service::ConditionalAccess, "b", at(999), 1, false, 0).unwrap_err();
        assert_eq!(e.status, 429);
        assert!(e.headers.iter().all(|(k, _)| k != "Retry-After"));
        assert!(t.charge(Service::ConditionalAccess, "b", at(1_000), 1, false, 0).is_ok());
    }

    #[test]
    fn resource_unit_costs_follow_the_documented_table() {
        let users = Route::Collection(Coll::Users, Scope::All);
        assert_eq!(resource_units(&users, Method::Get, false, None), 2);
        assert_eq!(resource_units(&users, Method::Get, true, None), 1);
        assert_eq!(resource_units(&users, Method::Get, true, Some(5)), 1, "never below one");
        assert_eq!(
            resource_units(&Route::Collection(Coll::Groups, Scope::All), Method::Get, false, None),
            1
        );
        assert_eq!(resource_units(&users, Method::Post, false, None), 1);
        assert_eq!(directory_limit(10), 3_500);
        assert_eq!(directory_limit(100_000), 8_000);
    }
}
