//! What the store keeps for attribution besides each version row's actors and records: late
//! attributions (amendments), which audit records were already used, and which apps Rewind's
//! restores wrote with (their changes are Rewind's).

use std::collections::HashSet;

use rewind_model::Actor;
use sqlx::Row as _;

use crate::chain::{AmendmentFields, RowFields};
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::manifest::ObjectKey;
use crate::store::Store;
use crate::tenant::TenantInfo;
use crate::timeline::{
    Amendment, VersionChange, actors_text, json_list, object_key, parse_actors_text, parse_records,
};

/// A version row's attribution, as capture needs it to attribute records that arrive late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowAttribution {
    /// The object.
    pub object: ObjectKey,
    /// The snapshot of the row.
    pub snapshot: SnapshotId,
    /// The records that explain it so far (the row's and its amendments').
    pub records: Vec<String>,
}

impl Store {
    /// Writes amendments found by the capture of `snapshot` (as stored), inside its
    /// transaction.
    pub(crate) async fn put_amendments(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &TenantInfo,
        snapshot: SnapshotId,
        amendments: &[AmendmentFields],
    ) -> Result<(), StoreError> {
        for a in amendments {
            sqlx::query(
                "INSERT INTO amendments (tenant, snapshot, kind, key, version, actors, records) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(tenant.id)
            .bind(snapshot)
            .bind(a.kind.clone())
            .bind(a.key.clone())
            .bind(a.version)
            .bind(a.actors.clone())
            .bind(a.records.clone())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// An amendment as it is stored: its actors sealed when the store is encrypted.
    pub(crate) fn amendment_fields(&self, a: &Amendment) -> Result<AmendmentFields, StoreError> {
        Ok(AmendmentFields {
            kind: a.object.kind.name().to_string(),
            key: a.object.key.clone(),
            version: a.version,
            actors: self.sealer.seal_text(a.object.key.as_bytes(), &actors_text(&a.actors))?,
            records: json_list(&a.records),
        })
    }

    /// A version row as it is stored: the name as its index value, the actors sealed when the
    /// store is encrypted.
    pub(crate) fn row_fields(&self, c: &VersionChange) -> Result<RowFields, StoreError> {
        Ok(RowFields {
            kind: c.object.kind.name().to_string(),
            key: c.object.key.clone(),
            hash: c.hash.map(|h| h.as_bytes().to_vec()),
            change: c.change.name().to_string(),
            name: c.name.as_deref().map(|n| self.sealer.index(n)),
            actors: self.sealer.seal_text(c.object.key.as_bytes(), &actors_text(&c.actors))?,
            records: Some(json_list(&c.records)),
        })
    }

    /// Amendments of version rows in snapshots after `after` up to `upto`.
    pub(crate) async fn amendments_between(
        &self,
        tenant: &TenantInfo,
        after: SnapshotId,
        upto: SnapshotId,
    ) -> Result<Vec<Amendment>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, version, actors, records FROM amendments WHERE tenant = $1 \
             AND version > $2 AND version <= $3 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(after)
        .bind(upto)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(|r| self.amendment(r)).collect()
    }

    /// Amendments of one object's version rows.
    pub(crate) async fn amendments_of(
        &self,
        tenant: &TenantInfo,
        object: &ObjectKey,
    ) -> Result<Vec<Amendment>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, version, actors, records FROM amendments WHERE tenant = $1 \
             AND kind = $2 AND key = $3 ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(object.kind.name())
        .bind(object.key.clone())
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(|r| self.amendment(r)).collect()
    }

    fn amendment(&self, r: &sqlx::any::AnyRow) -> Result<Amendment, StoreError> {
        let object = object_key(&r.try_get::<String, _>(0)?, r.try_get(1)?)?;
        Ok(Amendment {
            actors: self.open_actors(&object, &r.try_get::<String, _>(3)?)?,
            version: r.try_get(2)?,
            records: parse_records(r.try_get(4)?)?,
            object,
        })
    }

    /// A row's actors, unsealed and parsed.
    pub(crate) fn open_actors(
        &self,
        object: &ObjectKey,
        stored: &str,
    ) -> Result<Vec<Actor>, StoreError> {
        parse_actors_text(&self.sealer.open_text(object.key.as_bytes(), stored)?)
    }

    /// The version rows of snapshots after `after`, with the records that explain them so
    /// far: what a capture matches late records against, and the records already used.
    pub async fn attributions_since(
        &self,
        tenant: &TenantInfo,
        after: SnapshotId,
    ) -> Result<Vec<RowAttribution>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, key, snapshot, records FROM versions WHERE tenant = $1 AND snapshot > $2 \
             ORDER BY snapshot",
        )
        .bind(tenant.id)
        .bind(after)
        .fetch_all(&self.db)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(RowAttribution {
                object: object_key(&r.try_get::<String, _>(0)?, r.try_get(1)?)?,
                snapshot: r.try_get(2)?,
                records: parse_records(r.try_get(3)?)?,
            });
        }
        for a in self.amendments_between(tenant, after, SnapshotId::AFTER_ALL).await? {
            if let Some(row) =
                out.iter_mut().find(|r| r.object == a.object && r.snapshot == a.version)
            {
                row.records.extend(a.records);
            }
        }
        Ok(out)
    }

    /// The application ids Rewind's restores of this tenant wrote with: what they change is
    /// Rewind's doing.
    pub async fn restore_writers(
        &self,
        tenant: &TenantInfo,
    ) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT writer FROM restores WHERE tenant = $1 AND writer IS NOT NULL",
        )
        .bind(tenant.id)
        .fetch_all(&self.db)
        .await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?.to_ascii_lowercase())).collect()
    }
}
