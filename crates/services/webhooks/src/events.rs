//! What the webhooks service consumes: every event in the catalog. It publishes nothing.

use crate::domain::CATALOG;

pub fn consumed_topics() -> Vec<String> {
    CATALOG.iter().map(|(t, _)| (*t).to_owned()).collect()
}
