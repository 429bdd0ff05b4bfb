//! Freight markets: regional clusters around freight hubs, in the spirit of the load
//! boards' key market areas, plus one catch-all market per state or province.

use crate::gazetteer::{Gazetteer, Place};
use crate::normalize::REGIONS;
use crate::point::{haversine_miles, LatLon};

/// Index into [`Markets::all`]; stable for a given build of this crate (hubs first, in
/// the order of [`HUBS`], then one market per region in the order of [`REGIONS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarketId(pub u16);

/// A market area.
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub id: MarketId,
    /// "DAL-TX" for a hub market, "TX-other" for the rest of a state.
    pub code: String,
    /// "Dallas, TX" or "Texas (other)".
    pub name: String,
    /// State or province code of the hub (or of the catch-all market).
    pub region: String,
    /// Hub centre and radius; `None` for state-level markets.
    pub hub: Option<(LatLon, f64)>,
}

/// A lane: origin market → destination market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lane {
    pub origin_market: MarketId,
    pub dest_market: MarketId,
}

/// Key market areas: hub city, state, radius in great-circle miles. Chosen from the
/// largest truckload origins and destinations (distribution clusters, ports, border
/// crossings, rail ramps). Radii are smaller where hubs crowd each other (Northeast)
/// and larger where freight is sparse (Mountain West, Prairies). A point inside several
/// circles belongs to the nearest hub.
pub const HUBS: &[(&str, &str, f64)] = &[
    ("Atlanta", "GA", 100.0),
    ("Chicago", "IL", 90.0),
    ("Dallas", "TX", 100.0),
    ("Houston", "TX", 100.0),
    ("Ontario", "CA", 90.0), // Los Angeles / Inland Empire
    ("San Diego", "CA", 60.0),
    ("Oakland", "CA", 75.0), // San Francisco Bay Area
    ("Stockton", "CA", 60.0),
    ("Sacramento", "CA", 60.0),
    ("Fresno", "CA", 80.0),
    ("Phoenix", "AZ", 120.0),
    ("Las Vegas", "NV", 120.0),
    ("Reno", "NV", 120.0),
    ("Salt Lake City", "UT", 130.0),
    ("Denver", "CO", 130.0),
    ("Albuquerque", "NM", 130.0),
    ("El Paso", "TX", 120.0),
    ("San Antonio", "TX", 90.0),
    ("Laredo", "TX", 80.0),
    ("McAllen", "TX", 80.0),
    ("Amarillo", "TX", 120.0),
    ("Lubbock", "TX", 100.0),
    ("Oklahoma City", "OK", 100.0),
    ("Tulsa", "OK", 90.0),
    ("Wichita", "KS", 120.0),
    ("Kansas City", "MO", 110.0),
    ("Springfield", "MO", 90.0),
    ("St. Louis", "MO", 100.0),
    ("Omaha", "NE", 120.0),
    ("Des Moines", "IA", 100.0),
    ("Minneapolis", "MN", 130.0),
    ("Fargo", "ND", 150.0),
    ("Sioux Falls", "SD", 130.0),
    ("Milwaukee", "WI", 70.0),
    ("Green Bay", "WI", 90.0),
    ("Indianapolis", "IN", 90.0),
    ("Louisville", "KY", 80.0),
    ("Cincinnati", "OH", 70.0),
    ("Columbus", "OH", 80.0),
    ("Cleveland", "OH", 70.0),
    ("Detroit", "MI", 80.0),
    ("Grand Rapids", "MI", 90.0),
    ("Pittsburgh", "PA", 90.0),
    ("Harrisburg", "PA", 70.0),
    ("Allentown", "PA", 50.0),
    ("Philadelphia", "PA", 60.0),
    ("Elizabeth", "NJ", 50.0), // New York / northern New Jersey
    ("Albany", "NY", 90.0),
    ("Syracuse", "NY", 80.0),
    ("Buffalo", "NY", 80.0),
    ("Hartford", "CT", 50.0),
    ("Boston", "MA", 50.0),
    ("Portland", "ME", 120.0),
    ("Burlington", "VT", 100.0),
    ("Baltimore", "MD", 60.0), // Baltimore / Washington
    ("Richmond", "VA", 80.0),
    ("Norfolk", "VA", 70.0),
    ("Roanoke", "VA", 90.0),
    ("Charlotte", "NC", 90.0),
    ("Greensboro", "NC", 70.0),
    ("Raleigh", "NC", 80.0),
    ("Greenville", "SC", 70.0),
    ("Columbia", "SC", 70.0),
    ("Charleston", "SC", 80.0),
    ("Savannah", "GA", 90.0),
    ("Jacksonville", "FL", 100.0),
    ("Orlando", "FL", 80.0),
    ("Lakeland", "FL", 60.0), // Tampa / Lakeland
    ("Miami", "FL", 90.0),
    ("Mobile", "AL", 80.0),
    ("Birmingham", "AL", 90.0),
    ("Chattanooga", "TN", 70.0),
    ("Knoxville", "TN", 80.0),
    ("Nashville", "TN", 90.0),
    ("Memphis", "TN", 100.0),
    ("Jackson", "MS", 100.0),
    ("Little Rock", "AR", 110.0),
    ("Shreveport", "LA", 100.0),
    ("Baton Rouge", "LA", 60.0),
    ("New Orleans", "LA", 70.0),
    ("Portland", "OR", 100.0),
    ("Seattle", "WA", 90.0),
    ("Spokane", "WA", 120.0),
    ("Boise", "ID", 150.0),
    ("Billings", "MT", 180.0),
    ("Missoula", "MT", 150.0),
    ("Casper", "WY", 180.0),
    ("Mississauga", "ON", 90.0), // Toronto / Greater Golden Horseshoe
    ("Ottawa", "ON", 90.0),
    ("Montréal", "QC", 90.0),
    ("Moncton", "NB", 120.0),
    ("Halifax", "NS", 120.0),
    ("Winnipeg", "MB", 150.0),
    ("Regina", "SK", 120.0),
    ("Saskatoon", "SK", 120.0),
    ("Calgary", "AB", 120.0),
    ("Edmonton", "AB", 120.0),
    ("Surrey", "BC", 90.0), // Vancouver / Lower Mainland
];

