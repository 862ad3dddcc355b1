//! Content addresses: BLAKE3 over canonical bytes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The BLAKE3 hash of a version's canonical bytes: its address in the store.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Hashes bytes.
    pub fn of(bytes: &[u8]) -> ContentHash {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    /// A hash from its raw 32 bytes (as a database column holds it).
    pub fn from_slice(bytes: &[u8]) -> Option<ContentHash> {
        <[u8; 32]>::try_from(bytes).ok().map(ContentHash)
    }

    /// A hash from its raw bytes.
    pub fn from_array(bytes: [u8; 32]) -> ContentHash {
        ContentHash(bytes)
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        self.hex_array().iter().map(|&c| char::from(c)).collect()
    }

    /// Lower-case hex as ASCII bytes, without allocating: manifest and chain digests write
    /// one per object, so formatting machinery would cost more than the hashing.
    pub fn hex_array(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        out
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Option<ContentHash> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let text = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(text, 16).ok()?;
        }
        Some(ContentHash(out))
    }
}

impl fmt::Display for ContentHash {
    /// The first 12 hex characters, as people read ids (`git log --oneline` style).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex()[..12])
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ContentHash::from_hex(&s)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hex characters"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_display_is_short() {
        let h = ContentHash::of(b"rewind");
        assert_eq!(ContentHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(h.to_string().len(), 12);
        assert_eq!(ContentHash::from_hex("zz"), None);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
    }
}
