//! Hours of service (FMCSA, 49 CFR 395.3, property-carrying): at most 11 hours driving
//! after 10 consecutive hours off duty, no driving after the 14th hour since coming on duty,
//! and a 30-minute break after 8 cumulative hours of driving. A team drives in shifts, so
//! the truck keeps rolling while one driver rests in the sleeper.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HosRules {
    pub max_drive_hours: f64,
    pub duty_window_hours: f64,
    pub off_duty_hours: f64,
    pub break_after_hours: f64,
    pub break_hours: f64,
}

impl Default for HosRules {
    fn default() -> Self {
        Self {
            max_drive_hours: 11.0,
            duty_window_hours: 14.0,
            off_duty_hours: 10.0,
            break_after_hours: 8.0,
            break_hours: 0.5,
        }
    }
}

/// Where a solo driver stands in the rules, in hours.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HosClock {
    pub driven_today: f64,
    pub on_duty_today: f64,
    pub since_break: f64,
}

impl HosClock {
    /// A driver with `drive_hours_left` of today's 11, assumed to have spent only driving
    /// time (and the break it required) on duty so far.
    pub fn with_drive_left(rules: &HosRules, drive_hours_left: f64) -> Self {
        let driven =
            (rules.max_drive_hours - drive_hours_left.clamp(0.0, rules.max_drive_hours)).max(0.0);
        let breaks = if driven >= rules.break_after_hours {
            rules.break_hours
        } else {
            0.0
        };
        Self {
            driven_today: driven,
            on_duty_today: driven + breaks,
            since_break: driven % rules.break_after_hours,
        }
    }

    fn reset(&mut self) {
        *self = Self {
            driven_today: 0.0,
            on_duty_today: 0.0,
            since_break: 0.0,
        };
    }
}

const EPS: f64 = 1e-9;

/// Advances `clock` by `hours` of on-duty work that is not driving (loading, unloading).
pub fn work(rules: &HosRules, clock: &mut HosClock, hours: f64) -> f64 {
    let mut elapsed = 0.0;
    if clock.on_duty_today + hours > rules.duty_window_hours + EPS {
        elapsed += rules.off_duty_hours;
        clock.reset();
    }
    clock.on_duty_today += hours;
    // An on-duty stop of 30 minutes or more counts as the break (2020 rule change).
    if hours >= rules.break_hours {
        clock.since_break = 0.0;
    }
    elapsed + hours
}

/// Hours it takes a solo driver at `clock` to drive `drive_hours`, including required breaks
/// and off-duty resets; `clock` is left where the driver ends.
pub fn drive(rules: &HosRules, clock: &mut HosClock, drive_hours: f64) -> f64 {
    let mut remaining = drive_hours.max(0.0);
    let mut elapsed = 0.0;
    while remaining > EPS {
        let can = (rules.max_drive_hours - clock.driven_today)
            .min(rules.duty_window_hours - clock.on_duty_today)
            .min(rules.break_after_hours - clock.since_break)
            .min(remaining);
        if can <= EPS {
            if clock.driven_today >= rules.max_drive_hours - EPS
                || clock.on_duty_today >= rules.duty_window_hours - rules.break_hours - EPS
            {
                elapsed += rules.off_duty_hours;
                clock.reset();
            } else {
                elapsed += rules.break_hours;
                clock.on_duty_today += rules.break_hours;
                clock.since_break = 0.0;
            }
            continue;
        }
        elapsed += can;
        remaining -= can;
        clock.driven_today += can;
        clock.on_duty_today += can;
        clock.since_break += can;
    }
    elapsed
}

/// When a truck leaving at `depart` (Unix seconds) arrives after `drive_hours` of driving.
pub fn earliest_arrival(
    rules: &HosRules,
    depart: i64,
    drive_hours: f64,
    drive_hours_left: f64,
    team: bool,
) -> i64 {
    let hours = if team {
        drive_hours.max(0.0)
    } else {
        drive(
            rules,
            &mut HosClock::with_drive_left(rules, drive_hours_left),
            drive_hours,
        )
    };
    depart + (hours * 3600.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3600;

    #[test]
    fn a_short_trip_needs_no_rest() {
        let r = HosRules::default();
        assert_eq!(earliest_arrival(&r, 0, 5.0, 11.0, false), 5 * H);
    }

    #[test]
    fn eight_hours_of_driving_require_a_half_hour_break() {
        let r = HosRules::default();
        assert_eq!(earliest_arrival(&r, 0, 9.0, 11.0, false), 9 * H + H / 2);
    }

    #[test]
    fn more_than_eleven_hours_require_ten_off() {
        let r = HosRules::default();
        // 11 h driving (+ 0.5 h break), 10 h off, 1 h more.
        assert_eq!(
            earliest_arrival(&r, 0, 12.0, 11.0, false),
            (11 * H + H / 2) + 10 * H + H
        );
    }

    #[test]
    fn a_driver_with_little_time_left_rests_first() {
        let r = HosRules::default();
        assert_eq!(earliest_arrival(&r, 0, 3.0, 1.0, false), H + 10 * H + 2 * H);
    }

    #[test]
    fn teams_keep_rolling() {
        let r = HosRules::default();
        assert_eq!(earliest_arrival(&r, 0, 30.0, 11.0, true), 30 * H);
    }

    proptest! {
        #[test]
        fn solo_driving_never_beats_the_clock_and_never_breaks_the_rules(hours in 0.0f64..120.0, left in 0.0f64..11.0) {
            let r = HosRules::default();
            let mut clock = HosClock::with_drive_left(&r, left);
            let elapsed = drive(&r, &mut clock, hours);
            prop_assert!(elapsed + 1e-6 >= hours);
            prop_assert!(clock.driven_today <= r.max_drive_hours + 1e-6);
            prop_assert!(clock.on_duty_today <= r.duty_window_hours + 1e-6);
            prop_assert!(clock.since_break <= r.break_after_hours + 1e-6);
            // At least 10 hours off for every 11 hours driven beyond the first day's allowance.
            let full_days = ((hours - left) / r.max_drive_hours).floor().max(0.0);
            prop_assert!(elapsed + 1e-6 >= hours + full_days * r.off_duty_hours);
        }
    }
}
