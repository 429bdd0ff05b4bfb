//! Turning a list of `(origin, destination)` pairs into Distance Matrix requests.
//!
//! Google bills every element of the matrix (origins × destinations), asked for or not,
//! and caps a request at 25 origins, 25 destinations and 100 elements. So the plan never
//! requests an element nobody asked for: duplicate pairs and pairs of a point with itself
//! are dropped, each origin's destinations are gathered, and origins that go to exactly
//! the same destinations share requests (the common case when many trucks are measured to
//! the same pickups). Everything else is one request per origin (and per 25 destinations).

use std::collections::{HashMap, HashSet};

pub const MAX_ORIGINS: usize = 25;
pub const MAX_DESTINATIONS: usize = 25;
pub const MAX_ELEMENTS: usize = 100;

/// One Distance Matrix request: every origin to every destination is wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRequest {
    pub origins: Vec<String>,
    pub destinations: Vec<String>,
}

impl MatrixRequest {
    pub fn elements(&self) -> usize {
        self.origins.len() * self.destinations.len()
    }
}

/// Requests that together cover every pair with `origin != destination`, each element
/// exactly once, within Google's limits. Points are compared as given (format them the
/// same way, e.g. `"32.776700,-96.797000"`).
pub fn plan(pairs: &[(String, String)]) -> Vec<MatrixRequest> {
    // Origin → its distinct destinations, both in first-seen order.
    let mut origins: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for (o, d) in pairs {
        if o == d || !seen.insert((o, d)) {
            continue;
        }
        let i = *index.entry(o).or_insert_with(|| {
            origins.push((o, Vec::new()));
            origins.len() - 1
        });
        origins[i].1.push(d);
    }
    // Origins with the same destination set (same order not required) share requests.
    let mut groups: Vec<(Vec<&str>, Vec<&str>)> = Vec::new();
    let mut group_of: HashMap<Vec<&str>, usize> = HashMap::new();
    for (o, dests) in origins {
        let mut key = dests.clone();
        key.sort_unstable();
        let g = *group_of.entry(key).or_insert_with(|| {
            groups.push((Vec::new(), dests));
            groups.len() - 1
        });
        groups[g].0.push(o);
    }
    let mut requests = Vec::new();
    for (group_origins, dests) in groups {
        for dest_chunk in dests.chunks(MAX_DESTINATIONS) {
            let per_request = (MAX_ELEMENTS / dest_chunk.len()).min(MAX_ORIGINS);
            for origin_chunk in group_origins.chunks(per_request) {
                requests.push(MatrixRequest {
                    origins: origin_chunk.iter().map(|s| s.to_string()).collect(),
                    destinations: dest_chunk.iter().map(|s| s.to_string()).collect(),
                });
            }
        }
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(o: usize, d: usize) -> (String, String) {
        (format!("o{o}"), format!("d{d}"))
    }

    fn covered(reqs: &[MatrixRequest]) -> HashSet<(String, String)> {
        let mut all = HashSet::new();
        for r in reqs {
            assert!(r.origins.len() <= MAX_ORIGINS);
            assert!(r.destinations.len() <= MAX_DESTINATIONS);
            assert!(r.elements() <= MAX_ELEMENTS);
            for o in &r.origins {
                for d in &r.destinations {
                    assert!(all.insert((o.clone(), d.clone())), "element asked twice");
                }
            }
        }
        all
    }

    #[test]
    fn one_origin_to_many_destinations_is_one_request_per_25() {
        let pairs: Vec<_> = (0..30).map(|d| p(0, d)).collect();
        let reqs = plan(&pairs);
        assert_eq!(reqs.len(), 2);
        assert_eq!(covered(&reqs), pairs.into_iter().collect());
    }

    #[test]
    fn origins_sharing_destinations_share_requests_within_100_elements() {
        // 8 trucks × the same 20 pickups: 5 origins × 20 = 100 elements, then 3 × 20.
        let pairs: Vec<_> = (0..8).flat_map(|o| (0..20).map(move |d| p(o, d))).collect();
        let reqs = plan(&pairs);
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].elements(), 100);
        assert_eq!(covered(&reqs).len(), 160);
    }

    #[test]
    fn a_route_of_distinct_legs_asks_for_no_unwanted_element() {
        // A → B → C → D: three legs, three 1×1 requests (a 3×3 matrix would bill 9).
        let legs = vec![
            ("A".to_string(), "B".to_string()),
            ("B".into(), "C".into()),
            ("C".into(), "D".into()),
        ];
        let reqs = plan(&legs);
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs.iter().map(|r| r.elements()).sum::<usize>(), 3);
    }

    #[test]
    fn duplicates_and_self_pairs_are_not_requested() {
        let pairs = vec![p(1, 1), p(1, 1), ("x".into(), "x".into())];
        let reqs = plan(&pairs);
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].elements(), 1);
        assert!(plan(&[("x".into(), "x".into())]).is_empty());
        assert!(plan(&[]).is_empty());
    }

    #[test]
    fn every_pair_is_covered_exactly_once_for_mixed_batches() {
        let mut pairs = Vec::new();
        for o in 0..40 {
            for d in 0..(o % 7 + 1) * 5 {
                pairs.push(p(o % 13, d + o % 3));
            }
        }
        let want: HashSet<_> = pairs.iter().cloned().collect();
        let reqs = plan(&pairs);
        assert_eq!(covered(&reqs), want);
    }
}
