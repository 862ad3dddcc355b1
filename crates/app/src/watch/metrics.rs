//! What watch counts, in Prometheus's text format: per tenant, the last capture's time and
//! duration, objects, requests (and how many were throttled), changes, alerts by severity, and
//! failed captures and deliveries. The caller serves [`Metrics::encode`] at `/metrics`.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::Alert;
use crate::CaptureReport;

type Labels = Vec<(&'static str, String)>;
type Counters = Family<Labels, Counter>;
type Gauges = Family<Labels, Gauge<f64, AtomicU64>>;

/// The watch's metrics; cheap to clone, shared by every task of one process.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    last_capture: Gauges,
    capture_seconds: Gauges,
    objects: Gauges,
    captures: Counters,
    requests: Counters,
    throttled: Counters,
    changes: Counters,
    alerts: Counters,
    deliveries_failed: Counters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn tenant(name: &str) -> Labels {
    vec![("tenant", name.to_string())]
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("rewind");
        let m = Metrics {
            registry: Arc::new(Registry::default()),
            last_capture: Gauges::default(),
            capture_seconds: Gauges::default(),
            objects: Gauges::default(),
            captures: Counters::default(),
            requests: Counters::default(),
            throttled: Counters::default(),
            changes: Counters::default(),
            alerts: Counters::default(),
            deliveries_failed: Counters::default(),
        };
        r.register(
            "last_capture_timestamp_seconds",
            "When the tenant's last snapshot was taken (Unix time): its recovery point",
            m.last_capture.clone(),
        );
        r.register(
            "last_capture_duration_seconds",
            "How long the tenant's last capture took",
            m.capture_seconds.clone(),
        );
        r.register("objects", "Objects in the tenant's last snapshot", m.objects.clone());
        r.register("captures", "Captures by outcome (ok, failed)", m.captures.clone());
        r.register("graph_requests", "Graph requests made by captures", m.requests.clone());
        r.register("graph_throttled_requests", "Graph requests answered 429", m.throttled.clone());
        r.register(
            "changes",
            "Objects changed, by change (created, updated, deleted)",
            m.changes.clone(),
        );
        r.register("alerts", "Alerts raised, by severity", m.alerts.clone());
        r.register(
            "alert_deliveries_failed",
            "Alert deliveries that failed after every retry, by sink",
            m.deliveries_failed.clone(),
        );
        Metrics { registry: Arc::new(r), ..m }
    }

    /// Records a finished capture.
    pub fn captured(&self, name: &str, r: &CaptureReport) {
        let t = tenant(name);
        self.last_capture.get_or_create(&t).set(r.snapshot.taken_at.as_duration().as_secs_f64());
        self.capture_seconds.get_or_create(&t).set(r.seconds);
        #[expect(clippy::cast_precision_loss, reason = "object counts fit a gauge")]
        self.objects.get_or_create(&t).set(r.snapshot.objects as f64);
        self.captures
            .get_or_create(&vec![("tenant", name.to_string()), ("outcome", "ok".into())])
            .inc();
        self.requests.get_or_create(&t).inc_by(r.requests);
        self.throttled.get_or_create(&t).inc_by(r.throttled);
        let totals = r.snapshot.totals();
        for (change, n) in
            [("created", totals.created), ("updated", totals.updated), ("deleted", totals.deleted)]
        {
            self.changes
                .get_or_create(&vec![("tenant", name.to_string()), ("change", change.into())])
                .inc_by(n);
        }
    }

    /// Records a failed capture.
    pub fn capture_failed(&self, name: &str) {
        self.captures
            .get_or_create(&vec![("tenant", name.to_string()), ("outcome", "failed".into())])
            .inc();
    }

    /// Records alerts raised.
    pub fn alerted(&self, alerts: &[Alert]) {
        for a in alerts {
            self.alerts
                .get_or_create(&vec![
                    ("tenant", a.tenant.clone()),
                    ("severity", a.severity.name().to_string()),
                ])
                .inc();
        }
    }

    /// Records a delivery that failed for good.
    pub fn delivery_failed(&self, sink: &str) {
        self.deliveries_failed.get_or_create(&vec![("sink", sink.to_string())]).inc();
    }

    /// Everything, in Prometheus's text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
