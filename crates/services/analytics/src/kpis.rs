//! The broker's own KPIs, from the broker's own loads only: how many posted loads were
//! covered, how fast, at what rate against the posted one, and how many were delivered on
//! time. Pure: events into [`KpiChange`]s, stored rows into [`BrokerKpis`].

use chrono::{DateTime, Utc};
use lanerunner_core::EventEnvelope;
use serde::Serialize;
use uuid::Uuid;

use crate::events::{
    Booked, LoadTerms, StatusChanged, LOAD_BOOKED, LOAD_POSTED, LOAD_STATUS_CHANGED,
};
use crate::ingest::Refused;

/// What one event changes in the broker's load record.
#[derive(Debug, Clone, PartialEq)]
pub enum KpiChange {
    Posted {
        load_id: Uuid,
        posted_at: DateTime<Utc>,
        posted_rate_cents: Option<i64>,
        /// The end of the last delivery window: delivered after it is late.
        delivery_due: Option<DateTime<Utc>>,
    },
    Booked {
        load_id: Uuid,
        booked_at: DateTime<Utc>,
        booked_rate_cents: i64,
        carrier_org_id: Option<Uuid>,
    },
    Delivered {
        load_id: Uuid,
        at: DateTime<Utc>,
    },
    Ended {
        load_id: Uuid,
        outcome: Outcome,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Cancelled,
    Expired,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Cancelled => "cancelled",
            Outcome::Expired => "expired",
        }
    }
}

/// The change `event` makes, `Ok(None)` when it makes none.
pub fn change(event: &EventEnvelope) -> Result<Option<KpiChange>, Refused> {
    let unreadable = |e: serde_json::Error| Refused {
        code: "unreadable",
        reason: format!("{}: {e}", event.event_type),
    };
    Ok(Some(if event.is(LOAD_POSTED) {
        let t: LoadTerms = serde_json::from_value(event.payload.clone()).map_err(unreadable)?;
        KpiChange::Posted {
            load_id: t.id,
            posted_at: t.posted_at.unwrap_or(event.occurred_at),
            posted_rate_cents: t.all_in_rate_cents,
            delivery_due: t
                .stops
                .iter()
                .rev()
                .find(|s| s.kind == "delivery")
                .map(|s| s.window.end),
        }
    } else if event.is(LOAD_BOOKED) {
        let b: Booked = serde_json::from_value(event.payload.clone()).map_err(unreadable)?;
        KpiChange::Booked {
            load_id: b.load_id,
            booked_at: b.booked_at,
            booked_rate_cents: b.rate_cents,
            carrier_org_id: b.carrier_org_id,
        }
    } else if event.is(LOAD_STATUS_CHANGED) {
        let s: StatusChanged = serde_json::from_value(event.payload.clone()).map_err(unreadable)?;
        match s.to.as_str() {
            "delivered" => KpiChange::Delivered {
                load_id: s.load_id,
                at: event.occurred_at,
            },
            "cancelled" => KpiChange::Ended {
                load_id: s.load_id,
                outcome: Outcome::Cancelled,
            },
            "expired" => KpiChange::Ended {
                load_id: s.load_id,
                outcome: Outcome::Expired,
            },
            _ => return Ok(None),
        }
    } else {
        return Ok(None);
    }))
}

/// One of the broker's posted loads, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BrokerLoad {
    pub posted_at: DateTime<Utc>,
    pub posted_rate_cents: Option<i64>,
    pub delivery_due: Option<DateTime<Utc>>,
    pub booked_at: Option<DateTime<Utc>>,
    pub booked_rate_cents: Option<i64>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    /// The carrier the load was booked to (unknown for loads booked before it was kept).
    pub carrier_org_id: Option<Uuid>,
}

impl BrokerLoad {
    /// Booked all-in rate against the posted one, in percent.
    fn booked_vs_posted_pct(&self) -> Option<f64> {
        let (booked, posted) = (self.booked_rate_cents?, self.posted_rate_cents?);
        (posted > 0).then(|| (booked - posted) as f64 * 100.0 / posted as f64)
    }

    /// Delivered by the end of the last delivery window.
    fn on_time(&self) -> bool {
        matches!((self.delivered_at, self.delivery_due), (Some(at), Some(due)) if at <= due)
    }

