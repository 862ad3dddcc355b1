//! One Graph request in, one Graph response out: authentication, authorisation, faults, routing
//! and the response headers Graph sends. Synchronous and free of HTTP types so that `$batch`, the
//! fuzz target and the axum edge all go through the same code.

use jiff::SignedDuration;
use rand::Rng as _;

use crate::error::GraphError;
use crate::faults::{self, Service};
use crate::ops::{self, Ctx};
use crate::permission;
use crate::query::Query;
use crate::route::{self, Route, Scope};
use crate::schema::RenderOptions;
use crate::tenant::{Tenant, format_time};
use crate::wire::{Body, GraphRequest, GraphResponse, Method};

impl Tenant {
    /// Moves the emulator clock forward (recycle-bin purge, token and delta-link expiry, PIM
    /// schedules ending).
    pub fn advance_clock(&mut self, by: SignedDuration) {
        self.clock.advance(by);
        self.pass_time();
    }

    /// What time does to the tenant, noticed on every request: retention windows and PIM
    /// schedules end.
    fn pass_time(&mut self) {
        self.purge_expired();
        ops::pim::expire(self);
    }

    /// Serves one request. Never panics on any input; every failure is a Graph error response.
    pub fn handle(&mut self, base_url: &str, req: &GraphRequest) -> GraphResponse {
        self.handle_at_depth(base_url, req, 0)
    }

    pub(crate) fn handle_at_depth(
        &mut self,
        base_url: &str,
        req: &GraphRequest,
        depth: u8,
    ) -> GraphResponse {
        let request_id = self.new_guid();
        let client_request_id = req.header("client-request-id").unwrap_or(&request_id).to_string();
        self.stats.requests += 1;
        let mut resp = match self.serve(base_url, req, depth) {
            Ok(r) => r,
            Err(e) => self.error_response(&e, &request_id, &client_request_id),
        };
        if resp.status == 429 {
            self.stats.throttled += 1;
        }
        resp.headers.push(("request-id".into(), request_id.clone()));
        resp.headers.push(("client-request-id".into(), client_request_id));
        resp.headers.push((
            "x-ms-ags-diagnostic".into(),
            r#"{"ServerInfo":{"DataCenter":"Local","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"rewind-emulator"}}"#.into(),
        ));
        resp
    }

    pub(crate) fn error_response(
        &self,
        e: &GraphError,
        request_id: &str,
        client_request_id: &str,
    ) -> GraphResponse {
        let date = format_time(self.now()).trim_end_matches('Z').to_string();
        GraphResponse {
            status: e.status,
            headers: e.headers.clone(),
            body: Body::Json(e.to_body(request_id, client_request_id, &date)),
        }
    }

    fn serve(
        &mut self,
        base_url: &str,
        req: &GraphRequest,
        depth: u8,
    ) -> Result<GraphResponse, GraphError> {
        self.pass_time();
        let claims = self.verify_bearer(req.header("authorization"))?;
        let route = route::parse(&req.path)?;
        let write = req.method.is_write();
        if !permission::satisfied(&claims.permissions(), permission::required(&route, write)) {
            return Err(GraphError::forbidden());
        }
        if self.license == crate::tenant::License::P1
            && matches!(route, Route::Collection(c, _) | Route::Item(c, _, _) if c.is_pim())
        {
            // PIM needs Entra ID P2 or ID Governance (privilegedidentitymanagementv3-overview.md,
            // "License requirements"); without it Graph answers 400 AadPremiumLicenseRequired,
            // as the capture conformance review found. Reports use another code on non-premium
            // tenants (Authentication_RequestFromNonPremiumTenantOrB2CTenant): the client
            // treats both as "not available here".
            return Err(GraphError::new(
                400,
                "AadPremiumLicenseRequired",
                "The tenant needs an AAD Premium 2 license.",
            ));
        }
        let query = Query::parse(&req.query)?;
        if query.skiptoken.is_some() && self.faults.expire_page_tokens > 0 {
            self.faults.expire_page_tokens -= 1;
            return Err(GraphError::new(
                400,
                "Directory_ExpiredPageToken",
                "The specified page token value has expired and can no longer be included in your request.",
            ));
        }
        let listing =
            matches!(route, Route::Collection(_, Scope::All)) && req.method == Method::Get;
        if !query.expand.is_empty() && !listing {
            return Err(GraphError::unsupported_query(
                "This emulator supports $expand only when listing a collection.",
            ));
        }
        let units = self.apply_faults(&route, req.method, &query, &claims.appid)?;
        let include_evolvable = req
            .header("prefer")
            .is_some_and(|p| p.to_ascii_lowercase().contains("include-unknown-enum-members"));
        let ctx = Ctx {
            base_url,
            path: &req.path,
            query,
            actor: self.actor_of(&claims),
            render: RenderOptions { include_evolvable },
            req,
            depth,
        };
        let mut resp = ops::route(self, &ctx, &route)?;
        if write && route != Route::Batch && self.fails_after_commit() {
            return Err(GraphError::new(
                500,
                "UnknownError",
                "An internal server error occurred; the request may or may not have been applied.",
            ));
        }
        if let Some(units) = units {
            resp.headers.push(("x-ms-resource-unit".into(), units.to_string()));
        }
        Ok(resp)
    }

    /// Whether this applied write is answered with an error anyway
    /// ([`crate::Faults::error_after_commit_rate`]).
    fn fails_after_commit(&mut self) -> bool {
        let rate = self.faults.error_after_commit_rate;
        let fails = rate > 0.0 && self.rng.random::<f64>() < rate;
        if fails {
            self.stats.failed_after_commit += 1;
        }
        fails
    }

    /// Injected errors and throttling, before the request is served. Returns the resource
    /// units charged when the request is a directory request.
    fn apply_faults(
        &mut self,
        route: &Route,
        method: Method,
        query: &Query,
        app: &str,
    ) -> Result<Option<u64>, GraphError> {
        let Some(service) = faults::service_of(route) else {
            return Ok(None);
        };
        if self.faults.error_rate > 0.0 && self.rng.random::<f64>() < self.faults.error_rate {
            self.stats.injected_errors += 1;
            let status = if self.rng.random::<bool>() { 503 } else { 504 };
            let code = if status == 503 { "serviceNotAvailable" } else { "gatewayTimeout" };
            return Err(GraphError::new(status, code, "The service is temporarily unavailable. Retry after the time in the Retry-After header.")
                .with_header("Retry-After", "1".into()));
        }
        if service != Service::Directory && !self.faults.throttle {
            return Ok(None);
        }
        let units = faults::resource_units(route, method, query.select.is_some(), query.top);
        if self.faults.throttle {
            let limit = faults::directory_limit(self.count(crate::resource::Coll::Users));
            let now = self.now();
            self.throttle.charge(service, app, now, units, method.is_write(), limit)?;
        }
        if service == Service::Directory {
            self.stats.resource_units += units;
            return Ok(Some(units));
        }
        Ok(None)
    }
}
