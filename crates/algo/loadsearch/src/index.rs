//! The index: a 0.5° latitude/longitude grid of origin cells, each a column store of its
//! loads, plus an id map for events.

use std::collections::BinaryHeap;

use crate::cell::{Cell, CHUNK};
use crate::circle::{cos_lat, road_miles_from_hav};
use crate::idmap::{idmap_bytes, IdMap, Key, Loc};
use crate::load::{validate, IndexError, IndexedLoad};
use crate::query::{
    compile, sort_key, Compiled, CompiledDest, Hit, SearchError, SearchPage, SearchQuery, SortBy,
};

const CELL_DEG: f64 = 0.5;
const ROWS: usize = 360;
const COLS: usize = 720;
const NO_CELL: u32 = u32::MAX;

fn row_of(lat: f64) -> usize {
    (((lat + 90.0) / CELL_DEG).floor().max(0.0) as usize).min(ROWS - 1)
}

fn col_of(lon: f64) -> usize {
    (((lon + 180.0) / CELL_DEG).floor().max(0.0) as usize).min(COLS - 1)
}

/// In-memory search index over active loads. Not internally synchronised: the owner
/// wraps it (e.g. `RwLock`) and applies load events in order.
#[derive(Debug, Clone)]
pub struct LoadIndex {
    /// `ROWS * COLS` entries: index into `cells`, or `NO_CELL`.
    grid: Vec<u32>,
    cells: Vec<Cell>,
    /// (row, col) of each entry of `cells`.
    cell_rc: Vec<(u16, u16)>,
    ids: IdMap,
}

impl std::fmt::Debug for crate::idmap::IdHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdHasher")
    }
}

impl Default for LoadIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// Byte counts of the index's structures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Column stores (capacity).
    pub columns: usize,
    /// Grid directory and cell headers.
    pub grid: usize,
    /// Id → location map.
    pub id_map: usize,
    pub loads: usize,
}

impl MemoryUsage {
    pub fn total(&self) -> usize {
        self.columns + self.grid + self.id_map
    }

    pub fn bytes_per_load(&self) -> f64 {
        self.total() as f64 / self.loads.max(1) as f64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    key: u64,
    id: u128,
    cell: u32,
    row: u32,
}

impl LoadIndex {
    pub fn new() -> Self {
        LoadIndex {
            grid: vec![NO_CELL; ROWS * COLS],
            cells: Vec::new(),
            cell_rc: Vec::new(),
            ids: IdMap::default(),
        }
    }