/// The market map: hub markets then one state-level market per region.
#[derive(Debug, Clone)]
pub struct Markets {
    markets: Vec<Market>,
    hubs: usize,
}

fn hub_code(name: &str, region: &str) -> String {
    let letters: String = crate::normalize::normalize(name)
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(3)
        .collect();
    format!("{}-{}", letters.to_ascii_uppercase(), region)
}

impl Markets {
    /// The key market areas of [`HUBS`], with hub centres taken from `gazetteer`; a hub
    /// missing from the gazetteer is skipped (the embedded gazetteer has all of them).
    pub fn key_market_areas(gazetteer: &Gazetteer) -> Markets {
        let mut markets = Vec::with_capacity(HUBS.len() + REGIONS.len());
        for &(city, region, radius) in HUBS {
            let Ok(hit) = gazetteer.geocode(&format!("{city}, {region}")) else {
                continue;
            };
            markets.push(Market {
                id: MarketId(markets.len() as u16),
                code: hub_code(city, region),
                name: hit.place.label(),
                region: region.to_string(),
                hub: Some((hit.place.point, radius)),
            });
        }
        let hubs = markets.len();
        for &(code, name) in REGIONS {
            markets.push(Market {
                id: MarketId(markets.len() as u16),
                code: format!("{code}-other"),
                name: format!("{name} (other)"),
                region: code.to_string(),
                hub: None,
            });
        }
        Markets { markets, hubs }
    }

    pub fn all(&self) -> &[Market] {
        &self.markets
    }

    pub fn hubs(&self) -> &[Market] {
        &self.markets[..self.hubs]
    }

    pub fn get(&self, id: MarketId) -> Option<&Market> {
        self.markets.get(id.0 as usize)
    }

    /// Case-insensitive lookup by code ("DAL-TX", "tx-other").
    pub fn by_code(&self, code: &str) -> Option<&Market> {
        self.markets
            .iter()
            .find(|m| m.code.eq_ignore_ascii_case(code.trim()))
    }

