//! The reference implementation: filter every load, sort everything, cut the page. Used
//! by the property tests and the benchmark's cross-checks.

use crate::circle::road_miles_from_hav;
use crate::load::IndexedLoad;
use crate::query::{compile, matches, sort_key, Hit, SearchError, SearchPage, SearchQuery};

/// Same contract as [`crate::LoadIndex::search`], in `O(n log n)` per query.
pub fn brute_force_search(
    loads: &[IndexedLoad],
    q: &SearchQuery,
) -> Result<SearchPage, SearchError> {
    let c = compile(q)?;
    let mut all: Vec<(u64, u128, f64, &IndexedLoad)> = loads
        .iter()
        .filter_map(|l| {
            let h = matches(&c, l)?;
            let key = sort_key(
                c.sort,
                l.posted_at,
                l.rate_per_mile_cents(),
                h,
                l.pickup_start,
            );
            Some((key, l.id, h, l))
        })
        .collect();
    let total_matches = all.len();
    all.sort_unstable_by_key(|a| (a.0, a.1));
    if let Some(after) = c.after {
        all.retain(|&(k, id, _, _)| (k, id) > after);
    }
    let more = all.len() > c.limit;
    all.truncate(c.limit);
    let hits = all
        .iter()
        .map(|&(_, _, h, l)| Hit {
            id: l.id,
            deadhead_miles: road_miles_from_hav(h),
            loaded_miles: l.loaded_miles,
            rate_cents: l.rate_cents,
            rate_per_mile_cents: l.rate_per_mile_cents(),
            pickup_start: l.pickup_start,
            posted_at: l.posted_at,
        })
        .collect();
    let next_cursor = more
        .then(|| all.last().map(|&(k, id, _, _)| c.cursor(k, id)))
        .flatten();
    Ok(SearchPage {
        hits,
        total_matches,
        next_cursor,
    })
}
