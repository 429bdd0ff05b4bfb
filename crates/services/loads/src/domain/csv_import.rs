//! Bulk import of loads from CSV, the way brokers move loads between systems.
//!
//! One load per row, two stops (origin → destination). Columns, by header name, in any
//! order (unknown headers are an error, so a typo is not silently ignored):
//!
//! | column | required | format |
//! |---|---|---|
//! | `reference` | yes | text |
//! | `origin`, `destination` | yes | "City, ST" |
//! | `pickup_start`, `delivery_start` | yes | local time at the stop: `2026-12-01 08:00` or `2026-12-01T08:00` |
//! | `pickup_end`, `delivery_end` | no | same; empty = an appointment at `*_start` |
//! | `equipment` | yes | V, R, F, SD, PO, HS, TNK, CONT (or the name) |
//! | `trailer_length_ft`, `weight_lbs` | yes | integer |
//! | `commodity` | yes | text |
//! | `full_load`, `hazmat`, `team` | no | Y/N, true/false (defaults Y, N, N) |
//! | `rate_kind` | no | `all_in` (default) or `per_mile` |
//! | `rate_cents`, `target_rate_cents`, `max_rate_cents` | no | integer cents |
//! | `temp_min_f`, `temp_max_f` | no | integer °F, reefers only |
//! | `visibility` | no | `public` (default) or `private` |
//! | `notes` | no | text |

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::load::{
    LoadInput, Rate, RateKind, StopInput, StopKind, TempRange, Visibility, WindowInput,
};
use super::place::LocationInput;
use super::text::{check_chars, Lines};
use super::{Equipment, Violations};

pub const COLUMNS: &[&str] = &[
    "reference",
    "origin",
    "pickup_start",
    "pickup_end",
    "destination",
    "delivery_start",
    "delivery_end",
    "equipment",
    "trailer_length_ft",
    "weight_lbs",
    "full_load",
    "commodity",
    "rate_kind",
    "rate_cents",
    "target_rate_cents",
    "max_rate_cents",
    "hazmat",
    "team",
    "temp_min_f",
    "temp_max_f",
    "visibility",
    "notes",
];
const REQUIRED: &[&str] = &[
    "reference",
    "origin",
    "pickup_start",
    "destination",
    "delivery_start",
    "equipment",
    "trailer_length_ft",
    "weight_lbs",
    "commodity",
];
/// Most rows one import may carry.
pub const MAX_ROWS: usize = 5_000;

/// A row's problems; `row` counts data rows from 1 (the header is not a row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub errors: Violations,
}

/// One data row: the load as far as its cells could be read, and what could not be read
/// (a cell that failed to parse is replaced by a neutral value so that the rest of the row
/// can still be validated and every problem of the row reported at once).
#[derive(Debug, Clone)]
pub struct ParsedRow {
    pub input: LoadInput,
    pub problems: Violations,
}

/// Parses the file into one [`ParsedRow`] per data row, or the problems of the file itself
/// (as row 0: unknown or missing columns, too many rows, no rows).
pub fn parse(text: &str) -> Result<Vec<ParsedRow>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let file_error = |message: String| {
        let mut v = Violations::default();
        v.add("file", message);
        vec![RowError { row: 0, errors: v }]
    };
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.to_ascii_lowercase()).collect(),
        Err(e) => return Err(file_error(e.to_string())),
    };
    let mut v = Violations::default();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            v.add(format!("columns.{h}"), "unknown column");
        }
    }
    for r in REQUIRED {
        if !headers.iter().any(|h| h == r) {
            v.add(format!("columns.{r}"), "required column is missing");
        }
    }
    if !v.is_empty() {
        return Err(vec![RowError { row: 0, errors: v }]);
    }
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        if row > MAX_ROWS {
            return Err(file_error(format!("at most {MAX_ROWS} rows per import")));
        }
        match record {
            Ok(record) => {
                let cells: HashMap<&str, &str> = headers
                    .iter()
                    .map(String::as_str)
                    .zip(record.iter())
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                rows.push(row_to_input(&cells));
            }
            Err(e) => {
                let mut v = Violations::default();
                v.add("row", e.to_string());
                unreadable.push(RowError { row, errors: v });
            }
        }
    }
    if !unreadable.is_empty() {
        return Err(unreadable);
    }
    if rows.is_empty() {
        return Err(file_error("the file has no rows".into()));
    }
    Ok(rows)
}

