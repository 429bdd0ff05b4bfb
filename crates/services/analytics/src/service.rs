//! The analytics service's state: the lane index (in memory on every instance, rebuilt
//! from the stored history at start-up) and the flows that feed and read it.

use std::collections::HashSet;
use std::sync::RwLock;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use lanerunner_core::market::RateKind;
use lanerunner_core::{EventEnvelope, EventType, OrgId};
use lanerunner_laneindex::validate::EQUIPMENT;
use lanerunner_laneindex::{Gate, LaneIndex, LaneKey, Window};
use lanerunner_platform::http::Caller;
use lanerunner_platform::outbox;
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use uuid::Uuid;

use crate::archive;
use crate::error::{Result, Violations};
use crate::events::{BOOKING_RECORDED, POSTING_RECORDED};
use crate::ingest::{self, Places, Record};
use crate::kpis::{self, BrokerKpis};
use crate::store::{self, Quarantined};
use crate::views::{CarrierScorecard, LaneHistoryView, LaneView, MarketsView, WindowView};

/// The analytics service's own settings (`analytics.*`).
#[derive(Debug, Clone, Copy)]
pub struct AnalyticsSettings {
    pub gate: Gate,
    /// How often accepted records are written to the Parquet archive.
    pub archive_every: std::time::Duration,
}

impl Default for AnalyticsSettings {
    fn default() -> Self {
        AnalyticsSettings {
            gate: Gate::default(),
            archive_every: std::time::Duration::from_secs(60),
        }
    }
}

/// How far back an `as_of` day may lie: the index keeps what the store holds, and a lane
/// question about the last century is a typo.
const AS_OF_YEARS_BACK: i64 = 10;

pub struct Analytics {
    db: Db,
    reader: Db,
    places: Places,
    gate: Gate,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    index: LaneIndex,
    /// Source ids already in the index, by kind (a load is both posted and booked under
    /// one id): a redelivered or replayed event adds nothing.
    seen_bookings: HashSet<Uuid>,
    seen_postings: HashSet<Uuid>,
}

impl State {
    fn fold(&mut self, record: &Record) {
        let now = Utc::now();
        let result = match record {
            Record::Booking(b) if self.seen_bookings.insert(b.load_id) => self.index.ingest(b, now),
            Record::Posting(p) if self.seen_postings.insert(p.id) => {
                self.index.ingest_posting(p, now)
            }
            _ => Ok(()),
        };
        if let Err(reject) = result {
            // Accepted when stored, so only a rule tightened since can refuse it now.
            tracing::warn!(reason = %reject, "stored market record no longer passes the index's checks");
        }
    }
}

/// Puts a normalized market record on the outbox, in the transaction that stored it.
async fn publish<P: serde::Serialize>(
    tx: &mut Tx,
    kind: EventType,
    org: OrgId,
    aggregate: Uuid,
    record: &P,
) -> anyhow::Result<()> {
    let event = EventEnvelope::new(kind, Some(org), aggregate, record)?;
    outbox::enqueue(tx, &event).await?;
    Ok(())
}

/// A lane as asked for, before it is checked.
#[derive(Debug, Clone)]
pub struct LaneQuestion {
    pub origin: String,
    pub destination: String,
    pub equipment: String,
    pub kind: Option<String>,
    pub as_of: Option<NaiveDate>,
}

impl Analytics {
    pub async fn open(ctx: &ServiceContext, settings: AnalyticsSettings) -> anyhow::Result<Self> {
        let a = Analytics {
            db: ctx.db.clone(),
            reader: ctx.read_db.clone(),
            places: Places::embedded(),
            gate: settings.gate,
            state: RwLock::new(State::default()),
        };
        a.rebuild().await?;
        Ok(a)
    }

    /// Folds every stored record into the index (start-up, and once subscribed: events
    /// another instance stored while this one was starting).
    pub async fn rebuild(&self) -> anyhow::Result<()> {
        let bookings = store::all_bookings(&self.db).await?;
        let postings = store::all_postings(&self.db).await?;
        let mut s = self.state.write().expect("index lock");
        for b in bookings {
            s.fold(&Record::Booking(b));
        }
        for p in postings {
            s.fold(&Record::Posting(p));
        }
        tracing::debug!(
            reports = s.index.len(),
            lanes = s.index.lane_count(),
            "lane index rebuilt"
        );
        Ok(())
    }

