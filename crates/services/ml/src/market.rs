//! The recent market every instance holds in memory: the rate model's feature state, the
//! last 30 days of bookings by lane (the comparables a prediction shows), and the latest
//! diesel price seen. Rebuilt from the store at start-up; pure.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::market::{BookingRecord, PostingRecord, RateKind};
use lanerunner_ratemodel::MarketState;
use uuid::Uuid;

/// How far back comparables (and the rebuilt rate features) reach.
pub const RECENT_DAYS: i64 = 30;

/// Every so often (when the map has doubled since the last prune), forgets ids older than
/// `keep` before the newest: amortized O(1) a record.
fn prune(seen: &mut HashMap<Uuid, DateTime<Utc>>, keep: Duration) {
    if !seen.len().is_power_of_two() || seen.len() < 1024 {
        return;
    }
    if let Some(newest) = seen.values().max().copied() {
        seen.retain(|_, at| *at >= newest - keep);
    }
}

pub fn lane_key(origin: &str, dest: &str, equipment: &str, kind: RateKind) -> String {
    format!("{origin}|{dest}|{equipment}|{kind:?}")
}

#[derive(Debug, Default)]
pub struct Market {
    pub state: MarketState,
    recent: HashMap<String, VecDeque<BookingRecord>>,
    /// Ids folded in, with when they happened: a redelivered record is not counted twice.
    /// Pruned to the windows the state reads, so memory follows the recent market, not
    /// the service's uptime.
    seen_bookings: HashMap<Uuid, DateTime<Utc>>,
    seen_postings: HashMap<Uuid, DateTime<Utc>>,
    /// (booking time, cents a gallon) of the newest booking that recorded a price.
    diesel: Option<(DateTime<Utc>, u32)>,
}

impl Market {
    /// Whether `id` is a booking not folded in yet.
    pub fn is_new_booking(&self, id: Uuid) -> bool {
        !self.seen_bookings.contains_key(&id)
    }

    pub fn fold_booking(&mut self, b: &BookingRecord) {
        if self.seen_bookings.insert(b.load_id, b.booked_at).is_some() {
            return;
        }
        prune(&mut self.seen_bookings, Duration::days(RECENT_DAYS + 1));
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
        if self.seen_postings.insert(p.id, p.posted_at).is_none() {
            self.state.record_posting(p);
            prune(&mut self.seen_postings, Duration::hours(25));
        }
    }

    /// How many ids are remembered (bounded by the windows).
    #[cfg(test)]
    pub fn remembered(&self) -> usize {
        self.seen_bookings.len() + self.seen_postings.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn posting(i: u32, at: DateTime<Utc>) -> PostingRecord {
        PostingRecord {
            id: Uuid::from_u128(u128::from(i) + 1),
            kind: lanerunner_core::market::PostingKind::Truck,
            posted_at: at,
            org_id: Uuid::nil(),
            origin_market: "DAL-TX".into(),
            dest_market: None,
            equipment: "V".into(),
            ready_date: at.date_naive(),
        }
    }

    #[test]
    fn a_redelivered_record_counts_once_and_old_ids_are_forgotten() {
        let t0: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
        let mut m = Market::default();
        m.fold_posting(&posting(0, t0));
        m.fold_posting(&posting(0, t0));
        assert_eq!(m.remembered(), 1);
        // A year of postings, one a minute: what is remembered stays near a day's worth.
        for i in 1..(365 * 24 * 60) {
            m.fold_posting(&posting(i, t0 + Duration::minutes(i64::from(i))));
        }
        assert!(
            m.remembered() < 4 * 25 * 60,
            "{} ids remembered",
            m.remembered()
        );
    }
}
