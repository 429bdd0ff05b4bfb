//! The loads service's SQL, one text for SQLite and PostgreSQL.
//!
//! Tenancy: every function that finds, changes or deletes tenant rows takes the
//! organization as an [`OrgId`](lanerunner_core::OrgId), first after the connection, then
//! the row's id (`LoadId`, `TruckId`); another organization's row is simply not found.
//! Inserts take the whole row, whose `org_id` is that same typed id. The only cross-tenant
//! reads are of what the board shows everyone (posted public loads), of loads the expiry
//! sweep and the board's catch-up look at, and of trucks and saved searches for matching.
//!
//! Decoding: a row comes back typed (its status a `LoadStatus`, its JSON the validated
//! spec), or as a [`CorruptRow`] naming the table, the row id and the column it could not
//! read. A stored value is never replaced by a default: an unknown status is not a draft.

mod history;
mod idempotency;
mod loads;
mod searches;
mod trucks;

pub use history::*;
pub use idempotency::*;
pub use loads::*;
pub use searches::*;
pub use trucks::*;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sqlx::types::Json;
use uuid::Uuid;

/// A stored row the service cannot read: a value no version of it ever wrote (a bad
/// migration, a hand edit). It surfaces as a 500, logged with the row's id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{table} row {id} cannot be read: {column}: {problem}")]
pub struct CorruptRow {
    pub table: &'static str,
    /// The row's id, or its key where the table has no id.
    pub id: String,
    pub column: &'static str,
    pub problem: String,
}

impl CorruptRow {
    pub fn new(
        table: &'static str,
        id: impl ToString,
        column: &'static str,
        problem: impl Into<String>,
    ) -> Self {
        CorruptRow {
            table,
            id: id.to_string(),
            column,
            problem: problem.into(),
        }
    }
}

/// What a store read can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Corrupt(#[from] CorruptRow),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A row of a scan across organizations, decoded on its own so that one unreadable row
/// does not hide the others (the caller logs it and leaves it out).
pub type Decoded<T> = Result<T, CorruptRow>;

/// A JSON column read as its raw text, so that its decoding error can name the row
/// (sqlx's own `Json<T>` decoding fails the whole query without saying which row).
type RawJson = Json<Box<RawValue>>;

fn decode_json<T: DeserializeOwned>(
    table: &'static str,
    id: Uuid,
    column: &'static str,
    raw: &RawJson,
) -> Result<T, CorruptRow> {
    serde_json::from_str(raw.0.get()).map_err(|e| CorruptRow::new(table, id, column, e.to_string()))
}
