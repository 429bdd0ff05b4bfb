//! Radius tests on the sphere, shared by the index and the brute-force reference so that
//! both decide boundary cases identically.

use lanerunner_geo::{LatLon, EARTH_RADIUS_MILES, ROAD_CIRCUITY_FACTOR};

/// A circle whose radius is given in deadhead road miles (great-circle miles ×
/// [`ROAD_CIRCUITY_FACTOR`]), the unit load boards show next to "DH-O".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub center: LatLon,
    pub radius_miles: f64,
    cos_lat: f64,
    /// Haversine term `hav(d / R)` of the radius: a point is inside iff its term is `<=`.
    hav_max: f64,
    /// The centre as a unit vector, for [`Circle::hav_unit`].
    unit: [f64; 3],
}

/// A point on the unit sphere. The haversine term between two points is a quarter of the
/// squared chord between their unit vectors (`hav θ = (1 − cos θ) / 2 = |a − b|² / 4`), so
/// with the vector stored per load a radius test costs three multiplications instead of
/// two sines, and vectorises.
#[inline]
pub fn unit_vector(p: LatLon) -> [f64; 3] {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    let c = lat.cos();
    [c * lon.cos(), c * lon.sin(), lat.sin()]
}

/// `cos(latitude)`, the factor every haversine evaluation needs per point.
#[inline]
pub fn cos_lat(lat: f64) -> f64 {
    lat.to_radians().cos()
}

/// Great-circle miles corresponding to a road-mile radius.
pub fn air_miles(road_miles: f64) -> f64 {
    road_miles / ROAD_CIRCUITY_FACTOR
}

/// Road miles (great-circle × circuity) from a haversine term.
#[inline]
pub fn road_miles_from_hav(h: f64) -> f64 {
    2.0 * EARTH_RADIUS_MILES * h.sqrt().min(1.0).asin() * ROAD_CIRCUITY_FACTOR
}

impl Circle {
    /// `None` unless the centre is valid and the radius finite and non-negative.
    pub fn new(center: LatLon, radius_miles: f64) -> Option<Circle> {
        if !center.is_valid() || !radius_miles.is_finite() || radius_miles < 0.0 {
            return None;
        }
        let half_angle =
            (air_miles(radius_miles) / EARTH_RADIUS_MILES / 2.0).min(std::f64::consts::FRAC_PI_2);
        Some(Circle {
            center,
            radius_miles,
            cos_lat: cos_lat(center.lat),
            hav_max: half_angle.sin().powi(2),
            unit: unit_vector(center),
        })
    }

    /// The haversine term between the centre and a point whose `cos(lat)` is given.
    #[inline]
    pub fn hav(&self, lat: f64, lon: f64, cos_lat: f64) -> f64 {
        let dp = (lat - self.center.lat).to_radians() * 0.5;
        let dl = (lon - self.center.lon).to_radians() * 0.5;
        let s1 = dp.sin();
        let s2 = dl.sin();
        s1 * s1 + self.cos_lat * cos_lat * s2 * s2
    }

    /// The haversine term between the centre and a point given as its [`unit_vector`]:
    /// equal to [`Circle::hav`] up to rounding (relative differences near 1e-12), and
    /// what the index and the reference both use for the origin radius and deadhead.
    #[inline(always)]
    pub fn hav_unit(&self, x: f64, y: f64, z: f64) -> f64 {
        let (dx, dy, dz) = (x - self.unit[0], y - self.unit[1], z - self.unit[2]);
        (dx * dx + dy * dy + dz * dz) * 0.25
    }

    #[inline]
    pub fn hav_max(&self) -> f64 {
        self.hav_max
    }

    /// Whether the point is within the radius.
    #[inline]
    pub fn contains(&self, p: LatLon) -> bool {
        self.hav(p.lat, p.lon, cos_lat(p.lat)) <= self.hav_max
    }

    /// Half-width of the circle in degrees of latitude (great-circle radius as an angle).
    pub(crate) fn lat_span_deg(&self) -> f64 {
        (air_miles(self.radius_miles) / EARTH_RADIUS_MILES).to_degrees()
    }
}
