//! The hash chain, version 2 (docs/design/store-format.md, "The chain"): each snapshot's chain
//! hash commits to its parent's, its manifest, its audit records, and everything stored about
//! it — its own fields, its version rows with their names, changes, actors and records, the
//! late attributions it found, and which delta cursors it committed. Values are hashed as they
//! are stored (sealed when the store is encrypted), so the chain is checked without the key;
//! but in an encrypted store the chain itself is keyed from the store key, so someone who can
//! write the database but does not hold the key cannot forge a consistent chain.
//!
//! The encoding is a sequence of fields, each its length as a little-endian u64 then its bytes
//! (a NULL is the length `u64::MAX` and no bytes): unambiguous, and easy to write again in any
//! language (the tests check a store with an independent Python checker).

use rewind_model::ContentHash;

use crate::ids::SnapshotId;

/// The chain key of an encrypted store, from its store key.
pub(crate) fn chain_key(store_key: &[u8; 32]) -> [u8; 32] {
    blake3::derive_key("rewind-store chain v2", store_key)
}

/// A snapshot's own fields, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotFields<'a> {
    /// The tenant: its directory id, connection settings (name, URLs, client id) and when it
    /// was added.
    pub(crate) tenant: &'a crate::tenant::TenantInfo,
    pub(crate) taken_at: i64,
    pub(crate) complete: bool,
    pub(crate) objects: i64,
    pub(crate) counts: &'a str,
    pub(crate) requests: i64,
    pub(crate) millis: i64,
    pub(crate) cursor_kinds: Option<&'a str>,
    /// The tenant's ledger head at the snapshot's commit (`seq:hex`, or empty when the ledger
    /// was); none in snapshots from before the ledger, which is not the same thing.
    pub(crate) ledger_head: Option<&'a str>,
    /// The time of the newest audit record read: where the next capture's audit read starts.
    pub(crate) audit_until: Option<i64>,
}

/// One version row of a snapshot, as stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RowFields {
    pub(crate) kind: String,
    pub(crate) key: String,
    pub(crate) hash: Option<Vec<u8>>,
    pub(crate) change: String,
    pub(crate) name: Option<String>,
    pub(crate) actors: String,
    pub(crate) records: Option<String>,
}

/// One amendment a snapshot's capture found, as stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AmendmentFields {
    pub(crate) kind: String,
    pub(crate) key: String,
    pub(crate) version: SnapshotId,
    pub(crate) actors: String,
    pub(crate) records: String,
}

/// Writes fields in the chain's encoding. Fields are gathered into large updates: BLAKE3
/// hashes many chunks at once only when it is given them at once, and a snapshot's rows are
/// many short fields.
struct Fields {
    hasher: blake3::Hasher,
    buffer: Vec<u8>,
}

impl Fields {
    const FLUSH_AT: usize = 64 * 1024;

    fn new() -> Fields {
        Fields { hasher: blake3::Hasher::new(), buffer: Vec::with_capacity(Self::FLUSH_AT + 1024) }
    }

    fn bytes(&mut self, b: Option<&[u8]>) -> &mut Self {
        match b {
            Some(b) => {
                self.buffer.extend_from_slice(&(b.len() as u64).to_le_bytes());
                self.buffer.extend_from_slice(b);
            }
            None => self.buffer.extend_from_slice(&u64::MAX.to_le_bytes()),
        }
        if self.buffer.len() >= Self::FLUSH_AT {
            self.hasher.update(&self.buffer);
            self.buffer.clear();
        }
        self
    }

    fn finish(mut self) -> ContentHash {
        self.hasher.update(&self.buffer);
        ContentHash::from_array(*self.hasher.finalize().as_bytes())
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.bytes(Some(s.as_bytes()))
    }

    fn int(&mut self, n: i64) -> &mut Self {
        self.bytes(Some(&n.to_le_bytes()))
    }

    fn count(&mut self, n: usize) -> &mut Self {
        self.bytes(Some(&u64::try_from(n).unwrap_or(u64::MAX).to_le_bytes()))
    }
}

