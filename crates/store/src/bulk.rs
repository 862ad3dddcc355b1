//! Bulk reads of a SQLite store through SQLite itself, on a blocking thread: a whole manifest
//! and thousands of blobs at a time. sqlx's SQLite driver hands every row from its worker
//! thread to the async side; for the 270,000 rows of a large tenant's state that hand-off,
//! not SQLite, was most of the time. The rows are the same; the checks are the same (every blob
//! is decompressed, decrypted when sealed, and checked against its hash).

use std::path::Path;

use rewind_model::{ContentHash, Kind};
use rusqlite::{OpenFlags, params_from_iter};

use crate::columns::opt_hash;
use crate::error::StoreError;
use crate::ids::SnapshotId;
use crate::manifest::{Manifest, ObjectKey, apply};
use crate::seal::Sealer;

/// Blobs asked for in one statement.
const BLOBS_PER_QUERY: usize = 500;

fn failed(e: &rusqlite::Error) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("reading the store: {e}")))
}

fn connect(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    let c = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| failed(&e))?;
    c.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| failed(&e))?;
    // Read pages through a memory map rather than a system call each.
    c.pragma_update(None, "mmap_size", 1_i64 << 30).map_err(|e| failed(&e))?;
    Ok(c)
}

/// Every object's latest version up to `snapshot`.
pub(crate) fn manifest(
    path: &Path,
    tenant: i64,
    snapshot: SnapshotId,
) -> Result<Manifest, StoreError> {
    let c = connect(path)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT kind, key, hash FROM versions WHERE tenant = ?1 AND snapshot <= ?2 ORDER BY snapshot",
        )
        .map_err(|e| failed(&e))?;
    let mut rows = stmt.query(rusqlite::params![tenant, snapshot]).map_err(|e| failed(&e))?;
    let mut manifest = Manifest::new();
    // Kinds repeat: look each name up once.
    let mut kinds: Vec<(String, Kind)> = Vec::new();
    while let Some(r) = rows.next().map_err(|e| failed(&e))? {
        let name = r.get_ref(0).map_err(|e| failed(&e))?.as_str().map_err(|e| failed(&e.into()))?;
        let kind = if let Some((_, k)) = kinds.iter().find(|(n, _)| n == name) {
            *k
        } else {
            let k = Kind::from_name(name)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown kind '{name}' in versions")))?;
            kinds.push((name.to_string(), k));
            k
        };
        let key: String = r.get(1).map_err(|e| failed(&e))?;
        let hash = opt_hash(r.get(2).map_err(|e| failed(&e))?)?;
        apply(&mut manifest, ObjectKey::new(kind, key), hash);
    }
    Ok(manifest)
}

/// The version rows of one snapshot as stored, for its chain (`integrity.rs`).
pub(crate) fn row_fields(
    path: &Path,
    tenant: i64,
    snapshot: SnapshotId,
) -> Result<Vec<crate::chain::RowFields>, StoreError> {
    let c = connect(path)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT kind, key, hash, change, name, actors, records FROM versions \
             WHERE tenant = ?1 AND snapshot = ?2",
        )
        .map_err(|e| failed(&e))?;
    let rows = stmt
        .query_map(rusqlite::params![tenant, snapshot], |r| {
            Ok(crate::chain::RowFields {
                kind: r.get(0)?,
                key: r.get(1)?,
                hash: r.get(2)?,
                change: r.get(3)?,
                name: r.get(4)?,
                actors: r.get(5)?,
                records: r.get(6)?,
            })
        })
        .map_err(|e| failed(&e))?;
    rows.collect::<Result<Vec<_>, _>>().map_err(|e| failed(&e))
}

/// The blobs with these hashes, opened and checked. Reading (SQLite, one thread) and opening
/// (decompression and hashing, the other cores) overlap: statement by statement, what is read
/// is handed to the openers.
pub(crate) fn blobs(
    path: &Path,
    sealer: &Sealer,
    hashes: &[ContentHash],
) -> Result<Vec<(ContentHash, Vec<u8>)>, StoreError> {
    let c = connect(path)?;
    // In key order, each statement walks one region of the blob table's B-tree.
    let mut sorted = hashes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let openers = std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 8);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(ContentHash, Vec<u8>)>>(openers * 2);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..openers)
            .map(|_| {
                s.spawn(|| {
                    // After a failure, keep draining so that the reader never blocks.
                    let mut result = Ok(Vec::new());
                    loop {
                        let next = rx.lock().map_err(|_| poisoned())?.recv();
                        let Ok(batch) = next else { return result };
                        if let Ok(out) = &mut result {
                            match open_all(sealer, batch) {
                                Ok(opened) => out.extend(opened),
                                Err(e) => result = Err(e),
                            }
                        }
                    }
                })
            })
            .collect();
        let read = read_stored(&c, &sorted, &tx);
        drop(tx);
        let mut out = Vec::with_capacity(sorted.len());
        for w in workers {
            out.extend(w.join().unwrap_or_else(|_| Err(poisoned()))?);
        }
        read?;
        Ok(out)
    })
}

fn poisoned() -> StoreError {
    StoreError::Corrupt("a blob reader thread failed".into())
}

/// Reads the stored bytes of `sorted`, a statement's worth at a time, into `tx`.
fn read_stored(
    c: &rusqlite::Connection,
    sorted: &[ContentHash],
    tx: &std::sync::mpsc::SyncSender<Vec<(ContentHash, Vec<u8>)>>,
) -> Result<(), StoreError> {
    for chunk in sorted.chunks(BLOBS_PER_QUERY) {
        let sql = format!(
            "SELECT hash, data FROM blobs WHERE hash IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut stmt = c.prepare_cached(&sql).map_err(|e| failed(&e))?;
        let mut rows = stmt
            .query(params_from_iter(chunk.iter().map(ContentHash::as_bytes)))
            .map_err(|e| failed(&e))?;
        let mut stored = Vec::with_capacity(chunk.len());
        while let Some(r) = rows.next().map_err(|e| failed(&e))? {
            let raw: Vec<u8> = r.get(0).map_err(|e| failed(&e))?;
            let hash = ContentHash::from_slice(&raw)
                .ok_or_else(|| StoreError::Corrupt("a blob address is not 32 bytes".into()))?;
            stored.push((hash, r.get(1).map_err(|e| failed(&e))?));
        }
        if stored.len() < chunk.len() {
            return Err(StoreError::Corrupt(format!(
                "{} blob(s) of {} asked for are missing",
                chunk.len() - stored.len(),
                chunk.len()
            )));
        }
        if tx.send(stored).is_err() {
            // An opener failed; its error is reported.
            return Ok(());
        }
    }
    Ok(())
}

/// Opens (decrypts, decompresses) and checks blobs.
fn open_all(
    sealer: &Sealer,
    stored: Vec<(ContentHash, Vec<u8>)>,
) -> Result<Vec<(ContentHash, Vec<u8>)>, StoreError> {
    stored.into_iter().map(|(hash, data)| Ok((hash, sealer.open_blob(&hash, &data)?))).collect()
}
