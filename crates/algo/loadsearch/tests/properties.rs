//! The index answers exactly what a brute-force filter + sort answers, page by page,
//! before and after inserts, updates and removes.

use lanerunner_geo::LatLon;
use lanerunner_loadsearch::{
    brute_force_search, Cursor, DestFilter, IndexedLoad, LoadIndex, LoadSize, SearchError,
    SearchQuery, SortBy,
};
use proptest::prelude::*;

const CENTERS: &[(f64, f64)] = &[
    (32.8, -96.8),
    (41.8, -87.6),
    (51.9, 179.6),
    (51.9, -179.7),
    (71.0, -156.0),
];
const STATES: &[[u8; 2]] = &[*b"TX", *b"IL", *b"AK", *b"ON", *b"OK"];

fn point() -> impl Strategy<Value = LatLon> {
    (0..CENTERS.len(), -2.5f64..2.5, -3.0f64..3.0).prop_map(|(c, dlat, dlon)| {
        let (lat, lon) = CENTERS[c];
        let mut lon = lon + dlon;
        if lon > 180.0 {
            lon -= 360.0;
        }
        if lon < -180.0 {
            lon += 360.0;
        }
        LatLon::new(lat + dlat, lon)
    })
}

prop_compose! {
    fn load()(
        id in any::<u32>(), origin in point(), dest in point(),
        os in 0..STATES.len(), ds in 0..STATES.len(), market in 0u16..10,
        equipment in 1u16..16, start in 0i64..20, len in 0i64..5,
        rate_cents in 0i64..500_000, loaded_miles in 0.0f32..3000.0,
        weight_lbs in 0u32..48_000, full in any::<bool>(), posted_at in 0i64..30,
    ) -> IndexedLoad {
        IndexedLoad {
            id: u128::from(id) | (7u128 << 100), origin, dest,
            origin_state: STATES[os], dest_state: STATES[ds], dest_market: market,
            equipment, pickup_start: start, pickup_end: start + len, rate_cents,
            loaded_miles, weight_lbs, full, posted_at,
        }
    }
}

fn dest_filter() -> impl Strategy<Value = DestFilter> {
    prop_oneof![
        Just(DestFilter::Anywhere),
        (point(), 0.0f64..400.0).prop_map(|(point, radius_miles)| DestFilter::Radius {
            point,
            radius_miles
        }),
        prop::collection::vec(0..STATES.len(), 0..3)
            .prop_map(|v| DestFilter::States(v.into_iter().map(|i| STATES[i]).collect())),
        prop::collection::vec(0u16..12, 0..3).prop_map(DestFilter::Markets),
    ]
}

prop_compose! {
    fn query()(
        origin_point in point(), origin_radius_miles in 0.0f64..600.0, dest in dest_filter(),
        equipment in 0u16..16, from in prop::option::of(0i64..25), span in 0i64..10,
        has_to in any::<bool>(), min_rpm in prop::option::of(0.0f32..300.0),
        max_weight in prop::option::of(0u32..50_000),
        size in prop_oneof![Just(LoadSize::Any), Just(LoadSize::Full), Just(LoadSize::Partial)],
        sort in prop_oneof![Just(SortBy::Age), Just(SortBy::RatePerMile),
                            Just(SortBy::Deadhead), Just(SortBy::PickupDate)],
        limit in 1usize..8,
    ) -> SearchQuery {
        SearchQuery {
            origin_point, origin_radius_miles, dest, equipment,
            pickup_from: from,
            pickup_to: has_to.then(|| from.unwrap_or(0) + span),
            min_rate_per_mile_cents: min_rpm, max_weight_lbs: max_weight,
            load_size: size, sort, limit, after: None,
        }
    }
}

/// Walks every page of `q` on both and compares them.
fn assert_same_pages(
    index: &LoadIndex,
    loads: &[IndexedLoad],
    q: &SearchQuery,
) -> Result<(), TestCaseError> {
    let mut q = q.clone();
    let mut seen = 0usize;
    loop {
        let a = index.search(&q).unwrap();
        let b = brute_force_search(loads, &q).unwrap();
        prop_assert_eq!(&a, &b);
        seen += a.hits.len();
        match a.next_cursor {
            Some(c) => {
                let text = c.to_string();
                let parsed: Cursor = text.parse().unwrap();
                prop_assert_eq!(parsed, c);
                q.after = Some(parsed);
            }
            None => break,
        }
    }
    let total = brute_force_search(loads, &SearchQuery { after: None, ..q })
        .unwrap()
        .total_matches;
    prop_assert_eq!(seen, total);
    Ok(())
}