    fn cancelled(&self) -> bool {
        self.outcome.as_deref() == Some(Outcome::Cancelled.as_str())
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BrokerKpis {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Loads posted in the period.
    pub posted: u64,
    /// Of those, covered (booked).
    pub covered: u64,
    /// covered / posted; `null` with nothing posted.
    pub cover_rate: Option<f64>,
    /// Posted to booked, median and 90th percentile, in hours.
    pub time_to_cover_hours: Option<Percentiles>,
    /// Booked all-in rate against the posted one, median, in percent (negative: booked
    /// below the posted rate).
    pub booked_vs_posted_pct: Option<f64>,
    /// Expired on the board uncovered, and cancelled.
    pub expired: u64,
    pub cancelled: u64,
    pub delivered: u64,
    /// Delivered by the end of the last delivery window.
    pub delivered_on_time: u64,
    /// delivered_on_time / delivered.
    pub on_time_rate: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    lanerunner_laneindex::quantile::sorted_quantile(sorted, q)
}

/// The KPIs of `loads` (the broker's loads posted between `from` and `to`).
pub fn compute(loads: &[BrokerLoad], from: DateTime<Utc>, to: DateTime<Utc>) -> BrokerKpis {
    let posted = loads.len() as u64;
    let covered: Vec<&BrokerLoad> = loads.iter().filter(|l| l.booked_at.is_some()).collect();
    let mut hours: Vec<f64> = covered
        .iter()
        .filter_map(|l| Some((l.booked_at? - l.posted_at).num_seconds().max(0) as f64 / 3600.0))
        .collect();
    hours.sort_by(f64::total_cmp);
    let mut vs_posted: Vec<f64> = covered
        .iter()
        .filter_map(|l| l.booked_vs_posted_pct())
        .collect();
    vs_posted.sort_by(f64::total_cmp);
    let delivered: Vec<&BrokerLoad> = loads.iter().filter(|l| l.delivered_at.is_some()).collect();
    let on_time = delivered.iter().filter(|l| l.on_time()).count() as u64;
    let outcome = |o: Outcome| {
        loads
            .iter()
            .filter(|l| l.outcome.as_deref() == Some(o.as_str()))
            .count() as u64
    };
    BrokerKpis {
        from,
        to,
        posted,
        covered: covered.len() as u64,
        cover_rate: ratio(covered.len() as u64, posted),
        time_to_cover_hours: (!hours.is_empty()).then(|| Percentiles {
            p50: percentile(&hours, 0.5),
            p90: percentile(&hours, 0.9),
        }),
        booked_vs_posted_pct: (!vs_posted.is_empty()).then(|| percentile(&vs_posted, 0.5)),
        expired: outcome(Outcome::Expired),
        cancelled: outcome(Outcome::Cancelled),
        delivered: delivered.len() as u64,
        delivered_on_time: on_time,
        on_time_rate: ratio(on_time, delivered.len() as u64),
    }
}

/// How one carrier did on the broker's loads booked to it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CarrierScore {
    pub carrier_org_id: Uuid,
    /// The broker's loads posted in the period and booked to this carrier.
    pub booked: u64,
    pub delivered: u64,
    pub delivered_on_time: u64,
    /// delivered_on_time / delivered.
    pub on_time_rate: Option<f64>,
    /// Booked, then cancelled before delivery (a fall-off, whoever cancelled).
    pub cancelled_after_booking: u64,
    /// What the broker paid this carrier in all, in cents.
    pub booked_cents: i64,
    /// Median booked rate against the posted one, in percent.
    pub booked_vs_posted_pct: Option<f64>,
}

/// The scorecard of every carrier the broker booked `loads` to, most loads first (ties by
/// carrier id, so the order is stable).
pub fn carrier_scorecard(loads: &[BrokerLoad]) -> Vec<CarrierScore> {
    let mut by_carrier: std::collections::BTreeMap<Uuid, Vec<&BrokerLoad>> = Default::default();
    for l in loads.iter().filter(|l| l.booked_at.is_some()) {
        if let Some(carrier) = l.carrier_org_id {
            by_carrier.entry(carrier).or_default().push(l);
        }
    }
    let mut scores: Vec<CarrierScore> = by_carrier
        .into_iter()
        .map(|(carrier_org_id, loads)| {
            let delivered = loads.iter().filter(|l| l.delivered_at.is_some()).count() as u64;
            let on_time = loads.iter().filter(|l| l.on_time()).count() as u64;
            let mut vs_posted: Vec<f64> = loads
                .iter()
                .filter_map(|l| l.booked_vs_posted_pct())
                .collect();
            vs_posted.sort_by(f64::total_cmp);
            CarrierScore {
                carrier_org_id,
                booked: loads.len() as u64,
                delivered,
                delivered_on_time: on_time,
                on_time_rate: ratio(on_time, delivered),
                cancelled_after_booking: loads.iter().filter(|l| l.cancelled()).count() as u64,
                booked_cents: loads.iter().filter_map(|l| l.booked_rate_cents).sum(),
                booked_vs_posted_pct: (!vs_posted.is_empty()).then(|| percentile(&vs_posted, 0.5)),
            }
        })
        .collect();
    scores.sort_by(|a, b| {
        b.booked
            .cmp(&a.booked)
            .then(a.carrier_org_id.cmp(&b.carrier_org_id))
    });
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(h: i64) -> DateTime<Utc> {
        "2026-06-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(h)
    }

    fn load(booked_after_h: Option<i64>, posted_rate: i64, booked_rate: i64) -> BrokerLoad {
        BrokerLoad {
            posted_at: t(0),
            posted_rate_cents: Some(posted_rate),
            delivery_due: Some(t(72)),
            booked_at: booked_after_h.map(t),
            booked_rate_cents: booked_after_h.map(|_| booked_rate),
            delivered_at: None,
            outcome: None,
            carrier_org_id: None,
        }
    }

    #[test]
    fn kpis_count_cover_speed_rate_and_punctuality() {
        let mut loads = vec![
            load(Some(2), 200_000, 190_000),
            load(Some(4), 200_000, 200_000),
            load(Some(10), 200_000, 220_000),
            load(None, 200_000, 0),
        ];
        loads[0].delivered_at = Some(t(70));
        loads[1].delivered_at = Some(t(80));
        loads[3].outcome = Some("expired".into());
        let k = compute(&loads, t(-24), t(24));
        assert_eq!((k.posted, k.covered, k.expired, k.cancelled), (4, 3, 1, 0));
        assert_eq!(k.cover_rate, Some(0.75));
        assert_eq!(k.time_to_cover_hours.unwrap().p50, 4.0);
        assert_eq!(k.booked_vs_posted_pct, Some(0.0));
        assert_eq!(
            (k.delivered, k.delivered_on_time, k.on_time_rate),
            (2, 1, Some(0.5))
        );
        let none = compute(&[], t(0), t(1));
        assert_eq!(
            (none.cover_rate, none.time_to_cover_hours, none.on_time_rate),
            (None, None, None)
        );
    }

    #[test]
    fn the_scorecard_groups_booked_loads_by_carrier() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut loads = vec![
            load(Some(1), 200_000, 180_000),
            load(Some(1), 200_000, 220_000),
            load(Some(1), 100_000, 100_000),
            load(Some(1), 100_000, 90_000),
            load(None, 100_000, 0),
        ];
        for (l, c) in loads
            .iter_mut()
            .zip([Some(a), Some(a), Some(b), None, Some(b)])
        {
            l.carrier_org_id = c;
        }
        loads[0].delivered_at = Some(t(70));
        loads[1].delivered_at = Some(t(90));
        loads[2].outcome = Some("cancelled".into());
        let card = carrier_scorecard(&loads);
        assert_eq!(
            card.len(),
            2,
            "unknown carriers and uncovered loads are left out"
        );
        assert_eq!(card[0].carrier_org_id, a);
        assert_eq!(
            (card[0].booked, card[0].delivered, card[0].delivered_on_time),
            (2, 2, 1)
        );
        assert_eq!(card[0].on_time_rate, Some(0.5));
        assert_eq!(card[0].booked_cents, 400_000);
        assert_eq!(card[0].booked_vs_posted_pct, Some(0.0));
        assert_eq!((card[1].booked, card[1].cancelled_after_booking), (1, 1));
        assert_eq!(card[1].on_time_rate, None);
    }

    #[test]
    fn status_changes_that_end_a_load_are_kept_and_others_ignored() {
        let ev = |to: &str| {
            EventEnvelope::new(
                LOAD_STATUS_CHANGED,
                None,
                Uuid::nil(),
                &serde_json::json!({"load_id": Uuid::nil(), "to": to, "from": "posted"}),
            )
            .unwrap()
        };
        assert!(matches!(
            change(&ev("delivered")),
            Ok(Some(KpiChange::Delivered { .. }))
        ));
        assert!(matches!(
            change(&ev("expired")),
            Ok(Some(KpiChange::Ended {
                outcome: Outcome::Expired,
                ..
            }))
        ));
        assert_eq!(change(&ev("in_transit")), Ok(None));
        let bad = EventEnvelope::new(
            LOAD_STATUS_CHANGED,
            None,
            Uuid::nil(),
            &serde_json::json!({"to": 3}),
        )
        .unwrap();
        assert_eq!(change(&bad).unwrap_err().code, "unreadable");
    }
}
