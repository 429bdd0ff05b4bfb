//! A load: what the broker sends ([`LoadInput`]), what it becomes once validated and
//! geocoded ([`LoadSpec`]), and the limits it is checked against.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::horizon::Horizon;
use super::place::{Geo, Location, LocationInput};
use super::text::Text;
use super::{Equipment, Violations};

/// Federal gross vehicle weight limit on the Interstate system (23 CFR 658.17): 80,000 lbs.
/// A tractor with a 53' trailer weighs 32,000–35,000 lbs empty, which leaves 45,000–48,000
/// lbs of cargo; we accept up to 48,000 lbs (the top of that range: light tractors and
/// aluminium trailers) for every type except hotshots.
pub const MAX_CARGO_LBS: u32 = 48_000;
/// A hotshot (class 3–5 pickup + gooseneck) stays under 26,000 lbs combined so the driver
/// needs no CDL class A; ~16,500 lbs of that is cargo.
pub const MAX_HOTSHOT_CARGO_LBS: u32 = 16_500;
/// Shortest trailer we accept, in feet.
pub const MIN_TRAILER_FT: u32 = 10;
/// All-in rates: $50 to $50,000 a load.
pub const ALL_IN_RATE_CENTS: std::ops::RangeInclusive<i64> = 5_000..=5_000_000;
/// Per-mile rates: $0.50 to $20.00 a loaded mile.
pub const PER_MILE_RATE_CENTS: std::ops::RangeInclusive<i64> = 50..=2_000;
/// Reefer set points, °F: deep frozen to ambient-controlled.
pub const REEFER_TEMP_F: std::ops::RangeInclusive<i32> = -30..=80;
/// The fastest average a truck makes between two stops (the Interstate limit of most
/// states, with no breaks); a later stop that would need more is unreachable.
pub const MAX_AVERAGE_MPH: f64 = 65.0;
/// A stop's window may be at most this long.
pub const MAX_WINDOW_HOURS: i64 = 14 * 24;

/// The text fields' rules (control characters, length, blank).
const REFERENCE: Text = Text::line(64).required();
const COMMODITY: Text = Text::line(100).required();
const NOTES: Text = Text::prose(2_000);
const FACILITY: Text = Text::line(200);
const CONTACT_FIELD: Text = Text::line(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    Pickup,
    Delivery,
}

/// Live: the driver waits while loaded/unloaded. Drop: a trailer is dropped or hooked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    #[default]
    Live,
    Drop,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// On the public load board: every carrier can find it.
    #[default]
    Public,
    /// Only the broker's own carrier network (not on the public board).
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateKind {
    /// One price for the load (linehaul, fuel, accessorials).
    AllIn,
    /// Cents per loaded mile.
    PerMile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub kind: RateKind,
    /// USD cents: the whole load (`all_in`) or per loaded mile (`per_mile`).
    pub amount_cents: i64,
}

impl Rate {
    /// The rate for the whole load, in cents.
    pub fn all_in_cents(&self, loaded_miles: f64) -> i64 {
        match self.kind {
            RateKind::AllIn => self.amount_cents,
            RateKind::PerMile => (self.amount_cents as f64 * loaded_miles).round() as i64,
        }
    }
}

