//! Brokers' truck search (`GET /v1/trucks/search`): its parameters, validated with the
//! filters the load board uses ([`super::filters`]), and the resolved [`TruckFilter`] that
//! decides whether a posting matches.

use chrono::{DateTime, Utc};
use lanerunner_geo::{road_miles, LatLon};

use super::filters;
use super::horizon::Horizon;
use super::place::Geo;
use super::truck::{TruckDestination, TruckSpec};
use super::{Equipment, Violations};

/// `GET /v1/trucks/search`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TruckSearchParams {
    /// "City, ST" of the load's pickup.
    pub origin: Option<String>,
    pub origin_lat: Option<f64>,
    pub origin_lon: Option<f64>,
    /// Road miles from the origin (default 100, at most 500).
    pub radius_miles: Option<f64>,
    /// Comma-separated equipment codes or names: `V,R`.
    pub equipment: Option<String>,
    /// The truck must be available at some point between these: a date (`2026-12-01`,
    /// UTC) or an RFC 3339 instant, as on the load board.
    pub available_from: Option<String>,
    pub available_to: Option<String>,
    /// The load delivers in this state (code): only trucks willing to go there.
    pub dest_state: Option<String>,
    /// 1–200, default 50. Results are nearest first.
    pub limit: Option<usize>,
}

/// A broker's truck search, resolved.
#[derive(Debug, Clone)]
pub struct TruckFilter {
    pub origin: LatLon,
    pub radius_miles: f64,
    /// Equipment wanted; empty = any.
    pub equipment: Vec<Equipment>,
    /// The truck must be free at some point in this range.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The load goes to this state (a known code): the truck must want to go there.
    pub dest_state: Option<&'static str>,
    pub limit: usize,
}

impl TruckSearchParams {
    /// The filter, or every problem with the parameters; dates must fall within `horizon`.
    pub fn resolve(&self, geo: &Geo, horizon: &Horizon) -> Result<TruckFilter, Violations> {
        let mut errs = Violations::default();
        let origin = filters::point(
            geo,
            "origin",
            &self.origin,
            self.origin_lat,
            self.origin_lon,
            &mut errs,
        );
        let radius_miles = filters::radius("radius_miles", self.radius_miles, &mut errs);
        let equipment = filters::equipment("equipment", &self.equipment, &mut errs);
        let from = filters::instant(
            "available_from",
            &self.available_from,
            false,
            Some(horizon),
            &mut errs,
        );
        let to = filters::instant(
            "available_to",
            &self.available_to,
            true,
            Some(horizon),
            &mut errs,
        );
        filters::ordered("available_from", "available_to", from, to, &mut errs);
        let dest_state = filters::state("dest_state", &self.dest_state, &mut errs);
        let limit = filters::limit("limit", self.limit, &mut errs);
        match origin {
            Some(origin) if errs.is_empty() => Ok(TruckFilter {
                origin,
                radius_miles,
                equipment,
                from,
                to,
                dest_state,
                limit,
            }),
            _ => Err(errs),
        }
    }
}

impl TruckFilter {
    /// Road miles from the search origin when `t` matches.
    pub fn matches(&self, t: &TruckSpec, geo: &Geo) -> Option<f64> {
        if !self.equipment.is_empty() && !self.equipment.contains(&t.input.equipment) {
            return None;
        }
        if self.from.is_some_and(|f| t.available_until < f)
            || self.to.is_some_and(|to| t.available_from > to)
        {
            return None;
        }
        if let Some(state) = self.dest_state {
            let ok = match &t.input.destination {
                TruckDestination::Anywhere => true,
                TruckDestination::States { states } => {
                    states.iter().any(|s| s.eq_ignore_ascii_case(state))
                }
                TruckDestination::Markets { markets } => markets
                    .iter()
                    .filter_map(|m| geo.markets.by_code(m))
                    .any(|m| m.region.eq_ignore_ascii_case(state)),
            };
            if !ok {
                return None;
            }
        }
        let miles = road_miles(self.origin, t.location.point());
        (miles <= self.radius_miles).then_some(miles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::load::tests::{geo, horizon};
    use crate::domain::truck::tests::truck;

    fn params(query: &str) -> TruckSearchParams {
        serde_json::from_value(serde_json::Value::Object(
            query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| {
                    let v = match k {
                        "radius_miles" => serde_json::json!(v.parse::<f64>().unwrap()),
                        "limit" => serde_json::json!(v.parse::<usize>().unwrap()),
                        _ => serde_json::json!(v),
                    };
                    (k.to_string(), v)
                })
                .collect(),
        ))
        .unwrap()
    }

    #[test]
    fn a_truck_matches_a_nearby_search_by_equipment_and_destination() {
        let t = truck().validate(geo(), &horizon()).unwrap();
        let mut f = params("origin=Dallas, TX&equipment=R&dest_state=ga")
            .resolve(geo(), &horizon())
            .unwrap();
        assert_eq!(f.dest_state, Some("GA"));
        assert!(f.matches(&t, geo()).unwrap() < 60.0);
        f.dest_state = Some("CA");
        assert!(f.matches(&t, geo()).is_none());
        f.dest_state = None;
        f.equipment = vec![Equipment::Flatbed];
        assert!(f.matches(&t, geo()).is_none());
    }

    #[test]
    fn every_filter_is_validated_and_named() {
        let errs = params(
            "origin=Dalas, TX&radius_miles=900&equipment=XX&available_from=2026-12-05\
             &available_to=2026-12-01&dest_state=ZZ&limit=0",
        )
        .resolve(geo(), &horizon())
        .unwrap_err();
        assert_eq!(
            errs.fields(),
            [
                "origin.place",
                "radius_miles",
                "equipment",
                "available_to",
                "dest_state",
                "limit"
            ]
        );
        let errs = params("origin=Dallas, TX&available_from=0001-01-01&available_to=9999-12-31")
            .resolve(geo(), &horizon())
            .unwrap_err();
        assert_eq!(errs.fields(), ["available_from", "available_to"]);
    }
}
