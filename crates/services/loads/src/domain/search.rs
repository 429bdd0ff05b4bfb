//! Load-board search parameters (the query string of `GET /v1/loads/search`, and the body
//! of a saved search), resolved to a [`SearchQuery`] for the index; and the index's view
//! of a load.

use chrono::{DateTime, Utc};
use lanerunner_core::LoadId;
use lanerunner_loadsearch::{Cursor, DestFilter, IndexedLoad, LoadSize, SearchQuery, SortBy};
use serde::{Deserialize, Serialize};

use super::filters;
use super::horizon::Horizon;
use super::place::Geo;
use super::{LoadSpec, Violations};

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

impl SearchParams {
    /// The index query for a search as asked now: dates must fall within `horizon`.
    pub fn resolve(&self, geo: &Geo, horizon: &Horizon) -> Result<SearchQuery, Violations> {
        self.resolve_within(geo, Some(horizon))
    }

    /// The index query of a stored saved search, whose dates were checked when it was saved
    /// (a date that was near then may be far back now; it still filters as it did).
    pub fn resolve_saved(&self, geo: &Geo) -> Result<SearchQuery, Violations> {
        self.resolve_within(geo, None)
    }

    fn resolve_within(
        &self,
        geo: &Geo,
        horizon: Option<&Horizon>,
    ) -> Result<SearchQuery, Violations> {
        let mut errs = Violations::default();
        let origin = filters::point(
            geo,
            "origin",
            &self.origin,
            self.origin_lat,
            self.origin_lon,
            &mut errs,
        );
        let origin_radius =
            filters::radius("origin_radius_miles", self.origin_radius_miles, &mut errs);
        let states = filters::states("dest_states", &self.dest_states, &mut errs);
        let markets = filters::list("dest_markets", &self.dest_markets, &mut errs);
        let has_dest_point =
            self.dest.is_some() || self.dest_lat.is_some() || self.dest_lon.is_some();
        let kinds = usize::from(has_dest_point)
            + usize::from(states.is_some())
            + usize::from(!markets.is_empty());
        let dest = if kinds > 1 {
            errs.add(
                "dest",
                "give one of dest (or dest_lat/dest_lon), dest_states, dest_markets",
            );
            DestFilter::Anywhere
        } else if has_dest_point {
            let r = filters::radius("dest_radius_miles", self.dest_radius_miles, &mut errs);
            match filters::point(
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
        } else if let Some(states) = states {
            DestFilter::States(
                states
                    .iter()
                    .map(|c| [c.as_bytes()[0], c.as_bytes()[1]])
                    .collect(),
            )
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
        let equipment = filters::equipment("equipment", &self.equipment, &mut errs)
            .iter()
            .fold(0u16, |bits, e| bits | e.bit());
        let pickup_from =
            filters::instant("pickup_from", &self.pickup_from, false, horizon, &mut errs);
        let pickup_to = filters::instant("pickup_to", &self.pickup_to, true, horizon, &mut errs);
        filters::ordered(
            "pickup_from",
            "pickup_to",
            pickup_from,
            pickup_to,
            &mut errs,
        );
        if self
            .min_rate_per_mile_cents
            .is_some_and(|r| !r.is_finite() || r < 0.0)
        {
            errs.add("min_rate_per_mile_cents", "must be a non-negative number");
        }
        let load_size = match filters::param("load_size", &self.load_size, &mut errs) {
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
        let sort = match filters::param("sort", &self.sort, &mut errs) {
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
        let limit = filters::limit("limit", self.limit, &mut errs);
        let after = match filters::param("cursor", &self.cursor, &mut errs) {
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
            pickup_from: pickup_from.map(|t| t.timestamp()),
            pickup_to: pickup_to.map(|t| t.timestamp()),
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
pub fn indexed_load(
    id: LoadId,
    spec: &LoadSpec,
    posted_at: DateTime<Utc>,
    geo: &Geo,
) -> IndexedLoad {
    let pickup = spec.first_pickup();
    let delivery = spec.last_delivery();
    IndexedLoad {
        id: id.0.as_u128(),
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
    use crate::domain::load::tests::{geo, horizon, sample};
    use crate::domain::Equipment;

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
        let q = p.resolve(geo(), &horizon()).unwrap();
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
        let errs = bad.resolve(geo(), &horizon()).unwrap_err();
        assert_eq!(
            errs.fields(),
            ["origin.place", "origin_radius_miles", "equipment", "sort"]
        );
    }

    #[test]
    fn a_posted_load_is_found_by_a_matching_query() {
        let spec = sample().validate(geo(), &horizon()).unwrap();
        let l = indexed_load(LoadId::new(), &spec, Utc::now(), geo());
        let q = SearchParams {
            origin: Some("Fort Worth, TX".into()),
            dest_markets: Some("ATL-GA".into()),
            ..Default::default()
        }
        .resolve(geo(), &horizon())
        .unwrap();
        let page = lanerunner_loadsearch::brute_force_search(&[l], &q).unwrap();
        assert_eq!(page.hits.len(), 1);
        let q = SearchParams {
            origin: Some("Fort Worth, TX".into()),
            equipment: Some("F".into()),
            ..Default::default()
        }
        .resolve(geo(), &horizon())
        .unwrap();
        assert!(lanerunner_loadsearch::brute_force_search(&[l], &q)
            .unwrap()
            .hits
            .is_empty());
    }
}
