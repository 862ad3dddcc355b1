//! `rewind watch`: capture on an interval, alert on risky changes, serve Prometheus metrics —
//! one tenant, or with `--fleet` every tenant of a PostgreSQL store, shared with other workers
//! through leases. SIGINT/SIGTERM stop it; a capture in progress is discarded whole.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::http::header;
use axum::response::IntoResponse as _;
use rewind_app::watch::{Fleet, Metrics, Sinks, Stop, WatchError, WatchOptions, Watcher};
use rewind_app::{Config, RawConfig};
use rewind_msgraph::{ClientOptions, GraphClient};
use rewind_store::{Dialect, TenantInfo};

use super::capture::classify;
use super::session::{Session, usage};
use crate::cli::WatchArgs;

pub async fn run(args: WatchArgs) -> anyhow::Result<()> {
    let mut session = Session::open_or_create(&args.store, Some(&args.connect)).await?;
    if let Some(url) = &args.webhook {
        session.raw.webhook_url = Some(url.clone());
    }
    if !args.email_to.is_empty() {
        session.raw.email_to = Some(args.email_to.clone());
    }
    let options = WatchOptions::from_config(&session.raw, args.interval).map_err(usage)?;
    let watcher = Watcher {
        store: session.store.clone(),
        options,
        sinks: Sinks::from_config(&session.raw).map_err(usage)?,
        metrics: Metrics::new(),
    };
    serve_metrics(&args.metrics_listen, watcher.metrics.clone()).await?;
    let (trigger, stop) = Stop::new();
    tokio::spawn(async move {
        super::shutdown_signal().await;
        tracing::info!("stopping (signal received)");
        let _ = trigger.send(true);
    });
    let result = if args.fleet {
        fleet(&session, &args, watcher, stop).await
    } else {
        one(&session, &args, watcher, stop).await
    };
    session.store.close().await;
    result
}

/// Serves `/metrics` in the background. A port already taken (another worker on this host)
/// is reported and watching goes on without metrics: capture matters more.
async fn serve_metrics(listen: &str, metrics: Metrics) -> anyhow::Result<()> {
    if listen == "off" {
        return Ok(());
    }
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| usage(format!("--metrics-listen '{listen}' is not HOST:PORT or off")))?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("metrics not served: cannot listen on {addr}: {e}");
            return Ok(());
        }
    };
    let bound = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let body = metrics.encode();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    body,
                )
                    .into_response()
            }
        }),
    );
    tracing::info!(metrics = %format!("http://{bound}/metrics"), "serving metrics");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("metrics server stopped: {e}");
        }
    });
    Ok(())
}

fn client_for(config: &Config, concurrency: u16) -> anyhow::Result<GraphClient> {
    let options =
        ClientOptions { concurrency: usize::from(concurrency), ..ClientOptions::default() };
    Ok(GraphClient::new(config.endpoints.clone(), config.credential.clone(), options)?)
}

async fn one(
    session: &Session,
    args: &WatchArgs,
    watcher: Watcher,
    stop: Stop,
) -> anyhow::Result<()> {
    let stored = session.find_tenant().await?;
    let raw = match &stored {
        Some(t) => RawConfig::from_stored(t).overridden_by(session.raw.clone()),
        None => session.raw.clone(),
    };
    let config = Config::resolve(raw).map_err(usage)?;
    let tenant = if let Some(t) = stored {
        t
    } else {
        let new = config.new_tenant(session.raw.tenant.clone());
        session.store.add_tenant(&new).await?
    };
    let client = client_for(&config, args.concurrency)?;
    tracing::info!(tenant = %tenant.name, interval_s = watcher.options.interval.as_secs(), "watching");
    watcher.watch_one(&client, &tenant, stop).await.map_err(failed)
}

fn failed(e: WatchError) -> anyhow::Error {
    match e {
        WatchError::Capture(c) => classify(c),
        WatchError::Settings { .. } => usage(e),
        WatchError::Store(s) => anyhow::Error::new(s).context("the store failed"),
    }
}

async fn fleet(
    session: &Session,
    args: &WatchArgs,
    watcher: Watcher,
    stop: Stop,
) -> anyhow::Result<()> {
    if session.store.dialect() != Dialect::Postgres {
        return Err(usage(
            "--fleet shares tenants between workers through a PostgreSQL store: set REWIND_STORE=postgres://…",
        ));
    }
    let lease = args.lease;
    let holder =
        args.worker.clone().unwrap_or_else(|| format!("{}-{}", hostname(), std::process::id()));
    // Every tenant is read with the worker's credentials (one multi-tenant app consented in
    // each tenant) and the tenant's stored endpoints.
    let credentials = RawConfig {
        client_id: session.raw.client_id.clone(),
        client_secret: session.raw.client_secret.clone(),
        client_certificate: session.raw.client_certificate.clone(),
        ..RawConfig::default()
    };
    let concurrency = args.concurrency;
    let connect = Arc::new(move |t: &TenantInfo| {
        let raw = RawConfig::from_stored(t).overridden_by(credentials.clone());
        let config = Config::resolve(raw).map_err(|e| e.to_string())?;
        client_for(&config, concurrency).map_err(|e| format!("{e:#}"))
    });
    let tenants = session.store.tenants().await.context("listing tenants")?;
    tracing::info!(worker = %holder, tenants = tenants.len(), lease_s = lease.as_secs_f64(), "fleet worker started");
    let fleet = Fleet { holder, lease, concurrency: usize::from(args.tenants_at_once), connect };
    watcher.watch_fleet(fleet, stop).await.map_err(failed)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into())
}
