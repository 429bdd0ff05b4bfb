//! How far from today a load's stops and a truck's availability may be. Without a horizon a
//! load picking up in 9999 stays on the board forever (the expiry sweep never reaches it)
//! and a truck "available from 0001 to 9999" matches everything. The bounds are settings
//! (`loads.horizon_days_past`, `loads.horizon_days_ahead`).

use chrono::{DateTime, Duration, Utc};

use super::{LoadSpec, TruckSpec, Violations};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// How many days back a stop or availability may start (drafts of recent loads,
    /// corrections after the fact).
    pub days_past: i64,
    /// How many days ahead a stop or availability may end.
    pub days_ahead: i64,
}

impl Horizon {
    fn bounds(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            now - Duration::days(self.days_past),
            now + Duration::days(self.days_ahead),
        )
    }

    fn check(&self, errs: &mut Violations, field: String, at: DateTime<Utc>, now: DateTime<Utc>) {
        let (earliest, latest) = self.bounds(now);
        if at < earliest {
            errs.add(
                field,
                format!("is more than {} days in the past", self.days_past),
            );
        } else if at > latest {
            errs.add(
                field,
                format!("is more than {} days ahead", self.days_ahead),
            );
        }
    }

    /// Every stop time of `spec` inside the horizon around `now`.
    pub fn check_load(&self, spec: &LoadSpec, now: DateTime<Utc>) -> Result<(), Violations> {
        let mut errs = Violations::default();
        for (i, stop) in spec.stops.iter().enumerate() {
            if stop.window.appointment {
                self.check(
                    &mut errs,
                    format!("stops[{i}].appointment"),
                    stop.window.start,
                    now,
                );
            } else {
                self.check(
                    &mut errs,
                    format!("stops[{i}].window.start"),
                    stop.window.start,
                    now,
                );
                self.check(
                    &mut errs,
                    format!("stops[{i}].window.end"),
                    stop.window.end,
                    now,
                );
            }
        }
        errs.into_result(())
    }

    /// A truck's availability inside the horizon around `now`.
    pub fn check_truck(&self, spec: &TruckSpec, now: DateTime<Utc>) -> Result<(), Violations> {
        let mut errs = Violations::default();
        self.check(&mut errs, "available_from".into(), spec.available_from, now);
        self.check(
            &mut errs,
            "available_until".into(),
            spec.available_until,
            now,
        );
        errs.into_result(())
    }
}
