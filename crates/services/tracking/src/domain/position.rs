//! A reported position and whether it may be applied: inside the Earth's ranges, not from
//! the future, not stale, not older than the last one applied, not a repeat, and not a
//! jump no truck could make. A refused position is kept with its reason (quarantined),
//! never applied.

use chrono::{DateTime, Utc};
use lanerunner_geo::{haversine_miles, LatLon};
use serde::{Deserialize, Serialize};

/// One position report from any source.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fix {
    pub lat: f64,
    pub lon: f64,
    /// When the device took it (UTC).
    pub at: DateTime<Utc>,
    /// Ground speed as the device reports it, if it does.
    #[serde(default)]
    pub speed_mph: Option<f64>,
}

impl Fix {
    pub fn point(&self) -> LatLon {
        LatLon::new(self.lat, self.lon)
    }
}

/// How strict validation is.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A device clock may run this far ahead of ours.
    pub max_future_secs: i64,
    /// Older reports are refused (a device replaying last week's buffer).
    pub max_age_secs: i64,
    /// No truck covers ground faster than this between two reports.
    pub max_mph: f64,
    /// Jumps shorter than this are GPS jitter, whatever the time between them.
    pub jitter_miles: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_future_secs: 120,
            max_age_secs: 24 * 3600,
            max_mph: 100.0,
            jitter_miles: 0.5,
        }
    }
}

/// Why a position was not applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    OutOfRange,
    FromTheFuture { ahead_secs: i64 },
    TooOld { age_secs: i64 },
    OutOfOrder { behind_secs: i64 },
    Duplicate,
    Teleport { implied_mph: f64, miles: f64 },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::OutOfRange => "out_of_range",
            Refusal::FromTheFuture { .. } => "from_the_future",
            Refusal::TooOld { .. } => "too_old",
            Refusal::OutOfOrder { .. } => "out_of_order",
            Refusal::Duplicate => "duplicate",
            Refusal::Teleport { .. } => "teleport",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Refusal::OutOfRange => {
                "the coordinates are outside the Earth's ranges (or 0, 0)".into()
            }
            Refusal::FromTheFuture { ahead_secs } => {
                format!("the position is {ahead_secs} s in the future")
            }
            Refusal::TooOld { age_secs } => format!("the position is {age_secs} s old"),
            Refusal::OutOfOrder { behind_secs } => {
                format!("the position is {behind_secs} s older than the last one applied")
            }
            Refusal::Duplicate => "the same position was applied already".into(),
            Refusal::Teleport { implied_mph, miles } => {
                format!("the truck would have covered {miles:.1} miles at {implied_mph:.0} mph")
            }
        }
    }
}

/// Whether `fix` may be applied after `last` (the last applied position), at `now`.
pub fn check(fix: &Fix, last: Option<&Fix>, now: DateTime<Utc>, l: &Limits) -> Result<(), Refusal> {
    let p = fix.point();
    // (0, 0) is where a GPS without a fix reports from, not where a truck is.
    if !p.is_valid() || (fix.lat == 0.0 && fix.lon == 0.0) {
        return Err(Refusal::OutOfRange);
    }
    let ahead = (fix.at - now).num_seconds();
    if ahead > l.max_future_secs {
        return Err(Refusal::FromTheFuture { ahead_secs: ahead });
    }
    let age = (now - fix.at).num_seconds();
    if age > l.max_age_secs {
        return Err(Refusal::TooOld { age_secs: age });
    }
    let Some(last) = last else {
        return Ok(());
    };
    let behind = (last.at - fix.at).num_seconds();
    if fix.at < last.at {
        return Err(Refusal::OutOfOrder {
            behind_secs: behind.max(1),
        });
    }
    let miles = haversine_miles(last.point(), p);
    if fix.at == last.at {
        return if miles < l.jitter_miles {
            Err(Refusal::Duplicate)
        } else {
            Err(Refusal::Teleport {
                implied_mph: f64::INFINITY,
                miles,
            })
        };
    }
    if miles >= l.jitter_miles {
        let hours = (fix.at - last.at).num_milliseconds() as f64 / 3.6e6;
        let mph = miles / hours;
        if mph > l.max_mph {
            return Err(Refusal::Teleport {
                implied_mph: mph,
                miles,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap()
    }

    fn fix(lat: f64, lon: f64, secs_ago: i64) -> Fix {
        Fix {
            lat,
            lon,
            at: now() - Duration::seconds(secs_ago),
            speed_mph: None,
        }
    }

    #[test]
    fn a_plausible_track_passes() {
        let a = fix(32.78, -96.80, 60);
        // About 0.9 miles in 60 s: 55 mph.
        let b = fix(32.793, -96.80, 0);
        assert_eq!(check(&a, None, now(), &Limits::default()), Ok(()));
        assert_eq!(check(&b, Some(&a), now(), &Limits::default()), Ok(()));
    }

    #[test]
    fn every_kind_of_bad_position_is_named() {
        let l = Limits::default();
        let last = fix(32.78, -96.80, 600);
        let code = |f: Fix| check(&f, Some(&last), now(), &l).unwrap_err().code();
        assert_eq!(code(fix(91.0, -96.80, 0)), "out_of_range");
        assert_eq!(code(fix(f64::NAN, -96.80, 0)), "out_of_range");
        assert_eq!(code(fix(0.0, 0.0, 0)), "out_of_range");
        assert_eq!(code(fix(32.78, -96.80, -3600)), "from_the_future");
        assert_eq!(code(fix(32.78, -96.80, 3 * 86400)), "too_old");
        assert_eq!(code(fix(32.78, -96.80, 700)), "out_of_order");
        assert_eq!(code(fix(32.78, -96.80, 600)), "duplicate");
        // Dallas to Atlanta (~720 miles) in ten minutes.
        assert_eq!(code(fix(33.75, -84.39, 0)), "teleport");
        // A clock two minutes fast is tolerated.
        assert_eq!(
            check(&fix(32.78, -96.80, -60), Some(&last), now(), &l),
            Ok(())
        );
    }

    #[test]
    fn jitter_standing_still_is_not_a_teleport() {
        let a = fix(32.78, -96.80, 2);
        let b = fix(32.781, -96.80, 1); // 0.07 miles in one second
        assert_eq!(check(&b, Some(&a), now(), &Limits::default()), Ok(()));
    }
}
