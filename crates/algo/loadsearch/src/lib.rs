//! Load-board search: an in-memory index over active loads answering "loads picking up
//! within R miles of here, going there, for my truck, in these dates, paying at least
//! this much", sorted and cursor-paginated. Pure: the load service feeds it from its
//! events and rebuilds it from its store at start-up; the store stays the source of
//! truth.
//!
//! # Design
//!
//! * **Origin grid.** The globe is cut into 0.5° × 0.5° latitude/longitude cells
//!   (≈35 × 26 miles at 40°N); each load lives in the cell of its pickup. A search visits
//!   only the cells that can intersect its origin circle (a latitude band and a longitude
//!   range derived from `hav(d) >= cos²(φmax)·hav(Δλ)`, wrapping at the antimeridian).
//! * **Column store per cell.** Each cell keeps its loads as parallel vectors (ids,
//!   origin unit vectors, pickup window, rate per mile, weight, equipment bits,
//!   destination state/market...), so the filter loop reads a few dense arrays.
//! * **Zone maps.** A cell's rows are clustered by pickup start and cut into chunks of 256
//!   rows, each with bounds on its pickup window, rate, weight, equipment and sizes; a
//!   search skips every chunk none of whose rows can pass, so a search with a pickup
//!   range reads only the chunks around it. Changes only widen a zone; a cell is
//!   re-clustered (zones recomputed tight) after as many changes as it has rows.
//! * **Branch-free prefilter.** Within a chunk the column tests, and the origin radius
//!   for cells not wholly inside the circle, are combined without branches. The radius
//!   test is the squared chord between unit vectors (`hav θ = |a − b|² / 4`): three
//!   multiplications, no trigonometry. Cells whose four corners are inside skip it.
//!   Deadhead miles are computed for the returned page only (and for every match when
//!   sorting by deadhead).
//! * **Top-k + cursor.** Every sort is mapped to an order-preserving `u64` key; ties go to
//!   the id. A bounded max-heap keeps the best `limit` rows after the cursor's
//!   `(key, id)`, so pages never repeat or skip a load whose key did not change.
//! * **Events.** An id → (cell, row) map makes insert, update and remove O(1)
//!   (`swap_remove` in the cell's columns).
//!
//! Distances: radii and deadhead are road-mile estimates (great-circle ×
//! `lanerunner_geo::ROAD_CIRCUITY_FACTOR`), the same unit as `loaded_miles`.

mod brute;
mod cell;
mod circle;
mod idmap;
mod index;
mod load;
mod query;
pub mod synth;

pub use brute::brute_force_search;
pub use circle::{air_miles, Circle};
pub use index::{LoadIndex, MemoryUsage};
pub use load::{equipment, IndexError, IndexedLoad};
pub use query::{
    Cursor, DestFilter, Hit, LoadSize, SearchError, SearchPage, SearchQuery, SortBy, MAX_LIMIT,
};
