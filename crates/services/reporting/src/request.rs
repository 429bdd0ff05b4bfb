//! What a report asks for, checked (pure): its kind, the lanes or the period it covers,
//! and for a schedule its cadence and recipients.

use chrono::{DateTime, Duration, Months, Utc};
use email_address::EmailAddress;
use serde::{Deserialize, Serialize};

use crate::error::Violations;

/// The reports LaneRunner writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Rates on up to 20 lanes: every window, the 13-month history charted.
    LaneRates,
    /// The organization's own KPIs over a period, month by month.
    BrokerKpis,
    /// How each carrier did on the organization's loads over a period.
    CarrierScorecard,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::LaneRates => "lane_rates",
            ReportKind::BrokerKpis => "broker_kpis",
            ReportKind::CarrierScorecard => "carrier_scorecard",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::LaneRates, Self::BrokerKpis, Self::CarrierScorecard]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    pub fn title(self) -> &'static str {
        match self {
            ReportKind::LaneRates => "Lane rate report",
            ReportKind::BrokerKpis => "Broker KPI report",
            ReportKind::CarrierScorecard => "Carrier scorecard",
        }
    }

    /// Whether the report covers a period of the organization's own loads.
    fn has_period(self) -> bool {
        !matches!(self, ReportKind::LaneRates)
    }
}

/// One lane of a lane rate report, as `GET /v1/analytics/lanes` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LaneSpec {
    /// Origin market code, e.g. `DAL-TX`.
    pub origin: String,
    /// Destination market code, e.g. `ATL-GA`.
    pub destination: String,
    /// Equipment code, e.g. `V`.
    pub equipment: String,
    /// `spot` (default) or `contract`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// What a report covers. Lane rate reports name lanes; the others a period: `from` and
/// `to` for a report run once, or the trailing `period_days` (default 30), which is what a
/// schedule uses (each run covers the days before it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportParams {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lanes: Vec<LaneSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_days: Option<u32>,
}

pub const MAX_LANES: usize = 20;
pub const MAX_PERIOD_DAYS: u32 = 731;
pub const DEFAULT_PERIOD_DAYS: u32 = 30;
pub const MAX_RECIPIENTS: usize = 20;

/// The period a run covers: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl ReportParams {
    /// Every problem with these parameters for `kind`; a schedule may not fix dates.
    pub fn check(&self, kind: ReportKind, scheduled: bool, v: &mut Violations) {
        if kind == ReportKind::LaneRates {
            if self.lanes.is_empty() {
                v.add("lanes", "name at least one lane");
            } else if self.lanes.len() > MAX_LANES {
                v.add("lanes", format!("at most {MAX_LANES} lanes"));
            }
        } else if !self.lanes.is_empty() {
            v.add(
                "lanes",
                format!("a {} report covers a period, not lanes", kind.as_str()),
            );
        }
        if !kind.has_period() {
            for (field, set) in [
                ("from", self.from.is_some()),
                ("to", self.to.is_some()),
                ("period_days", self.period_days.is_some()),
            ] {
                if set {
                    v.add(
                        field,
                        "a lane rate report is as of its day; it takes no period",
                    );
                }
            }
            return;
        }
        if let Some(days) = self.period_days {
            if !(1..=MAX_PERIOD_DAYS).contains(&days) {
                v.add("period_days", format!("must be 1–{MAX_PERIOD_DAYS}"));
            }
        }
        match (self.from, self.to) {
            (None, None) => {}
            _ if scheduled => v.add(
                "from",
                "a schedule covers the days before each run: give period_days, not dates",
            ),
            _ if self.period_days.is_some() => {
                v.add("period_days", "give either from and to, or period_days")
            }
            (Some(from), Some(to)) if from >= to => v.add("from", "must be before to"),
            (Some(from), Some(to)) if to - from > Duration::days(MAX_PERIOD_DAYS.into()) => {
                v.add("from", "the period may span at most two years")
            }
            (Some(_), Some(_)) => {}
            _ => v.add("to", "give both from and to"),
        }
    }

    /// The period a run at `now` covers.
    pub fn period(&self, now: DateTime<Utc>) -> Period {
        match (self.from, self.to) {
            (Some(from), Some(to)) => Period { from, to },
            _ => {
                let days = self.period_days.unwrap_or(DEFAULT_PERIOD_DAYS);
                Period {
                    from: now - Duration::days(days.into()),
                    to: now,
                }
            }
        }
    }
}

/// How often a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Daily,
    Weekly,
    /// The same day of each month (the last day where a month is shorter).
    Monthly,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Daily => "daily",
            Cadence::Weekly => "weekly",
            Cadence::Monthly => "monthly",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Daily, Self::Weekly, Self::Monthly]
            .into_iter()
            .find(|c| c.as_str() == name)
    }

    /// The run after the one due at `due` (counted from `first`, the schedule's first run,
    /// so a monthly schedule started on the 31st comes back to the 31st after February),
    /// skipping runs that would already be past at `now`: a deployment that was down for a
    /// week sends one weekly report, not a backlog.
    pub fn next_after(
        self,
        first: DateTime<Utc>,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let mut n: u32 = 1;
        loop {
            let next = match self {
                Cadence::Daily => first + Duration::days(i64::from(n)),
                Cadence::Weekly => first + Duration::weeks(i64::from(n)),
                Cadence::Monthly => first + Months::new(n),
            };
            if next > due && next > now {
                return next;
            }
            // Jump close to `now` rather than stepping through years of missed runs.
            let step_days = match self {
                Cadence::Daily => 1,
                Cadence::Weekly => 7,
                Cadence::Monthly => 31,
            };
            let behind = (now.max(due) - next).num_days() / step_days;
            n += u32::try_from(behind.max(1))
                .unwrap_or(u32::MAX / 2)
                .min(u32::MAX / 2);
        }
    }
}

