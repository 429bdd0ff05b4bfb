//! One grid cell's loads, stored column by column so that a scan touches only the bytes
//! each filter needs, in chunks of [`CHUNK`] rows, each with a [`Zone`] that lets a search
//! skip the whole chunk.

use lanerunner_geo::LatLon;

use crate::circle::unit_vector;
use crate::load::{region_code_of, region_index, IndexedLoad};

#[derive(Debug, Default, Clone)]
pub(crate) struct Cell {
    pub ids: Vec<u128>,
    pub olat: Vec<f64>,
    pub olon: Vec<f64>,
    /// The origin as a unit vector (`circle::unit_vector`): radius tests and deadhead
    /// read these, `olat`/`olon` are kept only to give back what was indexed.
    pub ox: Vec<f64>,
    pub oy: Vec<f64>,
    pub oz: Vec<f64>,
    pub dlat: Vec<f64>,
    pub dlon: Vec<f64>,
    pub start: Vec<i64>,
    pub end: Vec<i64>,
    pub posted: Vec<i64>,
    pub rate_cents: Vec<i64>,
    pub rpm: Vec<f32>,
    pub miles: Vec<f32>,
    pub weight: Vec<u32>,
    pub equip: Vec<u16>,
    pub dmarket: Vec<u16>,
    /// Region indexes (see `lanerunner_geo::REGIONS`).
    pub ostate: Vec<u8>,
    pub dstate: Vec<u8>,
    pub full: Vec<u8>,
    /// One per [`CHUNK`] rows.
    pub zones: Vec<Zone>,
    /// Rows pushed, changed or removed since the cell was last clustered.
    changes: usize,
}

/// Rows per chunk: the unit of the zone maps and of the scan's branch-free prefilter.
pub(crate) const CHUNK: usize = 256;

/// Bounds on what the rows of one chunk hold, so that a search skips every chunk none of
/// whose rows can pass its column filters. Rows are clustered by pickup start, so a
/// search with a pickup range (most of them) reads only the chunks picking up around it.
/// A change only ever widens a zone (a removed row leaves it as wide as it was), which
/// keeps skipping correct; clustering again recomputes them tight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Zone {
    pub min_start: i64,
    pub max_end: i64,
    pub max_rpm: f32,
    pub min_weight: u32,
    /// Union of the rows' equipment bits.
    pub equip: u16,
    /// Bit `full as u8` set for every size present.
    pub sizes: u8,
}

impl Zone {
    const EMPTY: Zone = Zone {
        min_start: i64::MAX,
        max_end: i64::MIN,
        max_rpm: f32::NEG_INFINITY,
        min_weight: u32::MAX,
        equip: 0,
        sizes: 0,
    };

    fn widen(&mut self, cell: &Cell, i: usize) {
        self.min_start = self.min_start.min(cell.start[i]);
        self.max_end = self.max_end.max(cell.end[i]);
        self.max_rpm = self.max_rpm.max(cell.rpm[i]);
        self.min_weight = self.min_weight.min(cell.weight[i]);
        self.equip |= cell.equip[i];
        self.sizes |= 1 << cell.full[i];
    }
}

macro_rules! each_column {
    ($self:ident, $c:ident => $body:expr) => {{
        {
            let $c = &mut $self.ids;
            $body;
        }
        {
            let $c = &mut $self.olat;
            $body;
        }
        {
            let $c = &mut $self.olon;
            $body;
        }
        {
            let $c = &mut $self.ox;
            $body;
        }
        {
            let $c = &mut $self.oy;
            $body;
        }
        {
            let $c = &mut $self.oz;
            $body;
        }
        {
            let $c = &mut $self.dlat;
            $body;
        }
        {
            let $c = &mut $self.dlon;
            $body;
        }
        {
            let $c = &mut $self.start;
            $body;
        }
        {
            let $c = &mut $self.end;
            $body;
        }
        {
            let $c = &mut $self.posted;
            $body;
        }
        {
            let $c = &mut $self.rate_cents;
            $body;
        }
        {
            let $c = &mut $self.rpm;
            $body;
        }
        {
            let $c = &mut $self.miles;
            $body;
        }
        {
            let $c = &mut $self.weight;
            $body;
        }
        {
            let $c = &mut $self.equip;
            $body;
        }
        {
            let $c = &mut $self.dmarket;
            $body;
        }
        {
            let $c = &mut $self.ostate;
            $body;
        }
        {
            let $c = &mut $self.dstate;
            $body;
        }
        {
            let $c = &mut $self.full;
            $body;
        }
    }};
}

