//! From what the loads service publishes to the facts the matching rules take.
//!
//! Truck postings say less than [`TruckFacts`] asks; the gaps are filled conservatively and
//! documented in docs/matching.md: a posted truck is assumed fresh (11 driving hours left:
//! a posting is made when the driver can start), its payload limit is the legal cargo limit
//! the loads service enforces on loads (so weight never refuses a load the board accepted),
//! its trailer length is the longest legal one for its equipment when not given, it is not
//! hazmat-qualified (postings cannot say so), and it has no lane history yet (matching sees
//! no bookings before the booking service exists).

use std::collections::HashMap;

use lanerunner_geo::{Gazetteer, LatLon, Markets};
use lanerunner_matching::{LoadFacts, Trailer, TruckFacts};

use crate::events::{LoadTerms, TruckDestination, TruckPosting};

/// The loads service's legal cargo limits (domain/load.rs), in pounds.
const MAX_CARGO_LBS: u32 = 48_000;
const MAX_HOTSHOT_CARGO_LBS: u32 = 16_500;
/// A fresh driver's daily driving limit under the hours-of-service rules.
const FRESH_DRIVE_HOURS: f64 = 11.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FactsError {
    #[error("the load has fewer than two stops")]
    TooFewStops,
}

/// Points for "where the truck wants to go": a hub market's centre, or a state's
/// population-weighted centre.
pub struct Destinations {
    states: HashMap<String, LatLon>,
    markets: Markets,
}

impl Destinations {
    pub fn embedded() -> Self {
        Self::from_gazetteer(&Gazetteer::embedded())
    }

    pub fn from_gazetteer(gazetteer: &Gazetteer) -> Self {
        let mut sums: HashMap<String, (f64, f64, f64)> = HashMap::new();
        for p in gazetteer.places() {
            let w = p.population.max(1) as f64;
            let e = sums.entry(p.region.to_ascii_uppercase()).or_default();
            e.0 += p.point.lat * w;
            e.1 += p.point.lon * w;
            e.2 += w;
        }
        let states = sums
            .into_iter()
            .map(|(k, (lat, lon, w))| (k, LatLon::new(lat / w, lon / w)))
            .collect();
        Destinations {
            states,
            markets: Markets::key_market_areas(gazetteer),
        }
    }

    /// The first named state or market that resolves. The score takes one point, so a
    /// truck that names several places is scored toward the first.
    pub fn point(&self, wanted: &TruckDestination) -> Option<LatLon> {
        match wanted {
            TruckDestination::Anywhere => None,
            TruckDestination::States { states } => states
                .iter()
                .find_map(|s| self.states.get(&s.to_ascii_uppercase()).copied()),
            TruckDestination::Markets { markets } => markets.iter().find_map(|code| {
                let m = self.markets.by_code(code)?;
                match m.hub {
                    Some((centre, _)) => Some(centre),
                    None => self.states.get(&m.region.to_ascii_uppercase()).copied(),
                }
            }),
        }
    }
}

/// The matching crates key pairs by `u128`; a UUID is one.
pub fn key(id: uuid::Uuid) -> u128 {
    id.as_u128()
}

pub fn uuid_of(key: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(key)
}

pub fn load_facts(t: &LoadTerms) -> Result<LoadFacts, FactsError> {
    let (Some(first), Some(last)) = (t.stops.first(), t.stops.last()) else {
        return Err(FactsError::TooFewStops);
    };
    if t.stops.len() < 2 {
        return Err(FactsError::TooFewStops);
    }
    Ok(LoadFacts {
        id: key(t.id),
        trailer: t.equipment,
        origin: LatLon::new(first.location.lat, first.location.lon),
        destination: LatLon::new(last.location.lat, last.location.lon),
        pickup_start: first.window.start.timestamp(),
        pickup_end: first.window.end.timestamp(),
        delivery_end: last.window.end.timestamp(),
        weight_lbs: t.weight_lbs,
        length_ft: t.trailer_length_ft,
        team_required: t.team,
        hazmat: t.hazmat,
        rate_cents: t.all_in_rate_cents.unwrap_or(0),
        loaded_miles: t.loaded_miles,
    })
}

pub fn truck_facts(p: &TruckPosting, destinations: &Destinations) -> TruckFacts {
    let (max_weight_lbs, longest_ft) = match p.equipment {
        Trailer::Hotshot => (MAX_HOTSHOT_CARGO_LBS, 40),
        _ => (MAX_CARGO_LBS, 53),
    };
    TruckFacts {
        id: key(p.id),
        trailer: p.equipment,
        position: LatLon::new(p.available_at.lat, p.available_at.lon),
        available_at: p.available_from.timestamp(),
        drive_hours_left: FRESH_DRIVE_HOURS,
        max_weight_lbs,
        trailer_length_ft: p.trailer_length_ft.unwrap_or(longest_ft),
        team: p.team,
        hazmat: false,
        max_deadhead_miles: f64::from(p.max_deadhead_miles),
        min_rate_per_mile_cents: p.min_rate_per_mile_cents.unwrap_or(0),
        destination: destinations.point(&p.destination),
        lane_history: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::tests::terms;

    #[test]
    fn a_load_is_its_first_pickup_and_last_delivery() {
        let t = terms(uuid::Uuid::from_u128(3), 90_000);
        let f = load_facts(&t).unwrap();
        assert_eq!(f.id, 3);
        assert_eq!(f.pickup_end - f.pickup_start, 4 * 3600);
        assert_eq!(f.rate_cents, 90_000);
        assert!((f.destination.lat - 29.76).abs() < 1e-9);
        let mut short = t.clone();
        short.stops.truncate(1);
        assert_eq!(load_facts(&short), Err(FactsError::TooFewStops));
    }

    #[test]
    fn destinations_resolve_states_and_markets() {
        let d = Destinations::embedded();
        let tx = d
            .point(&TruckDestination::States {
                states: vec!["zz".into(), "tx".into()],
            })
            .unwrap();
        assert!((25.0..37.0).contains(&tx.lat) && (-107.0..-93.0).contains(&tx.lon));
        let dal = d
            .point(&TruckDestination::Markets {
                markets: vec!["DAL-TX".into()],
            })
            .unwrap();
        assert!((dal.lat - 32.78).abs() < 0.5, "{dal:?}");
        assert_eq!(d.point(&TruckDestination::Anywhere), None);
    }
}
