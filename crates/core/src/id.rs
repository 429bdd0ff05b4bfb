//! Newtype identifiers. Every id is a UUIDv7 so ids sort by creation time, which keeps
//! B-tree inserts local and makes cursor pagination by id follow creation order.

use uuid::Uuid;

/// A fresh time-ordered id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// Declares a newtype around `Uuid` with the conversions every id needs.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub ::uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ::uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl From<::uuid::Uuid> for $name {
            fn from(u: ::uuid::Uuid) -> Self {
                Self(u)
            }
        }

        impl From<$name> for ::uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        // Binds and decodes exactly as the `Uuid` inside it on every sqlx backend (a native
        // `uuid` on PostgreSQL, a 16-byte BLOB on SQLite), so stores take and return the
        // typed id and no tenant position ever holds a bare `Uuid`.
        impl<DB: $crate::id::__sqlx::Database> $crate::id::__sqlx::Type<DB> for $name
        where
            ::uuid::Uuid: $crate::id::__sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <::uuid::Uuid as $crate::id::__sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <::uuid::Uuid as $crate::id::__sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: $crate::id::__sqlx::Database> $crate::id::__sqlx::Encode<'q, DB> for $name
        where
            ::uuid::Uuid: $crate::id::__sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as $crate::id::__sqlx::Database>::ArgumentBuffer<'q>,
            ) -> ::std::result::Result<
                $crate::id::__sqlx::encode::IsNull,
                $crate::id::__sqlx::error::BoxDynError,
            > {
                <::uuid::Uuid as $crate::id::__sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r, DB: $crate::id::__sqlx::Database> $crate::id::__sqlx::Decode<'r, DB> for $name
        where
            ::uuid::Uuid: $crate::id::__sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as $crate::id::__sqlx::Database>::ValueRef<'r>,
            ) -> ::std::result::Result<Self, $crate::id::__sqlx::error::BoxDynError> {
                <::uuid::Uuid as $crate::id::__sqlx::Decode<'r, DB>>::decode(value).map(Self)
            }
        }

        impl $crate::id::__sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> $crate::id::__sqlx::postgres::PgTypeInfo {
                <::uuid::Uuid as $crate::id::__sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }
    };
}

#[doc(hidden)]
pub use sqlx as __sqlx;

id_type!(
    /// An organization: the tenant every row belongs to.
    OrgId
);
id_type!(
    /// A person with a login.
    UserId
);
id_type!(
    /// A load a broker or shipper posted.
    LoadId
);
id_type!(
    /// A truck a carrier posted as available.
    TruckId
);
id_type!(
    /// An API key (server-to-server credential of an organization).
    ApiKeyId
);
id_type!(
    /// A login session: one refresh-token family.
    SessionId
);
id_type!(
    /// An invitation to join an organization.
    InvitationId
);
id_type!(
    /// A record of the security audit trail.
    AuditId
);
id_type!(
    /// A batch matching run.
    RunId
);
id_type!(
    /// An operator's request to put an organization on another plan, awaiting a second
    /// operator's decision.
    PlanChangeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_created_later_sort_later() {
        let a = OrgId::new();
        let b = OrgId::new();
        assert!(a < b);
    }

    #[test]
    fn id_round_trips_through_text_and_json() {
        let a = UserId::new();
        let parsed: UserId = a.to_string().parse().unwrap();
        assert_eq!(a, parsed);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{a}\""));
        assert_eq!(serde_json::from_str::<UserId>(&json).unwrap(), a);
    }

    #[tokio::test]
    async fn ids_bind_and_decode_like_uuids_on_sqlite() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (org_id BLOB NOT NULL, user_id BLOB)")
            .execute(&mut conn)
            .await
            .unwrap();
        let (org, user) = (OrgId::new(), UserId::new());
        sqlx::query("INSERT INTO t VALUES ($1, $2)")
            .bind(org)
            .bind(Some(user))
            .execute(&mut conn)
            .await
            .unwrap();
        let (o, u): (OrgId, Option<UserId>) = sqlx::query_as("SELECT org_id, user_id FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!((o, u), (org, Some(user)));
        // The same bytes decode as a plain Uuid: ids and raw uuids share a column.
        let raw: uuid::Uuid = sqlx::query_scalar("SELECT org_id FROM t")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(raw, org.0);
    }
}