/// The addresses a report goes to (the request's `field`), each checked; returned in
/// their order without repeats.
pub fn check_recipients(field: &str, recipients: &[String], v: &mut Violations) -> Vec<String> {
    if recipients.len() > MAX_RECIPIENTS {
        v.add(field, format!("at most {MAX_RECIPIENTS} addresses"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, r) in recipients.iter().enumerate() {
        let r = r.trim();
        if !EmailAddress::is_valid(r) || r.chars().any(char::is_control) {
            v.add(&format!("{field}[{i}]"), "is not an email address");
        } else if !out.iter().any(|o| o.eq_ignore_ascii_case(r)) {
            out.push(r.to_string());
        }
    }
    out
}

/// A schedule's name: what the email's subject says.
pub fn check_name(name: &str, v: &mut Violations) -> String {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        v.add("name", "must be 1–120 characters");
    } else if name.chars().any(char::is_control) {
        v.add("name", "must not contain control characters");
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn problems(kind: ReportKind, p: &ReportParams, scheduled: bool) -> Vec<String> {
        let mut v = Violations::default();
        p.check(kind, scheduled, &mut v);
        v.0.into_iter().map(|f| f.field).collect()
    }

    fn lane() -> LaneSpec {
        LaneSpec {
            origin: "DAL-TX".into(),
            destination: "ATL-GA".into(),
            equipment: "V".into(),
            kind: None,
        }
    }

    #[test]
    fn each_kind_takes_what_it_covers() {
        let lanes = ReportParams {
            lanes: vec![lane()],
            ..Default::default()
        };
        assert!(problems(ReportKind::LaneRates, &lanes, false).is_empty());
        assert_eq!(problems(ReportKind::BrokerKpis, &lanes, false), ["lanes"]);
        assert_eq!(
            problems(ReportKind::LaneRates, &ReportParams::default(), false),
            ["lanes"]
        );
        let many = ReportParams {
            lanes: vec![lane(); MAX_LANES + 1],
            period_days: Some(7),
            ..Default::default()
        };
        assert_eq!(
            problems(ReportKind::LaneRates, &many, false),
            ["lanes", "period_days"]
        );
    }

    #[test]
    fn periods_are_checked_and_schedules_trail() {
        let dated = ReportParams {
            from: Some(t("2026-11-01T00:00:00Z")),
            to: Some(t("2026-12-01T00:00:00Z")),
            ..Default::default()
        };
        assert!(problems(ReportKind::BrokerKpis, &dated, false).is_empty());
        assert_eq!(problems(ReportKind::BrokerKpis, &dated, true), ["from"]);
        let backwards = ReportParams {
            from: dated.to,
            to: dated.from,
            ..Default::default()
        };
        assert_eq!(
            problems(ReportKind::CarrierScorecard, &backwards, false),
            ["from"]
        );
        let half = ReportParams {
            from: dated.from,
            ..Default::default()
        };
        assert_eq!(problems(ReportKind::BrokerKpis, &half, false), ["to"]);
        let zero = ReportParams {
            period_days: Some(0),
            ..Default::default()
        };
        assert_eq!(
            problems(ReportKind::BrokerKpis, &zero, true),
            ["period_days"]
        );
        let now = t("2026-12-04T06:00:00Z");
        let trailing = ReportParams {
            period_days: Some(7),
            ..Default::default()
        }
        .period(now);
        assert_eq!(
            (trailing.from, trailing.to),
            (t("2026-11-27T06:00:00Z"), now)
        );
        assert_eq!(dated.period(now).from, t("2026-11-01T00:00:00Z"));
    }

    #[test]
    fn cadences_step_from_the_first_run_and_skip_what_is_past() {
        let first = t("2026-01-31T13:00:00Z");
        let m = Cadence::Monthly;
        let feb = m.next_after(first, first, first);
        assert_eq!(feb, t("2026-02-28T13:00:00Z"));
        assert_eq!(m.next_after(first, feb, feb), t("2026-03-31T13:00:00Z"));
        let w = Cadence::Weekly;
        // Down for three weeks: the next run is the next one still ahead, once.
        let late = t("2026-02-22T00:00:00Z");
        assert_eq!(w.next_after(first, first, late), t("2026-02-28T13:00:00Z"));
        let d = Cadence::Daily;
        let years_later = t("2029-06-01T14:00:00Z");
        assert_eq!(
            d.next_after(first, first, years_later),
            t("2029-06-02T13:00:00Z")
        );
    }

    #[test]
    fn recipients_are_addresses_without_repeats() {
        let mut v = Violations::default();
        let got = check_recipients(
            "recipients",
            &[
                "ops@broker.example".into(),
                " OPS@broker.example".into(),
                "not an address".into(),
                "x@y.example\r\nBcc: all@example.com".into(),
            ],
            &mut v,
        );
        assert_eq!(got, ["ops@broker.example"]);
        let fields: Vec<String> = v.0.into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["recipients[2]", "recipients[3]"]);
    }
}
