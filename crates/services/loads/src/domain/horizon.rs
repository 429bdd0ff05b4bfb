//! How far from now a date may lie: stop times, truck availability and search dates.
//!
//! Without a bound a load picking up in 9999 is posted and never expires, a draft dated
//! 0001 is kept, and a truck available from 0001 to 9999 matches every search. The bounds
//! are configuration (`loads.horizon_days_past`, `loads.horizon_days_ahead`): the past
//! allows drafts entered after the fact and history, the future a season of planning.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

use super::Violations;

/// The horizon's width in days on each side of now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HorizonDays {
    pub past: u32,
    pub ahead: u32,
}

impl Default for HorizonDays {
    /// The configuration's defaults: a month back, a year ahead.
    fn default() -> Self {
        HorizonDays {
            past: 30,
            ahead: 365,
        }
    }
}

/// The instants a date may fall between, fixed at one `now` for a whole validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
    days: HorizonDays,
}

/// No time zone is a full day off UTC, so a local time a day outside the horizon is outside
/// it in every zone.
const LOCAL_SLACK: Duration = Duration::days(1);

impl Horizon {
    pub fn around(now: DateTime<Utc>, days: HorizonDays) -> Self {
        Horizon {
            earliest: now - Duration::days(i64::from(days.past)),
            latest: now + Duration::days(i64::from(days.ahead)),
            days,
        }
    }

    fn complain(&self, errs: &mut Violations, field: &str, late: bool) {
        let message = if late {
            format!(
                "is too far ahead: dates must be within {} days from now",
                self.days.ahead
            )
        } else {
            format!(
                "is too far back: dates must be within {} days before now",
                self.days.past
            )
        };
        errs.add(field, message);
    }

    /// Records a violation under `field` when `t` is outside the horizon; true when inside.
    pub fn check(&self, errs: &mut Violations, field: &str, t: DateTime<Utc>) -> bool {
        if t < self.earliest || t > self.latest {
            self.complain(errs, field, t > self.latest);
            return false;
        }
        true
    }

    /// The same for a local time whose zone is not known yet, as far as it can be told
    /// without one: only times outside the horizon in every zone are refused. Checking
    /// before converting also keeps absurd years away from time-zone arithmetic.
    pub fn check_local(&self, errs: &mut Violations, field: &str, t: NaiveDateTime) -> bool {
        let earliest = (self.earliest - LOCAL_SLACK).naive_utc();
        let latest = (self.latest + LOCAL_SLACK).naive_utc();
        if t < earliest || t > latest {
            self.complain(errs, field, t > latest);
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn horizon() -> Horizon {
        Horizon::around(
            Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap(),
            HorizonDays {
                past: 30,
                ahead: 365,
            },
        )
    }

    #[test]
    fn instants_inside_pass_and_outside_name_the_field() {
        let h = horizon();
        let mut errs = Violations::default();
        assert!(h.check(&mut errs, "a", h.earliest));
        assert!(h.check(&mut errs, "b", h.latest));
        assert!(!h.check(&mut errs, "c", h.latest + Duration::seconds(1)));
        assert!(!h.check(&mut errs, "d", h.earliest - Duration::seconds(1)));
        assert_eq!(errs.fields(), ["c", "d"]);
        assert!(errs.0[0].message.contains("365 days"), "{errs}");
        assert!(errs.0[1].message.contains("30 days"), "{errs}");
    }

    #[test]
    fn local_times_are_refused_only_when_outside_in_every_zone() {
        let h = horizon();
        let mut errs = Violations::default();
        assert!(h.check_local(&mut errs, "a", h.latest.naive_utc() + Duration::hours(20)));
        assert!(!h.check_local(&mut errs, "b", NaiveDateTime::MAX));
        assert!(!h.check_local(&mut errs, "c", NaiveDateTime::MIN));
        assert_eq!(errs.fields(), ["b", "c"]);
    }
}
