//! The recent market every instance holds in memory: the rate model's feature state, the
//! last 30 days of bookings by lane (the comparables a prediction shows), and the latest
//! diesel price seen. Rebuilt from the store at start-up; pure.

use std::collections::{HashMap, HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord, RateKind};
use lanerunner_ratemodel::MarketState;
use uuid::Uuid;

/// How far back comparables (and the rebuilt rate features) reach.
pub const RECENT_DAYS: i64 = 30;

pub fn lane_key(origin: &str, dest: &str, equipment: &str, kind: RateKind) -> String {
    format!("{origin}|{dest}|{equipment}|{kind:?}")
}

#[derive(Debug, Default)]
pub struct Market {
    pub state: MarketState,
    recent: HashMap<String, VecDeque<BookingRecord>>,
    seen_bookings: HashSet<Uuid>,
    seen_postings: HashSet<Uuid>,
    /// (booking time, cents a gallon) of the newest booking that recorded a price.
    diesel: Option<(DateTime<Utc>, u32)>,
}

impl Market {
    /// Whether `id` is a booking not folded in yet.
    pub fn is_new_booking(&self, id: Uuid) -> bool {
        !self.seen_bookings.contains(&id)
    }

    pub fn fold_booking(&mut self, b: &BookingRecord) {
        if !self.seen_bookings.insert(b.load_id) {
            return;
        }
        self.state.record_booking(b);
        if b.diesel_cents_per_gallon > 0 && self.diesel.is_none_or(|(at, _)| at <= b.booked_at) {
            self.diesel = Some((b.booked_at, b.diesel_cents_per_gallon));
        }
        let lane = self
            .recent
            .entry(lane_key(
                &b.origin_market,
                &b.dest_market,
                &b.equipment,
                b.rate_kind,
            ))
            .or_default();
        let at = lane.partition_point(|r| r.booked_at <= b.booked_at);
        lane.insert(at, b.clone());
        let horizon =
            lane.back().map_or(b.booked_at, |r| r.booked_at) - Duration::days(RECENT_DAYS);
        while lane.front().is_some_and(|r| r.booked_at < horizon) {
            lane.pop_front();
        }
    }

    pub fn fold_posting(&mut self, p: &PostingRecord) {
        if self.seen_postings.insert(p.id) {
            self.state.record_posting(p);
        }
    }

    /// The latest diesel price a booking recorded, if any.
    pub fn diesel_cents(&self) -> Option<f64> {
        self.diesel.map(|(_, c)| f64::from(c))
    }

    /// The lane's bookings in the 30 days before `now`, newest first.
    pub fn recent(&self, lane: &str, now: DateTime<Utc>) -> Vec<&BookingRecord> {
        let since = now - Duration::days(RECENT_DAYS);
        self.recent.get(lane).map_or_else(Vec::new, |l| {
            l.iter()
                .rev()
                .filter(|r| r.booked_at >= since && r.booked_at <= now)
                .collect()
        })
    }
}