    /// Builds the index from a snapshot of the store (start-up). Rejects invalid loads
    /// and duplicate ids.
    pub fn bulk_build(loads: Vec<IndexedLoad>) -> Result<LoadIndex, IndexError> {
        let mut index = LoadIndex::new();
        let mut counts = vec![0u32; ROWS * COLS];
        for l in &loads {
            validate(l)?;
            counts[row_of(l.origin.lat) * COLS + col_of(l.origin.lon)] += 1;
        }
        for (g, &n) in counts.iter().enumerate() {
            if n > 0 {
                index.grid[g] = index.cells.len() as u32;
                index.cells.push(Cell::with_capacity(n as usize));
                index.cell_rc.push(((g / COLS) as u16, (g % COLS) as u16));
            }
        }
        for l in &loads {
            let cell = index.grid[row_of(l.origin.lat) * COLS + col_of(l.origin.lon)];
            index.cells[cell as usize].push(l);
        }
        index.ids.reserve(loads.len());
        for (cell_idx, cell) in index.cells.iter_mut().enumerate() {
            cell.cluster();
            for (row, &id) in cell.ids.iter().enumerate() {
                let loc = Loc {
                    cell: cell_idx as u32,
                    row: row as u32,
                };
                if index.ids.insert(Key::new(id), loc).is_some() {
                    return Err(IndexError::Duplicate(id));
                }
            }
        }
        Ok(index)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn contains(&self, id: u128) -> bool {
        self.ids.contains_key(&Key::new(id))
    }

    pub fn get(&self, id: u128) -> Option<IndexedLoad> {
        let loc = self.ids.get(&Key::new(id))?;
        Some(self.cells[loc.cell as usize].get(loc.row as usize))
    }

    fn cell_for(&mut self, l: &IndexedLoad) -> u32 {
        let g = row_of(l.origin.lat) * COLS + col_of(l.origin.lon);
        if self.grid[g] == NO_CELL {
            self.grid[g] = self.cells.len() as u32;
            self.cells.push(Cell::default());
            self.cell_rc.push(((g / COLS) as u16, (g % COLS) as u16));
        }
        self.grid[g]
    }

    /// Adds a newly posted load.
    pub fn insert(&mut self, load: IndexedLoad) -> Result<(), IndexError> {
        validate(&load)?;
        if self.contains(load.id) {
            return Err(IndexError::Duplicate(load.id));
        }
        let cell = self.cell_for(&load);
        let row = self.cells[cell as usize].push(&load);
        self.ids.insert(Key::new(load.id), Loc { cell, row });
        self.recluster_if_loose(cell);
        Ok(())
    }

    /// Re-clusters a cell whose zones have grown loose and re-points the id map at the
    /// rows' new places. Amortised `O(log n)` per change.
    fn recluster_if_loose(&mut self, cell_idx: u32) {
        let cell = &mut self.cells[cell_idx as usize];
        if !cell.needs_clustering() {
            return;
        }
        cell.cluster();
        for (row, &id) in cell.ids.iter().enumerate() {
            if let Some(loc) = self.ids.get_mut(&Key::new(id)) {
                loc.row = row as u32;
            }
        }
    }

    /// Replaces an indexed load (edited posting).
    pub fn update(&mut self, load: IndexedLoad) -> Result<(), IndexError> {
        validate(&load)?;
        let Some(&loc) = self.ids.get(&Key::new(load.id)) else {
            return Err(IndexError::NotFound(load.id));
        };
        let target = self.grid[row_of(load.origin.lat) * COLS + col_of(load.origin.lon)];
        if target == loc.cell {
            self.cells[loc.cell as usize].set(loc.row as usize, &load);
            self.recluster_if_loose(loc.cell);
            return Ok(());
        }
        self.remove(load.id);
        self.insert(load)
    }

    /// Inserts or replaces: what an idempotent event consumer calls.
    pub fn upsert(&mut self, load: IndexedLoad) -> Result<(), IndexError> {
        if self.contains(load.id) {
            self.update(load)
        } else {
            self.insert(load)
        }
    }

    /// Removes a load (booked, cancelled, expired); returns what was indexed.
    pub fn remove(&mut self, id: u128) -> Option<IndexedLoad> {
        let loc = self.ids.remove(&Key::new(id))?;
        let cell = &mut self.cells[loc.cell as usize];
        let removed = cell.get(loc.row as usize);
        if let Some(moved) = cell.swap_remove(loc.row as usize) {
            if let Some(l) = self.ids.get_mut(&Key::new(moved)) {
                l.row = loc.row;
            }
        }
        self.recluster_if_loose(loc.cell);
        Some(removed)
    }

    /// Bytes held by the index's own structures.
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            columns: self.cells.iter().map(Cell::heap_bytes).sum(),
            grid: self.grid.capacity() * 4
                + self.cells.capacity() * std::mem::size_of::<Cell>()
                + self.cell_rc.capacity() * 4,
            id_map: idmap_bytes(&self.ids),
            loads: self.len(),
        }
    }

