//! What `rewind watch` keeps: alerts (de-duplicated by fingerprint, their bodies sealed like
//! every other configuration), the actors seen making changes, and each tenant's watch state —
//! the last snapshot evaluated and, in a fleet, the lease that lets one worker at a time capture
//! it (docs/design/watch.md).

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use rewind_model::Severity;
use serde::Serialize;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::ids::{AlertId, SnapshotId};
use crate::schema::Dialect;
use crate::store::{Store, TENANT_COLUMNS, micros, tenant_row};
use crate::tenant::TenantInfo;

/// An alert to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// What makes two alerts the same (rule, object, version); stored once per tenant.
    pub fingerprint: String,
    /// The rule that raised it.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// The snapshot whose changes raised it.
    pub snapshot: SnapshotId,
    /// The whole alert as JSON text.
    pub body: String,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRecord {
    /// Its id, unique in the store.
    pub id: AlertId,
    /// The store's number for its tenant.
    #[serde(skip)]
    pub tenant: i64,
    /// The rule that raised it.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// The snapshot whose changes raised it.
    pub snapshot: SnapshotId,
    /// When it was stored.
    pub created_at: Timestamp,
    /// The whole alert as JSON text.
    #[serde(skip)]
    pub body: String,
    /// When every sink took it.
    pub delivered_at: Option<Timestamp>,
    /// The sinks that took it so far (`webhook`, `email`).
    pub delivered_to: Vec<String>,
}

const ALERT_COLUMNS: &str = "id, tenant, rule, severity, snapshot, created_at, body, fingerprint, delivered_at, delivered_to";

/// `PostgreSQL`'s clock in microseconds: leases compare times from one clock, not each worker's.
const PG_NOW: &str = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000 AS BIGINT)";

