//! Version blobs: canonical JSON, compressed (and sealed), stored once under its hash.

use rewind_model::ContentHash;
use serde_json::Value;
use sqlx::Row as _;

use super::{ROWS_PER_INSERT, push_placeholders};
use crate::error::StoreError;
use crate::store::Store;

impl Store {
    /// Stores canonical version bytes under their hashes (already stored ones are skipped).
    /// Done as a capture streams, outside the snapshot's transaction: blobs of a capture that
    /// then fails are unreferenced and harmless.
    ///
    /// Rows go in in hash order: tenants share versions, and two captures inserting the same
    /// hashes in different orders would each wait for the other's uncommitted index entry
    /// (`PostgreSQL` reports a deadlock). One order for everyone makes that impossible.
    pub async fn put_blobs(&self, blobs: &[(ContentHash, Vec<u8>)]) -> Result<(), StoreError> {
        let mut ordered: Vec<&(ContentHash, Vec<u8>)> = blobs.iter().collect();
        ordered.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        ordered.dedup_by(|a, b| a.0 == b.0);
        for chunk in ordered.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from("INSERT INTO blobs (hash, size, data) VALUES ");
            push_placeholders(&mut sql, self.dialect, chunk.len(), 3);
            sql.push_str(" ON CONFLICT (hash) DO NOTHING");
            let mut q = sqlx::query(&sql);
            for &(hash, bytes) in chunk {
                let sealed = self.sealer.seal(hash.as_bytes(), bytes)?;
                q = q
                    .bind(hash.as_bytes().to_vec())
                    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
                    .bind(sealed);
            }
            q.execute(&self.db).await?;
        }
        Ok(())
    }

    /// The canonical bytes stored under `hash`, checked against it.
    pub async fn blob(&self, hash: &ContentHash) -> Result<Vec<u8>, StoreError> {
        let row = sqlx::query("SELECT data FROM blobs WHERE hash = $1")
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("blob {} is missing", hash.to_hex())))?;
        let data: Vec<u8> = row.try_get(0)?;
        self.sealer.open_blob(hash, &data)
    }

    /// Many blobs at once (far faster than one by one), each checked against its hash; each
    /// once, in no particular order. A hash not stored is an error.
    pub async fn blobs(
        &self,
        hashes: &[ContentHash],
    ) -> Result<Vec<(ContentHash, Vec<u8>)>, StoreError> {
        if let Some(path) = self.path.clone().filter(|_| hashes.len() > 64) {
            let (sealer, hashes) = (self.sealer.clone(), hashes.to_vec());
            return tokio::task::spawn_blocking(move || {
                crate::bulk::blobs(&path, &sealer, &hashes)
            })
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        }
        let mut unique = hashes.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut out = Vec::with_capacity(unique.len());
        for chunk in unique.chunks(ROWS_PER_INSERT) {
            let mut sql = String::from("SELECT hash, data FROM blobs WHERE hash IN ");
            push_placeholders(&mut sql, self.dialect, 1, chunk.len());
            let mut q = sqlx::query(&sql);
            for h in chunk {
                q = q.bind(h.as_bytes().to_vec());
            }
            let rows = q.fetch_all(&self.db).await?;
            let found = rows.len();
            for r in rows {
                let raw: Vec<u8> = r.try_get(0)?;
                let hash = ContentHash::from_slice(&raw)
                    .ok_or_else(|| StoreError::Corrupt("a blob address is not 32 bytes".into()))?;
                let data: Vec<u8> = r.try_get(1)?;
                out.push((hash, self.sealer.open_blob(&hash, &data)?));
            }
            if found < chunk.len() {
                return Err(StoreError::Corrupt(format!(
                    "{} blob(s) of {} asked for are missing",
                    chunk.len() - found,
                    chunk.len()
                )));
            }
        }
        Ok(out)
    }

    /// A stored version as JSON.
    pub async fn version(&self, hash: &ContentHash) -> Result<Value, StoreError> {
        let bytes = self.blob(hash).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("blob {} is not JSON: {e}", hash.to_hex())))
    }
}
