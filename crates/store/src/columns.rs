//! Decoding what the store's columns hold, shared by the modules that read rows.

use rewind_model::ContentHash;

use crate::error::StoreError;

/// A nullable hash column: absent, or exactly 32 bytes.
pub(crate) fn opt_hash(b: Option<Vec<u8>>) -> Result<Option<ContentHash>, StoreError> {
    b.map(|b| {
        ContentHash::from_slice(&b)
            .ok_or_else(|| StoreError::Corrupt("a version hash is not 32 bytes".into()))
    })
    .transpose()
}