/// The digest of everything stored about one snapshot besides its manifest and audit blob.
/// Rows and amendments are hashed in sorted order (by kind, key, and the amended snapshot).
pub(crate) fn snapshot_digest(
    fields: &SnapshotFields<'_>,
    rows: &mut [RowFields],
    amendments: &mut [AmendmentFields],
) -> ContentHash {
    rows.sort_unstable();
    amendments.sort_unstable();
    let mut f = Fields::new();
    let t = fields.tenant;
    f.text("rewind-snapshot-v2")
        .text(&t.tenant_id)
        .text(&t.name)
        .text(&t.graph_url)
        .text(&t.authority_url)
        .bytes(t.client_id.as_deref().map(str::as_bytes))
        .int(t.created_at.as_microsecond())
        .int(fields.taken_at)
        .int(i64::from(fields.complete))
        .int(fields.objects)
        .text(fields.counts)
        .int(fields.requests)
        .int(fields.millis)
        .bytes(fields.cursor_kinds.map(str::as_bytes))
        .bytes(fields.ledger_head.map(str::as_bytes))
        .bytes(fields.audit_until.map(i64::to_le_bytes).as_ref().map(<[u8; 8]>::as_slice))
        .count(rows.len());
    for r in rows.iter() {
        f.text(&r.kind)
            .text(&r.key)
            .bytes(r.hash.as_deref())
            .text(&r.change)
            .bytes(r.name.as_deref().map(str::as_bytes))
            .text(&r.actors)
            .bytes(r.records.as_deref().map(str::as_bytes));
    }
    f.count(amendments.len());
    for a in amendments.iter() {
        f.text(&a.kind).text(&a.key).int(a.version.0).text(&a.actors).text(&a.records);
    }
    f.finish()
}

/// A snapshot's chain hash (version 2): keyed from the store key when there is one.
pub(crate) fn chain_hash_v2(
    key: Option<&[u8; 32]>,
    parent: Option<&ContentHash>,
    manifest: &ContentHash,
    audit: Option<&ContentHash>,
    digest: &ContentHash,
) -> ContentHash {
    let mut h = match key {
        Some(k) => blake3::Hasher::new_keyed(k),
        None => blake3::Hasher::new(),
    };
    h.update(b"rewind-chain-v2");
    h.update(parent.map_or(&[0u8; 32], |p| p.as_bytes()));
    h.update(manifest.as_bytes());
    h.update(audit.map_or(&[0u8; 32], |a| a.as_bytes()));
    h.update(digest.as_bytes());
    ContentHash::from_array(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> &'static crate::tenant::TenantInfo {
        static TENANT: std::sync::LazyLock<crate::tenant::TenantInfo> =
            std::sync::LazyLock::new(|| crate::tenant::TenantInfo {
                id: 1,
                tenant_id: "t".into(),
                name: "contoso".into(),
                graph_url: "https://graph.microsoft.com".into(),
                authority_url: "https://login.microsoftonline.com".into(),
                client_id: None,
                created_at: jiff::Timestamp::UNIX_EPOCH,
            });
        &TENANT
    }

    fn fields() -> SnapshotFields<'static> {
        SnapshotFields {
            tenant: tenant(),
            taken_at: 1,
            complete: true,
            objects: 2,
            counts: "{}",
            requests: 3,
            millis: 4,
            cursor_kinds: Some("[]"),
            ledger_head: Some(""),
            audit_until: None,
        }
    }

    fn row(actors: &str) -> RowFields {
        RowFields {
            kind: "group".into(),
            key: "g1".into(),
            hash: Some(vec![1; 32]),
            change: "updated".into(),
            name: Some("Finance".into()),
            actors: actors.into(),
            records: None,
        }
    }

    #[test]
    fn every_stored_field_moves_the_digest() {
        let base = snapshot_digest(&fields(), &mut [row("[]")], &mut []);
        assert_ne!(base, snapshot_digest(&fields(), &mut [row("[\"x\"]")], &mut []));
        let mut other = fields();
        other.complete = false;
        assert_ne!(base, snapshot_digest(&other, &mut [row("[]")], &mut []));
        assert_ne!(base, snapshot_digest(&fields(), &mut [], &mut []));
        // Order of rows as read does not matter; what they say does.
        let mut a = row("[]");
        a.key = "g0".into();
        assert_eq!(
            snapshot_digest(&fields(), &mut [row("[]"), a.clone()], &mut []),
            snapshot_digest(&fields(), &mut [a, row("[]")], &mut [])
        );
    }

    #[test]
    fn a_keyed_chain_differs_from_a_plain_one() {
        let d = ContentHash::of(b"d");
        let m = ContentHash::of(b"m");
        let plain = chain_hash_v2(None, None, &m, None, &d);
        let keyed = chain_hash_v2(Some(&[7; 32]), None, &m, None, &d);
        assert_ne!(plain, keyed);
        assert_eq!(plain, chain_hash_v2(None, None, &m, None, &d));
    }
}
