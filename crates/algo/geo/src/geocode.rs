//! Forward geocoding of load-board style place names: "Dallas, TX", "dallas tx",
//! "St. Louis, Missouri", "Ft Worth".

use crate::gazetteer::{Gazetteer, Place};
use crate::normalize::{normalize, region_code};

/// Why a query did not resolve to one place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeocodeError {
    /// No place of that name (in that state, when one was given).
    #[error("unknown place `{query}`; did you mean {}?", suggestions.join(" / "))]
    Unknown {
        query: String,
        /// Up to 5 "City, ST" labels: closest names by edit distance or prefix, in the
        /// given state when there was one.
        suggestions: Vec<String>,
    },
    /// Not a valid latitude/longitude.
    #[error("invalid point ({lat}, {lon})")]
    InvalidPoint { lat: f64, lon: f64 },
    /// A backend (e.g. a remote geocoding API) failed; never returned offline.
    #[error("geocoding backend unavailable: {0}")]
    Unavailable(String),
    /// A routing backend found no road between two points (an island, across a sea);
    /// never returned offline, where every distance is an estimate.
    #[error("no road route from ({from}) to ({to})")]
    NoRoute {
        /// "lat,lon".
        from: String,
        to: String,
    },
}

/// A geocoded place, with a note when the query matched more than one.
#[derive(Debug, Clone, PartialEq)]
pub struct Geocoded<'g> {
    pub place: &'g Place,
    /// Set when several places matched and the most populous was chosen.
    pub ambiguity: Option<Ambiguity>,
}

/// The query matched `alternatives.len() + 1` places; the most populous was picked.
#[derive(Debug, Clone, PartialEq)]
pub struct Ambiguity {
    /// The other matches, most populous first, as "City, ST" (at most 10).
    pub alternatives: Vec<String>,
    /// How many places matched in all.
    pub matches: usize,
}

impl std::fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} places match; picked the most populous (others: {})",
            self.matches,
            self.alternatives.join(", ")
        )
    }
}

const MAX_SUGGESTIONS: usize = 5;
const MAX_ALTERNATIVES: usize = 10;

impl Gazetteer {
    /// Resolves "City, ST" (or "City ST", "City, State", or just "City") to the most
    /// populous matching place. Case, extra spaces, accents, "St./Saint", "Ft./Fort",
    /// "Mt./Mount" and a trailing ZIP code do not matter.
    pub fn geocode(&self, query: &str) -> Result<Geocoded<'_>, GeocodeError> {
        // ZIP-free: drop tokens made only of digits (and "-"), e.g. "Dallas, TX 75201".
        let cleaned: String = query
            .split_whitespace()
            .filter(|t| !t.chars().all(|c| c.is_ascii_digit() || c == '-'))
            .collect::<Vec<_>>()
            .join(" ");
        let mut state_hint: Option<&'static str> = None;
        if let Some((name, region)) = cleaned.rsplit_once(',') {
            let region_code = region_code(region);
            if let Some(code) = region_code {
                if let Some(hit) = self.lookup(name, Some(code)) {
                    return Ok(hit);
                }
                state_hint = Some(code);
            } else if let Some(hit) = self.lookup(&cleaned, None) {
                // A comma inside the name ("Olinda, CDP").
                return Ok(hit);
            }
            return Err(self.unknown(query, name, state_hint));
        }
        // No comma: try the last one, two or three words as the state ("Dallas TX",
        // "Raleigh North Carolina", "Washington District of Columbia").
        let words: Vec<&str> = cleaned.split_whitespace().collect();
        for take in 1..=3usize.min(words.len().saturating_sub(1)) {
            let (name, region) = words.split_at(words.len() - take);
            if let Some(code) = region_code(&region.join(" ")) {
                if let Some(hit) = self.lookup(&name.join(" "), Some(code)) {
                    return Ok(hit);
                }
                state_hint.get_or_insert(code);
            }
        }
        if let Some(hit) = self.lookup(&cleaned, None) {
            return Ok(hit);
        }
        let name = match state_hint {
            Some(_) => {
                // Strip the recognised state words for suggestions.
                let mut best = cleaned.clone();
                for take in 1..=3usize.min(words.len().saturating_sub(1)) {
                    let (n, r) = words.split_at(words.len() - take);
                    if region_code(&r.join(" ")) == state_hint {
                        best = n.join(" ");
                        break;
                    }
                }
                best
            }
            None => cleaned.clone(),
        };
        Err(self.unknown(query, &name, state_hint))
    }

    fn lookup(&self, name: &str, region: Option<&str>) -> Option<Geocoded<'_>> {
        let ids = self.by_name.get(&normalize(name))?;
        let matching: Vec<&Place> = ids
            .iter()
            .map(|&i| &self.places[i as usize])
            .filter(|p| region.is_none_or(|r| p.region == r))
            .collect();
        let (&first, rest) = matching.split_first()?;
        let ambiguity = (!rest.is_empty()).then(|| Ambiguity {
            alternatives: rest
                .iter()
                .take(MAX_ALTERNATIVES)
                .map(|p| p.label())
                .collect(),
            matches: matching.len(),
        });
        Some(Geocoded {
            place: first,
            ambiguity,
        })
    }

    fn unknown(&self, query: &str, name: &str, region: Option<&str>) -> GeocodeError {
        let target = normalize(name);
        let mut scored: Vec<(usize, u64, &Place)> = self
            .places
            .iter()
            .filter(|p| region.is_none_or(|r| p.region == r))
            .map(|p| {
                let n = normalize(&p.name);
                let score = if !target.is_empty() && n.starts_with(&target) {
                    0
                } else {
                    levenshtein(&target, &n)
                };
                (score, p.population, p)
            })
            .collect();
        scored.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut suggestions: Vec<String> = Vec::new();
        for (_, _, p) in scored {
            let label = p.label();
            if !suggestions.contains(&label) {
                suggestions.push(label);
            }
            if suggestions.len() == MAX_SUGGESTIONS {
                break;
            }
        }
        GeocodeError::Unknown {
            query: query.to_string(),
            suggestions,
        }
    }
}

