//! Load-board search parameters (the query string of `GET /v1/loads/search`, and the body
//! of a saved search), resolved to a [`SearchQuery`] for the index; and the index's view
//! of a load.

use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_geo::{LatLon, REGIONS};
use lanerunner_loadsearch::{Cursor, DestFilter, IndexedLoad, LoadSize, SearchQuery, SortBy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::place::{Geo, LocationInput};
use super::{Equipment, LoadSpec, Violations};

pub const DEFAULT_RADIUS_MILES: f64 = 100.0;
pub const MAX_RADIUS_MILES: f64 = 500.0;

/// Every filter is optional except the origin (`origin` or `origin_lat` + `origin_lon`).
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams, utoipa::ToSchema,
)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// "City, ST" of the truck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_lon: Option<f64>,
    /// Deadhead limit to the pickup, road miles (default 100, at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_radius_miles: Option<f64>,
    /// Deliver within `dest_radius_miles` of this "City, ST".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_radius_miles: Option<f64>,
    /// Comma-separated state codes: `TX,OK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_states: Option<String>,
    /// Comma-separated market codes: `DAL-TX,ATL-GA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_markets: Option<String>,
    /// Comma-separated equipment codes or names: `V,R`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equipment: Option<String>,
    /// Pickup window overlaps from this date (`2026-12-01`, UTC) or instant (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rate_per_mile_cents: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_weight_lbs: Option<u32>,
    /// `full`, `partial` or `any` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_size: Option<String>,
    /// `age` (default, newest first), `rate_per_mile`, `deadhead`, `pickup_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// 1–200, default 50.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

fn list(text: &Option<String>) -> Vec<String> {
    text.as_deref()
        .unwrap_or("")
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn instant(
    field: &str,
    text: &Option<String>,
    end_of_day: bool,
    errs: &mut Violations,
) -> Option<i64> {
    let t = text.as_deref()?.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let time = if end_of_day {
            d.and_hms_opt(23, 59, 59)
        } else {
            d.and_hms_opt(0, 0, 0)
        };
        return time.map(|t| t.and_utc().timestamp());
    }
    match DateTime::parse_from_rfc3339(t) {
        Ok(d) => Some(d.timestamp()),
        Err(_) => {
            errs.add(field, "expected a date (2026-12-01) or an RFC 3339 instant");
            None
        }
    }
}

fn radius(field: &str, r: Option<f64>, errs: &mut Violations) -> f64 {
    let r = r.unwrap_or(DEFAULT_RADIUS_MILES);
    if !(r.is_finite() && r > 0.0 && r <= MAX_RADIUS_MILES) {
        errs.add(
            field,
            format!("must be between 0 and {MAX_RADIUS_MILES} miles"),
        );
    }
    r
}

/// The canonical code of a US state or Canadian province given as `s` (any case), or a
/// violation of `field`. Both searches validate states with this, so neither lets an
/// unknown state through as "anywhere".
pub fn known_region(s: &str, field: &str, errs: &mut Violations) -> Option<&'static str> {
    let found = REGIONS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(s.trim()))
        .map(|(c, _)| *c);
    if found.is_none() {
        errs.add(field, format!("unknown state `{s}`"));
    }
    found
}

fn point(
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

impl SearchParams {
    /// The index query. `max_limit` caps the page size.
    pub fn resolve(&self, geo: &Geo) -> Result<SearchQuery, Violations> {
        let mut errs = Violations::default();
        let origin = point(
            geo,
            "origin",
            &self.origin,
            self.origin_lat,
            self.origin_lon,
            &mut errs,
        );
        let origin_radius = radius("origin_radius_miles", self.origin_radius_miles, &mut errs);
        let states = list(&self.dest_states);
        let markets = list(&self.dest_markets);
        let has_dest_point =
            self.dest.is_some() || self.dest_lat.is_some() || self.dest_lon.is_some();
        let kinds = usize::from(has_dest_point)
            + usize::from(!states.is_empty())
            + usize::from(!markets.is_empty());
        let dest = if kinds > 1 {
            errs.add(
                "dest",
                "give one of dest (or dest_lat/dest_lon), dest_states, dest_markets",
            );
            DestFilter::Anywhere
        } else if has_dest_point {
            let r = radius("dest_radius_miles", self.dest_radius_miles, &mut errs);
            match point(
                geo,
                "dest",
                &self.dest,
                self.dest_lat,
                self.dest_lon,
                &mut errs,
            ) {
                Some(p) => DestFilter::Radius {
                    point: p,
                    radius_miles: r,
                },
                None => DestFilter::Anywhere,
            }
        } else if !states.is_empty() {
            let mut codes = Vec::new();
            for s in &states {
                if let Some(c) = known_region(s, "dest_states", &mut errs) {
                    codes.push([c.as_bytes()[0], c.as_bytes()[1]]);
                }
            }
            DestFilter::States(codes)
        } else if !markets.is_empty() {
            let mut ids = Vec::new();
            for m in &markets {
                match geo.markets.by_code(m) {
                    Some(m) => ids.push(m.id.0),
                    None => errs.add("dest_markets", format!("unknown market `{m}`")),
                }
            }
            DestFilter::Markets(ids)
        } else {
            DestFilter::Anywhere
        };
        let mut equipment = 0u16;
        for code in list(&self.equipment) {
            match code.parse::<Equipment>() {
                Ok(e) => equipment |= e.bit(),
                Err(e) => errs.add("equipment", e.to_string()),
            }
        }
        let pickup_from = instant("pickup_from", &self.pickup_from, false, &mut errs);
        let pickup_to = instant("pickup_to", &self.pickup_to, true, &mut errs);
        if let (Some(f), Some(t)) = (pickup_from, pickup_to) {
            if t < f {
                errs.add("pickup_to", "is before pickup_from");
            }
        }
        if self
            .min_rate_per_mile_cents
            .is_some_and(|r| !r.is_finite() || r < 0.0)
        {
            errs.add("min_rate_per_mile_cents", "must be a non-negative number");
        }
        let load_size = match self.load_size.as_deref() {
            None | Some("any") => LoadSize::Any,
            Some("full") => LoadSize::Full,
            Some("partial") => LoadSize::Partial,
            Some(other) => {
                errs.add(
                    "load_size",
                    format!("`{other}` is not full, partial or any"),
                );
                LoadSize::Any
            }
        };
        let sort = match self.sort.as_deref() {
            None | Some("age") => SortBy::Age,
            Some("rate_per_mile") => SortBy::RatePerMile,
            Some("deadhead") => SortBy::Deadhead,
            Some("pickup_date") => SortBy::PickupDate,
            Some(other) => {
                errs.add(
                    "sort",
                    format!("`{other}` is not age, rate_per_mile, deadhead or pickup_date"),
                );
                SortBy::Age
            }
        };
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            errs.add("limit", "must be between 1 and 200");
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => match c.parse::<Cursor>() {
                Ok(c) => Some(c),
                Err(_) => {
                    errs.add("cursor", "is not a cursor this API issued");
                    None
                }
            },
        };
        let origin = match origin {
            Some(o) if errs.is_empty() => o,
            _ => return Err(errs),
        };
        Ok(SearchQuery {
            origin_point: origin,
            origin_radius_miles: origin_radius,
            dest,
            equipment,
            pickup_from,
            pickup_to,
            min_rate_per_mile_cents: self.min_rate_per_mile_cents.map(|r| r as f32),
            max_weight_lbs: self.max_weight_lbs,
            load_size,
            sort,
            limit,
            after,
        })
    }
}

