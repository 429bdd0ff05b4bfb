//! The gazetteer: populated places parsed from `data/places_us_ca.csv`.

use std::collections::HashMap;

use crate::grid::PlaceGrid;
use crate::normalize::normalize;
use crate::point::LatLon;

/// One populated place.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// GeoNames id.
    pub id: u32,
    pub name: String,
    /// Two-letter state or province code ("TX", "ON").
    pub region: String,
    /// "US" or "CA".
    pub country: String,
    pub point: LatLon,
    pub population: u64,
    /// IANA time zone name ("America/Chicago").
    pub timezone: String,
}

impl Place {
    /// "Dallas, TX".
    pub fn label(&self) -> String {
        format!("{}, {}", self.name, self.region)
    }
}

/// A malformed gazetteer line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("gazetteer line {line}: {message}")]
pub struct GazetteerError {
    pub line: usize,
    pub message: String,
}

/// Places plus the indexes that geocode and reverse-geocode them.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    pub(crate) places: Vec<Place>,
    /// Normalised name → indexes into `places`, most populous first.
    pub(crate) by_name: HashMap<String, Vec<u32>>,
    pub(crate) grid: PlaceGrid,
}

const HEADER: &str = "geonameid,name,region,country,lat,lon,population,timezone";

impl Gazetteer {
    /// The vendored GeoNames extract (20k US and Canadian places of 1,000+ people),
    /// compiled into the binary. Parsed on each call: keep the result.
    pub fn embedded() -> Gazetteer {
        Self::from_csv(include_str!("../../../../data/places_us_ca.csv"))
            .expect("vendored gazetteer parses")
    }

    /// Parses `geonameid,name,region,country,lat,lon,population,timezone` CSV with a
    /// header line; fields may be double-quoted (with `""` escapes).
    pub fn from_csv(text: &str) -> Result<Gazetteer, GazetteerError> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, h)) if h.trim_start_matches('\u{feff}').trim() == HEADER => {}
            _ => {
                return Err(GazetteerError {
                    line: 1,
                    message: format!("expected header `{HEADER}`"),
                })
            }
        }
        let mut places = Vec::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let err = |message: String| GazetteerError {
                line: i + 1,
                message,
            };
            let f = split_csv_line(line).map_err(|m| err(m.to_string()))?;
            if f.len() != 8 {
                return Err(err(format!("expected 8 fields, found {}", f.len())));
            }
            let num = |idx: usize, what: &str| -> Result<f64, GazetteerError> {
                f[idx]
                    .trim()
                    .parse::<f64>()
                    .map_err(|_| err(format!("bad {what} `{}`", f[idx])))
            };
            let point = LatLon::new(num(4, "lat")?, num(5, "lon")?);
            if !point.is_valid() {
                return Err(err(format!("coordinates out of range: {point:?}")));
            }
            places.push(Place {
                id: f[0]
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("bad geonameid `{}`", f[0])))?,
                name: f[1].trim().to_string(),
                region: f[2].trim().to_string(),
                country: f[3].trim().to_string(),
                point,
                population: f[6]
                    .trim()
                    .parse()
                    .map_err(|_| err(format!("bad population `{}`", f[6])))?,
                timezone: f[7].trim().to_string(),
            });
        }
        Ok(Self::from_places(places))
    }

    /// Builds the indexes over an explicit list of places.
    pub fn from_places(places: Vec<Place>) -> Gazetteer {
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, p) in places.iter().enumerate() {
            by_name
                .entry(normalize(&p.name))
                .or_default()
                .push(i as u32);
        }
        for ids in by_name.values_mut() {
            ids.sort_by(|&a, &b| {
                let (pa, pb) = (&places[a as usize], &places[b as usize]);
                pb.population.cmp(&pa.population).then(pa.id.cmp(&pb.id))
            });
        }
        let grid = PlaceGrid::build(&places);
        Gazetteer {
            places,
            by_name,
            grid,
        }
    }

    /// Places whose name starts with what was typed, most populous first: "dal" finds
    /// Dallas, TX first; after a comma the state or province narrows it ("portland, m" →
    /// Portland, ME). At most `limit`.
    pub fn complete(&self, typed: &str, limit: usize) -> Vec<&Place> {
        let (name, region) = match typed.split_once(',') {
            Some((n, r)) => (n, r.trim().to_uppercase()),
            None => (typed, String::new()),
        };
        let name = crate::normalize::normalize(name);
        if name.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut found: Vec<&Place> = self
            .by_name
            .iter()
            .filter(|(key, _)| key.starts_with(&name))
            .flat_map(|(_, ids)| ids.iter().map(|&i| &self.places[i as usize]))
            .filter(|p| p.region.starts_with(&region))
            .collect();
        found.sort_by(|a, b| b.population.cmp(&a.population).then(a.id.cmp(&b.id)));
        found.truncate(limit);
        found
    }

    pub fn places(&self) -> &[Place] {
        &self.places
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The place with this GeoNames id (linear scan; ids are not the hot path).
    pub fn by_id(&self, id: u32) -> Option<&Place> {
        self.places.iter().find(|p| p.id == id)
    }

    /// The nearest place to `point` and its great-circle distance in miles; `None` only
    /// for an empty gazetteer or an invalid point.
    pub fn reverse(&self, point: LatLon) -> Option<(&Place, f64)> {
        if !point.is_valid() {
            return None;
        }
        self.grid
            .nearest(&self.places, point)
            .map(|(i, d)| (&self.places[i], d))
    }
}

