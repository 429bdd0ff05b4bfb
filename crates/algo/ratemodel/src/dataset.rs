//! Training examples: every booking's features as the market stood just before it booked
//! (postings and bookings replayed in time order, so nothing from the future leaks in),
//! its target ln(all-in cents), and a fingerprint of the data.

use chrono::{DateTime, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord, RateKind};
use sha2::{Digest, Sha256};

use crate::features::{self, Quote, Row, Vocab, N_FEATURES};
use crate::state::MarketState;

impl<'a> Quote<'a> {
    /// The quote a booking answered, asked at its booking time.
    pub fn of_booking(b: &'a BookingRecord) -> Quote<'a> {
        Quote {
            origin_lat: b.origin_lat,
            origin_lon: b.origin_lon,
            origin_market: &b.origin_market,
            dest_lat: b.dest_lat,
            dest_lon: b.dest_lon,
            dest_market: &b.dest_market,
            equipment: &b.equipment,
            miles: b.miles,
            weight_lbs: b.weight_lbs,
            contract: b.rate_kind == RateKind::Contract,
            pickup_date: b.pickup_date,
            at: b.booked_at,
            diesel_cents: f64::from(b.diesel_cents_per_gallon),
        }
    }
}

/// Examples in booking-time order.
#[derive(Debug, Clone, Default)]
pub struct Examples {
    /// Row-major, [`N_FEATURES`] a row.
    pub x: Vec<f64>,
    /// ln(all-in rate in cents).
    pub y: Vec<f64>,
    pub booked_at: Vec<DateTime<Utc>>,
    /// `origin|dest|equipment`, for the lane-average baseline.
    pub lane: Vec<String>,
    pub miles: Vec<f64>,
    /// Bookings left out: no miles or no positive rate.
    pub skipped: usize,
}

impl Examples {
    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn row(&self, i: usize) -> &Row {
        self.x[i * N_FEATURES..(i + 1) * N_FEATURES]
            .try_into()
            .expect("rows are N_FEATURES wide")
    }

    /// The first example booked at or after `at` (examples are in time order).
    pub fn index_at(&self, at: DateTime<Utc>) -> usize {
        self.booked_at.partition_point(|t| *t < at)
    }

    /// SHA-256 over the examples in `range`: when each booked, its lane and its rate. Two
    /// models trained on the same data carry the same fingerprint.
    pub fn fingerprint(&self, range: std::ops::Range<usize>) -> String {
        let mut h = Sha256::new();
        for i in range {
            h.update(self.booked_at[i].timestamp_micros().to_le_bytes());
            h.update(self.lane[i].as_bytes());
            h.update(self.y[i].to_bits().to_le_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The vocabulary of the markets and equipment in `bookings`.
pub fn vocab_of(bookings: &[BookingRecord]) -> Vocab {
    Vocab::from_codes(
        bookings
            .iter()
            .flat_map(|b| [b.origin_market.as_str(), b.dest_market.as_str()]),
        bookings.iter().map(|b| b.equipment.as_str()),
    )
}

/// Replays `bookings` and `postings` in time order into examples, and returns the market
/// state at the end (what serving starts from).
pub fn examples(
    bookings: &[BookingRecord],
    postings: &[PostingRecord],
    vocab: &Vocab,
) -> (Examples, MarketState) {
    let mut b_order: Vec<&BookingRecord> = bookings.iter().collect();
    b_order.sort_by_key(|b| (b.booked_at, b.load_id));
    let mut p_order: Vec<&PostingRecord> = postings.iter().collect();
    p_order.sort_by_key(|p| (p.posted_at, p.id));
    let mut state = MarketState::default();
    let mut ex = Examples::default();
    let mut next_posting = p_order.iter().peekable();
    for b in b_order {
        while let Some(p) = next_posting.next_if(|p| p.posted_at <= b.booked_at) {
            state.record_posting(p);
        }
        if !(b.miles > 0.0 && b.rate_cents > 0) {
            ex.skipped += 1;
            continue;
        }
        ex.x.extend_from_slice(&features::row(&Quote::of_booking(b), vocab, &state));
        ex.y.push((b.rate_cents as f64).ln());
        ex.booked_at.push(b.booked_at);
        ex.lane.push(format!(
            "{}|{}|{}",
            b.origin_market, b.dest_market, b.equipment
        ));
        ex.miles.push(b.miles);
        state.record_booking(b);
    }
    for p in next_posting {
        state.record_posting(p);
    }
    (ex, state)
}
