//! Search requests, results and cursors.

use lanerunner_geo::LatLon;

use crate::circle::Circle;
use crate::load::{region_index, IndexedLoad};

/// Largest page a search returns.
pub const MAX_LIMIT: usize = 500;

/// Where the load may deliver.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DestFilter {
    #[default]
    Anywhere,
    /// Within a radius (deadhead road miles) of a point.
    Radius { point: LatLon, radius_miles: f64 },
    /// In one of these states/provinces (`*b"TX"`).
    States(Vec<[u8; 2]>),
    /// In one of these markets (`lanerunner_geo::MarketId` values).
    Markets(Vec<u16>),
}

/// Full truckloads, partials, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadSize {
    #[default]
    Any,
    Full,
    Partial,
}

/// Result order; ties broken by load id ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Newest posting first.
    #[default]
    Age,
    /// Highest all-in rate per mile first.
    RatePerMile,
    /// Shortest deadhead to the origin first.
    Deadhead,
    /// Earliest pickup first.
    PickupDate,
}

impl SortBy {
    fn tag(self) -> char {
        match self {
            SortBy::Age => 'a',
            SortBy::RatePerMile => 'r',
            SortBy::Deadhead => 'd',
            SortBy::PickupDate => 'p',
        }
    }
}

/// A search. Only `origin_point` and `origin_radius_miles` are required; every other
/// filter defaults to "any".
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub origin_point: LatLon,
    /// Maximum deadhead to the pickup, in road miles (great-circle × 1.2).
    pub origin_radius_miles: f64,
    pub dest: DestFilter,
    /// Equipment bits the truck offers; `0` = any.
    pub equipment: u16,
    /// Pickup window must overlap `[pickup_from, pickup_to]` (unix seconds).
    pub pickup_from: Option<i64>,
    pub pickup_to: Option<i64>,
    pub min_rate_per_mile_cents: Option<f32>,
    /// The truck's capacity: loads heavier than this are excluded.
    pub max_weight_lbs: Option<u32>,
    pub load_size: LoadSize,
    pub sort: SortBy,
    /// Page size, 1..=[`MAX_LIMIT`].
    pub limit: usize,
    /// Continue after this cursor (from the previous page with the same sort).
    pub after: Option<Cursor>,
}

impl SearchQuery {
    /// A query with only the origin circle set, newest first, 50 per page.
    pub fn near(origin_point: LatLon, origin_radius_miles: f64) -> Self {
        SearchQuery {
            origin_point,
            origin_radius_miles,
            dest: DestFilter::Anywhere,
            equipment: 0,
            pickup_from: None,
            pickup_to: None,
            min_rate_per_mile_cents: None,
            max_weight_lbs: None,
            load_size: LoadSize::Any,
            sort: SortBy::Age,
            limit: 50,
            after: None,
        }
    }
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub id: u128,
    /// Road miles from the search point to the pickup (great-circle × 1.2).
    pub deadhead_miles: f64,
    pub loaded_miles: f32,
    pub rate_cents: i64,
    pub rate_per_mile_cents: f32,
    pub pickup_start: i64,
    pub posted_at: i64,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub hits: Vec<Hit>,
    /// Loads matching the filters (all pages).
    pub total_matches: usize,
    /// Present when more hits follow this page.
    pub next_cursor: Option<Cursor>,
}

/// Position in a result order: the sort, the last hit's sort key and its id, and a check
/// over those and the search's filters. Opaque to clients; stable under concurrent inserts
/// and removes (a page never repeats or skips a load whose sort key did not change).
///
/// The check makes a cursor work only for the search that issued it: one sent with other
/// filters, or edited, is refused rather than silently starting somewhere else. It is a
/// checksum (FNV-1a), not a signature: whoever computes it can place a cursor anywhere in
/// the order, which exposes nothing (the same search without a cursor lists every page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) sort: SortBy,
    pub(crate) key: u64,
    pub(crate) id: u128,
    pub(crate) check: u32,
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{:016x}{:032x}{:08x}",
            self.sort.tag(),
            self.key,
            self.id,
            self.check
        )
    }
}

impl std::str::FromStr for Cursor {
    type Err = SearchError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SearchError::BadCursor(s.to_string());
        if s.len() != 57 || !s.is_ascii() {
            return Err(bad());
        }
        let sort = match &s[..1] {
            "a" => SortBy::Age,
            "r" => SortBy::RatePerMile,
            "d" => SortBy::Deadhead,
            "p" => SortBy::PickupDate,
            _ => return Err(bad()),
        };
        let key = u64::from_str_radix(&s[1..17], 16).map_err(|_| bad())?;
        let id = u128::from_str_radix(&s[17..49], 16).map_err(|_| bad())?;
        let check = u32::from_str_radix(&s[49..], 16).map_err(|_| bad())?;
        Ok(Cursor {
            sort,
            key,
            id,
            check,
        })
    }
}