#[derive(Debug, Clone)]
enum Op {
    Insert(IndexedLoad),
    Remove(usize),
    Update(usize, IndexedLoad),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        load().prop_map(Op::Insert),
        any::<usize>().prop_map(Op::Remove),
        (any::<usize>(), load()).prop_map(|(i, l)| Op::Update(i, l)),
    ]
}

/// Applies `op` to the index and to the reference list alike, checking what the index says.
fn apply(index: &mut LoadIndex, loads: &mut Vec<IndexedLoad>, op: Op) -> Result<(), TestCaseError> {
    match op {
        Op::Insert(l) => {
            if loads.iter().any(|x| x.id == l.id) {
                prop_assert!(index.insert(l).is_err());
            } else {
                index.insert(l).unwrap();
                loads.push(l);
            }
        }
        Op::Remove(i) if !loads.is_empty() => {
            let l = loads.swap_remove(i % loads.len());
            prop_assert_eq!(index.remove(l.id), Some(l));
            prop_assert_eq!(index.remove(l.id), None);
        }
        Op::Update(i, l) if !loads.is_empty() => {
            let i = i % loads.len();
            let l = IndexedLoad {
                id: loads[i].id,
                ..l
            };
            index.update(l).unwrap();
            loads[i] = l;
        }
        _ => {}
    }
    Ok(())
}

fn dedup(mut loads: Vec<IndexedLoad>) -> Vec<IndexedLoad> {
    let mut seen = std::collections::HashSet::new();
    loads.retain(|l| seen.insert(l.id));
    loads
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn bulk_built_index_matches_brute_force(
        loads in prop::collection::vec(load(), 0..300).prop_map(dedup),
        queries in prop::collection::vec(query(), 1..6),
    ) {
        let index = LoadIndex::bulk_build(loads.clone()).unwrap();
        prop_assert_eq!(index.len(), loads.len());
        for q in &queries {
            assert_same_pages(&index, &loads, q)?;
        }
    }

    #[test]
    fn index_kept_current_by_events_matches_brute_force(
        initial in prop::collection::vec(load(), 0..150).prop_map(dedup),
        ops in prop::collection::vec(op(), 0..150),
        queries in prop::collection::vec(query(), 1..5),
    ) {
        let mut index = LoadIndex::bulk_build(initial.clone()).unwrap();
        let mut loads = initial;
        for op in ops {
            apply(&mut index, &mut loads, op)?;
        }
        prop_assert_eq!(index.len(), loads.len());
        for l in &loads {
            prop_assert_eq!(index.get(l.id), Some(*l));
        }
        for q in &queries {
            assert_same_pages(&index, &loads, q)?;
        }
    }
}

