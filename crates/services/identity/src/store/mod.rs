//! The identity service's SQL, shared by SQLite and PostgreSQL (the dialects agree on
//! everything used here). Every function that touches tenant data takes the organization
//! id and filters by it; a row of another organization is simply not found.

mod audit;
mod credentials;
mod decode;
mod members;
mod operators;
mod plan_changes;
mod privacy;

pub use audit::*;
pub use credentials::*;
pub use members::*;
pub use operators::*;
pub use plan_changes::*;
pub use privacy::*;
