//! A load's stops as geofences, and what each applied position does to them: entering a
//! stop's fence is an arrival, leaving it (past a wider exit radius, so a truck parked on
//! the fence's edge does not flap) a departure. Dwell at each stop is kept, and detention
//! accrues after the free time.

use chrono::{DateTime, Duration, Utc};
use lanerunner_geo::{haversine_miles, LatLon};
use serde::{Deserialize, Serialize};

use super::position::Fix;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Delivery,
}

/// A stop as tracking sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopFence {
    pub kind: StopKind,
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Its IANA time zone (driving speeds follow the local hour).
    pub timezone: String,
}

impl StopFence {
    pub fn point(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

/// The fence sizes.
#[derive(Debug, Clone, Copy)]
pub struct Fences {
    pub radius_miles: f64,
    /// Leaving is counted past this radius (larger than `radius_miles`).
    pub exit_miles: f64,
    /// Detention starts after this long at a stop (from arrival, or from the appointment
    /// when the truck was early).
    pub free_time: Duration,
}

impl Default for Fences {
    fn default() -> Self {
        Self {
            radius_miles: 1.0,
            exit_miles: 1.5,
            free_time: Duration::hours(2),
        }
    }
}

/// One stop's visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub arrived_at: Option<DateTime<Utc>>,
    pub departed_at: Option<DateTime<Utc>>,
    /// Passed without a position inside its fence (positions too sparse): reached in order.
    #[serde(default)]
    pub missed: bool,
}

/// Where a load's tracking stands: which stop is next, whether the truck is inside its
/// fence, each stop's visit, and the driver's hours as the positions show them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackState {
    /// The stop being approached or dwelt at.
    pub current: usize,
    pub inside: bool,
    pub visits: Vec<Visit>,
    pub last: Option<Fix>,
    pub hours: super::eta::Hours,
    /// Stops whose appointment the ETA passed (told once each).
    #[serde(default)]
    pub late_told: Vec<usize>,
}

/// What a position did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Transition {
    Arrived { stop: usize, at: DateTime<Utc> },
    Departed { stop: usize, at: DateTime<Utc> },
}

impl TrackState {
    pub fn new(stops: usize) -> Self {
        Self {
            visits: vec![Visit::default(); stops],
            ..Self::default()
        }
    }

    /// Applies a validated position: the transitions it causes, in order.
    pub fn apply(&mut self, stops: &[StopFence], fix: &Fix, f: &Fences) -> Vec<Transition> {
        let mut out = Vec::new();
        if let Some(last) = self.last {
            self.hours.advance(&last, fix);
        }
        self.last = Some(*fix);
        let here = fix.point();
        if self.current >= stops.len() {
            return out;
        }
        if self.inside {
            if haversine_miles(here, stops[self.current].point()) > f.exit_miles {
                self.visits[self.current].departed_at = Some(fix.at);
                out.push(Transition::Departed {
                    stop: self.current,
                    at: fix.at,
                });
                self.inside = false;
                self.current += 1;
            } else {
                return out;
            }
        }
        // The first stop from here on whose fence the truck is in (a later one when the
        // positions skipped a stop's fence: those between were passed).
        if let Some(j) = (self.current..stops.len())
            .find(|&j| haversine_miles(here, stops[j].point()) <= f.radius_miles)
        {
            for k in self.current..j {
                let v = &mut self.visits[k];
                v.missed = true;
                out.push(Transition::Departed {
                    stop: k,
                    at: fix.at,
                });
            }
            self.current = j;
            self.inside = true;
            self.visits[j].arrived_at = Some(fix.at);
            out.push(Transition::Arrived {
                stop: j,
                at: fix.at,
            });
        }
        out
    }

    /// The driver says the truck is at the stop it was approaching.
    pub fn check_in_arrived(&mut self, stops: usize, at: DateTime<Utc>) -> Vec<Transition> {
        if self.inside || self.current >= stops {
            return Vec::new();
        }
        self.inside = true;
        self.visits[self.current].arrived_at = Some(at);
        vec![Transition::Arrived {
            stop: self.current,
            at,
        }]
    }

