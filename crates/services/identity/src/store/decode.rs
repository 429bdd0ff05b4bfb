//! Reading rows whose columns hold enums (roles, organization kinds, audit actions). A
//! stored value this build does not know is corruption or a newer writer: the read fails
//! and the log names the table, the row and the value. Nothing is ever decoded to a
//! default.

use std::fmt::Display;
use std::str::FromStr;

/// Implements `sqlx::FromRow` for the rows of both backends with one body, in which
/// `$row` is the row and `sqlx::Row` is in scope.
macro_rules! from_row {
    ($ty:ty, |$row:ident| $body:expr) => {
        impl<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> for $ty {
            fn from_row($row: &'r sqlx::sqlite::SqliteRow) -> sqlx::Result<Self> {
                #[allow(unused_imports)]
                use sqlx::Row as _;
                $body
            }
        }

        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $ty {
            fn from_row($row: &'r sqlx::postgres::PgRow) -> sqlx::Result<Self> {
                #[allow(unused_imports)]
                use sqlx::Row as _;
                $body
            }
        }
    };
}
pub(super) use from_row;

/// Parses the text of `column` in the row `id` of `table` as `T`.
pub(super) fn stored<T>(
    table: &'static str,
    id: impl Display,
    column: &'static str,
    text: String,
) -> sqlx::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    text.parse().map_err(|e: T::Err| {
        tracing::error!(table, row = %id, column, value = %text, error = %e, "stored value is unreadable");
        sqlx::Error::ColumnDecode {
            index: column.into(),
            source: Box::new(e),
        }
    })
}
