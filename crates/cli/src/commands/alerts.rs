//! `rewind alerts [--since T] [--json]`: the alerts watch stored, oldest first, for the chosen
//! tenant or (when the store keeps several and none is chosen) for all of them.

use rewind_app::locate::TimeSpec;
use rewind_app::watch::{Alert, AlertsReport};

use super::session::{Session, usage};
use crate::cli::AlertsArgs;
use crate::output::{self, out};
use crate::text::{Align, Table};

pub async fn run(args: AlertsArgs) -> anyhow::Result<()> {
    let session = Session::open(&args.store, None).await?;
    let chosen = session.raw.tenant.is_some() || session.raw.tenant_id.is_some();
    let tenant = if chosen {
        Some(session.tenant().await?)
    } else {
        let all = session.store.tenants().await?;
        if all.len() == 1 { all.into_iter().next() } else { None }
    };
    let since = match &args.since {
        None => None,
        Some(spec) => match *spec {
            TimeSpec::Snapshot(id) => {
                return Err(usage(format!(
                    "--since takes a time (2026-11-28T09:00:00Z) or a time ago (1h, 2d), not a snapshot id: '{id}'"
                )));
            }
            spec => spec.instant(jiff::Timestamp::now()),
        },
    };
    let minimum = args.severity;
    let mut alerts: Vec<Alert> = Vec::new();
    for r in session.store.alerts(tenant.as_ref(), since).await? {
        let a = Alert::from_record(&r)?;
        if minimum.is_none_or(|m| a.severity >= m) {
            alerts.push(a);
        }
    }
    if args.store.json {
        output::json(&AlertsReport { alerts })?;
    } else {
        out!("{}", text(&alerts))?;
    }
    session.store.close().await;
    Ok(())
}

/// `rewind alerts` as text: one row per alert, oldest first.
pub fn text(alerts: &[Alert]) -> String {
    if alerts.is_empty() {
        return "no alerts\n".into();
    }
    let mut table = Table::new(&[
        ("DETECTED (UTC)", Align::Left),
        ("SEVERITY", Align::Left),
        ("TENANT", Align::Left),
        ("RULE", Align::Left),
        ("WHAT", Align::Left),
    ])
    .limit(2, 24);
    for a in alerts {
        let by = if a.actors.is_empty() {
            String::new()
        } else {
            format!(" — by {}", a.actors.join(", "))
        };
        table.row(vec![
            a.detected_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            a.severity.to_string(),
            a.tenant.clone(),
            a.rule.clone(),
            format!("{}{by}", a.summary),
        ]);
    }
    table.render()
}