    /// The consumer's half: store the record (and the broker's KPI change), or quarantine
    /// the event with its reason.
    /// Writes waiting records to the Parquet archive (see `archive.rs`).
    pub async fn archive(&self, blobs: &lanerunner_platform::blob::Blobs) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let n = archive::flush(&self.db, blobs).await?;
            total += n;
            if n < archive::BATCH as usize {
                return Ok(total);
            }
        }
    }

    pub async fn ingest(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        // The broker's own KPIs follow the broker's own events whatever the market makes of
        // them (a load in no known market still counts for its broker).
        let kpi = kpis::change(event);
        if let (Ok(Some(change)), Some(org)) = (&kpi, event.org_id) {
            store::apply_kpi(tx, org, change).await?;
        }
        // One quarantine entry per event: the market's reason first (it checks more).
        let refused = match (ingest::read(event, &self.places, Utc::now()), kpi) {
            (Ok(Some(Record::Booking(b))), _) => {
                if store::insert_booking(tx, &b).await? {
                    let org = OrgId(b.broker_org_id);
                    publish(tx, BOOKING_RECORDED, org, b.load_id, &b).await?;
                    archive::enqueue(tx, "bookings", b.booked_at.date_naive(), &b).await?;
                }
                None
            }
            (Ok(Some(Record::Posting(p))), _) => {
                if store::insert_posting(tx, &p).await? {
                    publish(tx, POSTING_RECORDED, OrgId(p.org_id), p.id, &p).await?;
                    archive::enqueue(tx, "postings", p.posted_at.date_naive(), &p).await?;
                }
                None
            }
            (Err(why), _) | (Ok(None), Err(why)) => Some(why),
            (Ok(None), Ok(_)) => None,
        };
        if let Some(why) = refused {
            tracing::warn!(event_id = %event.id, event_type = %event.event_type, code = why.code, reason = %why.reason, "event quarantined");
            metrics::counter!("lanerunner_analytics_quarantined_total", "reason" => why.code)
                .increment(1);
            store::quarantine(tx, event, &why).await?;
        }
        Ok(())
    }

    /// Every instance's half: the same record into this instance's index.
    pub fn apply(&self, event: &EventEnvelope) {
        if let Ok(Some(record)) = ingest::read(event, &self.places, Utc::now()) {
            self.state.write().expect("index lock").fold(&record);
        }
    }

    fn check_lane(&self, q: LaneQuestion) -> Result<(LaneKey, NaiveDate)> {
        let mut v = Violations::default();
        for (field, code) in [("origin", &q.origin), ("destination", &q.destination)] {
            if !self.places.is_market(code) {
                v.add(
                    field,
                    format!("{code:?} is not a market code (such as CHI-IL or TX-other)"),
                );
            }
        }
        if !EQUIPMENT.contains(&q.equipment.as_str()) {
            v.add(
                "equipment",
                format!("must be one of {}", EQUIPMENT.join(", ")),
            );
        }
        let kind = q
            .kind
            .as_deref()
            .map_or(Some(RateKind::Spot), RateKind::from_name);
        if kind.is_none() {
            v.add("kind", "must be spot or contract");
        }
        let kind = kind.unwrap_or(RateKind::Spot);
        let as_of = self.check_as_of(q.as_of, &mut v);
        let key = LaneKey {
            origin_market: q.origin,
            dest_market: q.destination,
            equipment: q.equipment,
            rate_kind: kind,
        };
        Ok(v.into_result((key, as_of))?)
    }

    fn check_as_of(&self, as_of: Option<NaiveDate>, v: &mut Violations) -> NaiveDate {
        let today = Utc::now().date_naive();
        let as_of = as_of.unwrap_or(today);
        if as_of > today {
            v.add("as_of", "is in the future: the market has not happened yet");
        } else if as_of < today - Duration::days(365 * AS_OF_YEARS_BACK) {
            v.add(
                "as_of",
                format!("is more than {AS_OF_YEARS_BACK} years ago"),
            );
        }
        as_of
    }

    /// The lane's rates over every window, each shown or withheld by the gate.
    pub fn lane(&self, q: LaneQuestion) -> Result<LaneView> {
        let (key, as_of) = self.check_lane(q)?;
        let s = self.state.read().expect("index lock");
        let windows = Window::ALL
            .into_iter()
            .map(|w| WindowView {
                window: w,
                rates: s.index.lane(&key, w, as_of, self.gate),
                origin_market: s.index.market(&key.origin_market, &key.equipment, w, as_of),
            })
            .collect();
        Ok(LaneView {
            lane: key,
            as_of,
            windows,
        })
    }

    /// The lane's last 13 months.
    pub fn history(&self, q: LaneQuestion) -> Result<LaneHistoryView> {
        let (key, as_of) = self.check_lane(q)?;
        let months = self
            .state
            .read()
            .expect("index lock")
            .index
            .history(&key, as_of, self.gate);
        Ok(LaneHistoryView {
            lane: key,
            as_of,
            months,
        })
    }

    /// Load-to-truck ratios by market, tightest first.
    pub fn markets(
        &self,
        equipment: String,
        window: Option<String>,
        as_of: Option<NaiveDate>,
    ) -> Result<MarketsView> {
        let mut v = Violations::default();
        if !EQUIPMENT.contains(&equipment.as_str()) {
            v.add(
                "equipment",
                format!("must be one of {}", EQUIPMENT.join(", ")),
            );
        }
        let window = match window.as_deref().map(str::parse::<Window>) {
            None => Window::Days7,
            Some(Ok(w)) => w,
            Some(Err(e)) => {
                v.add("window", e.to_string());
                Window::Days7
            }
        };
        let as_of = self.check_as_of(as_of, &mut v);
        v.into_result(())?;
        let markets = self
            .state
            .read()
            .expect("index lock")
            .index
            .markets(&equipment, window, as_of);
        Ok(MarketsView {
            equipment,
            window,
            as_of,
            markets,
        })
    }

    /// `org`'s KPIs over its loads posted in `[from, to)` (default: the last 30 days).
    pub async fn broker_kpis(
        &self,
        org: OrgId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<BrokerKpis> {
        let (from, to) = check_period(from, to)?;
        let loads = store::broker_loads(&self.reader, org, from, to).await?;
        Ok(kpis::compute(&loads, from, to))
    }

    /// `org`'s KPIs over `[from, to)` and over each of `parts` within it (a report's
    /// months), from one read of its loads.
    pub async fn broker_kpis_by_part(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        parts: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<(BrokerKpis, Vec<BrokerKpis>)> {
        let (from, to) = check_period(Some(from), Some(to))?;
        let loads = store::broker_loads(&self.reader, org, from, to).await?;
        let each = parts
            .iter()
            .map(|&(a, b)| {
                let inside: Vec<_> = loads
                    .iter()
                    .filter(|l| a <= l.posted_at && l.posted_at < b)
                    .cloned()
                    .collect();
                kpis::compute(&inside, a, b)
            })
            .collect();
        Ok((kpis::compute(&loads, from, to), each))
    }

    /// How each carrier did on `org`'s loads posted in `[from, to)` and booked to it
    /// (default: the last 30 days).
    pub async fn carrier_scorecard(
        &self,
        org: OrgId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<CarrierScorecard> {
        let (from, to) = check_period(from, to)?;
        let loads = store::broker_loads(&self.reader, org, from, to).await?;
        Ok(CarrierScorecard {
            from,
            to,
            carriers: kpis::carrier_scorecard(&loads),
        })
    }

    /// The caller's organization's quarantined events, newest first.
    pub async fn quarantined(&self, caller: &Caller, limit: i64) -> Result<Vec<Quarantined>> {
        let org: OrgId = caller.org;
        Ok(store::quarantined(&self.reader, org, limit).await?)
    }
}

/// A reporting period: `[from, to)`, by default the 30 days to now, at most two years.
fn check_period(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let to = to.unwrap_or_else(Utc::now);
    let from = from.unwrap_or(to - Duration::days(30));
    let mut v = Violations::default();
    if from >= to {
        v.add("from", "must be before to");
    } else if to - from > Duration::days(366 * 2) {
        v.add("from", "the period may span at most two years");
    }
    Ok(v.into_result((from, to))?)
}