/// Compares the first `pages` pages of `q` (larger pages than `assert_same_pages`, whose
/// walk over every page would be quadratic on the dense cells below).
fn assert_first_pages(
    index: &LoadIndex,
    loads: &[IndexedLoad],
    q: &SearchQuery,
    pages: usize,
) -> Result<(), TestCaseError> {
    let mut q = q.clone();
    for _ in 0..pages {
        let a = index.search(&q).unwrap();
        prop_assert_eq!(&a, &brute_force_search(loads, &q).unwrap());
        match a.next_cursor {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    Ok(())
}

/// A load in one 0.5° cell around Chicago, so cells hold many chunks.
fn dense_load() -> impl Strategy<Value = IndexedLoad> {
    (load(), 0.0f64..0.45, 0.0f64..0.45).prop_map(|(l, dlat, dlon)| IndexedLoad {
        origin: LatLon::new(41.5 + dlat, -88.0 + dlon),
        ..l
    })
}

fn dense_query() -> impl Strategy<Value = SearchQuery> {
    (
        query(),
        0.0f64..0.5,
        0.0f64..0.5,
        0.0f64..40.0,
        30usize..120,
    )
        .prop_map(|(q, dlat, dlon, r, limit)| SearchQuery {
            origin_point: LatLon::new(41.5 + dlat, -88.0 + dlon),
            origin_radius_miles: r,
            limit,
            ..q
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Zone maps and re-clustering: thousands of rows per cell, enough inserts, updates and
    /// removes to widen every zone and to re-cluster the cell more than once.
    #[test]
    fn dense_cells_stay_exact_through_churn_and_reclustering(
        initial in prop::collection::vec(dense_load(), 1500..2500).prop_map(dedup),
        ops in prop::collection::vec(
            prop_oneof![
                dense_load().prop_map(Op::Insert),
                any::<usize>().prop_map(Op::Remove),
                (any::<usize>(), dense_load()).prop_map(|(i, l)| Op::Update(i, l)),
            ],
            2500..4000,
        ),
        queries in prop::collection::vec(dense_query(), 4..8),
    ) {
        let mut index = LoadIndex::bulk_build(initial.clone()).unwrap();
        let mut loads = initial;
        for (n, op) in ops.into_iter().enumerate() {
            apply(&mut index, &mut loads, op)?;
            if n % 1000 == 999 {
                for q in &queries {
                    assert_first_pages(&index, &loads, q, 2)?;
                }
            }
        }
        for l in &loads {
            prop_assert_eq!(index.get(l.id), Some(*l));
        }
        for q in &queries {
            assert_first_pages(&index, &loads, q, 3)?;
        }
    }
}

/// A cursor works only for the search that issued it: other filters, another sort or an
/// edited cursor are refused, while the page size may change between pages.
#[test]
fn a_cursor_belongs_to_its_search() {
    let loads: Vec<IndexedLoad> = (0..40u32)
        .map(|i| IndexedLoad {
            id: u128::from(i) + 1,
            origin: LatLon::new(32.78, -96.80 + f64::from(i) * 0.01),
            dest: LatLon::new(33.75, -84.39),
            origin_state: *b"TX",
            dest_state: *b"OK",
            dest_market: 3,
            equipment: 1,
            pickup_start: i64::from(i),
            pickup_end: i64::from(i) + 2,
            rate_cents: 100_000 + i64::from(i),
            loaded_miles: 700.0,
            weight_lbs: 40_000,
            full: true,
            posted_at: i64::from(i % 7),
        })
        .collect();
    let index = LoadIndex::bulk_build(loads).unwrap();
    let q = SearchQuery {
        limit: 10,
        ..SearchQuery::near(LatLon::new(32.78, -96.8), 100.0)
    };
    let cursor = index.search(&q).unwrap().next_cursor.unwrap();
    let text = cursor.to_string();
    assert_eq!(text.len(), 57);

    // The same search, another page size: fine.
    let next = SearchQuery {
        after: Some(cursor),
        limit: 5,
        ..q.clone()
    };
    assert_eq!(index.search(&next).unwrap().hits.len(), 5);

    // Another search with the cursor: refused.
    for other in [
        SearchQuery {
            origin_radius_miles: 99.0,
            ..next.clone()
        },
        SearchQuery {
            equipment: 1,
            ..next.clone()
        },
        SearchQuery {
            pickup_from: Some(0),
            ..next.clone()
        },
        SearchQuery {
            dest: DestFilter::States(vec![*b"OK"]),
            ..next.clone()
        },
    ] {
        assert_eq!(index.search(&other), Err(SearchError::CursorMismatch));
    }
    assert_eq!(
        index.search(&SearchQuery {
            sort: SortBy::Deadhead,
            ..next.clone()
        }),
        Err(SearchError::CursorSortMismatch)
    );

    // Every single-character edit of the cursor is refused (malformed or mismatched).
    let hex = "0123456789abcdef";
    for at in 1..text.len() {
        let mut edited = text.clone().into_bytes();
        let c = edited[at] as char;
        edited[at] = hex.chars().find(|&h| h != c).unwrap() as u8;
        let edited = String::from_utf8(edited).unwrap();
        let refused = match edited.parse::<Cursor>() {
            Err(_) => true,
            Ok(c) => index
                .search(&SearchQuery {
                    after: Some(c),
                    ..q.clone()
                })
                .is_err(),
        };
        assert!(refused, "the edit {edited} was accepted");
    }
}