/// A window in the stop's local time (no offset: the stop's time zone applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    #[schema(value_type = String, example = "2026-12-01T08:00:00")]
    pub start: NaiveDateTime,
    #[schema(value_type = String, example = "2026-12-01T14:00:00")]
    pub end: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopInput {
    pub kind: StopKind,
    pub location: LocationInput,
    #[serde(default)]
    pub facility: Option<String>,
    /// A fixed appointment, local time at the stop. Give this or `window`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub appointment: Option<NaiveDateTime>,
    #[serde(default)]
    pub window: Option<WindowInput>,
    #[serde(default)]
    pub handling: Handling,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TempRange {
    pub min_f: i32,
    pub max_f: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

fn yes() -> bool {
    true
}

/// A load as the broker writes it (create, update, one CSV row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadInput {
    /// The broker's own reference (order or PRO number).
    pub reference: String,
    /// Pickups then deliveries, in the order the truck visits them.
    pub stops: Vec<StopInput>,
    pub equipment: Equipment,
    pub trailer_length_ft: u32,
    pub weight_lbs: u32,
    /// Full truckload (default) or partial.
    #[serde(default = "yes")]
    pub full_load: bool,
    pub commodity: String,
    /// Reefers only.
    #[serde(default)]
    pub temperature_f: Option<TempRange>,
    #[serde(default)]
    pub hazmat: bool,
    #[serde(default)]
    pub team: bool,
    /// What carriers see; absent means "call for rate".
    #[serde(default)]
    pub rate: Option<Rate>,
    /// The broker's private target for the whole load, cents. Never shown to carriers.
    #[serde(default)]
    pub target_rate_cents: Option<i64>,
    /// The most the broker will pay for the whole load, cents. Never shown to carriers.
    #[serde(default)]
    pub max_rate_cents: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub contact: Option<Contact>,
    #[serde(default)]
    pub visibility: Visibility,
}

/// A resolved stop window: local times, their zone, and the UTC instants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StopWindow {
    #[schema(value_type = String)]
    pub start_local: NaiveDateTime,
    #[schema(value_type = String)]
    pub end_local: NaiveDateTime,
    pub timezone: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// A fixed appointment (start = end) rather than a window.
    pub appointment: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stop {
    pub kind: StopKind,
    pub location: Location,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    pub window: StopWindow,
    pub handling: Handling,
}

/// A validated load: every place resolved, every time in UTC as well as local.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSpec {
    pub reference: String,
    pub stops: Vec<Stop>,
    pub equipment: Equipment,
    pub trailer_length_ft: u32,
    pub weight_lbs: u32,
    pub full_load: bool,
    pub commodity: String,
    pub temperature_f: Option<TempRange>,
    pub hazmat: bool,
    pub team: bool,
    pub rate: Option<Rate>,
    pub target_rate_cents: Option<i64>,
    pub max_rate_cents: Option<i64>,
    pub notes: Option<String>,
    pub contact: Option<Contact>,
    pub visibility: Visibility,
    /// Road miles through every stop in order.
    pub loaded_miles: f64,
    /// What the client sent, so the load can be copied or edited as written.
    pub input: LoadInput,
}

impl LoadSpec {
    pub fn first_pickup(&self) -> &Stop {
        &self.stops[0]
    }

    pub fn last_delivery(&self) -> &Stop {
        self.stops.last().expect("validated: at least two stops")
    }

    /// All-in rate in cents, when the load has a posted rate.
    pub fn all_in_rate_cents(&self) -> Option<i64> {
        self.rate.map(|r| r.all_in_cents(self.loaded_miles))
    }
}

fn local_to_utc(tz: Tz, t: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&t)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

fn resolve_stop(
    geo: &Geo,
    horizon: &Horizon,
    i: usize,
    s: &StopInput,
    errs: &mut Violations,
) -> Option<Stop> {
    let field = format!("stops[{i}]");
    let location = geo.resolve(&s.location, &format!("{field}.location"), errs);
    if let Some(f) = &s.facility {
        FACILITY.check(errs, &format!("{field}.facility"), f);
    }
    let (start, end, appointment) = match (s.appointment, s.window) {
        (Some(at), None) => {
            if !horizon.check_local(errs, &format!("{field}.appointment"), at) {
                return None;
            }
            (at, at, true)
        }
        (None, Some(w)) => {
            let start_ok = horizon.check_local(errs, &format!("{field}.window.start"), w.start);
            let end_ok = horizon.check_local(errs, &format!("{field}.window.end"), w.end);
            if !(start_ok && end_ok) {
                return None;
            }
            if w.end < w.start {
                errs.add(
                    format!("{field}.window.end"),
                    "ends before the window starts",
                );
                return None;
            }
            if (w.end - w.start).num_hours() > MAX_WINDOW_HOURS {
                errs.add(
                    format!("{field}.window.end"),
                    format!("a window may be at most {MAX_WINDOW_HOURS} hours long"),
                );
                return None;
            }
            (w.start, w.end, false)
        }
        _ => {
            errs.add(
                format!("{field}.window"),
                "give either `appointment` or `window`",
            );
            return None;
        }
    };
    let location = location?;
    let Ok(tz) = location.timezone.parse::<Tz>() else {
        errs.add(
            format!("{field}.location"),
            format!("unknown time zone {}", location.timezone),
        );
        return None;
    };
    let (start_field, end_field) = if appointment {
        let f = format!("{field}.appointment");
        (f.clone(), f)
    } else {
        (
            format!("{field}.window.start"),
            format!("{field}.window.end"),
        )
    };
    let Some(start_utc) = local_to_utc(tz, start) else {
        errs.add(
            start_field,
            format!("{start} does not exist in {tz} (daylight-saving gap)"),
        );
        return None;
    };
    let Some(end_utc) = local_to_utc(tz, end) else {
        errs.add(
            end_field,
            format!("{end} does not exist in {tz} (daylight-saving gap)"),
        );
        return None;
    };
    // Exactly, now that the zone is known; an appointment's end is its start.
    let start_ok = horizon.check(errs, &start_field, start_utc);
    let end_ok = appointment || horizon.check(errs, &end_field, end_utc);
    if !(start_ok && end_ok) {
        return None;
    }
    Some(Stop {
        kind: s.kind,
        window: StopWindow {
            start_local: start,
            end_local: end,
            timezone: location.timezone.clone(),
            start: start_utc,
            end: end_utc,
            appointment,
        },
        location,
        facility: s.facility.clone(),
        handling: s.handling,
    })
}