/// The CSV column a validation error of a row's [`LoadInput`] is about, so that the report
/// speaks the file's language (`origin`, not `stops[0].location.place`).
pub fn column_of(field: &str) -> &str {
    let stop = |i: &str, rest: &str| -> &'static str {
        let pickup = i == "0";
        if rest.starts_with("location") {
            if pickup {
                "origin"
            } else {
                "destination"
            }
        } else if rest.ends_with("end") {
            if pickup {
                "pickup_end"
            } else {
                "delivery_end"
            }
        } else if pickup {
            "pickup_start"
        } else {
            "delivery_start"
        }
    };
    if let Some(rest) = field.strip_prefix("stops[") {
        if let Some((i, tail)) = rest.split_once("].") {
            return stop(i, tail);
        }
        return "row";
    }
    match field {
        "rate.amount_cents" | "rate" => "rate_cents",
        "temperature_f.min_f" => "temp_min_f",
        "temperature_f.max_f" | "temperature_f" => "temp_max_f",
        "stops" => "row",
        other => other,
    }
}

/// The problems of one row: what could not be read, then what validation found in the
/// rest (named by column, skipping columns already reported and rules that depend on an
/// unreadable equipment).
pub fn row_problems(parsed: &ParsedRow, validation: Violations) -> Violations {
    let mut all = parsed.problems.clone();
    let unreadable: Vec<String> = parsed.problems.0.iter().map(|v| v.field.clone()).collect();
    let equipment_unknown = unreadable.iter().any(|f| f == "equipment");
    for mut v in validation.0 {
        let column = column_of(&v.field).to_string();
        let depends_on_equipment = matches!(
            column.as_str(),
            "temp_min_f" | "temp_max_f" | "trailer_length_ft"
        );
        if unreadable.contains(&column) || (equipment_unknown && depends_on_equipment) {
            continue;
        }
        v.field = column;
        if !all
            .0
            .iter()
            .any(|seen| seen.field == v.field && seen.message == v.message)
        {
            all.0.push(v);
        }
    }
    all
}

fn time(s: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn boolean(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" => Some(true),
        "n" | "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// The columns whose cells hold a control character (recorded in `v`), in column order.
/// Only `notes` is prose (a quoted cell may span lines); every other cell is one line.
fn control_char_cells(c: &HashMap<&str, &str>, v: &mut Violations) -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|col| {
            let lines = if **col == "notes" {
                Lines::Prose
            } else {
                Lines::One
            };
            c.get(*col)
                .is_some_and(|cell| !check_chars(v, col, cell, lines))
        })
        .copied()
        .collect()
}

fn row_to_input(c: &HashMap<&str, &str>) -> ParsedRow {
    let mut garbled = Violations::default();
    let garbled_columns = control_char_cells(c, &mut garbled);
    let mut parsed = read_cells(c);
    // One complaint per garbled cell: the control character, not what it broke.
    parsed
        .problems
        .0
        .retain(|e| !garbled_columns.contains(&e.field.as_str()));
    garbled.0.append(&mut parsed.problems.0);
    parsed.problems = garbled;
    parsed
}

