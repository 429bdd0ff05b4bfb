//! Load and truck postings counted per origin market, equipment and day: the load-to-truck
//! ratio that tells where trucks are short (a heat map of the continent).

use std::collections::HashMap;

use lanerunner_core::market::PostingKind;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketTightness {
    pub market: String,
    pub loads: u64,
    pub trucks: u64,
    /// Loads per truck; `None` when no truck was posted.
    pub load_to_truck: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
struct DayCount {
    day: i32,
    loads: u32,
    trucks: u32,
}

#[derive(Debug, Default)]
pub(crate) struct MarketBoard {
    days: HashMap<(u32, u8), Vec<DayCount>>,
}

impl MarketBoard {
    pub(crate) fn count(&mut self, market: u32, equipment: u8, day: i32, kind: PostingKind) {
        let days = self.days.entry((market, equipment)).or_default();
        let at = days.partition_point(|d| d.day < day);
        if days.get(at).is_none_or(|d| d.day != day) {
            days.insert(
                at,
                DayCount {
                    day,
                    ..Default::default()
                },
            );
        }
        match kind {
            PostingKind::Load => days[at].loads += 1,
            PostingKind::Truck => days[at].trucks += 1,
        }
    }

    fn sum(days: &[DayCount], first: i32, last: i32) -> (u64, u64) {
        let from = days.partition_point(|d| d.day < first);
        let to = days.partition_point(|d| d.day <= last);
        days[from..to].iter().fold((0, 0), |(l, t), d| {
            (l + d.loads as u64, t + d.trucks as u64)
        })
    }

    pub(crate) fn of(
        &self,
        market: u32,
        equipment: u8,
        first: i32,
        last: i32,
        name: &str,
    ) -> MarketTightness {
        let (loads, trucks) = self
            .days
            .get(&(market, equipment))
            .map_or((0, 0), |d| Self::sum(d, first, last));
        MarketTightness {
            market: name.to_owned(),
            loads,
            trucks,
            load_to_truck: (trucks > 0).then(|| loads as f64 / trucks as f64),
        }
    }

    pub(crate) fn tightness<'a>(
        &self,
        equipment: u8,
        first: i32,
        last: i32,
        name: impl Fn(u32) -> &'a str,
    ) -> Vec<MarketTightness> {
        let mut out: Vec<MarketTightness> = self
            .days
            .iter()
            .filter(|((_, eq), _)| *eq == equipment)
            .map(|(&(m, _), _)| self.of(m, equipment, first, last, name(m)))
            .filter(|t| t.loads + t.trucks > 0)
            .collect();
        out.sort_by(|a, b| {
            let key = |t: &MarketTightness| t.load_to_truck.unwrap_or(f64::INFINITY);
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.market.cmp(&b.market))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::{LaneIndex, Window};
    use chrono::{DateTime, Utc};
    use lanerunner_core::market::{PostingKind, PostingRecord};
    use uuid::Uuid;

    fn posting(kind: PostingKind, market: &str, day: &str) -> PostingRecord {
        PostingRecord {
            id: Uuid::new_v4(),
            kind,
            posted_at: format!("{day}T10:00:00Z").parse().unwrap(),
            org_id: Uuid::nil(),
            origin_market: market.into(),
            dest_market: None,
            equipment: "V".into(),
            ready_date: day.parse().unwrap(),
        }
    }

    #[test]
    fn tightest_markets_come_first() {
        let now: DateTime<Utc> = "2026-07-01T00:00:00Z".parse().unwrap();
        let mut ix = LaneIndex::new();
        for _ in 0..6 {
            ix.ingest_posting(&posting(PostingKind::Load, "ATL-GA", "2026-06-29"), now)
                .unwrap();
        }
        ix.ingest_posting(&posting(PostingKind::Truck, "ATL-GA", "2026-06-28"), now)
            .unwrap();
        ix.ingest_posting(&posting(PostingKind::Truck, "ATL-GA", "2026-06-29"), now)
            .unwrap();
        ix.ingest_posting(&posting(PostingKind::Load, "CHI-IL", "2026-06-29"), now)
            .unwrap();
        ix.ingest_posting(&posting(PostingKind::Truck, "CHI-IL", "2026-06-29"), now)
            .unwrap();
        // Outside the 7-day window: not counted.
        ix.ingest_posting(&posting(PostingKind::Load, "CHI-IL", "2026-06-01"), now)
            .unwrap();
        let as_of = "2026-06-30".parse().unwrap();
        let m = ix.markets("V", Window::Days7, as_of);
        assert_eq!(
            m.iter().map(|t| t.market.as_str()).collect::<Vec<_>>(),
            ["ATL-GA", "CHI-IL"]
        );
        assert_eq!(m[0].load_to_truck, Some(3.0));
        assert_eq!(m[1].load_to_truck, Some(1.0));
        assert!(ix.markets("R", Window::Days7, as_of).is_empty());
        assert!(ix.markets("ZZ", Window::Days7, as_of).is_empty());
        let mut bad = posting(PostingKind::Load, "CHI-IL", "2026-06-29");
        bad.equipment = "boat".into();
        assert_eq!(
            ix.ingest_posting(&bad, now).unwrap_err().code(),
            "unknown-equipment"
        );
    }
}
