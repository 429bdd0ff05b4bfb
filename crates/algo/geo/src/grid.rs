//! A 1°×1° latitude/longitude grid over places for nearest-place queries.

use crate::gazetteer::Place;
use crate::point::{haversine_miles, LatLon, EARTH_RADIUS_MILES};

const ROWS: usize = 180;
const COLS: usize = 360;

#[derive(Debug, Clone)]
pub(crate) struct PlaceGrid {
    /// `starts[c]..starts[c + 1]` indexes `items` for cell `c = row * COLS + col`.
    starts: Vec<u32>,
    items: Vec<u32>,
}

fn row_of(lat: f64) -> usize {
    ((lat + 90.0).floor().max(0.0) as usize).min(ROWS - 1)
}

fn col_of(lon: f64) -> usize {
    ((lon + 180.0).floor().max(0.0) as usize).min(COLS - 1)
}

impl PlaceGrid {
    pub(crate) fn build(places: &[Place]) -> PlaceGrid {
        let cell = |p: &Place| row_of(p.point.lat) * COLS + col_of(p.point.lon);
        let mut counts = vec![0u32; ROWS * COLS + 1];
        for p in places {
            counts[cell(p) + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let mut fill = counts.clone();
        let mut items = vec![0u32; places.len()];
        for (i, p) in places.iter().enumerate() {
            let c = cell(p);
            items[fill[c] as usize] = i as u32;
            fill[c] += 1;
        }
        PlaceGrid {
            starts: counts,
            items,
        }
    }

    fn cell(&self, row: usize, col: usize) -> &[u32] {
        let c = row * COLS + col;
        &self.items[self.starts[c] as usize..self.starts[c + 1] as usize]
    }

    /// Index and distance (miles) of the place nearest to `p`. Exact: after a ring search
    /// finds any place at distance `d`, every cell that could hold a place within `d` is
    /// scanned.
    pub(crate) fn nearest(&self, places: &[Place], p: LatLon) -> Option<(usize, f64)> {
        if places.is_empty() {
            return None;
        }
        let (r0, c0) = (row_of(p.lat) as isize, col_of(p.lon) as isize);
        let mut best: Option<(usize, f64)> = None;
        let consider = |cell: &[u32], best: &mut Option<(usize, f64)>| {
            for &i in cell {
                let d = haversine_miles(p, places[i as usize].point);
                let better = match *best {
                    None => true,
                    Some((bi, bd)) => d < bd || (d == bd && (i as usize) < bi),
                };
                if better {
                    *best = Some((i as usize, d));
                }
            }
        };
        // Ring search for a first candidate.
        for ring in 0..=(COLS as isize) {
            for dr in -ring..=ring {
                let row = r0 + dr;
                if !(0..ROWS as isize).contains(&row) {
                    continue;
                }
                let step = if dr.abs() == ring { 1 } else { 2 * ring.max(1) };
                let mut dc = -ring;
                while dc <= ring {
                    let col = (c0 + dc).rem_euclid(COLS as isize) as usize;
                    consider(self.cell(row as usize, col), &mut best);
                    dc += step;
                }
            }
            if best.is_some() {
                break;
            }
        }
        let (_, d) = best?;
        // Every place within `d` lies in this latitude band ...
        let dlat = (d / EARTH_RADIUS_MILES).to_degrees() + 1e-9;
        let (lo, hi) = ((p.lat - dlat).max(-90.0), (p.lat + dlat).min(90.0));
        // ... and, as hav(dist) >= cos²(L)·hav(Δλ) for latitudes within ±L, within Δλ.
        let max_abs = lo.abs().max(hi.abs());
        let s = (d / (2.0 * EARTH_RADIUS_MILES)).sin() / max_abs.to_radians().cos();
        let all_cols = s.is_nan() || s >= 1.0 || max_abs >= 89.999;
        let dlon = if all_cols {
            180.0
        } else {
            (2.0 * s.asin()).to_degrees() + 1e-9
        };
        let cols: Vec<usize> = if all_cols || dlon >= 179.0 {
            (0..COLS).collect()
        } else {
            let (a, b) = (
                (p.lon - dlon + 180.0).floor() as isize,
                (p.lon + dlon + 180.0).floor() as isize,
            );
            (a..=b)
                .map(|c| c.rem_euclid(COLS as isize) as usize)
                .collect()
        };
        for row in row_of(lo)..=row_of(hi) {
            for &col in &cols {
                consider(self.cell(row, col), &mut best);
            }
        }
        best
    }
}
