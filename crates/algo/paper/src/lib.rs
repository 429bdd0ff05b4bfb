//! Documents as a person reads them, and their PDF. Reports (the reporting service) and
//! freight paperwork (the documents service: rate confirmations, bills of lading,
//! invoices) are both written as a [`Document`] of headed sections and rendered by
//! [`pdf::render`]. Pure: no I/O.

mod document;
pub mod image;
pub mod pdf;

pub use document::*;
