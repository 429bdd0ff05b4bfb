//! Truck postings (capacity): where and when a carrier's truck is free, and where it
//! wants to go.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use lanerunner_geo::{road_miles, LatLon, REGIONS};
use serde::{Deserialize, Serialize};

use super::place::{Geo, Location, LocationInput};
use super::{Equipment, Violations};

/// Largest deadhead a truck posting may ask for, miles.
pub const MAX_DEADHEAD_MILES: u32 = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TruckDestination {
    #[default]
    Anywhere,
    /// State or province codes ("TX").
    States { states: Vec<String> },
    /// Market codes ("DAL-TX", "TX-other").
    Markets { markets: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TruckInput {
    pub equipment: Equipment,
    #[serde(default)]
    pub trailer_length_ft: Option<u32>,
    pub available_at: LocationInput,
    /// Local time at `available_at`.
    #[schema(value_type = String, example = "2026-12-01T06:00:00")]
    pub available_from: NaiveDateTime,
    #[schema(value_type = String, example = "2026-12-02T18:00:00")]
    pub available_until: NaiveDateTime,
    #[serde(default)]
    pub destination: TruckDestination,
    pub max_deadhead_miles: u32,
    #[serde(default)]
    pub min_rate_per_mile_cents: Option<i64>,
    #[serde(default)]
    pub team: bool,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruckSpec {
    pub location: Location,
    pub available_from: DateTime<Utc>,
    pub available_until: DateTime<Utc>,
    pub input: TruckInput,
}

impl TruckInput {
    pub fn validate(&self, geo: &Geo) -> Result<TruckSpec, Violations> {
        let mut errs = Violations::default();
        let location = geo.resolve(&self.available_at, "available_at", &mut errs);
        if self.available_until < self.available_from {
            errs.add("available_until", "ends before available_from");
        }
        if self.max_deadhead_miles > MAX_DEADHEAD_MILES {
            errs.add(
                "max_deadhead_miles",
                format!("must be at most {MAX_DEADHEAD_MILES}"),
            );
        }
        if let Some(ft) = self.trailer_length_ft {
            if !(super::load::MIN_TRAILER_FT..=self.equipment.max_length_ft()).contains(&ft) {
                errs.add(
                    "trailer_length_ft",
                    "is not a legal trailer length for this equipment",
                );
            }
        }
        if let Some(r) = self.min_rate_per_mile_cents {
            if !super::load::PER_MILE_RATE_CENTS.contains(&r) {
                errs.add(
                    "min_rate_per_mile_cents",
                    "must be between 50 and 2000 cents",
                );
            }
        }
        if let Some(n) = &self.notes {
            super::text::check(
                &mut errs,
                "notes",
                n,
                2_000,
                false,
                super::text::Lines::Many,
            );
        }
        match &self.destination {
            TruckDestination::Anywhere => {}
            TruckDestination::States { states } => {
                if states.is_empty() {
                    errs.add("destination.states", "must name at least one state");
                }
                for (i, s) in states.iter().enumerate() {
                    if !REGIONS.iter().any(|(c, _)| c.eq_ignore_ascii_case(s)) {
                        errs.add(
                            format!("destination.states[{i}]"),
                            format!("unknown state `{s}`"),
                        );
                    }
                }
            }
            TruckDestination::Markets { markets } => {
                if markets.is_empty() {
                    errs.add("destination.markets", "must name at least one market");
                }
                for (i, m) in markets.iter().enumerate() {
                    if geo.markets.by_code(m).is_none() {
                        errs.add(
                            format!("destination.markets[{i}]"),
                            format!("unknown market `{m}`"),
                        );
                    }
                }
            }
        }
        let location = match location {
            Some(l) if errs.is_empty() => l,
            _ => return Err(errs),
        };
        let tz: Tz = location.timezone.parse().unwrap_or(chrono_tz::UTC);
        let utc = |t: NaiveDateTime| {
            tz.from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc))
        };
        match (utc(self.available_from), utc(self.available_until)) {
            (Some(from), Some(until)) => Ok(TruckSpec {
                location,
                available_from: from,
                available_until: until,
                input: self.clone(),
            }),
            _ => {
                errs.add("available_from", "falls in a daylight-saving gap");
                Err(errs)
            }
        }
    }
}

/// A broker's truck search, already resolved.
#[derive(Debug, Clone)]
pub struct TruckFilter {
    pub origin: LatLon,
    pub radius_miles: f64,
    /// Equipment codes wanted; empty = any.
    pub equipment: Vec<Equipment>,
    /// The truck must be free at some point in this range.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The load goes to this state: the truck must want to go there.
    pub dest_state: Option<String>,
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
        if let Some(state) = &self.dest_state {
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
    use crate::domain::load::tests::geo;

    fn truck() -> TruckInput {
        serde_json::from_value(serde_json::json!({
            "equipment": "R", "available_at": {"place": "Fort Worth, TX"},
            "available_from": "2026-12-01T06:00:00", "available_until": "2026-12-02T18:00:00",
            "destination": {"kind": "states", "states": ["GA", "FL"]},
            "max_deadhead_miles": 150, "min_rate_per_mile_cents": 250
        }))
        .unwrap()
    }

    #[test]
    fn a_truck_resolves_and_matches_a_nearby_search() {
        let t = truck().validate(geo()).unwrap();
        assert_eq!(t.location.state, "TX");
        let dallas = geo().geocoder.geocode("Dallas, TX").unwrap().point;
        let mut f = TruckFilter {
            origin: dallas,
            radius_miles: 100.0,
            equipment: vec![Equipment::Reefer],
            from: None,
            to: None,
            dest_state: Some("GA".into()),
        };
        assert!(f.matches(&t, geo()).unwrap() < 60.0);
        f.dest_state = Some("CA".into());
        assert!(f.matches(&t, geo()).is_none());
        f.dest_state = None;
        f.equipment = vec![Equipment::Flatbed];
        assert!(f.matches(&t, geo()).is_none());
    }

    #[test]
    fn bad_trucks_name_their_fields() {
        let mut t = truck();
        t.available_until = t.available_from - chrono::Duration::hours(1);
        t.destination = TruckDestination::Markets {
            markets: vec!["NOPE".into()],
        };
        t.max_deadhead_miles = 5_000;
        let errs = t.validate(geo()).unwrap_err();
        assert_eq!(
            errs.fields(),
            [
                "available_until",
                "max_deadhead_miles",
                "destination.markets[0]"
            ]
        );
    }
}
