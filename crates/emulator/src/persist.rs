//! `--state FILE`: the tenant saved on shutdown and loaded on start, so it survives restarts.
//!
//! The file is zstd-compressed JSON: `{"format": "rewind-emulator-state", "version": 1,
//! "saved_at": …, "tenant": …}`. It is written to a temporary file beside the target and renamed
//! over it, so a crash while saving leaves the previous state intact. A file that cannot be read
//! is reported, never overwritten.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::tenant::{Tenant, format_time};

const FORMAT: &str = "rewind-emulator-state";
const VERSION: u32 = 1;

/// Why a state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("cannot {action} emulator state {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an emulator state file, or is damaged.
    #[error(
        "{path} is not a usable emulator state file ({reason}); move it away or pass another --state"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct StateFile<T> {
    format: String,
    version: u32,
    saved_at: String,
    tenant: T,
}

/// Saves the tenant atomically.
pub fn save(tenant: &Tenant, path: &Path) -> Result<(), StateError> {
    let io = |source| StateError::Io { action: "write", path: path.to_path_buf(), source };
    let doc = StateFile {
        format: FORMAT.into(),
        version: VERSION,
        saved_at: format_time(tenant.now()),
        tenant,
    };
    let json = serde_json::to_vec(&doc).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("tmp");
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut encoder = zstd::Encoder::new(file, 3).map_err(io)?;
    encoder.write_all(&json).map_err(io)?;
    encoder.finish().map_err(io)?.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Loads a tenant saved by [`save`].
pub fn load(path: &Path) -> Result<Tenant, StateError> {
    let corrupt = |reason: String| StateError::Corrupt { path: path.to_path_buf(), reason };
    let file = std::fs::File::open(path).map_err(|source| StateError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let mut json = Vec::new();
    zstd::Decoder::new(file)
        .and_then(|mut d| d.read_to_end(&mut json))
        .map_err(|e| corrupt(format!("not zstd-compressed: {e}")))?;
    let header: StateFile<serde::de::IgnoredAny> =
        serde_json::from_slice(&json).map_err(|e| corrupt(format!("not a state document: {e}")))?;
    if header.format != FORMAT || header.version != VERSION {
        return Err(corrupt(format!(
            "format {} version {}, expected {FORMAT} version {VERSION}",
            header.format, header.version
        )));
    }
    let doc: StateFile<Tenant> =
        serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))?;
    let mut tenant = doc.tenant;
    tenant.after_load();
    Ok(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Coll;
    use crate::seed::{SeedOptions, build};

    #[test]
    fn a_saved_tenant_loads_identical() {
        let dir = std::env::temp_dir().join(format!("rewind-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tenant.state");
        let tenant = build(&SeedOptions::default());
        save(&tenant, &path).unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(serde_json::to_value(&loaded).unwrap(), serde_json::to_value(&tenant).unwrap());
        assert_eq!(loaded.count(Coll::Users), tenant.count(Coll::Users));
        assert_eq!(loaded.linked_from, tenant.linked_from, "the reverse index is rebuilt");
        std::fs::write(&path, b"not a state file").unwrap();
        assert!(matches!(load(&path), Err(StateError::Corrupt { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
