//! How a blob's bytes are kept: zstd-compressed and, when the store has a key, encrypted with
//! XChaCha20-Poly1305 under a random 24-byte nonce, with the blob's hash as associated data so
//! that sealed bytes cannot be moved under another address.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use rewind_model::ContentHash;

use crate::error::StoreError;

const ZSTD_LEVEL: i32 = 3;
const NONCE: usize = 24;
/// The largest blob a store accepts back from decompression; a guard against a damaged frame
/// that claims an absurd size.
const MAX_BLOB: usize = 64 << 20;

thread_local! {
    /// One compression context per thread: creating one per blob cost a tenth of a capture.
    static COMPRESSOR: std::cell::RefCell<std::io::Result<zstd::bulk::Compressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(ZSTD_LEVEL));
    /// Likewise for decompression: creating a context per blob was 40% of reading a state.
    static DECOMPRESSOR: std::cell::RefCell<std::io::Result<zstd::bulk::Decompressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Decompressor::new());
}

/// A 32-byte key for encryption at rest. Never stored, never printed.
#[derive(Clone)]
pub struct StoreKey([u8; 32]);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

impl StoreKey {
    /// Parses a key written as 64 hex characters or as base64 of 32 bytes (surrounding
    /// whitespace ignored), or given as exactly 32 raw bytes (a key file).
    pub fn parse(bytes: &[u8]) -> Result<StoreKey, StoreError> {
        let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or_default();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            ContentHash::from_hex(&text.to_ascii_lowercase()).map(|h| *h.as_bytes())
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()
                .and_then(|d| <[u8; 32]>::try_from(d.as_slice()).ok())
        };
        decoded.or_else(|| <[u8; 32]>::try_from(bytes).ok()).map(StoreKey).ok_or_else(|| {
            StoreError::Key(
                "a key is 64 hex characters, base64 of 32 bytes, or a file of 32 raw bytes".into(),
            )
        })
    }

    /// Makes a fresh random key (for `rewind init --encrypt`-style use and tests).
    pub fn generate() -> StoreKey {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        StoreKey(k)
    }

    /// The key as 64 hex characters, to hand to the user once.
    pub fn to_hex(&self) -> String {
        ContentHash::from_array(self.0).to_hex()
    }

    /// A value that tells a right key from a wrong one without revealing the key: the key's
    /// BLAKE3 keyed hash of a fixed text.
    pub(crate) fn check_value(&self) -> String {
        blake3::keyed_hash(&self.0, b"rewind-store-key-check-v1").to_hex().to_string()
    }
}

/// Seals and opens blob bytes for one store.
#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: Option<XChaCha20Poly1305>,
    /// Key for the keyed hashes that stand in for names in an encrypted store's indexes.
    index_key: Option<[u8; 32]>,
    /// Key of the hash chain of an encrypted store.
    chain_key: Option<[u8; 32]>,
    /// Key of the MACs on restore plans an encrypted store's restores write out.
    plan_key: Option<[u8; 32]>,
}

impl Sealer {
    pub(crate) fn new(key: Option<&StoreKey>) -> Sealer {
        Sealer {
            cipher: key.map(|k| XChaCha20Poly1305::new((&k.0).into())),
            index_key: key.map(|k| blake3::derive_key("rewind-store name index v1", &k.0)),
            chain_key: key.map(|k| crate::chain::chain_key(&k.0)),
            plan_key: key.map(|k| blake3::derive_key("rewind-store plan mac v1", &k.0)),
        }
    }

    /// The MAC of a plan's bytes, in an encrypted store.
    pub(crate) fn plan_mac(&self, plan: &[u8]) -> Option<blake3::Hash> {
        self.plan_key.as_ref().map(|k| blake3::keyed_hash(k, plan))
    }

    /// The key the chain is computed with, in an encrypted store.
    pub(crate) fn chain_key(&self) -> Option<&[u8; 32]> {
        self.chain_key.as_ref()
    }

    pub(crate) fn encrypted(&self) -> bool {
        self.cipher.is_some()
    }

    /// What an index column holds for a searchable text: the text itself, or in an encrypted
    /// store its keyed hash (exact lookups still work; the text is not on disk).
    pub(crate) fn index(&self, text: &str) -> String {
        match &self.index_key {
            None => text.to_string(),
            Some(k) => format!("h:{}", blake3::keyed_hash(k, text.as_bytes()).to_hex()),
        }
    }