/// Why a search was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("invalid search: {0}")]
    Invalid(String),
    #[error("malformed cursor `{0}`")]
    BadCursor(String),
    #[error("the cursor belongs to another sort order")]
    CursorSortMismatch,
    #[error("the cursor belongs to another search, or was altered: send the same filters as the page that gave it")]
    CursorMismatch,
}

/// A validated query with everything precomputed for the scan.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub origin: Circle,
    pub dest: CompiledDest,
    pub equipment: u16,
    pub from: i64,
    pub to: i64,
    pub min_rpm: f32,
    pub max_weight: u32,
    /// Accepts `full as u8` values: bit 0 = partial, bit 1 = full.
    pub size_mask: u8,
    pub sort: SortBy,
    pub limit: usize,
    /// Strict lower bound on `(key, id)`.
    pub after: Option<(u64, u128)>,
    /// FNV-1a state over the filters and sort, extended by a position for its cursor check.
    pub filters_hash: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum CompiledDest {
    Anywhere,
    Radius(Circle),
    /// Bit `i` set for region index `i`.
    States(u128),
    /// Bitset over market ids.
    Markets(Vec<u64>),
}

impl CompiledDest {
    #[inline]
    pub fn market_ok(bits: &[u64], m: u16) -> bool {
        bits.get(m as usize / 64)
            .is_some_and(|w| w >> (m % 64) & 1 == 1)
    }
}

pub(crate) fn compile(q: &SearchQuery) -> Result<Compiled, SearchError> {
    let invalid = |m: &str| Err(SearchError::Invalid(m.to_string()));
    let Some(origin) = Circle::new(q.origin_point, q.origin_radius_miles) else {
        return invalid("origin point or radius out of range");
    };
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return invalid("limit must be between 1 and 500");
    }
    let dest = match &q.dest {
        DestFilter::Anywhere => CompiledDest::Anywhere,
        DestFilter::Radius {
            point,
            radius_miles,
        } => match Circle::new(*point, *radius_miles) {
            Some(c) => CompiledDest::Radius(c),
            None => return invalid("destination point or radius out of range"),
        },
        DestFilter::States(states) => {
            let mut bits = 0u128;
            for s in states {
                match region_index(*s) {
                    Some(i) => bits |= 1 << i,
                    None => return invalid("unknown destination state"),
                }
            }
            CompiledDest::States(bits)
        }
        DestFilter::Markets(ms) => {
            let words = ms.iter().map(|&m| m as usize / 64 + 1).max().unwrap_or(0);
            let mut bits = vec![0u64; words];
            for &m in ms {
                bits[m as usize / 64] |= 1 << (m % 64);
            }
            CompiledDest::Markets(bits)
        }
    };
    if let Some(r) = q.min_rate_per_mile_cents {
        if r.is_nan() {
            return invalid("minimum rate per mile is NaN");
        }
    }
    let filters_hash = filters_hash(q);
    let after = match q.after {
        Some(c) if c.sort != q.sort => return Err(SearchError::CursorSortMismatch),
        Some(c) if c.check != cursor_check(filters_hash, c.key, c.id) => {
            return Err(SearchError::CursorMismatch)
        }
        Some(c) => Some((c.key, c.id)),
        None => None,
    };
    Ok(Compiled {
        origin,
        dest,
        equipment: if q.equipment == 0 {
            u16::MAX
        } else {
            q.equipment
        },
        from: q.pickup_from.unwrap_or(i64::MIN),
        to: q.pickup_to.unwrap_or(i64::MAX),
        min_rpm: q.min_rate_per_mile_cents.unwrap_or(f32::NEG_INFINITY),
        max_weight: q.max_weight_lbs.unwrap_or(u32::MAX),
        size_mask: match q.load_size {
            LoadSize::Any => 0b11,
            LoadSize::Full => 0b10,
            LoadSize::Partial => 0b01,
        },
        sort: q.sort,
        limit: q.limit,
        after,
        filters_hash,
    })
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
    }
    h
}

