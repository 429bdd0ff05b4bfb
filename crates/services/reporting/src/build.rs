//! The figures of each report kind into a [`Document`] (pure): what a person reads in the
//! PDF, and the raw rows of the CSV.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use lanerunner_analytics::kpis::BrokerKpis;
use lanerunner_analytics::views::CarrierScorecard;
use lanerunner_laneindex::{LaneAnswer, LaneKey, LaneRates};

use crate::document::{Block, Chart, ChartKind, Document, Section, Series, Table, Unit};
use crate::request::Period;
use crate::source::LaneFigures;

const GATE_NOTE: &str = "A figure is shown only when enough reports from enough different \
companies stand behind it, so no one company's rates can be read from it; \
\"withheld\" marks the others.";

fn dollars(cents: f64) -> String {
    let whole = (cents / 100.0).round() as i64;
    let grouped = lanerunner_paper::grouped(whole.unsigned_abs());
    format!("{}${grouped}", if whole < 0 { "-" } else { "" })
}

fn per_mile(cents: f64) -> String {
    format!("${:.2}", cents / 100.0)
}

fn pct(ratio: Option<f64>) -> String {
    ratio.map_or("-".into(), |r| format!("{:.1}%", r * 100.0))
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn period_text(p: Period) -> String {
    format!("{} to {}", day(p.from), day(p.to))
}

fn lane_title(k: &LaneKey) -> String {
    format!(
        "{} to {}, equipment {}, {}",
        k.origin_market,
        k.dest_market,
        k.equipment,
        k.rate_kind.as_str()
    )
}

fn raw(v: f64) -> String {
    format!("{}", v.round() as i64)
}

/// Rates on each lane: the 13 months charted (median rate a mile, middle 50 % shaded),
/// every window in a table.
pub fn lane_rates(lanes: &[LaneFigures], made_at: DateTime<Utc>) -> Document {
    let mut data = Table::new(&[
        ("origin", false),
        ("destination", false),
        ("equipment", false),
        ("kind", false),
        ("period", false),
        ("status", false),
        ("reports", true),
        ("companies", true),
        ("rate_per_mile_low_cents", true),
        ("rate_per_mile_median_cents", true),
        ("rate_per_mile_high_cents", true),
        ("rate_median_cents", true),
    ]);
    let mut sections = Vec::new();
    for lane in lanes {
        let key = &lane.rates.lane;
        let mut push = |period: String, answer: &LaneAnswer| {
            let (status, reports, companies, rates): (&str, u32, u32, Option<&LaneRates>) =
                match answer {
                    LaneAnswer::Shown(r) => ("shown", r.reports, r.companies, Some(r)),
                    LaneAnswer::Withheld(w) => ("withheld", w.reports, w.companies, None),
                };
            let cell = |f: fn(&LaneRates) -> f64| rates.map_or(String::new(), |r| raw(f(r)));
            data.push(vec![
                key.origin_market.clone(),
                key.dest_market.clone(),
                key.equipment.clone(),
                key.rate_kind.as_str().into(),
                period,
                status.into(),
                reports.to_string(),
                companies.to_string(),
                cell(|r| r.rate_per_mile_cents.low),
                cell(|r| r.rate_per_mile_cents.median),
                cell(|r| r.rate_per_mile_cents.high),
                cell(|r| r.rate_cents.median),
            ]);
        };
        for w in &lane.rates.windows {
            push(w.window.to_string(), &w.rates);
        }
        for m in &lane.history.months {
            push(m.month.format("%Y-%m").to_string(), &m.answer);
        }

        let months = &lane.history.months;
        let shown = |m: &lanerunner_laneindex::MonthPoint| m.answer.shown().cloned();
        let chart = Chart {
            kind: ChartKind::Line,
            title: "Median rate a mile by month, middle 50 % shaded".into(),
            unit: Unit::Dollars,
            labels: months.iter().map(|m| month_label(m.month)).collect(),
            series: vec![Series {
                name: "median".into(),
                values: months
                    .iter()
                    .map(|m| shown(m).map(|r| r.rate_per_mile_cents.median / 100.0))
                    .collect(),
            }],
            band: Some(
                months
                    .iter()
                    .map(|m| {
                        shown(m).map(|r| {
                            (
                                r.rate_per_mile_cents.low / 100.0,
                                r.rate_per_mile_cents.high / 100.0,
                            )
                        })
                    })
                    .collect(),
            ),
        };
        let mut windows = Table::new(&[
            ("Window", false),
            ("Reports", true),
            ("Companies", true),
            ("Low /mi", true),
            ("Median /mi", true),
            ("High /mi", true),
            ("Median rate", true),
            ("Loads/truck", true),
        ]);
        for w in &lane.rates.windows {
            let ratio = w
                .origin_market
                .as_ref()
                .and_then(|m| m.load_to_truck)
                .map_or("-".into(), |r| format!("{r:.2}"));
            let row = match &w.rates {
                LaneAnswer::Shown(r) => vec![
                    w.window.to_string(),
                    r.reports.to_string(),
                    r.companies.to_string(),
                    per_mile(r.rate_per_mile_cents.low),
                    per_mile(r.rate_per_mile_cents.median),
                    per_mile(r.rate_per_mile_cents.high),
                    dollars(r.rate_cents.median),
                    ratio,
                ],
                LaneAnswer::Withheld(x) => vec![
                    w.window.to_string(),
                    x.reports.to_string(),
                    x.companies.to_string(),
                    "withheld".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    ratio,
                ],
            };
            windows.push(row);
        }
        let mut blocks = Vec::new();
        if chart.series[0].values.iter().any(Option::is_some) {
            blocks.push(Block::Chart(chart));
        } else {
            blocks.push(Block::Note(
                "No month of the last 13 has enough reports to chart.".into(),
            ));
        }
        blocks.push(Block::Table(windows));
        sections.push(Section {
            heading: lane_title(key),
            blocks,
        });
    }
    if let Some(first) = sections.first_mut() {
        first.blocks.push(Block::Note(GATE_NOTE.into()));
    }
    Document {
        title: "Lane rate report".into(),
        subtitle: format!(
            "{} lane{}, as of {} - made {}",
            lanes.len(),
            if lanes.len() == 1 { "" } else { "s" },
            lanes
                .first()
                .map_or(made_at.date_naive(), |l| l.rates.as_of),
            day(made_at)
        ),
        sections,
        data,
        logo: None,
    }
}

fn month_label(m: NaiveDate) -> String {
    m.format("%b %y").to_string()
}

/// The calendar months `period` touches, each clipped to the period.
pub fn months_of(period: Period) -> Vec<Period> {
    let mut out = Vec::new();
    let mut from = period.from;
    while from < period.to {
        let d = from.date_naive();
        let (y, m) = if d.month() == 12 {
            (d.year() + 1, 1)
        } else {
            (d.year(), d.month() + 1)
        };
        let next = NaiveDate::from_ymd_opt(y, m, 1)
            .expect("first of a month")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc();
        let to = next.min(period.to);
        out.push(Period { from, to });
        from = to;
    }
    out
}

/// The organization's KPIs over the period, with the month-by-month trend.
pub fn broker_kpis(
    period: Period,
    total: &BrokerKpis,
    months: &[(Period, BrokerKpis)],
    made_at: DateTime<Utc>,
) -> Document {
    let hours = |k: &BrokerKpis| {
        k.time_to_cover_hours
            .map_or("-".into(), |p| format!("{:.1} h", p.p50))
    };
    let figures = Block::Figures(vec![
        ("Loads posted".into(), total.posted.to_string()),
        ("Cover rate".into(), pct(total.cover_rate)),
        ("Time to cover (median)".into(), hours(total)),
        (
            "Booked vs posted (median)".into(),
            total
                .booked_vs_posted_pct
                .map_or("-".into(), |p| format!("{p:+.1}%")),
        ),
        ("On time".into(), pct(total.on_time_rate)),
    ]);
    let label = |p: &Period| month_label(p.from.date_naive());
    let chart = Chart {
        kind: ChartKind::Line,
        title: "Cover rate and on-time delivery by month".into(),
        unit: Unit::Percent,
        labels: months.iter().map(|(p, _)| label(p)).collect(),
        series: vec![
            Series {
                name: "cover rate".into(),
                values: months
                    .iter()
                    .map(|(_, k)| k.cover_rate.map(|r| r * 100.0))
                    .collect(),
            },
            Series {
                name: "on time".into(),
                values: months
                    .iter()
                    .map(|(_, k)| k.on_time_rate.map(|r| r * 100.0))
                    .collect(),
            },
        ],
        band: None,
    };
    let mut table = Table::new(&[
        ("Month", false),
        ("Posted", true),
        ("Covered", true),
        ("Cover rate", true),
        ("To cover p50", true),
        ("Expired", true),
        ("Cancelled", true),
        ("Delivered", true),
        ("On time", true),
    ]);
    let mut data = Table::new(&[
        ("from", false),
        ("to", false),
        ("posted", true),
        ("covered", true),
        ("cover_rate", true),
        ("time_to_cover_p50_hours", true),
        ("time_to_cover_p90_hours", true),
        ("booked_vs_posted_pct", true),
        ("expired", true),
        ("cancelled", true),
        ("delivered", true),
        ("delivered_on_time", true),
        ("on_time_rate", true),
    ]);
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.4}"));
    for (p, k) in months
        .iter()
        .chain(std::iter::once(&(period, total.clone())))
    {
        data.push(vec![
            p.from.to_rfc3339(),
            p.to.to_rfc3339(),
            k.posted.to_string(),
            k.covered.to_string(),
            opt(k.cover_rate),
            opt(k.time_to_cover_hours.map(|h| h.p50)),
            opt(k.time_to_cover_hours.map(|h| h.p90)),
            opt(k.booked_vs_posted_pct),
            k.expired.to_string(),
            k.cancelled.to_string(),
            k.delivered.to_string(),
            k.delivered_on_time.to_string(),
            opt(k.on_time_rate),
        ]);
    }
    for (p, k) in months {
        table.push(vec![
            label(p),
            k.posted.to_string(),
            k.covered.to_string(),
            pct(k.cover_rate),
            hours(k),
            k.expired.to_string(),
            k.cancelled.to_string(),
            k.delivered.to_string(),
            pct(k.on_time_rate),
        ]);
    }
    let mut blocks = vec![figures];
    if months.len() > 1 {
        blocks.push(Block::Chart(chart));
    }
    blocks.push(Block::Table(table));
    blocks.push(Block::Note(
        "Counted over the loads your organization posted in the period. On time: delivered \
         by the end of the last delivery window. The CSV's last row is the whole period."
            .into(),
    ));
    Document {
        title: "Broker KPI report".into(),
        subtitle: format!("{} - made {}", period_text(period), day(made_at)),
        sections: vec![Section {
            heading: "Your loads".into(),
            blocks,
        }],
        data,
        logo: None,
    }
}

