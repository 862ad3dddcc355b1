//! The ledger (docs/design/store-format.md, "The ledger"): what Rewind records besides
//! snapshots — alerts and their delivery, restore journals, lineage, the actors watch has seen,
//! the last snapshot it evaluated, the last commit imported — as one append-only, hash-chained log per
//! tenant. Every write to those tables appends an entry in the same transaction; each snapshot
//! commits to the ledger's head at its time; `verify` recomputes the chain and checks that the
//! tables still say what the ledger does. The tables stay what commands read.

use rewind_model::ContentHash;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row as _;

use crate::error::StoreError;
use crate::store::Store;

/// One entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) seq: i64,
    /// `alert`, `delivered`, `restore`, `step`, `finish`, `lineage`, `known`, `evaluated` or
    /// `import`.
    pub(crate) entry: String,
    /// The alert's or the restore's id (`restore/step` for a step).
    pub(crate) subject: String,
    /// The row's fields as JSON, sealed values as stored.
    pub(crate) body: String,
    pub(crate) at: i64,
    pub(crate) chain: ContentHash,
}

/// An entry's chain hash: BLAKE3 (keyed in an encrypted store) over the domain, the previous
/// entry's chain hash (32 zero bytes for the first), and the entry's fields in the chain's
/// field encoding.
pub(crate) fn entry_chain(
    key: Option<&[u8; 32]>,
    previous: Option<&ContentHash>,
    entry: &str,
    subject: &str,
    body: &str,
    at: i64,
) -> ContentHash {
    let mut h = match key {
        Some(k) => blake3::Hasher::new_keyed(k),
        None => blake3::Hasher::new(),
    };
    h.update(b"rewind-ledger-v1");
    h.update(previous.map_or(&[0u8; 32], |p| p.as_bytes()));
    for text in [entry, subject, body] {
        h.update(&(text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    h.update(&8u64.to_le_bytes());
    h.update(&at.to_le_bytes());
    ContentHash::from_array(*h.finalize().as_bytes())
}

impl Store {
    /// Appends an entry to the tenant's ledger inside `tx`, after taking the tenant's write
    /// lock (so entries are numbered in the order they commit).
    pub(crate) async fn append_ledger(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: i64,
        entry: &str,
        subject: &str,
        body: &Value,
        at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE tenants SET id = id WHERE id = $1")
            .bind(tenant)
            .execute(&mut **tx)
            .await?;
        let last = sqlx::query(
            "SELECT seq, chain FROM ledger WHERE tenant = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(tenant)
        .fetch_optional(&mut **tx)
        .await?;
        let (seq, previous) = match last {
            Some(r) => {
                let raw: Vec<u8> = r.try_get(1)?;
                (r.try_get::<i64, _>(0)? + 1, ContentHash::from_slice(&raw))
            }
            None => (1, None),
        };
        let body = body.to_string();
        let chain =
            entry_chain(self.sealer.chain_key(), previous.as_ref(), entry, subject, &body, at);
        sqlx::query(
            "INSERT INTO ledger (tenant, seq, entry, subject, body, at, chain) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant)
        .bind(seq)
        .bind(entry)
        .bind(subject)
        .bind(body)
        .bind(at)
        .bind(chain.as_bytes().to_vec())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The ledger's head (`seq:hex`) inside `tx`: what a snapshot commits to.
    pub(crate) async fn ledger_head(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: i64,
    ) -> Result<String, StoreError> {
        let last = sqlx::query(
            "SELECT seq, chain FROM ledger WHERE tenant = $1 ORDER BY seq DESC LIMIT 1",
        )
        .bind(tenant)
        .fetch_optional(&mut **tx)
        .await?;
        match last {
            Some(r) => {
                let raw: Vec<u8> = r.try_get(1)?;
                Ok(format!("{}:{}", r.try_get::<i64, _>(0)?, hex(&raw)))
            }
            None => Ok(String::new()),
        }
    }

    /// The tenant's ledger, in order.
    pub(crate) async fn ledger(&self, tenant: i64) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, entry, subject, body, at, chain FROM ledger WHERE tenant = $1 ORDER BY seq",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?;
        rows.iter()
            .map(|r| {
                let raw: Vec<u8> = r.try_get(5)?;
                Ok(Entry {
                    seq: r.try_get(0)?,
                    entry: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    body: r.try_get(3)?,
                    at: r.try_get(4)?,
                    chain: ContentHash::from_slice(&raw).ok_or_else(|| {
                        StoreError::Corrupt("a ledger chain hash is not 32 bytes".into())
                    })?,
                })
            })
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Store {
    /// Stores written before the ledger existed: their alerts (and deliveries), restores, steps,
    /// lineage, known actors, watch state and import mark are entered once, as they are
    /// (nothing recorded them before; from now on they are covered).
    /// Only for a tenant whose ledger is empty and none of whose snapshots committed a head:
    /// every snapshot sealed since the ledger exists commits one (empty text for an empty
    /// ledger), so rows slipped into a store in use are reported by verify, never entered.
    pub(crate) async fn backfill_ledger(&self) -> Result<(), StoreError> {
        // One statement, not one per tenant: this runs on every open of a store of hundreds.
        let untouched: Vec<i64> = sqlx::query(
            "SELECT t.id FROM tenants t \
             WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.tenant = t.id) \
             AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.tenant = t.id \
                             AND s.ledger_head IS NOT NULL)",
        )
        .fetch_all(&self.db)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        for tenant in untouched {
            self.enter_existing(tenant).await?;
        }
        Ok(())
    }

    async fn enter_existing(&self, tenant: i64) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        for r in sqlx::query(
            "SELECT id, fingerprint, rule, severity, snapshot, created_at, body FROM alerts \
             WHERE tenant = $1 ORDER BY id",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?
        {
            let created_at: i64 = r.try_get(5)?;
            let body = serde_json::json!({"fingerprint": r.try_get::<String, _>(1)?,
                "rule": r.try_get::<String, _>(2)?, "severity": r.try_get::<String, _>(3)?,
                "snapshot": r.try_get::<i64, _>(4)?, "created_at": created_at,
                "body": r.try_get::<String, _>(6)?});
            let id: i64 = r.try_get(0)?;
            self.append_ledger(&mut tx, tenant, "alert", &id.to_string(), &body, created_at)
                .await?;
        }
        for r in sqlx::query(
            "SELECT id, created_at, plan, writer, status, finished_at FROM restores \
             WHERE tenant = $1 ORDER BY id",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?
        {
            let id: i64 = r.try_get(0)?;
            let created_at: i64 = r.try_get(1)?;
            let body = serde_json::json!({"created_at": created_at,
                "plan": r.try_get::<String, _>(2)?, "writer": r.try_get::<Option<String>, _>(3)?,
                "status": crate::journal_types::RestoreStatus::Running.as_str()});
            self.append_ledger(&mut tx, tenant, "restore", &id.to_string(), &body, created_at)
                .await?;
            let steps = sqlx::query(
                "SELECT step, state, result, updated_at FROM restore_steps WHERE restore = $1 \
                 ORDER BY step",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            for s in steps {
                let at: i64 = s.try_get(3)?;
                let body = serde_json::json!({"state": s.try_get::<String, _>(1)?,
                    "result": s.try_get::<String, _>(2)?, "updated_at": at});
                let subject = format!("{id}/{}", s.try_get::<i64, _>(0)?);
                self.append_ledger(&mut tx, tenant, "step", &subject, &body, at).await?;
            }
            if let Some(finished) = r.try_get::<Option<i64>, _>(5)? {
                let body = serde_json::json!({"status": r.try_get::<String, _>(4)?,
                    "finished_at": finished});
                self.append_ledger(&mut tx, tenant, "finish", &id.to_string(), &body, finished)
                    .await?;
            }
        }
        for r in sqlx::query(
            "SELECT kind, old_key, new_key, restore, created_at FROM lineage WHERE tenant = $1 \
             ORDER BY created_at, restore",
        )
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?
        {
            let at: i64 = r.try_get(4)?;
            let body = serde_json::json!({"kind": r.try_get::<String, _>(0)?,
                "old_key": r.try_get::<String, _>(1)?, "new_key": r.try_get::<String, _>(2)?,
                "created_at": at});
            let subject = r.try_get::<i64, _>(3)?.to_string();
            self.append_ledger(&mut tx, tenant, "lineage", &subject, &body, at).await?;
        }
        let mut watch = std::collections::BTreeMap::new();
        self.watch_tables(tenant, &mut watch).await?;
        let now = jiff::Timestamp::now().as_microsecond();
        for ((entry, subject), body) in watch {
            self.append_ledger(&mut tx, tenant, &entry, &subject, &body, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Checks the tenant's ledger: its chain, the heads its snapshots committed to, and that the
    /// tables (alerts, restores, steps, lineage) say what it does. Returns every disagreement.
    pub(crate) async fn check_ledger(
        &self,
        tenant: i64,
        heads: &[(i64, String)],
    ) -> Result<Vec<String>, StoreError> {
        let entries = self.ledger(tenant).await?;
        let mut problems = Vec::new();
        let mut previous: Option<ContentHash> = None;
        for (i, e) in entries.iter().enumerate() {
            let expected = entry_chain(
                self.sealer.chain_key(),
                previous.as_ref(),
                &e.entry,
                &e.subject,
                &e.body,
                e.at,
            );
            if i64::try_from(i + 1).ok() != Some(e.seq) || expected != e.chain {
                problems.push(format!("the ledger is broken at entry {}", e.seq));
                break;
            }
            previous = Some(e.chain);
        }
        for (snapshot, head) in heads.iter().filter(|(_, h)| !h.is_empty()) {
            let found = head
                .split_once(':')
                .and_then(|(seq, hex)| {
                    let seq: i64 = seq.parse().ok()?;
                    entries.iter().find(|e| e.seq == seq).map(|e| e.chain.to_hex() == hex)
                })
                .unwrap_or(false);
            if !found {
                problems.push(format!(
                    "snapshot {snapshot} committed to ledger entry {head}, which is missing or changed"
                ));
            }
        }
        problems.extend(self.tables_against(tenant, &entries).await?);
        Ok(problems)
    }

    /// What the tables of `watch` and `import` hold, as the ledger would say it: deliveries,
    /// known actors, the last snapshot evaluated and the last commit imported.
    async fn watch_tables(&self, tenant: i64, have: &mut Rows) -> Result<(), StoreError> {
        for r in sqlx::query(
            "SELECT id, delivered_to, delivered_at FROM alerts WHERE tenant = $1 \
             AND (delivered_to <> '' OR delivered_at IS NOT NULL)",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?
        {
            have.insert(
                ("delivered".into(), r.try_get::<i64, _>(0)?.to_string()),
                serde_json::json!({"delivered_to": r.try_get::<String, _>(1)?,
                    "delivered_at": r.try_get::<Option<i64>, _>(2)?}),
            );
        }
        for r in sqlx::query("SELECT actor, first_seen FROM known_actors WHERE tenant = $1")
            .bind(tenant)
            .fetch_all(&self.db)
            .await?
        {
            have.insert(
                ("known".into(), r.try_get(0)?),
                serde_json::json!({"first_seen": r.try_get::<i64, _>(1)?}),
            );
        }
        let evaluated = sqlx::query("SELECT evaluated FROM watch_state WHERE tenant = $1")
            .bind(tenant)
            .fetch_optional(&self.db)
            .await?
            .map(|r| r.try_get::<Option<i64>, _>(0))
            .transpose()?
            .flatten();
        if let Some(e) = evaluated {
            have.insert(("evaluated".into(), "watch".into()), serde_json::json!({"evaluated": e}));
        }
        let mark = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(crate::timeline::import_mark_key(tenant))
            .fetch_optional(&self.db)
            .await?
            .map(|r| r.try_get::<String, _>(0))
            .transpose()?;
        if let Some(commit) = mark {
            have.insert(("import".into(), "git".into()), serde_json::json!({"commit": commit}));
        }
        Ok(())
    }

    /// What the ledger says the tables hold, compared with what they hold.
    async fn tables_against(
        &self,
        tenant: i64,
        entries: &[Entry],
    ) -> Result<Vec<String>, StoreError> {
        let want = recorded(entries);
        let mut have = Rows::new();
        self.alert_rows(tenant, &mut have).await?;
        self.restore_rows(tenant, &mut have).await?;
        self.step_rows(tenant, &mut have).await?;
        self.lineage_rows(tenant, &mut have).await?;
        self.watch_tables(tenant, &mut have).await?;
        let differ = have.iter().filter(|(key, value)| want.get(*key) != Some(value));
        let mut problems: Vec<String> = differ
            .map(|(k, _)| format!("{} {} is not what the ledger recorded", k.0, k.1))
            .collect();
        let missing = want.keys().filter(|k| !have.contains_key(*k));
        problems.extend(missing.map(|k| format!("{} {} is missing", k.0, k.1)));
        Ok(problems)
    }

    async fn alert_rows(&self, tenant: i64, have: &mut Rows) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT id, fingerprint, rule, severity, snapshot, created_at, body FROM alerts WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?;
        for r in rows {
            have.insert(
                ("alert".into(), r.try_get::<i64, _>(0)?.to_string()),
                serde_json::json!({"fingerprint": r.try_get::<String, _>(1)?,
                    "rule": r.try_get::<String, _>(2)?, "severity": r.try_get::<String, _>(3)?,
                    "snapshot": r.try_get::<i64, _>(4)?, "created_at": r.try_get::<i64, _>(5)?,
                    "body": r.try_get::<String, _>(6)?}),
            );
        }
        Ok(())
    }

    async fn restore_rows(&self, tenant: i64, have: &mut Rows) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT id, created_at, plan, writer, status, finished_at FROM restores WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?;
        for r in rows {
            let mut v = serde_json::json!({"created_at": r.try_get::<i64, _>(1)?,
                "plan": r.try_get::<String, _>(2)?, "writer": r.try_get::<Option<String>, _>(3)?,
                "status": r.try_get::<String, _>(4)?});
            if let Some(f) = r.try_get::<Option<i64>, _>(5)? {
                v["finished_at"] = f.into();
            }
            have.insert(("restore".into(), r.try_get::<i64, _>(0)?.to_string()), v);
        }
        Ok(())
    }

    async fn step_rows(&self, tenant: i64, have: &mut Rows) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT s.restore, s.step, s.state, s.result, s.updated_at FROM restore_steps s \
             JOIN restores r ON r.id = s.restore WHERE r.tenant = $1",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?;
        for r in rows {
            have.insert(
                ("step".into(), format!("{}/{}", r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?)),
                serde_json::json!({"state": r.try_get::<String, _>(2)?,
                    "result": r.try_get::<String, _>(3)?, "updated_at": r.try_get::<i64, _>(4)?}),
            );
        }
        Ok(())
    }

    async fn lineage_rows(&self, tenant: i64, have: &mut Rows) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT kind, old_key, new_key, restore, created_at FROM lineage WHERE tenant = $1",
        )
        .bind(tenant)
        .fetch_all(&self.db)
        .await?;
        for r in rows {
            let (kind, old): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let restore = r.try_get::<i64, _>(3)?;
            let subject =
                format!("{restore}/{}/{}", Value::from(kind.clone()), Value::from(old.clone()));
            have.insert(
                ("lineage".into(), subject),
                serde_json::json!({"kind": kind, "old_key": old,
                    "new_key": r.try_get::<String, _>(2)?, "created_at": r.try_get::<i64, _>(4)?}),
            );
        }
        Ok(())
    }
}

/// Table rows by (table, subject), as the ledger records them.
type Rows = std::collections::BTreeMap<(String, String), Value>;

/// The rows the ledger's entries say the tables hold: the last entry of each row wins, a
/// restore's `finish` completing its `restore`.
fn recorded(entries: &[Entry]) -> Rows {
    let mut want = Rows::new();
    for e in entries {
        let body: Value = serde_json::from_str(&e.body).unwrap_or(Value::Null);
        let slot = want.entry(row_of(e, &body)).or_insert(Value::Null);
        if e.entry == "finish" {
            slot["status"] = body["status"].clone();
            slot["finished_at"] = body["finished_at"].clone();
        } else {
            let finished = slot.get("finished_at").cloned();
            *slot = body;
            if let Some(f) = finished.filter(|_| e.entry == "restore") {
                slot["finished_at"] = f;
            }
        }
    }
    want
}

/// The (table, subject) an entry records.
fn row_of(e: &Entry, body: &Value) -> (String, String) {
    match e.entry.as_str() {
        "finish" => ("restore".to_string(), e.subject.clone()),
        "lineage" => {
            ("lineage".to_string(), format!("{}/{}/{}", e.subject, body["kind"], body["old_key"]))
        }
        other => (other.to_string(), e.subject.clone()),
    }
}
