//! Points on the Earth and distances between them.

/// Mean Earth radius (IUGG, 6,371.0088 km) in statute miles. PostGIS uses the same mean
/// radius for `geography` computations on the sphere (`use_spheroid => false`).
pub const EARTH_RADIUS_MILES: f64 = 3_958.761_3;

/// Metres in one statute mile.
pub const METERS_PER_MILE: f64 = 1_609.344;

/// Road miles per great-circle mile for truck trips in the US and Canada.
///
/// Source: Ballou, Rahardja & Sakai, "Selected country circuity factors for road travel
/// distance estimation", Transportation Research Part A 36(9), 2002 — 1.20 for the United
/// States (1.30 for Canada, dominated by short rural trips). Boscoe, Henry & Zdeb (2012,
/// The Professional Geographer 64(2)) measured larger ratios (~1.4) for short trips,
/// falling towards 1.2 as trip length grows; freight lanes are mostly hundreds of miles,
/// so the long-haul value is used everywhere. A routing engine replaces this estimate
/// behind the `Geocoder` seam.
pub const ROAD_CIRCUITY_FACTOR: f64 = 1.2;

/// A WGS-84 latitude/longitude in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    pub const fn new(lat: f64, lon: f64) -> Self {
        Self { lat, lon }
    }

    /// True when both coordinates are finite and inside [-90, 90] x [-180, 180].
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }
}

/// Great-circle ("air") distance in miles on the mean-radius sphere.
pub fn haversine_miles(a: LatLon, b: LatLon) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp * 0.5).sin().powi(2) + p1.cos() * p2.cos() * (dl * 0.5).sin().powi(2);
    2.0 * EARTH_RADIUS_MILES * h.sqrt().min(1.0).asin()
}

/// Half the sides, in degrees of latitude and longitude, of a box around `at` that holds
/// every point within `road_miles` of it: a degree of latitude spans at least 69 road miles
/// (great-circle 69 × circuity ≥ 1), and longitude degrees are taken at the box's edge
/// nearest the pole, where they are shortest. For index ranges that must never miss a point.
pub fn reach_box(at: LatLon, road_miles: f64) -> (f64, f64) {
    let dlat = road_miles / 69.0;
    let pole_lat = (at.lat.abs() + dlat).min(89.0);
    (dlat, dlat / pole_lat.to_radians().cos())
}

/// Estimated road miles: great-circle miles times [`ROAD_CIRCUITY_FACTOR`].
pub fn road_miles(a: LatLon, b: LatLon) -> f64 {
    haversine_miles(a, b) * ROAD_CIRCUITY_FACTOR
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dallas_to_chicago_is_about_800_air_miles() {
        let dallas = LatLon::new(32.78306, -96.80667);
        let chicago = LatLon::new(41.85003, -87.65005);
        let d = haversine_miles(dallas, chicago);
        assert!((795.0..810.0).contains(&d), "{d}");
        assert!((road_miles(dallas, chicago) - d * 1.2).abs() < 1e-9);
    }

    #[test]
    fn distance_is_symmetric_and_zero_on_the_diagonal() {
        let a = LatLon::new(45.0, -75.0);
        let b = LatLon::new(-33.9, 151.2);
        assert_eq!(haversine_miles(a, a), 0.0);
        assert!((haversine_miles(a, b) - haversine_miles(b, a)).abs() < 1e-9);
        let antipode = LatLon::new(-45.0, 105.0);
        let half = std::f64::consts::PI * EARTH_RADIUS_MILES;
        assert!((haversine_miles(a, antipode) - half).abs() < 1e-6);
    }
}
