//! Truck postings (capacity): where and when a carrier's truck is free, and where it
//! wants to go.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::filters;
use super::horizon::Horizon;
use super::place::{Geo, Location, LocationInput};
use super::text::{check_chars, Lines, Text};
use super::{Equipment, Violations};

/// Largest deadhead a truck posting may ask for, miles.
pub const MAX_DEADHEAD_MILES: u32 = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TruckDestination {
    #[default]
    Anywhere,
    /// State or province codes ("TX").
    States { states: Vec<String> },
    /// Market codes ("DAL-TX", "TX-other").
    Markets { markets: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TruckInput {
    pub equipment: Equipment,
    #[serde(default)]
    pub trailer_length_ft: Option<u32>,
    pub available_at: LocationInput,
    /// Local time at `available_at`.
    #[schema(value_type = String, example = "2026-12-01T06:00:00")]
    pub available_from: NaiveDateTime,
    #[schema(value_type = String, example = "2026-12-02T18:00:00")]
    pub available_until: NaiveDateTime,
    #[serde(default)]
    pub destination: TruckDestination,
    pub max_deadhead_miles: u32,
    #[serde(default)]
    pub min_rate_per_mile_cents: Option<i64>,
    #[serde(default)]
    pub team: bool,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruckSpec {
    pub location: Location,
    pub available_from: DateTime<Utc>,
    pub available_until: DateTime<Utc>,
    pub input: TruckInput,
}

/// Truck notes are prose: line breaks and tabs allowed.
const NOTES: Text = Text::prose(2_000);

impl TruckInput {
    /// Validates every field and resolves the place; the availability must fall within
    /// `horizon`.
    pub fn validate(&self, geo: &Geo, horizon: &Horizon) -> Result<TruckSpec, Violations> {
        let mut errs = Violations::default();
        let location = geo.resolve(&self.available_at, "available_at", &mut errs);
        let from_ok = horizon.check_local(&mut errs, "available_from", self.available_from);
        let until_ok = horizon.check_local(&mut errs, "available_until", self.available_until);
        if from_ok && until_ok && self.available_until < self.available_from {
            errs.add("available_until", "ends before available_from");
        }
        if self.max_deadhead_miles > MAX_DEADHEAD_MILES {
            errs.add(
                "max_deadhead_miles",
                format!("must be at most {MAX_DEADHEAD_MILES}"),
            );
        }
        if let Some(ft) = self.trailer_length_ft {
            if !(super::load::MIN_TRAILER_FT..=self.equipment.max_length_ft()).contains(&ft) {
                errs.add(
                    "trailer_length_ft",
                    "is not a legal trailer length for this equipment",
                );
            }
        }
        if let Some(r) = self.min_rate_per_mile_cents {
            if !super::load::PER_MILE_RATE_CENTS.contains(&r) {
                errs.add(
                    "min_rate_per_mile_cents",
                    "must be between 50 and 2000 cents",
                );
            }
        }
        if let Some(n) = &self.notes {
            NOTES.check(&mut errs, "notes", n);
        }
        match &self.destination {
            TruckDestination::Anywhere => {}
            TruckDestination::States { states } => {
                if states.is_empty() {
                    errs.add("destination.states", "must name at least one state");
                }
                for (i, s) in states.iter().enumerate() {
                    let field = format!("destination.states[{i}]");
                    if check_chars(&mut errs, &field, s, Lines::One)
                        && filters::state_code(s).is_none()
                    {
                        errs.add(field, format!("unknown state `{s}`"));
                    }
                }
            }
            TruckDestination::Markets { markets } => {
                if markets.is_empty() {
                    errs.add("destination.markets", "must name at least one market");
                }
                for (i, m) in markets.iter().enumerate() {
                    let field = format!("destination.markets[{i}]");
                    if check_chars(&mut errs, &field, m, Lines::One)
                        && geo.markets.by_code(m).is_none()
                    {
                        errs.add(field, format!("unknown market `{m}`"));
                    }
                }
            }
        }
        let location = match location {
            Some(l) if errs.is_empty() => l,
            _ => return Err(errs),
        };
        let Ok(tz) = location.timezone.parse::<Tz>() else {
            errs.add(
                "available_at",
                format!("unknown time zone {}", location.timezone),
            );
            return Err(errs);
        };
        let utc = |field: &str, t: NaiveDateTime, errs: &mut Violations| {
            let at = tz
                .from_local_datetime(&t)
                .earliest()
                .map(|d| d.with_timezone(&Utc));
            if at.is_none() {
                errs.add(
                    field,
                    format!("{t} does not exist in {tz} (daylight-saving gap)"),
                );
            }
            // Exactly, now that the zone is known.
            at.filter(|at| horizon.check(errs, field, *at))
        };
        let from = utc("available_from", self.available_from, &mut errs);
        let until = utc("available_until", self.available_until, &mut errs);
        match (from, until) {
            (Some(from), Some(until)) => Ok(TruckSpec {
                location,
                available_from: from,
                available_until: until,
                input: self.clone(),
            }),
            _ => Err(errs),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::load::tests::{geo, horizon};

    pub(crate) fn truck() -> TruckInput {
        serde_json::from_value(serde_json::json!({
            "equipment": "R", "available_at": {"place": "Fort Worth, TX"},
            "available_from": "2026-12-01T06:00:00", "available_until": "2026-12-02T18:00:00",
            "destination": {"kind": "states", "states": ["GA", "FL"]},
            "max_deadhead_miles": 150, "min_rate_per_mile_cents": 250
        }))
        .unwrap()
    }

    #[test]
    fn a_truck_resolves_in_its_zone() {
        let t = truck().validate(geo(), &horizon()).unwrap();
        assert_eq!(t.location.state, "TX");
        // 06:00 CST is 12:00 UTC.
        assert_eq!(t.available_from.to_rfc3339(), "2026-12-01T12:00:00+00:00");
    }

    #[test]
    fn bad_trucks_name_their_fields() {
        let mut t = truck();
        t.available_until = t.available_from - chrono::Duration::hours(1);
        t.destination = TruckDestination::Markets {
            markets: vec!["NOPE".into()],
        };
        t.max_deadhead_miles = 5_000;
        let errs = t.validate(geo(), &horizon()).unwrap_err();
        assert_eq!(
            errs.fields(),
            [
                "available_until",
                "max_deadhead_miles",
                "destination.markets[0]"
            ]
        );
    }

    #[test]
    fn availability_stays_within_the_horizon() {
        let mut t = truck();
        t.available_from = NaiveDateTime::MIN;
        t.available_until = NaiveDateTime::MAX;
        let errs = t.validate(geo(), &horizon()).unwrap_err();
        assert_eq!(errs.fields(), ["available_from", "available_until"]);
        t.available_from = "0001-01-01T00:00:00".parse().unwrap();
        t.available_until = "9999-12-31T23:00:00".parse().unwrap();
        let errs = t.validate(geo(), &horizon()).unwrap_err();
        assert_eq!(errs.fields(), ["available_from", "available_until"]);
    }

    #[test]
    fn control_characters_are_refused_in_truck_text() {
        let mut t = truck();
        t.notes = Some("night\u{0}".into());
        t.destination = TruckDestination::States {
            states: vec!["GA\u{85}".into()],
        };
        t.available_at = LocationInput::place("Irving,\u{0} TX");
        let errs = t.validate(geo(), &horizon()).unwrap_err();
        assert_eq!(
            errs.fields(),
            ["available_at.place", "notes", "destination.states[0]"]
        );
        let mut t = truck();
        t.notes = Some("gate code 4411\n\tcall ahead".into());
        assert!(t.validate(geo(), &horizon()).is_ok());
    }
}