impl LoadInput {
    /// Validates every field and resolves every place; all problems at once. Stop times
    /// must fall within `horizon`.
    pub fn validate(&self, geo: &Geo, horizon: &Horizon) -> Result<LoadSpec, Violations> {
        let mut errs = Violations::default();
        REFERENCE.check(&mut errs, "reference", &self.reference);
        COMMODITY.check(&mut errs, "commodity", &self.commodity);
        if let Some(n) = &self.notes {
            NOTES.check(&mut errs, "notes", n);
        }

        // Stops: at least one pickup then at least one delivery, pickups first.
        let pickups = self
            .stops
            .iter()
            .filter(|s| s.kind == StopKind::Pickup)
            .count();
        let deliveries = self.stops.len() - pickups;
        if pickups == 0 || deliveries == 0 {
            errs.add("stops", "need at least one pickup and one delivery");
        } else if self.stops.len() > 20 {
            errs.add("stops", "at most 20 stops");
        } else if let Some(i) = self
            .stops
            .windows(2)
            .position(|w| w[0].kind == StopKind::Delivery && w[1].kind == StopKind::Pickup)
        {
            errs.add(
                format!("stops[{}].kind", i + 1),
                "pickups come before deliveries",
            );
        }
        let stops: Vec<Option<Stop>> = self
            .stops
            .iter()
            .enumerate()
            .map(|(i, s)| resolve_stop(geo, horizon, i, s, &mut errs))
            .collect();
        // Each stop's window cannot close before the previous stop's opens.
        for i in 1..stops.len() {
            if let (Some(prev), Some(this)) = (&stops[i - 1], &stops[i]) {
                if this.window.end < prev.window.start {
                    let what = if this.kind == StopKind::Delivery && prev.kind == StopKind::Pickup {
                        "the delivery is before the pickup"
                    } else {
                        "is before the previous stop"
                    };
                    let sub = if this.window.appointment {
                        "appointment"
                    } else {
                        "window.end"
                    };
                    errs.add(format!("stops[{i}].{sub}"), what);
                }
            }
        }

        // Equipment, size and weight.
        let max_ft = self.equipment.max_length_ft();
        if !(MIN_TRAILER_FT..=max_ft).contains(&self.trailer_length_ft) {
            errs.add(
                "trailer_length_ft",
                format!(
                    "must be between {MIN_TRAILER_FT} and {max_ft} ft for {}",
                    self.equipment.name()
                ),
            );
        }
        let max_lbs = if self.equipment == Equipment::Hotshot {
            MAX_HOTSHOT_CARGO_LBS
        } else {
            MAX_CARGO_LBS
        };
        if self.weight_lbs == 0 || self.weight_lbs > max_lbs {
            errs.add(
                "weight_lbs",
                format!(
                    "must be between 1 and {max_lbs} lbs (legal cargo limit for {})",
                    self.equipment.name()
                ),
            );
        }
        match (&self.temperature_f, self.equipment) {
            (Some(_), e) if e != Equipment::Reefer => errs.add(
                "temperature_f",
                "only reefer loads have a temperature range",
            ),
            (Some(t), _) => {
                if !REEFER_TEMP_F.contains(&t.min_f) {
                    errs.add(
                        "temperature_f.min_f",
                        format!(
                            "must be between {} and {} °F",
                            REEFER_TEMP_F.start(),
                            REEFER_TEMP_F.end()
                        ),
                    );
                }
                if !REEFER_TEMP_F.contains(&t.max_f) {
                    errs.add(
                        "temperature_f.max_f",
                        format!(
                            "must be between {} and {} °F",
                            REEFER_TEMP_F.start(),
                            REEFER_TEMP_F.end()
                        ),
                    );
                } else if t.max_f < t.min_f {
                    errs.add("temperature_f.max_f", "is below min_f");
                }
            }
            _ => {}
        }

        // Money.
        if let Some(r) = &self.rate {
            let range = match r.kind {
                RateKind::AllIn => ALL_IN_RATE_CENTS,
                RateKind::PerMile => PER_MILE_RATE_CENTS,
            };
            if !range.contains(&r.amount_cents) {
                errs.add(
                    "rate.amount_cents",
                    format!(
                        "must be between {} and {} cents",
                        range.start(),
                        range.end()
                    ),
                );
            }
        }
        for (field, v) in [
            ("target_rate_cents", self.target_rate_cents),
            ("max_rate_cents", self.max_rate_cents),
        ] {
            if let Some(v) = v {
                if !ALL_IN_RATE_CENTS.contains(&v) {
                    errs.add(
                        field,
                        format!(
                            "must be between {} and {} cents",
                            ALL_IN_RATE_CENTS.start(),
                            ALL_IN_RATE_CENTS.end()
                        ),
                    );
                }
            }
        }
        if let (Some(t), Some(m)) = (self.target_rate_cents, self.max_rate_cents) {
            if m < t {
                errs.add("max_rate_cents", "is below target_rate_cents");
            }
        }
        if let Some(c) = &self.contact {
            for (f, v) in [
                ("contact.name", &c.name),
                ("contact.phone", &c.phone),
                ("contact.email", &c.email),
            ] {
                if let Some(v) = v {
                    CONTACT_FIELD.check(&mut errs, f, v);
                }
            }
        }

        if !errs.is_empty() {
            return Err(errs);
        }
        let stops: Vec<Stop> = stops
            .into_iter()
            .map(|s| s.expect("no violations"))
            .collect();
        let pairs: Vec<_> = stops
            .windows(2)
            .map(|w| (w[0].location.point(), w[1].location.point()))
            .collect();
        let legs = match geo.geocoder.distance_miles(&pairs) {
            Ok(legs) => legs,
            Err(e) => {
                errs.add("stops", format!("cannot compute the route: {e}"));
                return Err(errs);
            }
        };
        // A stop whose window closes before a truck could get there from the previous
        // stop's opening, driving flat out, is a typo (a wrong day or zone), not a load.
        for (i, miles) in legs.iter().enumerate() {
            let (prev, this) = (&stops[i], &stops[i + 1]);
            let hours = miles / MAX_AVERAGE_MPH;
            let earliest = prev.window.start + chrono::Duration::seconds((hours * 3600.0) as i64);
            if this.window.end < earliest {
                let sub = if this.window.appointment {
                    "appointment"
                } else {
                    "window.end"
                };
                errs.add(
                    format!("stops[{}].{sub}", i + 1),
                    format!("cannot be reached from stops[{i}]: {miles:.0} road miles need at least {hours:.1} h of driving"),
                );
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        let loaded_miles = legs.iter().sum::<f64>();
        Ok(LoadSpec {
            reference: self.reference.trim().to_string(),
            stops,
            equipment: self.equipment,
            trailer_length_ft: self.trailer_length_ft,
            weight_lbs: self.weight_lbs,
            full_load: self.full_load,
            commodity: self.commodity.trim().to_string(),
            temperature_f: self.temperature_f.clone(),
            hazmat: self.hazmat,
            team: self.team,
            rate: self.rate,
            target_rate_cents: self.target_rate_cents,
            max_rate_cents: self.max_rate_cents,
            notes: self.notes.clone(),
            contact: self.contact.clone(),
            visibility: self.visibility,
            loaded_miles,
            input: self.clone(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// The horizon of the default configuration around a fixed day, so that the samples'
    /// dates (December 2026) stay inside it whenever the tests run.
    pub fn horizon() -> Horizon {
        use chrono::TimeZone;
        Horizon::around(
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            crate::domain::HorizonDays::default(),
        )
    }

    pub fn geo() -> &'static Geo {
        static GEO: OnceLock<Geo> = OnceLock::new();
        GEO.get_or_init(Geo::offline)
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    pub fn sample() -> LoadInput {
        serde_json::from_value(serde_json::json!({
            "reference": "PO-1",
            "stops": [
                {"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": "2026-12-01T08:00:00", "end": "2026-12-01T14:00:00"}},
                {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": "2026-12-02T09:00:00", "handling": "drop"}
            ],
            "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 42000, "commodity": "paper",
            "rate": {"kind": "all_in", "amount_cents": 250000},
            "target_rate_cents": 220000, "max_rate_cents": 260000
        }))
        .unwrap()
    }

    #[test]
    fn a_delivery_no_truck_could_reach_in_time_is_refused() {
        // Dallas 08:00 CST → Atlanta (~860 road miles) by 09:00 EST the same day.
        let mut l = sample();
        l.stops[1].appointment = Some(at("2026-12-01T09:00"));
        let errs = l.validate(geo(), &horizon()).unwrap_err();
        assert_eq!(errs.fields(), ["stops[1].appointment"]);
        assert!(errs.0[0].message.contains("road miles"), "{errs}");
        // The next morning is fine (~13 h of driving at 65 mph).
        l.stops[1].appointment = Some(at("2026-12-02T09:00"));
        assert!(l.validate(geo(), &horizon()).is_ok());
    }

    #[test]
    fn a_good_load_resolves_places_zones_and_miles() {
        let spec = sample().validate(geo(), &horizon()).unwrap();
        assert_eq!(spec.stops[0].location.label, "Dallas, TX");
        assert_eq!(spec.stops[0].window.timezone, "America/Chicago");
        assert_eq!(spec.stops[1].window.timezone, "America/New_York");
        // 08:00 CST is 14:00 UTC; 09:00 EST is 14:00 UTC.
        assert_eq!(
            spec.stops[0].window.start.to_rfc3339(),
            "2026-12-01T14:00:00+00:00"
        );
        assert_eq!(
            spec.stops[1].window.start.to_rfc3339(),
            "2026-12-02T14:00:00+00:00"
        );
        assert!(spec.stops[1].window.appointment);
        assert!(
            (700.0..1000.0).contains(&spec.loaded_miles),
            "{}",
            spec.loaded_miles
        );
        assert_eq!(spec.all_in_rate_cents(), Some(250_000));
    }

    #[test]
    fn errors_name_the_field() {
        let mut l = sample();
        l.stops[0].window = Some(WindowInput {
            start: at("2026-12-01T14:00"),
            end: at("2026-12-01T08:00"),
        });
        l.weight_lbs = 90_000;
        l.trailer_length_ft = 60;
        l.rate = Some(Rate {
            kind: RateKind::PerMile,
            amount_cents: -5,
        });
        l.temperature_f = Some(TempRange {
            min_f: 34,
            max_f: 38,
        });
        l.stops[1].location = LocationInput::place("Dalas, TX");
        let errs = l.validate(geo(), &horizon()).unwrap_err();
        let fields = errs.fields();
        for f in [
            "stops[0].window.end",
            "weight_lbs",
            "trailer_length_ft",
            "rate.amount_cents",
            "temperature_f",
            "stops[1].location.place",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        let place = errs
            .0
            .iter()
            .find(|v| v.field == "stops[1].location.place")
            .unwrap();
        assert!(
            place.suggestions.iter().any(|s| s == "Dallas, TX"),
            "{:?}",
            place.suggestions
        );
    }

    #[test]
    fn delivery_before_pickup_is_refused() {
        let mut l = sample();
        l.stops[1].appointment = Some(at("2026-11-30T09:00"));
        let errs = l.validate(geo(), &horizon()).unwrap_err();
        assert_eq!(errs.fields(), ["stops[1].appointment"]);
        assert!(errs.0[0].message.contains("before the pickup"));
    }

    #[test]
    fn stops_need_a_pickup_first_and_a_delivery() {
        let mut l = sample();
        l.stops.truncate(1);
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            ["stops"]
        );
        let mut l = sample();
        l.stops.swap(0, 1);
        assert!(l
            .validate(geo(), &horizon())
            .unwrap_err()
            .fields()
            .contains(&"stops[1].kind"));
    }

    #[test]
    fn points_reverse_geocode_for_their_zone() {
        let mut l = sample();
        l.stops[0].location = LocationInput {
            place: None,
            lat: Some(32.78),
            lon: Some(-96.8),
        };
        let spec = l.validate(geo(), &horizon()).unwrap();
        assert_eq!(spec.stops[0].location.state, "TX");
        assert_eq!(spec.stops[0].location.lat, 32.78);
        l.stops[0].location = LocationInput {
            place: None,
            lat: Some(32.78),
            lon: None,
        };
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            ["stops[0].location"]
        );
    }

    #[test]
    fn private_rates_are_ordered_and_reefer_ranges_checked() {
        let mut l = sample();
        l.max_rate_cents = Some(100_000);
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            ["max_rate_cents"]
        );
        let mut l = sample();
        l.equipment = Equipment::Reefer;
        l.temperature_f = Some(TempRange {
            min_f: 40,
            max_f: 34,
        });
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            ["temperature_f.max_f"]
        );
    }

    #[test]
    fn stop_times_beyond_the_horizon_name_their_field() {
        let mut l = sample();
        l.stops[0].window = Some(WindowInput {
            start: at("9999-12-30T08:00"),
            end: at("9999-12-30T14:00"),
        });
        l.stops[1].appointment = Some(at("9999-12-31T09:00"));
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            [
                "stops[0].window.start",
                "stops[0].window.end",
                "stops[1].appointment"
            ]
        );
        // The extremes of the type are refused before any time-zone arithmetic.
        l.stops[0].window = Some(WindowInput {
            start: NaiveDateTime::MIN,
            end: NaiveDateTime::MAX,
        });
        l.stops[1].appointment = Some(NaiveDateTime::MAX);
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            [
                "stops[0].window.start",
                "stops[0].window.end",
                "stops[1].appointment"
            ]
        );
        // A day past the edge in UTC, still inside it in local time: refused once the
        // zone is known.
        let edge = horizon().latest.naive_utc();
        let mut l = sample();
        l.stops[0].window = Some(WindowInput {
            start: edge - chrono::Duration::hours(30),
            end: edge - chrono::Duration::hours(28),
        });
        l.stops[1].appointment = Some(edge + chrono::Duration::hours(2));
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            ["stops[1].appointment"]
        );
    }