fn state_code(s: &str) -> [u8; 2] {
    let b = s.as_bytes();
    if b.len() == 2 {
        [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()]
    } else {
        *b"??"
    }
}

/// The index's record of a posted load. Loads without a posted rate index at 0 cents
/// (they match no minimum-rate filter).
pub fn indexed_load(id: Uuid, spec: &LoadSpec, posted_at: DateTime<Utc>, geo: &Geo) -> IndexedLoad {
    let pickup = spec.first_pickup();
    let delivery = spec.last_delivery();
    IndexedLoad {
        id: id.as_u128(),
        origin: pickup.location.point(),
        dest: delivery.location.point(),
        origin_state: state_code(&pickup.location.state),
        dest_state: state_code(&delivery.location.state),
        dest_market: geo.market_of(delivery.location.point()).unwrap_or(u16::MAX),
        equipment: spec.equipment.bit(),
        pickup_start: pickup.window.start.timestamp(),
        pickup_end: pickup.window.end.timestamp(),
        rate_cents: spec.all_in_rate_cents().unwrap_or(0),
        loaded_miles: spec.loaded_miles as f32,
        weight_lbs: spec.weight_lbs,
        full: spec.full_load,
        posted_at: posted_at.timestamp(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::load::tests::{geo, sample};

    #[test]
    fn params_resolve_and_bad_ones_name_their_field() {
        let p = SearchParams {
            origin: Some("Dallas, TX".into()),
            equipment: Some("V,R".into()),
            dest_states: Some("ga,fl".into()),
            pickup_from: Some("2026-12-01".into()),
            sort: Some("rate_per_mile".into()),
            ..Default::default()
        };
        let q = p.resolve(geo()).unwrap();
        assert_eq!(
            q.equipment,
            Equipment::DryVan.bit() | Equipment::Reefer.bit()
        );
        assert_eq!(q.dest, DestFilter::States(vec![*b"GA", *b"FL"]));
        assert_eq!(q.sort, SortBy::RatePerMile);
        let bad = SearchParams {
            origin: Some("Nowhereville, TX".into()),
            equipment: Some("XX".into()),
            sort: Some("price".into()),
            origin_radius_miles: Some(-1.0),
            ..Default::default()
        };
        let errs = bad.resolve(geo()).unwrap_err();
        assert_eq!(
            errs.fields(),
            ["origin.place", "origin_radius_miles", "equipment", "sort"]
        );
    }

    #[test]
    fn a_posted_load_is_found_by_a_matching_query() {
        let spec = sample().validate(geo()).unwrap();
        let l = indexed_load(Uuid::now_v7(), &spec, Utc::now(), geo());
        let q = SearchParams {
            origin: Some("Fort Worth, TX".into()),
            dest_markets: Some("ATL-GA".into()),
            ..Default::default()
        }
        .resolve(geo())
        .unwrap();
        let page = lanerunner_loadsearch::brute_force_search(&[l], &q).unwrap();
        assert_eq!(page.hits.len(), 1);
        let q = SearchParams {
            origin: Some("Fort Worth, TX".into()),
            equipment: Some("F".into()),
            ..Default::default()
        }
        .resolve(geo())
        .unwrap();
        assert!(lanerunner_loadsearch::brute_force_search(&[l], &q)
            .unwrap()
            .hits
            .is_empty());
    }
}