    /// What a text column holds for a value only read back: the text, or in an encrypted store
    /// `enc:` and the base64 of its sealed bytes.
    pub(crate) fn seal_text(&self, address: &[u8], text: &str) -> Result<String, StoreError> {
        if self.cipher.is_none() {
            return Ok(text.to_string());
        }
        let sealed = self.seal(address, text.as_bytes())?;
        Ok(format!("enc:{}", base64::engine::general_purpose::STANDARD.encode(sealed)))
    }

    /// Reads back a column written by [`Sealer::seal_text`].
    pub(crate) fn open_text(&self, address: &[u8], stored: &str) -> Result<String, StoreError> {
        let Some(b64) = stored.strip_prefix("enc:").filter(|_| self.cipher.is_some()) else {
            return Ok(stored.to_string());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| StoreError::Corrupt(format!("a sealed value is not base64: {e}")))?;
        let plain = self.open(address, &bytes).map_err(StoreError::Corrupt)?;
        String::from_utf8(plain).map_err(|e| StoreError::Corrupt(format!("a sealed value: {e}")))
    }

    /// Compresses (and encrypts) `plain`, bound to `address`.
    pub(crate) fn seal(&self, address: &[u8], plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let packed = COMPRESSOR
            .with(|c| match c.borrow_mut().as_mut() {
                Ok(c) => c.compress(plain),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            })
            .map_err(|e| StoreError::Corrupt(format!("compression failed: {e}")))?;
        let Some(cipher) = &self.cipher else {
            return Ok(packed);
        };
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &packed, aad: address })
            .map_err(|_| StoreError::Corrupt("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts (when encrypted) and decompresses stored bytes.
    /// Opens the blob stored under `hash` and checks the result against it: what every read
    /// of a blob goes through.
    pub(crate) fn open_blob(
        &self,
        hash: &ContentHash,
        stored: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let plain = self
            .open(hash.as_bytes(), stored)
            .map_err(|e| StoreError::Corrupt(format!("blob {}: {e}", hash.to_hex())))?;
        if ContentHash::of(&plain) != *hash {
            return Err(StoreError::Corrupt(format!(
                "blob {} does not match its hash",
                hash.to_hex()
            )));
        }
        Ok(plain)
    }

    pub(crate) fn open(&self, address: &[u8], stored: &[u8]) -> Result<Vec<u8>, String> {
        let packed;
        let compressed = match &self.cipher {
            None => stored,
            Some(cipher) => {
                if stored.len() < NONCE {
                    return Err("sealed data is shorter than its nonce".into());
                }
                let (nonce, body) = stored.split_at(NONCE);
                packed = cipher
                    .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: address })
                    .map_err(|_| "authentication failed: the data was altered".to_string())?;
                &packed
            }
        };
        // The frame header records the size (zstd::bulk::compress writes it): allocate exactly
        // that, not the maximum, which would cost a 64 MiB mapping per blob.
        let size = zstd::zstd_safe::get_frame_content_size(compressed)
            .ok()
            .flatten()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| "not a zstd frame with a recorded size".to_string())?;
        if size > MAX_BLOB {
            return Err(format!("a blob claims {size} bytes, more than the {MAX_BLOB} allowed"));
        }
        DECOMPRESSOR
            .with(|d| match &mut *d.borrow_mut() {
                Ok(d) => d.decompress(compressed, size),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            })
            .map_err(|e| format!("not a zstd frame: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_bytes_open_only_under_their_address() {
        let s = Sealer::new(Some(&StoreKey::generate()));
        let sealed = s.seal(b"addr-1", b"{\"a\":1}").unwrap();
        assert_eq!(s.open(b"addr-1", &sealed).unwrap(), b"{\"a\":1}");
        assert!(s.open(b"addr-2", &sealed).is_err());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(s.open(b"addr-1", &flipped).is_err());
    }

    #[test]
    fn keys_parse_from_hex_base64_and_raw_bytes() {
        let k = StoreKey::generate();
        let hex = k.to_hex();
        assert_eq!(StoreKey::parse(hex.as_bytes()).unwrap().0, k.0);
        let b64 = base64::engine::general_purpose::STANDARD.encode(k.0);
        assert_eq!(StoreKey::parse(format!("{b64}\n").as_bytes()).unwrap().0, k.0);
        assert!(StoreKey::parse(b"too short").is_err());
        assert!(format!("{k:?}").contains("redacted"));
    }
}
