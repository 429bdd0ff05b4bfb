//! Writes the shared benchmark instances (format: `lanerunner_assignment::instance`).
//!
//! ```text
//! cargo run --release --example gen_instances -- OUT_DIR PLACES_CSV [bench|small] [--sizes 500,1000] [--no-sparse]
//! ```
//!
//! * `dense_uniform_N`: costs uniform in [0, 1000).
//! * `dense_geo_N`: N trucks and N loads at places drawn by population; cost = deadhead
//!   miles = haversine miles x 1.2 road factor.
//! * `sparse_geo_20000x100000`: same, keeping only pairs with deadhead <= 250 miles.
//! * `small`: the small instances committed under `tests/data` for the SciPy cross-check.
//!
//! Fixed seeds: the same files on every machine.

use lanerunner_assignment::instance::{encode_dense, encode_sparse};
use lanerunner_assignment::{DenseCost, SparseCost};
use std::path::{Path, PathBuf};

/// SplitMix64: tiny, seedable, good enough for instance generation.
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Places {
    lat_rad: Vec<f64>,
    lon_rad: Vec<f64>,
    cumulative_pop: Vec<f64>,
}

impl Places {
    fn load(path: &Path) -> Places {
        let text = std::fs::read_to_string(path).expect("read places csv");
        let mut p = Places {
            lat_rad: vec![],
            lon_rad: vec![],
            cumulative_pop: vec![],
        };
        let mut total = 0.0;
        for line in text.lines().skip(1) {
            // geonameid,name,region,country,lat,lon,population,timezone (names have no commas)
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 8 {
                continue;
            }
            let (Ok(lat), Ok(lon), Ok(pop)) = (
                f[4].parse::<f64>(),
                f[5].parse::<f64>(),
                f[6].parse::<f64>(),
            ) else {
                continue;
            };
            total += pop.max(0.0);
            p.lat_rad.push(lat.to_radians());
            p.lon_rad.push(lon.to_radians());
            p.cumulative_pop.push(total);
        }
        p
    }

    /// A place index drawn with probability proportional to population.
    fn sample(&self, rng: &mut Rng) -> usize {
        let total = *self.cumulative_pop.last().unwrap();
        let x = rng.unit() * total;
        self.cumulative_pop
            .partition_point(|&c| c <= x)
            .min(self.cumulative_pop.len() - 1)
    }

    fn deadhead_miles(&self, a: usize, b: usize) -> f64 {
        const EARTH_RADIUS_MILES: f64 = 3958.8;
        const ROAD_FACTOR: f64 = 1.2;
        let (la, lb) = (self.lat_rad[a], self.lat_rad[b]);
        let dlat = lb - la;
        let dlon = self.lon_rad[b] - self.lon_rad[a];
        let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_MILES * h.sqrt().min(1.0).asin() * ROAD_FACTOR
    }
}

fn dense_uniform(rows: usize, cols: usize, seed: u64) -> DenseCost {
    let mut rng = Rng(seed);
    let costs = (0..rows * cols).map(|_| rng.unit() * 1000.0).collect();
    DenseCost::new(rows, cols, costs).unwrap()
}

fn dense_geo(p: &Places, rows: usize, cols: usize, seed: u64) -> DenseCost {
    let mut rng = Rng(seed);
    let trucks: Vec<usize> = (0..rows).map(|_| p.sample(&mut rng)).collect();
    let loads: Vec<usize> = (0..cols).map(|_| p.sample(&mut rng)).collect();
    let mut costs = Vec::with_capacity(rows * cols);
    for &t in &trucks {
        costs.extend(loads.iter().map(|&l| p.deadhead_miles(t, l)));
    }
    DenseCost::new(rows, cols, costs).unwrap()
}

