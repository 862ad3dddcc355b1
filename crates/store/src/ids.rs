//! The ids that cross crates: snapshots, restores and alerts, each its own type so one cannot
//! be passed for another. Each is stored as an integer column and serialised as the number.

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

/// An id type over the integer column that holds it.
macro_rules! integer_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        // Bound and read as the integer column it is.
        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <i64 as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <i64 as Type<Any>>::compatible(ty)
            }
        }

        impl<'q> Encode<'q, Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <i64 as Encode<'q, Any>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                <i64 as Decode<'r, Any>>::decode(value).map($name)
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }
    };
}

integer_id! {
    /// A snapshot's id: unique in the store, and increasing with time within a tenant (a
    /// snapshot's parent has a smaller id).
    SnapshotId
}

integer_id! {
    /// A restore's id, unique in the store.
    RestoreId
}

integer_id! {
    /// A stored alert's id, unique in the store.
    AlertId
}

impl SnapshotId {
    /// Before every snapshot (ids start at 1): the lower bound of "everything up to".
    pub const BEFORE_ALL: SnapshotId = SnapshotId(0);
    /// After every snapshot: the upper bound of "everything since".
    pub const AFTER_ALL: SnapshotId = SnapshotId(i64::MAX);
}