fn read_cells(c: &HashMap<&str, &str>) -> ParsedRow {
    let mut v = Violations::default();
    let req = |k: &str, v: &mut Violations| -> String {
        match c.get(k) {
            Some(s) => s.to_string(),
            None => {
                v.add(k, "is required");
                String::new()
            }
        }
    };
    let reference = req("reference", &mut v);
    let origin = req("origin", &mut v);
    let destination = req("destination", &mut v);
    let commodity = req("commodity", &mut v);
    let t = |k: &str, v: &mut Violations| -> Option<NaiveDateTime> {
        let s = c.get(k)?;
        let t = time(s);
        if t.is_none() {
            v.add(k, "expected a local time like 2026-12-01 08:00");
        }
        t
    };
    let ps = t("pickup_start", &mut v);
    let pe = t("pickup_end", &mut v);
    let ds = t("delivery_start", &mut v);
    let de = t("delivery_end", &mut v);
    for k in ["pickup_start", "delivery_start"] {
        if !c.contains_key(k) {
            v.add(k, "is required");
        }
    }
    let int = |k: &str, v: &mut Violations| -> Option<i64> {
        let s = c.get(k)?;
        let n = s.replace(',', "").parse::<i64>().ok();
        if n.is_none() {
            v.add(k, "expected a whole number");
        }
        n
    };
    let length = int("trailer_length_ft", &mut v);
    let weight = int("weight_lbs", &mut v);
    let rate = int("rate_cents", &mut v);
    let target = int("target_rate_cents", &mut v);
    let max = int("max_rate_cents", &mut v);
    let tmin = int("temp_min_f", &mut v);
    let tmax = int("temp_max_f", &mut v);
    let flag = |k: &str, default: bool, v: &mut Violations| -> bool {
        match c.get(k) {
            None => default,
            Some(s) => boolean(s).unwrap_or_else(|| {
                v.add(k, "expected Y or N");
                default
            }),
        }
    };
    let full_load = flag("full_load", true, &mut v);
    let hazmat = flag("hazmat", false, &mut v);
    let team = flag("team", false, &mut v);
    let equipment = c
        .get("equipment")
        .and_then(|s| match s.parse::<Equipment>() {
            Ok(e) => Some(e),
            Err(e) => {
                v.add("equipment", e.to_string());
                None
            }
        });
    let rate_kind = match c.get("rate_kind").copied() {
        None | Some("all_in") => RateKind::AllIn,
        Some("per_mile") => RateKind::PerMile,
        Some(other) => {
            v.add("rate_kind", format!("`{other}` is not all_in or per_mile"));
            RateKind::AllIn
        }
    };
    let visibility = match c.get("visibility").copied() {
        None | Some("public") => Visibility::Public,
        Some("private") => Visibility::Private,
        Some(other) => {
            v.add("visibility", format!("`{other}` is not public or private"));
            Visibility::Public
        }
    };
    let temperature_f = match (tmin, tmax) {
        (Some(a), Some(b)) => Some(TempRange {
            min_f: a as i32,
            max_f: b as i32,
        }),
        (None, None) => None,
        _ => {
            v.add("temp_max_f", "give both temp_min_f and temp_max_f");
            None
        }
    };
    let to_u32 = |k: &str, n: Option<i64>, v: &mut Violations| -> u32 {
        match n.map(u32::try_from) {
            Some(Ok(n)) => n,
            Some(Err(_)) => {
                v.add(k, "out of range");
                0
            }
            None => 0,
        }
    };
    let trailer_length_ft = to_u32("trailer_length_ft", length, &mut v);
    let weight_lbs = to_u32("weight_lbs", weight, &mut v);
    let stop =
        |kind, place: String, start: Option<NaiveDateTime>, end: Option<NaiveDateTime>| StopInput {
            kind,
            location: LocationInput::place(&place),
            facility: None,
            appointment: if end.is_none() { start } else { None },
            window: match (start, end) {
                (Some(s), Some(e)) => Some(WindowInput { start: s, end: e }),
                _ => None,
            },
            handling: Default::default(),
        };
    let input = LoadInput {
        reference,
        stops: vec![
            stop(StopKind::Pickup, origin, ps, pe),
            stop(StopKind::Delivery, destination, ds, de),
        ],
        // Stands in for an unreadable code, which is already reported.
        equipment: equipment.unwrap_or(Equipment::DryVan),
        trailer_length_ft,
        weight_lbs,
        full_load,
        commodity,
        temperature_f,
        hazmat,
        team,
        rate: rate.map(|amount_cents| Rate {
            kind: rate_kind,
            amount_cents,
        }),
        target_rate_cents: target,
        max_rate_cents: max,
        notes: c.get("notes").map(|s| s.to_string()),
        contact: None,
        visibility,
    };
    ParsedRow { input, problems: v }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::load::tests::{geo, horizon};

    const GOOD: &str = "reference,origin,pickup_start,pickup_end,destination,delivery_start,equipment,trailer_length_ft,weight_lbs,commodity,rate_cents\n\
        A-1,\"Dallas, TX\",2026-12-01 08:00,2026-12-01 12:00,\"Atlanta, GA\",2026-12-03 09:00,V,53,40000,paper,250000\n\
        A-2,\"Ft. Worth, TX\",2026-12-01 08:00,,\"Memphis, TN\",2026-12-02 09:00,reefer,53,\"38,000\",produce,\n";

    fn problems(text: &str) -> Vec<(usize, Vec<String>)> {
        parse(text)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    i + 1,
                    row_problems(
                        r,
                        r.input
                            .validate(geo(), &horizon())
                            .err()
                            .unwrap_or_default(),
                    ),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| (i, v.0.iter().map(|e| e.field.clone()).collect()))
            .collect()
    }

    #[test]
    fn good_rows_become_loads() {
        let loads: Vec<LoadInput> = parse(GOOD).unwrap().into_iter().map(|r| r.input).collect();
        assert_eq!(loads.len(), 2);
        assert_eq!(loads[1].equipment, Equipment::Reefer);
        assert_eq!(loads[1].weight_lbs, 38_000);
        assert!(loads[1].stops[0].appointment.is_some());
        for l in &loads {
            l.validate(geo(), &horizon()).unwrap();
        }
    }

    #[test]
    fn bad_rows_are_each_reported() {
        let text = format!("{GOOD}A-3,\"Dallas, TX\",yesterday,,\"Atlanta, GA\",2026-12-03 09:00,XX,53,heavy,paper,\n");
        assert_eq!(
            problems(&text),
            [(
                3,
                vec![
                    "pickup_start".to_string(),
                    "weight_lbs".into(),
                    "equipment".into()
                ]
            )]
        );
    }

    #[test]
    fn a_row_reports_unreadable_cells_and_invalid_values_together_by_column() {
        let text = format!("{GOOD}A-4,\"Dalas, TX\",2026-12-01 08:00,,\"Atlanta, GA\",2026-12-03 09:00,XX,53,99000,paper,-1\n");
        let got = problems(&text);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 3);
        assert_eq!(
            got[0].1,
            ["equipment", "origin", "weight_lbs", "rate_cents"]
        );
    }

    #[test]
    fn control_characters_are_reported_once_by_column() {
        let text = format!(
            "{GOOD}A\u{0}3,\"Dallas,\u{0} TX\",2026-12-01 08:00,,\"Atlanta, GA\",2026-12-03 09:00,V,53,4\u{1}0000,paper,\n"
        );
        assert_eq!(
            problems(&text),
            [(
                3,
                vec![
                    "reference".to_string(),
                    "origin".into(),
                    "weight_lbs".into()
                ]
            )]
        );
        let prose = "reference,origin,pickup_start,destination,delivery_start,equipment,trailer_length_ft,weight_lbs,commodity,notes\n\
            A-1,\"Dallas, TX\",2026-12-01 08:00,\"Atlanta, GA\",2026-12-03 09:00,V,53,40000,paper,\"two\nlines\"\n";
        assert!(problems(prose).is_empty());
        let rows = parse(prose).unwrap();
        assert_eq!(rows[0].input.notes.as_deref(), Some("two\nlines"));
    }

    #[test]
    fn validation_fields_map_to_columns() {
        assert_eq!(column_of("stops[0].location.place"), "origin");
        assert_eq!(column_of("stops[1].appointment"), "delivery_start");
        assert_eq!(column_of("stops[0].window.end"), "pickup_end");
        assert_eq!(column_of("temperature_f.max_f"), "temp_max_f");
        assert_eq!(column_of("weight_lbs"), "weight_lbs");
    }

    #[test]
    fn unknown_and_missing_columns_are_file_errors() {
        let errs = parse("reference,origin,wieght\nA,B,C\n").unwrap_err();
        assert_eq!(errs[0].row, 0);
        assert!(errs[0].errors.fields().contains(&"columns.wieght"));
        assert!(errs[0].errors.fields().contains(&"columns.weight_lbs"));
    }
}
