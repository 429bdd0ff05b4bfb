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
    };
}

id_type!(
    /// An organization: the tenant every row belongs to.
    OrgId
);
id_type!(
    /// A person with a login.
    UserId
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
}
