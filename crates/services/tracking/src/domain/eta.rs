//! The ETA to the next stop: the remaining road miles driven at the speed of each local
//! hour, with the driver's hours of service inserted where they fall due (FMCSA property-
//! carrying rules, 49 CFR 395.3: a 30-minute break after 8 hours of driving, at most 11
//! hours of driving after 10 hours off duty), and a confidence that falls with distance and
//! with the age of the last position.

use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;
use lanerunner_geo::{road_miles, LatLon};
use serde::{Deserialize, Serialize};

use super::position::Fix;

pub const BREAK_AFTER_HOURS: f64 = 8.0;
pub const BREAK_MINUTES: i64 = 30;
pub const MAX_DRIVING_HOURS: f64 = 11.0;
pub const RESET_HOURS: i64 = 10;

/// Moving slower than this between two positions is not driving.
const MOVING_MPH: f64 = 5.0;

/// The driver's hours as the positions show them: driving since the last 10-hour rest and
/// since the last 30-minute break.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Hours {
    pub driving_hours: f64,
    pub since_break_hours: f64,
}

impl Hours {
    /// Counts the time between two positions: driving when the truck moved, a break or a
    /// rest when it stood long enough.
    pub fn advance(&mut self, from: &Fix, to: &Fix) {
        let hours = (to.at - from.at).num_milliseconds() as f64 / 3.6e6;
        if hours <= 0.0 {
            return;
        }
        let mph = road_miles(from.point(), to.point()) / hours;
        if mph >= MOVING_MPH {
            self.driving_hours += hours;
            self.since_break_hours += hours;
        } else if hours >= RESET_HOURS as f64 {
            *self = Hours::default();
        } else if hours * 60.0 >= BREAK_MINUTES as f64 {
            self.since_break_hours = 0.0;
        }
    }
}

/// Average truck speed by local hour: slower in the morning and evening rushes, faster
/// at night.
pub fn speed_mph(local_hour: u32) -> f64 {
    match local_hour {
        6..=8 | 16..=18 => 45.0,
        22..=23 | 0..=4 => 58.0,
        _ => 52.0,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Eta {
    pub at: DateTime<Utc>,
    pub remaining_miles: f64,
    /// Breaks and 10-hour rests inserted on the way.
    pub breaks: u32,
    pub rests: u32,
    /// 0 to 1.
    pub confidence: f64,
    /// The ETA passes the stop's window.
    pub late: bool,
}

/// Drives from `from` (as of `at`, the last position) to `to`, in 15-minute steps.
pub fn eta(
    from: LatLon,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    to: LatLon,
    tz: Tz,
    window_end: DateTime<Utc>,
    hours: Hours,
) -> Eta {
    let remaining = road_miles(from, to);
    let mut left = remaining;
    let mut clock = at;
    let mut h = hours;
    let (mut breaks, mut rests) = (0, 0);
    let step = Duration::minutes(15);
    // A truck is never more than a week out: the loop is bounded whatever the input.
    for _ in 0..(7 * 24 * 4) {
        if left <= 0.0 {
            break;
        }
        if h.driving_hours >= MAX_DRIVING_HOURS {
            clock += Duration::hours(RESET_HOURS);
            h = Hours::default();
            rests += 1;
            continue;
        }
        if h.since_break_hours >= BREAK_AFTER_HOURS {
            clock += Duration::minutes(BREAK_MINUTES);
            h.since_break_hours = 0.0;
            breaks += 1;
            continue;
        }
        let mph = speed_mph(clock.with_timezone(&tz).hour());
        let miles = mph * 0.25;
        if miles >= left {
            clock += Duration::milliseconds((left / mph * 3.6e6) as i64);
            left = 0.0;
        } else {
            clock += step;
            left -= miles;
            h.driving_hours += 0.25;
            h.since_break_hours += 0.25;
        }
    }
    let stale_hours = ((now - at).num_minutes() as f64 / 60.0).max(0.0);
    let confidence = (0.95 - 0.1 * (remaining / 500.0) - 0.1 * stale_hours).clamp(0.2, 0.95);
    Eta {
        at: clock,
        remaining_miles: remaining,
        breaks,
        rests,
        confidence: (confidence * 100.0).round() / 100.0,
        late: clock > window_end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const DALLAS: LatLon = LatLon::new(32.7767, -96.7970);
    const ATLANTA: LatLon = LatLon::new(33.7490, -84.3880);

    fn t(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_long_run_takes_its_breaks_and_its_rest() {
        // ~860 road miles: more than 11 hours of driving for a fresh driver.
        let e = eta(
            DALLAS,
            t(4, 12),
            t(4, 12),
            ATLANTA,
            chrono_tz::America::New_York,
            t(6, 0),
            Hours::default(),
        );
        assert!((850.0..880.0).contains(&e.remaining_miles), "{e:?}");
        assert_eq!((e.breaks, e.rests), (1, 1), "{e:?}");
        let hours = (e.at - t(4, 12)).num_minutes() as f64 / 60.0;
        // Driving at 45-58 mph, a break and a 10-hour rest.
        assert!((25.0..31.0).contains(&hours), "{hours}");
        assert!(!e.late);
        assert!(e.confidence < 0.95 && e.confidence >= 0.2);
    }

    #[test]
    fn a_tired_driver_rests_first_and_the_appointment_is_missed() {
        let tired = Hours {
            driving_hours: 11.0,
            since_break_hours: 2.0,
        };
        let near = LatLon::new(33.5, -84.6);
        let e = eta(
            near,
            t(4, 12),
            t(4, 12),
            ATLANTA,
            chrono_tz::America::New_York,
            t(4, 18),
            tired,
        );
        assert_eq!(e.rests, 1);
        assert!(e.at > t(4, 22) && e.late, "{e:?}");
    }

    #[test]
    fn hours_count_driving_breaks_and_rests() {
        let fix = |lat: f64, h: i64| Fix {
            lat,
            lon: -96.8,
            at: t(4, 0) + Duration::hours(h),
            speed_mph: None,
        };
        let mut h = Hours::default();
        h.advance(&fix(32.0, 0), &fix(32.7, 1)); // ~58 road miles in an hour
        assert_eq!((h.driving_hours, h.since_break_hours), (1.0, 1.0));
        h.advance(&fix(32.7, 1), &fix(32.7, 2)); // an hour standing: a break
        assert_eq!((h.driving_hours, h.since_break_hours), (1.0, 0.0));
        h.advance(&fix(32.7, 2), &fix(32.7, 13)); // eleven hours standing: a rest
        assert_eq!(h, Hours::default());
    }
}
