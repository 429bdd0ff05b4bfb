//! The filters both searches share — the load board (`GET /v1/loads/search`, saved
//! searches) and the truck search (`GET /v1/trucks/search`) — each parsed and validated by
//! one function, so that the two cannot drift apart (the truck search once let an unknown
//! destination state through, where it matched every truck willing to go anywhere).
//!
//! Every parser records what is wrong under the parameter's name and returns what it could
//! read; the caller collects all the complaints before answering.

use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_geo::{LatLon, REGIONS};

use super::horizon::Horizon;
use super::place::{Geo, LocationInput};
use super::text::{check_chars, Lines};
use super::{Equipment, Violations};

pub const DEFAULT_RADIUS_MILES: f64 = 100.0;
pub const MAX_RADIUS_MILES: f64 = 500.0;
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// A one-line parameter's text, trimmed; `None` when absent or when it holds a control
/// character (then recorded).
pub fn param<'a>(field: &str, text: &'a Option<String>, errs: &mut Violations) -> Option<&'a str> {
    let t = text.as_deref()?;
    check_chars(errs, field, t, Lines::One).then(|| t.trim())
}

/// A comma-separated parameter's items, trimmed, blanks dropped.
pub fn list(field: &str, text: &Option<String>, errs: &mut Violations) -> Vec<String> {
    param(field, text, errs)
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A place (`"City, ST"`) or a point, resolved; the complaint is under `field.place` or
/// `field.lat` as for any location.
pub fn point(
    geo: &Geo,
    field: &str,
    place: &Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
    errs: &mut Violations,
) -> Option<LatLon> {
    let input = LocationInput {
        place: place.clone(),
        lat,
        lon,
    };
    geo.resolve(&input, field, errs).map(|l| l.point())
}

/// A radius in road miles: default 100, more than 0 and at most 500.
pub fn radius(field: &str, r: Option<f64>, errs: &mut Violations) -> f64 {
    let r = r.unwrap_or(DEFAULT_RADIUS_MILES);
    if !(r.is_finite() && r > 0.0 && r <= MAX_RADIUS_MILES) {
        errs.add(
            field,
            format!("must be between 0 and {MAX_RADIUS_MILES} miles"),
        );
    }
    r
}

/// Comma-separated equipment codes or names; empty means any.
pub fn equipment(field: &str, text: &Option<String>, errs: &mut Violations) -> Vec<Equipment> {
    let mut found = Vec::new();
    for code in list(field, text, errs) {
        match code.parse::<Equipment>() {
            Ok(e) => found.push(e),
            Err(e) => errs.add(field, e.to_string()),
        }
    }
    found
}

/// The canonical code of a state or province (`"tx"` → `"TX"`).
pub fn state_code(s: &str) -> Option<&'static str> {
    REGIONS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(s.trim()))
        .map(|(c, _)| *c)
}

/// One state or province code.
pub fn state(field: &str, text: &Option<String>, errs: &mut Violations) -> Option<&'static str> {
    let s = param(field, text, errs)?;
    let code = state_code(s);
    if code.is_none() {
        errs.add(field, format!("unknown state `{s}`"));
    }
    code
}

/// Comma-separated state or province codes; `None` when the parameter names none.
pub fn states(
    field: &str,
    text: &Option<String>,
    errs: &mut Violations,
) -> Option<Vec<&'static str>> {
    let items = list(field, text, errs);
    if items.is_empty() {
        return None;
    }
    let mut codes = Vec::new();
    for s in items {
        match state_code(&s) {
            Some(c) => codes.push(c),
            None => errs.add(field, format!("unknown state `{s}`")),
        }
    }
    Some(codes)
}

/// A date (`2026-12-01`, UTC; its start, or its end with `end_of_day`) or an RFC 3339
/// instant, within `horizon` when one is given.
pub fn instant(
    field: &str,
    text: &Option<String>,
    end_of_day: bool,
    horizon: Option<&Horizon>,
    errs: &mut Violations,
) -> Option<DateTime<Utc>> {
    let t = param(field, text, errs)?;
    let parsed = match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        Ok(d) => if end_of_day {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        }
        .map(|t| t.and_utc()),
        Err(_) => DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.with_timezone(&Utc)),
    };
    let Some(at) = parsed else {
        errs.add(field, "expected a date (2026-12-01) or an RFC 3339 instant");
        return None;
    };
    match horizon {
        Some(h) if !h.check(errs, field, at) => None,
        _ => Some(at),
    }
}

/// A range's end may not come before its start.
pub fn ordered(
    from_field: &str,
    to_field: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    errs: &mut Violations,
) {
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            errs.add(to_field, format!("is before {from_field}"));
        }
    }
}

/// Page size: default 50, 1 to 200.
pub fn limit(field: &str, limit: Option<usize>, errs: &mut Violations) -> usize {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        errs.add(field, format!("must be between 1 and {MAX_LIMIT}"));
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::horizon::HorizonDays;
    use chrono::TimeZone;

    #[test]
    fn each_parser_names_its_field() {
        let mut errs = Violations::default();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(state("dest_state", &some("ga"), &mut errs), Some("GA"));
        assert_eq!(state("dest_state", &some("ZZ"), &mut errs), None);
        assert_eq!(state("s2", &some("GA\u{85}"), &mut errs), None);
        assert_eq!(
            states("dest_states", &some("tx, ok"), &mut errs),
            Some(vec!["TX", "OK"])
        );
        assert_eq!(states("dest_states", &some(" , "), &mut errs), None);
        assert_eq!(
            equipment("equipment", &some("V,reefer"), &mut errs),
            [Equipment::DryVan, Equipment::Reefer]
        );
        assert!(equipment("eq2", &some("V,XX"), &mut errs).len() == 1);
        assert!(radius("radius", Some(f64::NAN), &mut errs).is_nan());
        assert_eq!(limit("limit", Some(0), &mut errs), 0);
        assert_eq!(
            errs.fields(),
            ["dest_state", "s2", "eq2", "radius", "limit"]
        );
    }

    #[test]
    fn dates_and_instants_within_the_horizon() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let h = Horizon::around(now, HorizonDays::default());
        let mut errs = Violations::default();
        let some = |s: &str| Some(s.to_string());
        let day = instant("from", &some("2026-06-02"), false, Some(&h), &mut errs);
        assert_eq!(
            day,
            Some(Utc.with_ymd_and_hms(2026, 6, 2, 0, 0, 0).unwrap())
        );
        let end = instant("to", &some("2026-06-02"), true, Some(&h), &mut errs);
        assert_eq!(
            end,
            Some(Utc.with_ymd_and_hms(2026, 6, 2, 23, 59, 59).unwrap())
        );
        let z = instant(
            "at",
            &some("2026-06-02T10:00:00-05:00"),
            false,
            Some(&h),
            &mut errs,
        );
        assert_eq!(z, Some(Utc.with_ymd_and_hms(2026, 6, 2, 15, 0, 0).unwrap()));
        assert_eq!(
            instant("far", &some("9999-12-31"), false, Some(&h), &mut errs),
            None
        );
        assert_eq!(
            instant(
                "old",
                &some("0001-01-01T00:00:00Z"),
                false,
                Some(&h),
                &mut errs
            ),
            None
        );
        assert_eq!(
            instant("bad", &some("2026-13-01"), false, Some(&h), &mut errs),
            None
        );
        // Without a horizon (a stored saved search), any readable date.
        assert!(instant("far", &some("9999-12-31"), false, None, &mut errs).is_some());
        ordered("from", "to", end, day, &mut errs);
        assert_eq!(errs.fields(), ["far", "old", "bad", "to"]);
    }
}