    /// The catch-all market of a state or province code.
    pub fn region_market(&self, region: &str) -> Option<MarketId> {
        self.markets[self.hubs..]
            .iter()
            .find(|m| m.region.eq_ignore_ascii_case(region))
            .map(|m| m.id)
    }

    /// The hub market whose circle holds `point` (the nearest such hub), if any.
    pub fn hub_of(&self, point: LatLon) -> Option<MarketId> {
        let mut best: Option<(f64, MarketId)> = None;
        for m in self.hubs() {
            let Some((centre, radius)) = m.hub else {
                continue;
            };
            // Cheap reject: one degree of latitude is ~69 miles.
            if (centre.lat - point.lat).abs() * 69.0 > radius {
                continue;
            }
            let d = haversine_miles(centre, point);
            if d <= radius && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, m.id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// The market of a place: its hub market, else its state-level market.
    pub fn market_of_place(&self, place: &Place) -> Option<MarketId> {
        self.hub_of(place.point)
            .or_else(|| self.region_market(&place.region))
    }

    /// The market of any point: its hub market, else the state-level market of the
    /// nearest gazetteer place. `None` only for an empty gazetteer or invalid point.
    pub fn market_of(&self, gazetteer: &Gazetteer, point: LatLon) -> Option<MarketId> {
        if let Some(id) = self.hub_of(point) {
            return Some(id);
        }
        let (place, _) = gazetteer.reverse(point)?;
        self.region_market(&place.region)
    }

    /// The lane between two points.
    pub fn lane(&self, gazetteer: &Gazetteer, origin: LatLon, dest: LatLon) -> Option<Lane> {
        Some(Lane {
            origin_market: self.market_of(gazetteer, origin)?,
            dest_market: self.market_of(gazetteer, dest)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::OnceLock;

    fn fixtures() -> &'static (Gazetteer, Markets) {
        static F: OnceLock<(Gazetteer, Markets)> = OnceLock::new();
        F.get_or_init(|| {
            let g = Gazetteer::embedded();
            let m = Markets::key_market_areas(&g);
            (g, m)
        })
    }

    #[test]
    fn every_hub_resolves_and_codes_are_unique() {
        let (_, m) = fixtures();
        assert_eq!(m.hubs().len(), HUBS.len());
        assert!((60..=100).contains(&m.hubs().len()));
        let codes: HashSet<_> = m.all().iter().map(|x| x.code.clone()).collect();
        assert_eq!(codes.len(), m.all().len());
        for (i, x) in m.all().iter().enumerate() {
            assert_eq!(x.id, MarketId(i as u16));
        }
    }

    #[test]
    fn suburbs_fall_in_their_hub_market_and_remote_towns_in_the_state_market() {
        let (g, m) = fixtures();
        let code = |q: &str| {
            let p = g.geocode(q).unwrap().place;
            m.get(m.market_of(g, p.point).unwrap())
                .unwrap()
                .code
                .clone()
        };
        assert_eq!(code("Fort Worth, TX"), "DAL-TX");
        assert_eq!(code("Riverside, CA"), "ONT-CA");
        assert_eq!(code("Los Angeles, CA"), "ONT-CA");
        assert_eq!(code("Newark, NJ"), "ELI-NJ");
        assert_eq!(code("Joliet, IL"), "CHI-IL");
        assert_eq!(code("Alpine, TX"), "TX-other");
        assert_eq!(code("Toronto, ON"), "MIS-ON");
        let dallas = g.geocode("Dallas, TX").unwrap().place;
        assert_eq!(m.market_of_place(dallas), m.by_code("dal-tx").map(|x| x.id));
    }

    #[test]
    fn a_lane_joins_origin_and_destination_markets() {
        let (g, m) = fixtures();
        let a = g.geocode("Atlanta, GA").unwrap().place.point;
        let c = g.geocode("Chicago, IL").unwrap().place.point;
        let lane = m.lane(g, a, c).unwrap();
        assert_eq!(m.get(lane.origin_market).unwrap().code, "ATL-GA");
        assert_eq!(m.get(lane.dest_market).unwrap().code, "CHI-IL");
    }
}