    #[test]
    fn control_characters_are_refused_in_every_text_field() {
        let mut l = sample();
        l.reference = "PO\u{0}1".into();
        l.commodity = "paper\n".into();
        l.notes = Some("two\nlines\tand a tab".into());
        l.stops[0].facility = Some("DC\u{7}4".into());
        l.stops[1].location = LocationInput::place("Atlanta,\u{0} GA");
        l.contact = Some(Contact {
            name: Some("Dana\u{1b}".into()),
            phone: Some("+1\r214".into()),
            email: Some("d@x.io\u{85}".into()),
        });
        assert_eq!(
            l.validate(geo(), &horizon()).unwrap_err().fields(),
            [
                "reference",
                "commodity",
                "stops[0].facility",
                "stops[1].location.place",
                "contact.name",
                "contact.phone",
                "contact.email"
            ]
        );
    }

    proptest! {
        #[test]
        fn weight_is_accepted_exactly_within_the_legal_limit(w in 0u32..200_000) {
            let mut l = sample();
            l.weight_lbs = w;
            let ok = l.validate(geo(), &horizon()).is_ok();
            prop_assert_eq!(ok, (1..=MAX_CARGO_LBS).contains(&w));
        }

        #[test]
        fn per_mile_rates_are_accepted_exactly_in_range(c in -10_000i64..10_000) {
            let mut l = sample();
            l.rate = Some(Rate { kind: RateKind::PerMile, amount_cents: c });
            prop_assert_eq!(l.validate(geo(), &horizon()).is_ok(), PER_MILE_RATE_CENTS.contains(&c));
        }

        #[test]
        fn windows_are_valid_exactly_when_they_do_not_end_before_they_start(start in 0i64..72, len in -48i64..48) {
            let mut l = sample();
            let base = at("2026-12-01T00:00");
            let s = base + chrono::Duration::hours(start);
            l.stops[0].window = Some(WindowInput { start: s, end: s + chrono::Duration::hours(len) });
            l.stops[1].appointment = Some(base + chrono::Duration::hours(200));
            let r = l.validate(geo(), &horizon());
            if len < 0 {
                let errs = r.unwrap_err();
                prop_assert_eq!(errs.fields(), vec!["stops[0].window.end"]);
            } else {
                prop_assert!(r.is_ok());
            }
        }
    }
}