    /// Runs a search.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
        let c = compile(q)?;
        let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(c.limit + 1);
        let mut total = 0usize;
        let mut after_cursor = 0usize;
        self.for_each_cell(&c, |cell_idx, fully_inside| {
            let (t, a) = self.scan(&c, cell_idx, fully_inside, &mut heap);
            total += t;
            after_cursor += a;
        });
        let mut ranked = heap.into_vec();
        ranked.sort_unstable();
        let hits: Vec<Hit> = ranked
            .iter()
            .map(|r| {
                let cell = &self.cells[r.cell as usize];
                let i = r.row as usize;
                let h = c.origin.hav_unit(cell.ox[i], cell.oy[i], cell.oz[i]);
                Hit {
                    id: cell.ids[i],
                    deadhead_miles: road_miles_from_hav(h),
                    loaded_miles: cell.miles[i],
                    rate_cents: cell.rate_cents[i],
                    rate_per_mile_cents: cell.rpm[i],
                    pickup_start: cell.start[i],
                    posted_at: cell.posted[i],
                }
            })
            .collect();
        let next_cursor = (after_cursor > hits.len())
            .then(|| ranked.last().map(|r| c.cursor(r.key, r.id)))
            .flatten();
        Ok(SearchPage {
            hits,
            total_matches: total,
            next_cursor,
        })
    }

    /// Calls `f(cell, fully_inside)` for every non-empty cell the origin circle may touch.
    fn for_each_cell(&self, c: &Compiled, mut f: impl FnMut(u32, bool)) {
        let center = c.origin.center;
        let span = c.origin.lat_span_deg();
        let (lo, hi) = (
            (center.lat - span).max(-90.0),
            (center.lat + span).min(90.0),
        );
        let max_abs = lo.abs().max(hi.abs());
        // Every point within the circle and the band |lat| <= max_abs differs in longitude
        // by at most dlon, since hav(d) >= cos²(max_abs)·hav(Δλ).
        let s = (span.to_radians() / 2.0).sin() / max_abs.to_radians().cos();
        let all_cols = s.is_nan() || s >= 1.0 || max_abs >= 89.9;
        let cols: (isize, isize) = if all_cols {
            (0, COLS as isize - 1)
        } else {
            let dlon = (2.0 * s.asin()).to_degrees() + 1e-9;
            let a = ((center.lon - dlon + 180.0) / CELL_DEG).floor() as isize;
            let b = ((center.lon + dlon + 180.0) / CELL_DEG).floor() as isize;
            if b - a + 1 >= COLS as isize {
                (0, COLS as isize - 1)
            } else {
                (a, b)
            }
        };
        // Cells whose four corners are inside are inside (a parallel's distance from a
        // point grows with |Δλ|; a short meridian arc far from the antipode has no
        // interior maximum), for radii well under a quarter of the Earth.
        let corner_test = span < 30.0;
        let threshold = c.origin.hav_max() * (1.0 - 1e-9);
        for row in row_of(lo)..=row_of(hi) {
            for col in cols.0..=cols.1 {
                let col = col.rem_euclid(COLS as isize) as usize;
                let cell = self.grid[row * COLS + col];
                if cell == NO_CELL {
                    continue;
                }
                let inside = corner_test && {
                    let lat0 = row as f64 * CELL_DEG - 90.0;
                    let lon0 = col as f64 * CELL_DEG - 180.0;
                    [
                        (lat0, lon0),
                        (lat0, lon0 + CELL_DEG),
                        (lat0 + CELL_DEG, lon0),
                        (lat0 + CELL_DEG, lon0 + CELL_DEG),
                    ]
                    .iter()
                    .all(|&(la, lo)| c.origin.hav(la, lo, cos_lat(la)) <= threshold)
                };
                f(cell, inside);
            }
        }
    }

    /// Scans one cell; returns (matches, matches after the cursor).
    fn scan(
        &self,
        c: &Compiled,
        cell_idx: u32,
        inside: bool,
        heap: &mut BinaryHeap<Ranked>,
    ) -> (usize, usize) {
        let cell = &self.cells[cell_idx as usize];
        // Slightly wider than the circle so that the band never decides a boundary case.
        let dest_lat_span = match &c.dest {
            CompiledDest::Radius(circle) => circle.lat_span_deg() * (1.0 + 1e-9) + 1e-9,
            _ => 0.0,
        };
        let (mut total, mut after) = (0, 0);
        let mut rows = Vec::with_capacity(CHUNK);
        for (k, zone) in cell.zones.iter().enumerate() {
            if !c.may_pass(zone) {
                continue;
            }
            let base = k * CHUNK;
            if inside {
                prefilter::<false>(c, cell, base, &mut rows);
            } else {
                prefilter::<true>(c, cell, base, &mut rows);
            }
            for &i in &rows {
                let i = i as usize;
                let (t, a) = consider(c, cell, cell_idx, i, dest_lat_span, heap);
                total += t;
                after += a;
            }
        }
        (total, after)
    }
}

