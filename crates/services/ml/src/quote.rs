//! A quote as asked for, and checked: places resolved to points and markets, road miles,
//! equipment, rate kind, pickup day and weight. Every invalid field is listed at once.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use lanerunner_core::market::RateKind;
use lanerunner_geo::{Gazetteer, GeocodeError, GeocodeMatch, Geocoder, Markets};
use lanerunner_laneindex::validate::EQUIPMENT;
use lanerunner_platform::http::FieldError;
use serde::Deserialize;

use crate::error::Violations;

/// How far back a pickup may lie (a quote for a load booked late yesterday) and ahead
/// (a season of planning; the model knows nothing about next year's market).
pub const PICKUP_DAYS_BACK: i64 = 1;
pub const PICKUP_DAYS_AHEAD: i64 = 180;
pub const MAX_WEIGHT_LBS: u32 = 80_000;
pub const DEFAULT_WEIGHT_LBS: u32 = 40_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    /// Origin place, "City, ST" (e.g. `Dallas, TX`).
    pub origin: String,
    /// Destination place, "City, ST".
    pub destination: String,
    /// Equipment: `V`, `R`, `F`, `SD`, `PO`, `HS`, `TNK`, `CONT`.
    pub equipment: String,
    /// Pickup day (default tomorrow, UTC); from yesterday to 180 days ahead.
    pub pickup: Option<NaiveDate>,
    /// Pounds, 1–80,000 (default 40,000).
    pub weight_lbs: Option<u32>,
    /// `spot` (default) or `contract`.
    pub kind: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Place {
    pub found: GeocodeMatch,
    pub market: String,
}

#[derive(Debug, Clone)]
pub struct Resolved {
    pub origin: Place,
    pub destination: Place,
    pub equipment: String,
    pub kind: RateKind,
    pub pickup: NaiveDate,
    pub weight_lbs: u32,
    pub miles: f64,
}

/// What resolving needs: the geocoder the deployment uses, and the gazetteer whose key
/// market areas the model was trained on.
#[derive(Clone)]
pub struct Places {
    pub geocoder: Arc<dyn Geocoder>,
    pub gazetteer: Arc<Gazetteer>,
    pub markets: Arc<Markets>,
}

impl Places {
    fn place(&self, field: &str, query: &str, v: &mut Violations) -> Option<Place> {
        if query.trim().is_empty() {
            v.add(field, "is required: a place such as \"Dallas, TX\"");
            return None;
        }
        let found = match self.geocoder.geocode(query) {
            Ok(m) => m,
            Err(e @ GeocodeError::Unknown { .. }) => {
                v.add(field, e.to_string());
                return None;
            }
            Err(e) => {
                v.add(field, format!("could not be looked up: {e}"));
                return None;
            }
        };
        let market = self
            .markets
            .market_of(&self.gazetteer, found.point)
            .and_then(|id| self.markets.get(id))
            .map(|m| m.code.clone());
        match market {
            Some(market) => Some(Place { found, market }),
            None => {
                v.add(
                    field,
                    format!(
                        "{} is in no market LaneRunner prices (the United States and Canada)",
                        found.label
                    ),
                );
                None
            }
        }
    }

    /// Checks one quote; blocking when the geocoder is remote (callers run it off the
    /// async threads).
    pub fn resolve(&self, q: &QuoteParams) -> Result<Resolved, Vec<FieldError>> {
        let mut v = Violations::default();
        let origin = self.place("origin", &q.origin, &mut v);
        let destination = self.place("destination", &q.destination, &mut v);
        if !EQUIPMENT.contains(&q.equipment.as_str()) {
            v.add(
                "equipment",
                format!("must be one of {}", EQUIPMENT.join(", ")),
            );
        }
        let kind = q
            .kind
            .as_deref()
            .map_or(Some(RateKind::Spot), RateKind::from_name);
        if kind.is_none() {
            v.add("kind", "must be spot or contract");
        }
        let kind = kind.unwrap_or(RateKind::Spot);
        let today = Utc::now().date_naive();
        let pickup = q.pickup.unwrap_or(today + Duration::days(1));
        if pickup < today - Duration::days(PICKUP_DAYS_BACK) {
            v.add(
                "pickup",
                "is in the past: a rate is quoted for a load still to move",
            );
        } else if pickup > today + Duration::days(PICKUP_DAYS_AHEAD) {
            v.add(
                "pickup",
                format!("is more than {PICKUP_DAYS_AHEAD} days ahead: too far for a market rate"),
            );
        }
        let weight_lbs = q.weight_lbs.unwrap_or(DEFAULT_WEIGHT_LBS);
        if !(1..=MAX_WEIGHT_LBS).contains(&weight_lbs) {
            v.add(
                "weight_lbs",
                format!("must be between 1 and {MAX_WEIGHT_LBS}"),
            );
        }
        let (Some(origin), Some(destination)) = (origin, destination) else {
            return Err(v.0);
        };
        let miles = match self
            .geocoder
            .distance_miles(&[(origin.found.point, destination.found.point)])
        {
            Ok(m) => m.first().copied().unwrap_or(0.0),
            Err(e) => {
                v.add(
                    "destination",
                    format!("no road distance from the origin: {e}"),
                );
                0.0
            }
        };
        if v.0.is_empty() && miles < 1.0 {
            v.add(
                "destination",
                "is the origin: a truckload moves between two places",
            );
        }
        if !v.0.is_empty() {
            return Err(v.0);
        }
        Ok(Resolved {
            origin,
            destination,
            equipment: q.equipment.clone(),
            kind,
            pickup,
            weight_lbs,
            miles,
        })
    }
}
