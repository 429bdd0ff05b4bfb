//! Load id → (cell, row), with a cheap hash: ids are UUIDs, already well mixed in their
//! random bits, and the map is probed on every event.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A `u128` stored as two `u64`s so that a map entry is 24 bytes, not 32 (`u128` is
/// 16-byte aligned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key(u64, u64);

impl Key {
    pub fn new(id: u128) -> Key {
        Key(id as u64, (id >> 64) as u64)
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0 ^ mix(self.1));
    }
}

#[inline]
fn mix(x: u64) -> u64 {
    let p = u128::from(x) * 0x9E37_79B9_7F4A_7C15u128;
    (p as u64) ^ ((p >> 64) as u64)
}

#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = mix(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = mix(self.0 ^ x);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Loc {
    pub cell: u32,
    pub row: u32,
}

pub(crate) type IdMap = HashMap<Key, Loc, BuildHasherDefault<IdHasher>>;

/// Heap bytes of a hashbrown table of this capacity: buckets (a power of two at 8/7 of
/// the capacity) of entry + one control byte each.
pub(crate) fn idmap_bytes(m: &IdMap) -> usize {
    if m.capacity() == 0 {
        return 0;
    }
    let buckets = (m.capacity() * 8 / 7).next_power_of_two();
    buckets * (std::mem::size_of::<(Key, Loc)>() + 1)
}