fn micros_of(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A known actor is kept as a hash of its lowercased name, so the table names nobody.
fn actor_digest(actor: &str) -> String {
    blake3::hash(actor.to_lowercase().as_bytes()).to_hex().to_string()
}

impl Store {
    /// Stores the alerts not stored before (by fingerprint) and returns those, in order.
    pub async fn add_alerts(
        &self,
        tenant: &TenantInfo,
        alerts: &[NewAlert],
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let now = Timestamp::now().as_microsecond();
        let mut added = Vec::new();
        let mut tx = self.db.begin().await?;
        for a in alerts {
            let sealed = self.sealer.seal_text(a.fingerprint.as_bytes(), &a.body)?;
            let row = sqlx::query(
                "INSERT INTO alerts (tenant, fingerprint, rule, severity, snapshot, created_at, body) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant, fingerprint) DO NOTHING \
                 RETURNING id",
            )
            .bind(tenant.id)
            .bind(&a.fingerprint)
            .bind(&a.rule)
            .bind(a.severity.name())
            .bind(a.snapshot)
            .bind(now)
            .bind(sealed.clone())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let id: AlertId = row.try_get(0)?;
                let body = serde_json::json!({"fingerprint": a.fingerprint, "rule": a.rule,
                    "severity": a.severity.name(), "snapshot": a.snapshot, "created_at": now,
                    "body": sealed});
                self.append_ledger(&mut tx, tenant.id, "alert", &id.to_string(), &body, now)
                    .await?;
                added.push(AlertRecord {
                    id,
                    tenant: tenant.id,
                    rule: a.rule.clone(),
                    severity: a.severity,
                    snapshot: a.snapshot,
                    created_at: micros(now)?,
                    body: a.body.clone(),
                    delivered_at: None,
                    delivered_to: Vec::new(),
                });
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Alerts stored since `since` (all when `None`), of one tenant or all, oldest first.
    pub async fn alerts(
        &self,
        tenant: Option<&TenantInfo>,
        since: Option<Timestamp>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 < 0 OR tenant = $1) \
             AND created_at >= $2 ORDER BY created_at, id"
        ))
        .bind(tenant.map_or(-1, |t| t.id))
        .bind(since.map_or(i64::MIN, Timestamp::as_microsecond))
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(|r| self.alert_row(r)).collect()
    }

    /// The tenant's alerts not yet delivered to every sink, stored since `since`, oldest first
    /// and at most `limit`: delivery is at least once.
    pub async fn undelivered_alerts(
        &self,
        tenant: &TenantInfo,
        since: Timestamp,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE tenant = $1 AND delivered_at IS NULL \
             AND created_at >= $2 ORDER BY id LIMIT $3"
        ))
        .bind(tenant.id)
        .bind(since.as_microsecond())
        .bind(limit)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(|r| self.alert_row(r)).collect()
    }

    /// Records which sinks took each alert (`(alert id, sinks, every configured sink took
    /// it)`); an alert every sink took is no longer offered. In the ledger too: marking an
    /// alert delivered is how someone with the database would keep it from being sent.
    pub async fn record_deliveries(
        &self,
        deliveries: &[(AlertId, Vec<String>, bool)],
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        for (id, sinks, complete) in deliveries {
            let (to, at) = (sinks.join(","), complete.then_some(now));
            // A sink that keeps failing gets the alert offered every cycle: record (and enter
            // into the ledger) only what changed.
            let row = sqlx::query(
                "UPDATE alerts SET delivered_to = $1, delivered_at = $2 WHERE id = $3 \
                 AND (delivered_to <> $1 OR delivered_at IS NOT NULL OR $2 IS NOT NULL) \
                 RETURNING tenant",
            )
            .bind(&to)
            .bind(at)
            .bind(*id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let body = serde_json::json!({"delivered_to": to, "delivered_at": at});
                self.append_ledger(
                    &mut tx,
                    row.try_get(0)?,
                    "delivered",
                    &id.to_string(),
                    &body,
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    fn alert_row(&self, r: &sqlx::any::AnyRow) -> Result<AlertRecord, StoreError> {
        let fingerprint: String = r.try_get(7)?;
        Ok(AlertRecord {
            id: r.try_get(0)?,
            tenant: r.try_get(1)?,
            rule: r.try_get(2)?,
            severity: r.try_get::<String, _>(3)?.parse().map_err(StoreError::Corrupt)?,
            snapshot: r.try_get(4)?,
            created_at: micros(r.try_get(5)?)?,
            body: self.sealer.open_text(fingerprint.as_bytes(), &r.try_get::<String, _>(6)?)?,
            delivered_at: r.try_get::<Option<i64>, _>(8)?.map(micros).transpose()?,
            delivered_to: r
                .try_get::<String, _>(9)?
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    /// Which of `actors` have been seen changing this tenant before (compared without case).
    pub async fn known_actors(
        &self,
        tenant: &TenantInfo,
        actors: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut known = BTreeSet::new();
        for a in actors {
            let row = sqlx::query("SELECT 1 FROM known_actors WHERE tenant = $1 AND actor = $2")
                .bind(tenant.id)
                .bind(actor_digest(a))
                .fetch_optional(&self.db)
                .await?;
            if row.is_some() {
                known.insert(a.clone());
            }
        }
        Ok(known)
    }

    /// Remembers actors as seen. In the ledger too: an actor slipped into this table would
    /// never raise a new-actor alert.
    pub async fn add_known_actors(
        &self,
        tenant: &TenantInfo,
        actors: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        for a in actors {
            let digest = actor_digest(a);
            let added = sqlx::query(
                "INSERT INTO known_actors (tenant, actor, first_seen) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant, actor) DO NOTHING RETURNING first_seen",
            )
            .bind(tenant.id)
            .bind(&digest)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if added.is_some() {
                let body = serde_json::json!({"first_seen": now});
                self.append_ledger(&mut tx, tenant.id, "known", &digest, &body, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The last snapshot whose changes were evaluated for alerts.
    pub async fn watch_evaluated(
        &self,
        tenant: &TenantInfo,
    ) -> Result<Option<SnapshotId>, StoreError> {
        let row = sqlx::query("SELECT evaluated FROM watch_state WHERE tenant = $1")
            .bind(tenant.id)
            .fetch_optional(&self.db)
            .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => None,
        })
    }

    /// Records that the changes up to `snapshot` were evaluated. In the ledger too: moving
    /// this forward is how someone with the database would skip the alerts of a capture.
    pub async fn set_watch_evaluated(
        &self,
        tenant: &TenantInfo,
        snapshot: SnapshotId,
    ) -> Result<(), StoreError> {
        if self.watch_evaluated(tenant).await? == Some(snapshot) {
            return Ok(());
        }
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO watch_state (tenant, evaluated) VALUES ($1, $2) \
             ON CONFLICT (tenant) DO UPDATE SET evaluated = excluded.evaluated",
        )
        .bind(tenant.id)
        .bind(snapshot)
        .execute(&mut *tx)
        .await?;
        let body = serde_json::json!({"evaluated": snapshot});
        self.append_ledger(&mut tx, tenant.id, "evaluated", "watch", &body, now).await?;
        tx.commit().await?;
        Ok(())
    }

    fn require_postgres(&self) -> Result<(), StoreError> {
        match self.dialect() {
            Dialect::Postgres => Ok(()),
            Dialect::Sqlite => Err(StoreError::Unsupported(
                "a fleet shares tenants through a PostgreSQL store; REWIND_STORE is SQLite".into(),
            )),
        }
    }

    /// Gives tenants added since the last call a watch state, due at once; until then no
    /// worker claims them. Cheap, but a scan of the tenants: call it when nothing is due, not
    /// before every claim.
    pub async fn enroll_tenants(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO watch_state (tenant) SELECT id FROM tenants ON CONFLICT (tenant) DO NOTHING",
        )
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Claims the tenant whose capture is most overdue and whose lease is free or expired, for
    /// `lease`; with the failed captures in a row before it; `None` when nothing is due. Workers skip rows another is claiming
    /// (`FOR UPDATE SKIP LOCKED`), so two never claim one tenant. `PostgreSQL` only.
    pub async fn claim_due_tenant(
        &self,
        holder: &str,
        lease: Duration,
    ) -> Result<Option<(TenantInfo, i64)>, StoreError> {
        self.require_postgres()?;
        let claimed = sqlx::query(&format!(
            "UPDATE watch_state SET holder = $1, lease_until = {PG_NOW} + $2 WHERE tenant = \
             (SELECT tenant FROM watch_state WHERE next_due <= {PG_NOW} AND lease_until <= {PG_NOW} \
              ORDER BY next_due, tenant LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING tenant, failures"
        ))
        .bind(holder)
        .bind(micros_of(lease))
        .fetch_optional(&self.db)
        .await?;
        let Some(row) = claimed else { return Ok(None) };
        let id: i64 = row.try_get(0)?;
        let failures: i64 = row.try_get(1)?;
        let tenant = sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.db)
            .await?;
        Ok(tenant.as_ref().map(tenant_row).transpose()?.map(|t| (t, failures)))
    }

    /// Extends a lease `holder` still holds; `false` when it lost it (it expired and another
    /// worker claimed the tenant), and the work under it must stop.
    pub async fn renew_lease(
        &self,
        tenant: &TenantInfo,
        holder: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        self.require_postgres()?;
        let done = sqlx::query(&format!(
            "UPDATE watch_state SET lease_until = {PG_NOW} + $3 WHERE tenant = $1 AND holder = $2 \
             AND lease_until > {PG_NOW}"
        ))
        .bind(tenant.id)
        .bind(holder)
        .bind(micros_of(lease))
        .execute(&self.db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a lease back with the tenant due again `after` from now; `failed` counts a failed
    /// capture (reset by a good one). Returns the failures in a row; a lease no longer held
    /// changes nothing.
    pub async fn release_lease(
        &self,
        tenant: &TenantInfo,
        holder: &str,
        after: Duration,
        failed: bool,
    ) -> Result<i64, StoreError> {
        self.require_postgres()?;
        let row = sqlx::query(&format!(
            "UPDATE watch_state SET holder = NULL, lease_until = 0, next_due = {PG_NOW} + $3, \
             failures = CASE WHEN $4 THEN failures + 1 ELSE 0 END \
             WHERE tenant = $1 AND holder = $2 RETURNING failures"
        ))
        .bind(tenant.id)
        .bind(holder)
        .bind(micros_of(after))
        .bind(failed)
        .fetch_optional(&self.db)
        .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }
}