/// FNV-1a over every filter and the sort, in a fixed byte layout (not `std`'s hasher,
/// whose output may change between compiler versions: instances of two builds serve one
/// deployment during a rolling deploy). The page size is left out: a client may change it
/// between pages.
fn filters_hash(q: &SearchQuery) -> u64 {
    let mut h = FNV_OFFSET;
    let mut put = |bytes: &[u8]| h = fnv(h, bytes);
    put(&q.origin_point.lat.to_bits().to_le_bytes());
    put(&q.origin_point.lon.to_bits().to_le_bytes());
    put(&q.origin_radius_miles.to_bits().to_le_bytes());
    match &q.dest {
        DestFilter::Anywhere => put(b"A"),
        DestFilter::Radius {
            point,
            radius_miles,
        } => {
            put(b"R");
            put(&point.lat.to_bits().to_le_bytes());
            put(&point.lon.to_bits().to_le_bytes());
            put(&radius_miles.to_bits().to_le_bytes());
        }
        DestFilter::States(states) => {
            put(b"S");
            put(&(states.len() as u64).to_le_bytes());
            for s in states {
                put(s);
            }
        }
        DestFilter::Markets(markets) => {
            put(b"M");
            put(&(markets.len() as u64).to_le_bytes());
            for m in markets {
                put(&m.to_le_bytes());
            }
        }
    }
    put(&q.equipment.to_le_bytes());
    for t in [q.pickup_from, q.pickup_to] {
        match t {
            Some(t) => {
                put(b"1");
                put(&t.to_le_bytes());
            }
            None => put(b"0"),
        }
    }
    match q.min_rate_per_mile_cents {
        Some(r) => {
            put(b"1");
            put(&r.to_bits().to_le_bytes());
        }
        None => put(b"0"),
    }
    match q.max_weight_lbs {
        Some(w) => {
            put(b"1");
            put(&w.to_le_bytes());
        }
        None => put(b"0"),
    }
    put(&[q.load_size as u8, q.sort.tag() as u8]);
    h
}

/// The check a cursor at `(key, id)` carries for a search whose filters hash to `filters`.
fn cursor_check(filters: u64, key: u64, id: u128) -> u32 {
    let h = fnv(fnv(filters, &key.to_le_bytes()), &id.to_le_bytes());
    (h ^ (h >> 32)) as u32
}

/// Order-preserving maps to `u64` so that every sort is "ascending `(key, id)`".
#[inline]
pub(crate) fn i64_asc(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

#[inline]
pub(crate) fn f64_asc(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

#[inline]
pub(crate) fn f32_asc(x: f32) -> u64 {
    let b = x.to_bits();
    u64::from(if b >> 31 == 1 { !b } else { b | (1 << 31) })
}

/// The sort key of a matching load; `hav` is its origin haversine term.
#[inline]
pub(crate) fn sort_key(sort: SortBy, posted_at: i64, rpm: f32, hav: f64, pickup: i64) -> u64 {
    match sort {
        SortBy::Age => !i64_asc(posted_at),
        SortBy::RatePerMile => !f32_asc(rpm),
        SortBy::Deadhead => f64_asc(hav),
        SortBy::PickupDate => i64_asc(pickup),
    }
}

impl Compiled {
    /// Whether any row of a chunk with this zone can pass the column filters.
    #[inline]
    pub(crate) fn may_pass(&self, z: &crate::cell::Zone) -> bool {
        (z.equip & self.equipment != 0)
            & (z.min_start <= self.to)
            & (z.max_end >= self.from)
            & (z.max_rpm >= self.min_rpm)
            & (z.min_weight <= self.max_weight)
            & (z.sizes & self.size_mask != 0)
    }

    pub(crate) fn cursor(&self, key: u64, id: u128) -> Cursor {
        Cursor {
            sort: self.sort,
            key,
            id,
            check: cursor_check(self.filters_hash, key, id),
        }
    }
}

/// Reference semantics of one filter set against one load, used by the brute-force
/// search; the index applies the same tests column by column.
pub(crate) fn matches(c: &Compiled, l: &IndexedLoad) -> Option<f64> {
    if l.equipment & c.equipment == 0
        || l.pickup_start > c.to
        || l.pickup_end < c.from
        || l.rate_per_mile_cents() < c.min_rpm
        || l.weight_lbs > c.max_weight
        || c.size_mask >> u8::from(l.full) & 1 == 0
    {
        return None;
    }
    let ok_dest = match &c.dest {
        CompiledDest::Anywhere => true,
        CompiledDest::Radius(circle) => circle.contains(l.dest),
        CompiledDest::States(bits) => {
            let i = region_index(l.dest_state).expect("validated");
            bits >> i & 1 == 1
        }
        CompiledDest::Markets(bits) => CompiledDest::market_ok(bits, l.dest_market),
    };
    if !ok_dest {
        return None;
    }
    let [x, y, z] = crate::circle::unit_vector(l.origin);
    let h = c.origin.hav_unit(x, y, z);
    (h <= c.origin.hav_max()).then_some(h)
}