impl Cell {
    pub fn with_capacity(n: usize) -> Cell {
        let mut c = Cell::default();
        each_column!(c, col => col.reserve_exact(n));
        c
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Appends a validated load; returns its row.
    pub fn push(&mut self, l: &IndexedLoad) -> u32 {
        let row = self.push_row(l);
        self.widen_zone(row as usize);
        self.changes += 1;
        row
    }

    /// Widens the zone of row `i`'s chunk (adding the zone if the chunk is new).
    fn widen_zone(&mut self, i: usize) {
        let k = i / CHUNK;
        if self.zones.len() <= k {
            self.zones.resize(k + 1, Zone::EMPTY);
        }
        let mut z = self.zones[k];
        z.widen(self, i);
        self.zones[k] = z;
    }

    /// Drops the zones of chunks that no longer hold a row.
    fn trim_zones(&mut self) {
        self.zones.truncate(self.len().div_ceil(CHUNK));
    }

    /// Whether enough has changed since the cell was clustered that its zones have
    /// grown loose: then [`Cell::cluster`] is worth its `O(n log n)`.
    pub fn needs_clustering(&self) -> bool {
        self.changes > self.len().max(4 * CHUNK)
    }

    /// Sorts the rows by pickup start and recomputes every zone. Rows move: the caller
    /// re-points its id map (row `i` now holds `ids[i]`).
    pub fn cluster(&mut self) {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_by_key(|&i| (self.start[i as usize], self.end[i as usize]));
        each_column!(self, col => {
            let sorted = order.iter().map(|&i| col[i as usize]).collect();
            *col = sorted;
        });
        self.zones.clear();
        for i in 0..self.len() {
            self.widen_zone(i);
        }
        self.changes = 0;
    }

    fn push_row(&mut self, l: &IndexedLoad) -> u32 {
        self.ids.push(l.id);
        self.olat.push(l.origin.lat);
        self.olon.push(l.origin.lon);
        let [x, y, z] = unit_vector(l.origin);
        self.ox.push(x);
        self.oy.push(y);
        self.oz.push(z);
        self.dlat.push(l.dest.lat);
        self.dlon.push(l.dest.lon);
        self.start.push(l.pickup_start);
        self.end.push(l.pickup_end);
        self.posted.push(l.posted_at);
        self.rate_cents.push(l.rate_cents);
        self.rpm.push(l.rate_per_mile_cents());
        self.miles.push(l.loaded_miles);
        self.weight.push(l.weight_lbs);
        self.equip.push(l.equipment);
        self.dmarket.push(l.dest_market);
        self.ostate
            .push(region_index(l.origin_state).expect("validated"));
        self.dstate
            .push(region_index(l.dest_state).expect("validated"));
        self.full.push(u8::from(l.full));
        (self.ids.len() - 1) as u32
    }

    /// Overwrites row `i` with a load that stays in this cell.
    pub fn set(&mut self, i: usize, l: &IndexedLoad) {
        self.push_row(l);
        let last = self.len() - 1;
        each_column!(self, col => col.swap(i, last));
        each_column!(self, col => { col.pop(); });
        self.widen_zone(i);
        self.changes += 1;
    }

    /// Removes row `i` by moving the last row into it; returns the id now at row `i`
    /// (if a row moved).
    pub fn swap_remove(&mut self, i: usize) -> Option<u128> {
        each_column!(self, col => { col.swap_remove(i); });
        self.changes += 1;
        let moved = self.ids.get(i).copied();
        if moved.is_some() {
            self.widen_zone(i);
        }
        self.trim_zones();
        moved
    }

    pub fn get(&self, i: usize) -> IndexedLoad {
        IndexedLoad {
            id: self.ids[i],
            origin: LatLon::new(self.olat[i], self.olon[i]),
            dest: LatLon::new(self.dlat[i], self.dlon[i]),
            origin_state: region_code_of(self.ostate[i]),
            dest_state: region_code_of(self.dstate[i]),
            dest_market: self.dmarket[i],
            equipment: self.equip[i],
            pickup_start: self.start[i],
            pickup_end: self.end[i],
            rate_cents: self.rate_cents[i],
            loaded_miles: self.miles[i],
            weight_lbs: self.weight[i],
            full: self.full[i] == 1,
            posted_at: self.posted[i],
        }
    }

    /// Heap bytes held (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        fn b<T>(v: &Vec<T>) -> usize {
            v.capacity() * std::mem::size_of::<T>()
        }
        b(&self.ids)
            + b(&self.olat)
            + b(&self.olon)
            + b(&self.ox)
            + b(&self.oy)
            + b(&self.oz)
            + b(&self.dlat)
            + b(&self.dlon)
            + b(&self.start)
            + b(&self.end)
            + b(&self.posted)
            + b(&self.rate_cents)
            + b(&self.rpm)
            + b(&self.miles)
            + b(&self.weight)
            + b(&self.equip)
            + b(&self.dmarket)
            + b(&self.ostate)
            + b(&self.dstate)
            + b(&self.full)
            + b(&self.zones)
    }
}
