//! `SnapshotId`: the id every crate names a snapshot by, stored as the `snapshots.id` integer.

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

/// A snapshot's id: unique in the store, and increasing with time within a tenant (a
/// snapshot's parent has a smaller id). Serialised as the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotId(pub i64);

impl SnapshotId {
    /// Before every snapshot (ids start at 1): the lower bound of "everything up to".
    pub const BEFORE_ALL: SnapshotId = SnapshotId(0);
    /// After every snapshot: the upper bound of "everything since".
    pub const AFTER_ALL: SnapshotId = SnapshotId(i64::MAX);
}

impl std::fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

// Bound and read as the integer column it is.
impl Type<Any> for SnapshotId {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Any> for SnapshotId {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Any>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Any> for SnapshotId {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<'r, Any>>::decode(value).map(SnapshotId)
    }
}

impl rusqlite::ToSql for SnapshotId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}