/// Applies the destination and cursor tests to row `i`, which passed the prefilter
/// (origin radius included), and offers it to the page; returns (matched, matched after
/// the cursor) as 0 or 1 each.
#[inline(always)]
fn consider(
    c: &Compiled,
    cell: &Cell,
    cell_idx: u32,
    i: usize,
    dest_lat_span: f64,
    heap: &mut BinaryHeap<Ranked>,
) -> (usize, usize) {
    let dest_ok = match &c.dest {
        CompiledDest::Anywhere => true,
        CompiledDest::Radius(circle) => {
            let (la, lo) = (cell.dlat[i], cell.dlon[i]);
            // Latitude band first: no trigonometry for most rows.
            (la - circle.center.lat).abs() <= dest_lat_span
                && circle.hav(la, lo, cos_lat(la)) <= circle.hav_max()
        }
        CompiledDest::States(bits) => bits >> cell.dstate[i] & 1 == 1,
        CompiledDest::Markets(bits) => CompiledDest::market_ok(bits, cell.dmarket[i]),
    };
    if !dest_ok {
        return (0, 0);
    }
    let h = if c.sort == SortBy::Deadhead {
        c.origin.hav_unit(cell.ox[i], cell.oy[i], cell.oz[i])
    } else {
        0.0
    };
    let key = sort_key(c.sort, cell.posted[i], cell.rpm[i], h, cell.start[i]);
    let id = cell.ids[i];
    if let Some(a) = c.after {
        if (key, id) <= a {
            return (1, 0);
        }
    }
    let r = Ranked {
        key,
        id,
        cell: cell_idx,
        row: i as u32,
    };
    if heap.len() < c.limit {
        heap.push(r);
    } else if let Some(mut top) = heap.peek_mut() {
        if r < *top {
            *top = r;
        }
    }
    (1, 1)
}

/// Puts in `rows` the rows of `cell` in `base..base + CHUNK` that pass the
/// cheap column filters (equipment, pickup window, rate per mile, weight, full/partial)
/// and, when `RADIUS` (a cell not wholly inside the origin circle), the origin radius.
/// The tests are combined without branching and each row's index is written
/// unconditionally, the count advancing only when it passes: with filters that keep
/// around half the rows, a branch per test would be mispredicted about as often as not,
/// which is where a row-at-a-time scan spends its time. The radius test is a squared
/// chord between unit vectors (three multiplications), cheap enough to run on every row.
#[inline(always)]
fn prefilter<const RADIUS: bool>(c: &Compiled, cell: &Cell, base: usize, rows: &mut Vec<u32>) {
    let end = (base + CHUNK).min(cell.len());
    let n = end - base;
    rows.clear();
    rows.resize(n, 0);
    let (equip, start, stop) = (
        &cell.equip[base..end],
        &cell.start[base..end],
        &cell.end[base..end],
    );
    let (rpm, weight, full) = (
        &cell.rpm[base..end],
        &cell.weight[base..end],
        &cell.full[base..end],
    );
    let (ox, oy, oz) = (
        &cell.ox[base..end],
        &cell.oy[base..end],
        &cell.oz[base..end],
    );
    let hav_max = c.origin.hav_max();
    let mut kept = 0;
    for j in 0..n {
        let mut ok = (equip[j] & c.equipment != 0)
            & (start[j] <= c.to)
            & (stop[j] >= c.from)
            & (rpm[j] >= c.min_rpm)
            & (weight[j] <= c.max_weight)
            & ((c.size_mask >> full[j]) & 1 != 0);
        if RADIUS {
            ok &= c.origin.hav_unit(ox[j], oy[j], oz[j]) <= hav_max;
        }
        rows[kept] = (base + j) as u32;
        kept += usize::from(ok);
    }
    rows.truncate(kept);
}