fn sparse_geo(p: &Places, rows: usize, cols: usize, radius_miles: f64, seed: u64) -> SparseCost {
    let mut rng = Rng(seed);
    let loads: Vec<usize> = (0..cols).map(|_| p.sample(&mut rng)).collect();
    // A truck with no load within the radius is re-drawn: SciPy's sparse matcher needs a
    // matching that covers every truck.
    let mut reachable: std::collections::HashMap<usize, bool> = Default::default();
    let trucks: Vec<usize> = (0..rows)
        .map(|_| loop {
            let t = p.sample(&mut rng);
            let ok = *reachable.entry(t).or_insert_with(|| {
                loads
                    .iter()
                    .any(|&l| p.deadhead_miles(t, l) <= radius_miles)
            });
            if ok {
                break t;
            }
        })
        .collect();
    // Trucks share places, so compute each distinct truck place's row once.
    let mut cache: std::collections::HashMap<usize, (Vec<u32>, Vec<f64>)> = Default::default();
    let mut indptr = vec![0usize];
    let mut indices = Vec::new();
    let mut costs = Vec::new();
    for &t in &trucks {
        let (idx, c) = cache.entry(t).or_insert_with(|| {
            let mut idx = vec![];
            let mut c = vec![];
            for (j, &l) in loads.iter().enumerate() {
                let d = p.deadhead_miles(t, l);
                if d <= radius_miles {
                    idx.push(j as u32);
                    c.push(d);
                }
            }
            (idx, c)
        });
        indices.extend_from_slice(idx);
        costs.extend_from_slice(c);
        indptr.push(indices.len());
    }
    SparseCost::new(rows, cols, indptr, indices, costs).unwrap()
}

fn write(dir: &Path, name: &str, bytes: Vec<u8>) {
    let path: PathBuf = dir.join(format!("{name}.lra"));
    std::fs::write(&path, bytes).expect("write instance");
    eprintln!("wrote {}", path.display());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!(
            "usage: gen_instances OUT_DIR PLACES_CSV [bench|small] [--sizes a,b,c] [--no-sparse]"
        );
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[1]);
    std::fs::create_dir_all(&out).expect("create out dir");
    let places = Places::load(Path::new(&args[2]));
    let mode = args.get(3).map(String::as_str).unwrap_or("bench");
    let mut sizes = vec![500usize, 1000, 2000, 5000];
    if let Some(k) = args.iter().position(|a| a == "--sizes") {
        sizes = args[k + 1]
            .split(',')
            .map(|s| s.parse().expect("size"))
            .collect();
    }
    let sparse = !args.iter().any(|a| a == "--no-sparse");
    match mode {
        "bench" => {
            for &n in &sizes {
                write(
                    &out,
                    &format!("dense_uniform_{n}"),
                    encode_dense(&dense_uniform(n, n, 1000 + n as u64)),
                );
                write(
                    &out,
                    &format!("dense_geo_{n}"),
                    encode_dense(&dense_geo(&places, n, n, 2000 + n as u64)),
                );
            }
            if sparse {
                let m = sparse_geo(&places, 20_000, 100_000, 250.0, 3);
                eprintln!("sparse_geo: nnz = {}", m.nnz());
                write(&out, "sparse_geo_20000x100000", encode_sparse(&m));
            }
        }
        "small" => {
            for (k, &(r, c)) in [(5, 5), (6, 9), (9, 6), (30, 30), (25, 60), (60, 25)]
                .iter()
                .enumerate()
            {
                write(
                    &out,
                    &format!("dense_uniform_{r}x{c}"),
                    encode_dense(&dense_uniform(r, c, 10 + k as u64)),
                );
                write(
                    &out,
                    &format!("dense_geo_{r}x{c}"),
                    encode_dense(&dense_geo(&places, r, c, 20 + k as u64)),
                );
            }
            // Forbidden pairs, still feasible for SciPy (every truck can reach a load).
            let m = sparse_geo(&places, 40, 200, 600.0, 31);
            write(&out, "sparse_geo_40x200", encode_sparse(&m));
            let m = sparse_geo(&places, 300, 1500, 400.0, 32);
            write(&out, "sparse_geo_300x1500", encode_sparse(&m));
        }
        other => panic!("unknown mode {other}"),
    }
}
