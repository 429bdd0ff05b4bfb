//! A report's period, from its query: `from` and `to` as days (UTC), both included. The
//! controls reports (money in payments, access in identity) take it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

use super::Problem;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day of the period (UTC), `YYYY-MM-DD`.
    pub from: String,
    /// Last day of the period (UTC, included), `YYYY-MM-DD`.
    pub to: String,
}

/// Whole days, `from` through `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl PeriodQuery {
    /// The period asked for, if both are days, `to` is not before `from`, and it spans at
    /// most `max_days`.
    pub fn period(&self, max_days: i64) -> Result<Period, Problem> {
        let day = |field: &str, value: &str| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map_err(|_| Problem::invalid_field(field, "must be a date, YYYY-MM-DD"))
        };
        let (from, to) = (day("from", &self.from)?, day("to", &self.to)?);
        if to < from {
            return Err(Problem::invalid_field("to", "must not be before from"));
        }
        if (to - from).num_days() >= max_days {
            return Err(Problem::invalid_field(
                "to",
                format!("a report covers at most {max_days} days"),
            ));
        }
        Ok(Period { from, to })
    }
}

impl Period {
    /// Midnight UTC starting `from`.
    pub fn start(&self) -> DateTime<Utc> {
        midnight(self.from)
    }

    /// Midnight UTC ending `to` (the period is `[start, end)`).
    pub fn end(&self) -> DateTime<Utc> {
        midnight(self.to) + Duration::days(1)
    }
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: &str, to: &str) -> PeriodQuery {
        PeriodQuery {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn a_period_covers_both_days_whole() {
        let p = query("2026-12-01", "2026-12-31").period(366).unwrap();
        assert_eq!(p.start().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(p.end().to_rfc3339(), "2027-01-01T00:00:00+00:00");
        assert!(query("2026-12-01", "2026-12-01").period(1).is_ok());
    }

    #[test]
    fn bad_periods_are_refused_naming_the_field() {
        for (from, to, field) in [
            ("12/01/2026", "2026-12-02", "from"),
            ("2026-12-01", "tomorrow", "to"),
            ("2026-12-02", "2026-12-01", "to"),
            ("2025-01-01", "2026-12-31", "to"),
        ] {
            let problem = query(from, to).period(366).unwrap_err();
            assert_eq!(problem.status, 422, "{from}..{to}");
            let fields: Vec<&str> = problem.extensions["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert_eq!(fields, [field], "{from}..{to}");
        }
    }
}