/// Edit distance (insertions, deletions, substitutions) over bytes of ASCII-normalised
/// names.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn gaz() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(Gazetteer::embedded)
    }

    fn label(q: &str) -> String {
        gaz().geocode(q).unwrap().place.label()
    }

    #[test]
    fn city_state_in_every_spelling_resolves_alike() {
        for q in [
            "Dallas, TX",
            "dallas, tx",
            "  DALLAS ,  TX ",
            "Dallas TX",
            "Dallas, Texas",
            "dallas texas",
            "Dallas, TX 75201",
        ] {
            assert_eq!(label(q), "Dallas, TX", "{q}");
        }
    }

    #[test]
    fn saint_fort_and_mount_abbreviations_are_tolerated() {
        assert_eq!(label("St. Louis, MO"), "St. Louis, MO");
        assert_eq!(label("Saint Louis, Missouri"), "St. Louis, MO");
        assert_eq!(label("st louis mo"), "St. Louis, MO");
        assert_eq!(label("Ft. Worth, TX"), "Fort Worth, TX");
        assert_eq!(label("Ft Worth TX"), "Fort Worth, TX");
        assert_eq!(label("Mt. Vernon, NY"), "Mount Vernon, NY");
        assert_eq!(label("Billings MT"), "Billings, MT");
        assert_eq!(label("Montreal, QC"), "Montréal, QC");
        assert_eq!(label("Raleigh North Carolina"), "Raleigh, NC");
    }

    #[test]
    fn city_without_state_picks_the_most_populous_and_says_so() {
        let hit = gaz().geocode("Portland").unwrap();
        assert_eq!(hit.place.label(), "Portland, OR");
        let amb = hit.ambiguity.expect("ambiguous");
        assert!(amb.alternatives.contains(&"Portland, ME".to_string()));
        assert!(amb.to_string().contains("most populous"));
        assert!(gaz().geocode("Portland, ME").unwrap().ambiguity.is_none());
    }

    #[test]
    fn unknown_city_suggests_close_names_in_the_same_state() {
        match gaz().geocode("Dalas, TX") {
            Err(GeocodeError::Unknown { query, suggestions }) => {
                assert_eq!(query, "Dalas, TX");
                assert!(!suggestions.is_empty() && suggestions.len() <= 5);
                assert!(
                    suggestions.contains(&"Dallas, TX".to_string()),
                    "{suggestions:?}"
                );
                assert!(suggestions.iter().all(|s| s.ends_with(", TX")));
            }
            other => panic!("{other:?}"),
        }
        match gaz().geocode("Nowheresville") {
            Err(GeocodeError::Unknown { suggestions, .. }) => assert_eq!(suggestions.len(), 5),
            other => panic!("{other:?}"),
        }
        assert!(gaz().geocode("").is_err());
        assert!(gaz().geocode("Dallas, ZZ").is_err());
    }

    #[test]
    fn prefix_of_a_name_is_suggested() {
        match gaz().geocode("Albuquer, NM") {
            Err(GeocodeError::Unknown { suggestions, .. }) => {
                assert_eq!(suggestions[0], "Albuquerque, NM")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
