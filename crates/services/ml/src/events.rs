//! What the rate model service consumes: the normalized market records analytics
//! publishes once it has checked them (`market.booking_recorded.v1`,
//! `market.posting_recorded.v1`), read as the core record types. A contract test
//! (`tests/event_contracts.rs`) reads what analytics publishes with them.

use lanerunner_core::market::{BookingRecord, PostingRecord};
use lanerunner_core::{EventEnvelope, EventType};

pub const BOOKING_RECORDED: EventType = EventType::new("market.booking_recorded", 1);
pub const POSTING_RECORDED: EventType = EventType::new("market.posting_recorded", 1);

pub fn consumed_topics() -> Vec<String> {
    [BOOKING_RECORDED, POSTING_RECORDED]
        .iter()
        .map(|t| t.topic())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Booking(BookingRecord),
    Posting(PostingRecord),
}

/// The record an event carries; `Ok(None)` for another topic.
pub fn read(event: &EventEnvelope) -> Result<Option<Record>, serde_json::Error> {
    if event.is(BOOKING_RECORDED) {
        Ok(Some(Record::Booking(serde_json::from_value(
            event.payload.clone(),
        )?)))
    } else if event.is(POSTING_RECORDED) {
        Ok(Some(Record::Posting(serde_json::from_value(
            event.payload.clone(),
        )?)))
    } else {
        Ok(None)
    }
}
