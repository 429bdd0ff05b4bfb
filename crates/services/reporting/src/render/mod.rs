//! A [`Document`](crate::document::Document) into files: CSV for spreadsheets and other
//! programs, PDF for people.

pub mod csv;
pub use lanerunner_paper::pdf;
