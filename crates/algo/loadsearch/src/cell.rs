//! One grid cell's loads, stored column by column so that a scan touches only the bytes
//! each filter needs.

use lanerunner_geo::LatLon;

use crate::circle::cos_lat;
use crate::load::{region_code_of, region_index, IndexedLoad};

#[derive(Debug, Default, Clone)]
pub(crate) struct Cell {
    pub ids: Vec<u128>,
    pub olat: Vec<f64>,
    pub olon: Vec<f64>,
    /// `cos(origin latitude)`, precomputed for the haversine.
    pub ocos: Vec<f64>,
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
            let $c = &mut $self.ocos;
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
        self.ids.push(l.id);
        self.olat.push(l.origin.lat);
        self.olon.push(l.origin.lon);
        self.ocos.push(cos_lat(l.origin.lat));
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
        self.push(l);
        let last = self.len() - 1;
        each_column!(self, col => col.swap(i, last));
        each_column!(self, col => { col.pop(); });
    }

    /// Removes row `i` by moving the last row into it; returns the id now at row `i`
    /// (if a row moved).
    pub fn swap_remove(&mut self, i: usize) -> Option<u128> {
        each_column!(self, col => { col.swap_remove(i); });
        self.ids.get(i).copied()
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
            + b(&self.ocos)
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
    }
}
