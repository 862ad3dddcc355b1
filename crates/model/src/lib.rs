//! The vocabulary Rewind shares across capture, storage, diff and restore: the [`Kind`]s of
//! Entra configuration it keeps, the [`Canonical`] form of one object's configuration (a
//! *version*) with its [`ContentHash`], the [`Reference`]s between objects, and reading exported
//! JSON whatever its encoding. Pure: no I/O, no clock, no randomness.
//!
//! ```
//! use rewind_model::{Kind, canonicalize};
//! use serde_json::json;
//!
//! let read = json!({"id": "p1", "displayName": "MFA", "modifiedDateTime": "2026-01-01T00:00:00Z",
//!                   "conditions": {"users": {"includeGroups": ["b", "a"], "excludeGroups": []}}});
//! let again = json!({"displayName": "MFA", "conditions": {"users": {"includeGroups": ["a", "b"]}}});
//! assert_eq!(canonicalize(Kind::ConditionalAccessPolicy, &read).hash(),
//!            canonicalize(Kind::ConditionalAccessPolicy, &again).hash());
//! ```
//!
//! The rules are written out in [`canonical`](canonicalize) and in `docs/design/store-format.md`.

mod actor;
mod canonical;
mod decode;
mod hash;
pub mod key;
mod kind;
pub mod layout;
mod reference;
pub mod roles;
mod severity;

pub use actor::{Actor, ActorKind, parse_actors};
pub use canonical::{Canonical, canonicalize, is_ordered_array};
pub use decode::{DecodeError, decode_text, parse_json};
pub use hash::ContentHash;
pub use kind::{Kind, ObjectKey, display_name};
pub use reference::{Reference, Target, references, refers};
pub use severity::Severity;
