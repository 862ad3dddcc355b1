//! Restore journals: a plan as it was approved, each step's state before and after it runs,
//! and the lineage of objects created anew (old id → new id). An interrupted restore resumes
//! from here; plans and results are sealed like every other configuration in the store.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rewind_model::Kind;
use serde::Serialize;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::journal_types::{RestoreId, RestoreStatus, StepState};
use crate::store::{Store, micros};
use crate::tenant::TenantInfo;

/// A restore as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreRecord {
    /// Its id, unique in the store.
    pub id: RestoreId,
    /// When it began.
    pub created_at: Timestamp,
    /// The plan, as JSON text.
    #[serde(skip)]
    pub plan: String,
    /// Where it is.
    pub status: RestoreStatus,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
}

/// One step's journal entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    /// Where it is.
    pub state: StepState,
    /// What the step left: a new id, an error (JSON text).
    pub result: String,
}

/// One object created anew by a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageRecord {
    /// Its kind.
    pub kind: Kind,
    /// The key it had.
    pub old_key: String,
    /// The key it has now.
    pub new_key: String,
    /// The restore that created it.
    pub restore: RestoreId,
}

const PLAN_ADDRESS: &[u8] = b"restore-plan";

const UPSERT_STEP: &str = "INSERT INTO restore_steps (restore, step, state, result, updated_at) \
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (restore, step) DO UPDATE SET state = excluded.state, \
    result = excluded.result, updated_at = excluded.updated_at";

impl Store {
    /// Records a restore about to run `plan` (JSON text) with the app whose application id is
    /// `writer` (what that app changes from now on is attributed to Rewind); returns its id.
    pub async fn begin_restore(
        &self,
        tenant: &TenantInfo,
        plan: &str,
        writer: &str,
    ) -> Result<RestoreId, StoreError> {
        let sealed = self.sealer.seal_text(PLAN_ADDRESS, plan)?;
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        let row = sqlx::query(
            "INSERT INTO restores (tenant, created_at, plan, status, writer) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(tenant.id)
        .bind(now)
        .bind(sealed.clone())
        .bind(RestoreStatus::Running.as_str())
        .bind(writer)
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        let body = serde_json::json!({"created_at": now, "plan": sealed, "writer": writer,
            "status": RestoreStatus::Running.as_str()});
        self.append_ledger(&mut tx, tenant.id, "restore", &id.to_string(), &body, now).await?;
        tx.commit().await?;
        Ok(RestoreId(id))
    }

    /// The tenant's restores, newest first.
    pub async fn restores(&self, tenant: &TenantInfo) -> Result<Vec<RestoreRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, plan, status, finished_at FROM restores WHERE tenant = $1 ORDER BY id DESC",
        )
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RestoreRecord {
                    id: RestoreId(r.try_get(0)?),
                    created_at: micros(r.try_get(1)?)?,
                    plan: self.sealer.open_text(PLAN_ADDRESS, &r.try_get::<String, _>(2)?)?,
                    status: RestoreStatus::parse(&r.try_get::<String, _>(3)?)?,
                    finished_at: r.try_get::<Option<i64>, _>(4)?.map(micros).transpose()?,
                })
            })
            .collect()
    }

    /// Records a step's state; the latest state of a step is kept.
    pub async fn record_step(
        &self,
        restore: RestoreId,
        step: usize,
        state: StepState,
        result: &str,
    ) -> Result<(), StoreError> {
        self.record_steps(restore, &[(step, state, result.to_string())]).await
    }

    /// Records several steps' states in one transaction: `(step, state, result)`.
    pub async fn record_steps(
        &self,
        restore: RestoreId,
        entries: &[(usize, StepState, String)],
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        let tenant = restore_tenant(&mut tx, restore.0).await?;
        for (step, state, result) in entries {
            let address = format!("restore-step-{restore}-{step}");
            let sealed = self.sealer.seal_text(address.as_bytes(), result)?;
            let step = i64::try_from(*step).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(UPSERT_STEP)
                .bind(restore.0)
                .bind(step)
                .bind(state.as_str())
                .bind(sealed.clone())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let body =
                serde_json::json!({"state": state.as_str(), "result": sealed, "updated_at": now});
            self.append_ledger(&mut tx, tenant, "step", &format!("{restore}/{step}"), &body, now)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every step recorded for a restore, by step number.
    pub async fn restore_steps(
        &self,
        restore: RestoreId,
    ) -> Result<BTreeMap<usize, StepRecord>, StoreError> {
        let rows = sqlx::query("SELECT step, state, result FROM restore_steps WHERE restore = $1")
            .bind(restore.0)
            .fetch_all(&self.db)
            .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let step: i64 = r.try_get(0)?;
            let address = format!("restore-step-{restore}-{step}");
            let step = usize::try_from(step).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.insert(
                step,
                StepRecord {
                    state: StepState::parse(&r.try_get::<String, _>(1)?)?,
                    result: self
                        .sealer
                        .open_text(address.as_bytes(), &r.try_get::<String, _>(2)?)?,
                },
            );
        }
        Ok(out)
    }

    /// Marks a restore ended with `status`.
    pub async fn finish_restore(
        &self,
        restore: RestoreId,
        status: RestoreStatus,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        let tenant = restore_tenant(&mut tx, restore.0).await?;
        sqlx::query("UPDATE restores SET status = $1, finished_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(restore.0)
            .execute(&mut *tx)
            .await?;
        let body = serde_json::json!({"status": status.as_str(), "finished_at": now});
        self.append_ledger(&mut tx, tenant, "finish", &restore.to_string(), &body, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records that a restore created `old_key` anew as `new_key`.
    pub async fn record_lineage(
        &self,
        tenant: &TenantInfo,
        restore: RestoreId,
        kind: Kind,
        old_key: &str,
        new_key: &str,
    ) -> Result<(), StoreError> {
        let now = Timestamp::now().as_microsecond();
        let mut tx = self.db.begin().await?;
        sqlx::query(
            "INSERT INTO lineage (tenant, kind, old_key, new_key, restore, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant, kind, old_key, restore) DO UPDATE SET new_key = excluded.new_key, \
             created_at = excluded.created_at",
        )
        .bind(tenant.id)
        .bind(kind.name())
        .bind(old_key)
        .bind(new_key)
        .bind(restore.0)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let body = serde_json::json!({"kind": kind.name(), "old_key": old_key, "new_key": new_key,
            "created_at": now});
        self.append_ledger(&mut tx, tenant.id, "lineage", &restore.to_string(), &body, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The lineage recorded for a tenant, oldest first.
    pub async fn lineage(&self, tenant: &TenantInfo) -> Result<Vec<LineageRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, old_key, new_key, restore FROM lineage WHERE tenant = $1 ORDER BY created_at, restore",
        )
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get(0)?;
                Ok(LineageRecord {
                    kind: Kind::from_name(&kind).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown kind '{kind}' in lineage"))
                    })?,
                    old_key: r.try_get(1)?,
                    new_key: r.try_get(2)?,
                    restore: RestoreId(r.try_get(3)?),
                })
            })
            .collect()
    }
}

/// The tenant a restore belongs to.
async fn restore_tenant(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    restore: i64,
) -> Result<i64, StoreError> {
    Ok(sqlx::query("SELECT tenant FROM restores WHERE id = $1")
        .bind(restore)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no restore {restore}")))?
        .try_get(0)?)
}
