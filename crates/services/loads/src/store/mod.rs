//! The loads service's SQL, one text for SQLite and PostgreSQL. Every function on tenant
//! data takes the organization id; another organization's row is simply not found. The
//! only cross-tenant reads are of what the board shows everyone (posted public loads) and
//! of trucks and saved searches for matching.

mod loads;
mod searches;
mod trucks;

pub use loads::*;
pub use searches::*;
pub use trucks::*;