fn split_csv_line(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::with_capacity(8);
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            fields.push(std::mem::take(&mut cur));
            at_start = true;
        } else {
            cur.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("unterminated quote");
    }
    fields.push(cur);
    Ok(fields)
}

#[cfg(test)]
mod tests {

    #[test]
    fn completion_finds_the_biggest_places_first_and_narrows_by_state() {
        let g = Gazetteer::embedded();
        let labels = |t: &str, n| {
            g.complete(t, n)
                .iter()
                .map(|p| p.label())
                .collect::<Vec<_>>()
        };
        assert_eq!(labels("dal", 1), ["Dallas, TX"]);
        let portland = labels("Portland, M", 5);
        assert!(portland.iter().all(|l| l.contains(", M")), "{portland:?}");
        assert_eq!(labels("portland, me", 5), ["Portland, ME"]);
        assert_eq!(labels("st. lou", 1), ["St. Louis, MO"]);
        assert!(labels("", 5).is_empty() && labels("zzzzqq", 5).is_empty());
        assert_eq!(labels("s", 7).len(), 7);
    }

    use super::*;

    const SMALL: &str = "geonameid,name,region,country,lat,lon,population,timezone
1,Dallas,TX,US,32.78306,-96.80667,1326087,America/Chicago
2,\"Olinda, CDP\",HI,US,20.82368,-156.29236,1188,Pacific/Honolulu
";

    #[test]
    fn parses_quoted_fields_with_commas() {
        let g = Gazetteer::from_csv(SMALL).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g.places()[1].name, "Olinda, CDP");
        assert_eq!(g.places()[1].timezone, "Pacific/Honolulu");
        assert_eq!(g.places()[0].label(), "Dallas, TX");
    }

    #[test]
    fn rejects_bad_lines_naming_the_line() {
        let bad = SMALL.replace("32.78306", "north");
        let e = Gazetteer::from_csv(&bad).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("lat"), "{e}");
        assert!(Gazetteer::from_csv("nope\n").is_err());
        let short = format!("{HEADER}\n1,Dallas,TX\n");
        assert!(Gazetteer::from_csv(&short).is_err());
    }

    #[test]
    fn embedded_gazetteer_has_every_vendored_place() {
        let g = Gazetteer::embedded();
        assert_eq!(g.len(), 20_158);
        assert!(g.places().iter().all(|p| p.region.len() == 2));
    }
}