    /// The driver says the truck has left its stop (arriving there first, at the same
    /// moment, if it never checked in).
    pub fn check_in_departed(&mut self, stops: usize, at: DateTime<Utc>) -> Vec<Transition> {
        let mut out = self.check_in_arrived(stops, at);
        if !self.inside {
            return out;
        }
        self.visits[self.current].departed_at = Some(at);
        out.push(Transition::Departed {
            stop: self.current,
            at,
        });
        self.inside = false;
        self.current += 1;
        out
    }

    /// Departure from the last stop is not delivery: delivery is confirmed (by the driver,
    /// the receiver, or the proof of delivery). Whether every stop has been reached.
    pub fn at_last_stop(&self, stops: usize) -> bool {
        stops > 0 && self.current + 1 >= stops && (self.inside || self.current >= stops)
    }
}

/// Dwell and detention at one stop, as of `now` for a truck still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Dwell {
    pub minutes: i64,
    pub detention_minutes: i64,
}

pub fn dwell(stop: &StopFence, visit: &Visit, now: DateTime<Utc>, f: &Fences) -> Option<Dwell> {
    let arrived = visit.arrived_at?;
    let until = visit.departed_at.unwrap_or(now);
    // An early truck waits for its appointment on its own time.
    let clock = arrived.max(stop.window_start);
    let detention = (until - clock - f.free_time).num_minutes().max(0);
    Some(Dwell {
        minutes: (until - arrived).num_minutes().max(0),
        detention_minutes: detention,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap()
    }

    fn stops() -> Vec<StopFence> {
        vec![
            StopFence {
                kind: StopKind::Pickup,
                label: "Dallas, TX".into(),
                lat: 32.7767,
                lon: -96.7970,
                window_start: t(8, 0),
                window_end: t(10, 0),
                timezone: "America/Chicago".into(),
            },
            StopFence {
                kind: StopKind::Delivery,
                label: "Atlanta, GA".into(),
                lat: 33.7490,
                lon: -84.3880,
                window_start: t(20, 0),
                window_end: t(23, 0),
                timezone: "America/New_York".into(),
            },
        ]
    }

    fn at(lat: f64, lon: f64, when: DateTime<Utc>) -> Fix {
        Fix {
            lat,
            lon,
            at: when,
            speed_mph: None,
        }
    }

    #[test]
    fn arrival_departure_and_arrival_in_order_without_flapping() {
        let s = stops();
        let f = Fences::default();
        let mut st = TrackState::new(2);
        assert!(st.apply(&s, &at(32.70, -96.90, t(7, 0)), &f).is_empty());
        assert_eq!(
            st.apply(&s, &at(32.7770, -96.7975, t(7, 30)), &f),
            [Transition::Arrived {
                stop: 0,
                at: t(7, 30)
            }]
        );
        // 1.2 miles out: inside the exit radius, still at the pickup.
        assert!(st.apply(&s, &at(32.7940, -96.7970, t(9, 0)), &f).is_empty());
        assert_eq!(
            st.apply(&s, &at(32.83, -96.70, t(11, 0)), &f),
            [Transition::Departed {
                stop: 0,
                at: t(11, 0)
            }]
        );
        assert_eq!(
            st.apply(&s, &at(33.7491, -84.3881, t(21, 0)), &f),
            [Transition::Arrived {
                stop: 1,
                at: t(21, 0)
            }]
        );
        assert!(st.at_last_stop(2));
        // Early at 7:30 for an 8:00 appointment, left at 11:00: 3 h 30 of dwell, detention
        // from 10:00 (8:00 plus two free hours).
        let d = dwell(&s[0], &st.visits[0], t(23, 0), &f).unwrap();
        assert_eq!((d.minutes, d.detention_minutes), (210, 60));
    }

    #[test]
    fn a_skipped_fence_is_passed_in_order() {
        let s = stops();
        let f = Fences::default();
        let mut st = TrackState::new(2);
        let tr = st.apply(&s, &at(33.7490, -84.3880, t(21, 0)), &f);
        assert_eq!(
            tr,
            [
                Transition::Departed {
                    stop: 0,
                    at: t(21, 0)
                },
                Transition::Arrived {
                    stop: 1,
                    at: t(21, 0)
                }
            ]
        );
        assert!(st.visits[0].missed);
        assert_eq!(dwell(&s[0], &st.visits[0], t(22, 0), &f), None);
    }
}