/// How many carriers the scorecard's chart shows (all are in the table).
const CHARTED_CARRIERS: usize = 12;

/// The organization's carriers over the period.
pub fn carrier_scorecard(
    period: Period,
    card: &CarrierScorecard,
    made_at: DateTime<Utc>,
) -> Document {
    let short = |id: &uuid::Uuid| id.to_string()[..8].to_string();
    let loads: u64 = card.carriers.iter().map(|c| c.booked).sum();
    let figures = Block::Figures(vec![
        ("Carriers".into(), card.carriers.len().to_string()),
        ("Loads booked".into(), loads.to_string()),
        (
            "Paid to carriers".into(),
            dollars(card.carriers.iter().map(|c| c.booked_cents as f64).sum()),
        ),
    ]);
    let charted: Vec<_> = card
        .carriers
        .iter()
        .filter(|c| c.on_time_rate.is_some())
        .take(CHARTED_CARRIERS)
        .collect();
    let chart = Chart {
        kind: ChartKind::Bar,
        title: format!(
            "On-time delivery, the {} carriers with the most loads",
            charted.len()
        ),
        unit: Unit::Percent,
        labels: charted.iter().map(|c| short(&c.carrier_org_id)).collect(),
        series: vec![Series {
            name: "on time".into(),
            values: charted
                .iter()
                .map(|c| c.on_time_rate.map(|r| r * 100.0))
                .collect(),
        }],
        band: None,
    };
    let mut table = Table::new(&[
        ("Carrier", false),
        ("Booked", true),
        ("Delivered", true),
        ("On time", true),
        ("Fell off", true),
        ("Paid", true),
        ("vs posted", true),
    ]);
    let mut data = Table::new(&[
        ("carrier_org_id", false),
        ("booked", true),
        ("delivered", true),
        ("delivered_on_time", true),
        ("on_time_rate", true),
        ("cancelled_after_booking", true),
        ("booked_cents", true),
        ("booked_vs_posted_pct", true),
    ]);
    for c in &card.carriers {
        table.push(vec![
            short(&c.carrier_org_id),
            c.booked.to_string(),
            c.delivered.to_string(),
            pct(c.on_time_rate),
            c.cancelled_after_booking.to_string(),
            dollars(c.booked_cents as f64),
            c.booked_vs_posted_pct
                .map_or("-".into(), |p| format!("{p:+.1}%")),
        ]);
        data.push(vec![
            c.carrier_org_id.to_string(),
            c.booked.to_string(),
            c.delivered.to_string(),
            c.delivered_on_time.to_string(),
            c.on_time_rate.map_or(String::new(), |r| format!("{r:.4}")),
            c.cancelled_after_booking.to_string(),
            c.booked_cents.to_string(),
            c.booked_vs_posted_pct
                .map_or(String::new(), |p| format!("{p:.4}")),
        ]);
    }
    let mut blocks = vec![figures];
    if charted.is_empty() {
        blocks.push(Block::Note(
            "No load booked in the period has been delivered yet.".into(),
        ));
    } else {
        blocks.push(Block::Chart(chart));
    }
    blocks.push(Block::Table(table));
    blocks.push(Block::Note(
        "Carriers are named by the first characters of their LaneRunner organization id (the \
         CSV has it whole). Fell off: booked, then cancelled before delivery."
            .into(),
    ));
    Document {
        title: "Carrier scorecard".into(),
        subtitle: format!("{} - made {}", period_text(period), day(made_at)),
        sections: vec![Section {
            heading: "Carriers on your loads".into(),
            blocks,
        }],
        data,
        logo: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn money_and_months_read_as_people_write_them() {
        assert_eq!(dollars(123_456_789.0), "$1,234,568");
        assert_eq!(dollars(-99_000.0), "-$990");
        assert_eq!(per_mile(245.4), "$2.45");
        let months = months_of(Period {
            from: t("2026-10-15T12:00:00Z"),
            to: t("2026-12-04T00:00:00Z"),
        });
        let edges: Vec<String> = months.iter().map(|p| p.from.to_rfc3339()).collect();
        assert_eq!(
            edges,
            [
                "2026-10-15T12:00:00+00:00",
                "2026-11-01T00:00:00+00:00",
                "2026-12-01T00:00:00+00:00"
            ]
        );
        assert_eq!(months[2].to, t("2026-12-04T00:00:00Z"));
    }
}
