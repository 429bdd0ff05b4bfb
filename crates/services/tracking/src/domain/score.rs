//! A carrier's tracking score over its delivered loads: the share tracked from pickup to
//! delivery (a position inside the first pickup's fence and inside the delivery's, not
//! passed unseen), and the share that reached the delivery by the end of its window.

use serde::Serialize;

use super::geofence::{StopFence, StopKind, TrackState};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Score {
    pub loads: u32,
    pub tracked: u32,
    pub on_time: u32,
    /// `tracked / loads`, 0 to 1 (none without loads).
    pub tracked_share: Option<f64>,
    /// Of the loads whose delivery arrival is known, the share on time.
    pub on_time_share: Option<f64>,
}

/// Scores the loads (each its stops and final state).
pub fn score<'a>(loads: impl IntoIterator<Item = (&'a [StopFence], &'a TrackState)>) -> Score {
    let mut s = Score::default();
    let mut arrivals = 0u32;
    for (stops, state) in loads {
        s.loads += 1;
        let first_pickup = stops.iter().position(|x| x.kind == StopKind::Pickup);
        let delivery = stops.iter().rposition(|x| x.kind == StopKind::Delivery);
        let seen = |i: Option<usize>| {
            i.and_then(|i| state.visits.get(i))
                .is_some_and(|v| v.arrived_at.is_some() && !v.missed)
        };
        if seen(first_pickup) && seen(delivery) {
            s.tracked += 1;
        }
        if let Some(d) = delivery {
            if let Some(at) = state.visits.get(d).and_then(|v| v.arrived_at) {
                arrivals += 1;
                if at <= stops[d].window_end {
                    s.on_time += 1;
                }
            }
        }
    }
    let share = |n: u32, of: u32| {
        (of > 0).then(|| (f64::from(n) / f64::from(of) * 1000.0).round() / 1000.0)
    };
    s.tracked_share = share(s.tracked, s.loads);
    s.on_time_share = share(s.on_time, arrivals);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::geofence::Visit;
    use chrono::{TimeZone, Utc};

    fn stops() -> Vec<StopFence> {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 4, h, 0, 0).unwrap();
        let stop = |kind, end| StopFence {
            kind,
            label: "x".into(),
            lat: 0.0,
            lon: 0.0,
            window_start: t(1),
            window_end: t(end),
            timezone: "UTC".into(),
        };
        vec![stop(StopKind::Pickup, 2), stop(StopKind::Delivery, 10)]
    }

    fn state(pickup: Option<u32>, delivery: Option<u32>, missed: bool) -> TrackState {
        let at = |h: Option<u32>| h.map(|h| Utc.with_ymd_and_hms(2026, 12, 4, h, 0, 0).unwrap());
        TrackState {
            visits: vec![
                Visit {
                    arrived_at: at(pickup),
                    departed_at: None,
                    missed,
                },
                Visit {
                    arrived_at: at(delivery),
                    departed_at: None,
                    missed: false,
                },
            ],
            ..TrackState::default()
        }
    }

    #[test]
    fn tracked_and_on_time_shares() {
        let s = stops();
        let states = [
            state(Some(1), Some(9), false),  // tracked, on time
            state(Some(1), Some(11), false), // tracked, late
            state(Some(1), Some(9), true),   // pickup passed unseen: not tracked, on time
            state(None, None, false),        // never tracked
        ];
        let sc = score(states.iter().map(|st| (s.as_slice(), st)));
        assert_eq!((sc.loads, sc.tracked, sc.on_time), (4, 2, 2));
        assert_eq!(sc.tracked_share, Some(0.5));
        assert_eq!(sc.on_time_share, Some(0.667));
        assert_eq!(score(std::iter::empty()).tracked_share, None);
    }
}
