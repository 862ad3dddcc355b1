//! Manifests and the hash chain: the pure arithmetic of snapshots.
//!
//! A manifest maps every object of a tenant at a snapshot to its version hash. It is not stored
//! whole (a hundred snapshots of a large tenant would repeat the same hundred thousand entries):
//! the `versions` table holds only changes, and a manifest is the fold of those changes up to a
//! snapshot. What the snapshot row keeps is the manifest's hash, and the chain hash over it.

use std::collections::BTreeMap;

use rewind_model::ContentHash;
pub use rewind_model::ObjectKey;
use serde::{Deserialize, Serialize};

/// Every object of a tenant at one snapshot, with its version hash.
pub type Manifest = BTreeMap<ObjectKey, ContentHash>;

/// What a snapshot did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The object appeared.
    Created,
    /// Its configuration changed.
    Updated,
    /// It went away.
    Deleted,
}

impl Change {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Deleted => "deleted",
        }
    }

    /// Parses a stored name.
    pub fn from_name(s: &str) -> Option<Change> {
        match s {
            "created" => Some(Change::Created),
            "updated" => Some(Change::Updated),
            "deleted" => Some(Change::Deleted),
            _ => None,
        }
    }

    /// The change that takes an object from `before` to `after`, if any.
    pub fn between(before: Option<&ContentHash>, after: Option<&ContentHash>) -> Option<Change> {
        match (before, after) {
            (None, Some(_)) => Some(Change::Created),
            (Some(a), Some(b)) if a != b => Some(Change::Updated),
            (Some(_), None) => Some(Change::Deleted),
            _ => None,
        }
    }
}

/// Applies one version row to a manifest: a hash sets the entry, `None` removes it.
pub fn apply(manifest: &mut Manifest, key: ObjectKey, hash: Option<ContentHash>) {
    match hash {
        Some(h) => {
            manifest.insert(key, h);
        }
        None => {
            manifest.remove(&key);
        }
    }
}

/// The manifest's hash: BLAKE3 over a domain line and one `kind\tkey\thash\n` line per entry,
/// in key order (the map's order: kind, then key bytes).
pub fn manifest_hash(manifest: &Manifest) -> ContentHash {
    // Lines are gathered into large updates, which BLAKE3 hashes several chunks at a time.
    const FLUSH_AT: usize = 64 * 1024;
    let mut h = blake3::Hasher::new();
    let mut buffer = Vec::with_capacity(FLUSH_AT + 1024);
    buffer.extend_from_slice(b"rewind-manifest-v1\n");
    for (k, v) in manifest {
        buffer.extend_from_slice(k.kind.name().as_bytes());
        buffer.push(b'\t');
        buffer.extend_from_slice(k.key.as_bytes());
        buffer.push(b'\t');
        buffer.extend_from_slice(&v.hex_array());
        buffer.push(b'\n');
        if buffer.len() >= FLUSH_AT {
            h.update(&buffer);
            buffer.clear();
        }
    }
    h.update(&buffer);
    ContentHash::from_array(*h.finalize().as_bytes())
}

/// The chain hash of a snapshot: BLAKE3 over a domain tag, the parent's chain hash (32 zero
/// bytes for a tenant's first snapshot), the manifest hash, the hash of the snapshot's audit
/// records (32 zero bytes when it has none), the tenant id and the capture time in
/// microseconds. Changing any stored version, audit record, manifest or the order of snapshots
/// changes every later chain hash.
pub fn chain_hash(
    parent: Option<&ContentHash>,
    manifest: &ContentHash,
    audit: Option<&ContentHash>,
    tenant_id: &str,
    taken_at_micros: i64,
) -> ContentHash {
    let mut h = blake3::Hasher::new();
    h.update(b"rewind-chain-v1");
    h.update(parent.map_or(&[0u8; 32], |p| p.as_bytes()));
    h.update(manifest.as_bytes());
    h.update(audit.map_or(&[0u8; 32], |a| a.as_bytes()));
    h.update(tenant_id.as_bytes());
    h.update(&taken_at_micros.to_le_bytes());
    ContentHash::from_array(*h.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::Kind;

    fn h(s: &str) -> ContentHash {
        ContentHash::of(s.as_bytes())
    }

    #[test]
    fn a_manifest_hash_depends_on_every_entry() {
        let mut m = Manifest::new();
        m.insert(ObjectKey::new(Kind::User, "u1"), h("a"));
        let one = manifest_hash(&m);
        m.insert(ObjectKey::new(Kind::User, "u2"), h("b"));
        let two = manifest_hash(&m);
        assert_ne!(one, two);
        apply(&mut m, ObjectKey::new(Kind::User, "u2"), None);
        assert_eq!(manifest_hash(&m), one);
        apply(&mut m, ObjectKey::new(Kind::User, "u1"), Some(h("c")));
        assert_ne!(manifest_hash(&m), one);
    }

    #[test]
    fn the_chain_binds_parent_manifest_audit_tenant_and_time() {
        let m = h("m");
        let first = chain_hash(None, &m, None, "t", 1);
        assert_ne!(first, chain_hash(Some(&first), &m, None, "t", 1));
        assert_ne!(first, chain_hash(None, &h("n"), None, "t", 1));
        assert_ne!(first, chain_hash(None, &m, Some(&h("a")), "t", 1));
        assert_ne!(first, chain_hash(None, &m, None, "u", 1));
        assert_ne!(first, chain_hash(None, &m, None, "t", 2));
    }

    #[test]
    fn changes_follow_from_hashes() {
        let (a, b) = (h("a"), h("b"));
        assert_eq!(Change::between(None, Some(&a)), Some(Change::Created));
        assert_eq!(Change::between(Some(&a), Some(&b)), Some(Change::Updated));
        assert_eq!(Change::between(Some(&a), Some(&a)), None);
        assert_eq!(Change::between(Some(&a), None), Some(Change::Deleted));
    }
}
