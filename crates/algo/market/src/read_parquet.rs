//! Reading bookings and postings back from Parquet: the simulator's `bookings.parquet` /
//! `postings.parquet`, and the analytics archive's `date=…/part-*.parquet` files, which
//! share their schemas. A file of another kind, or a row that does not hold a record, is
//! refused with the file, the row and the column.

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use lanerunner_core::market::{BookingRecord, PostingKind, PostingRecord, RateKind};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use uuid::Uuid;

use crate::files::FileError;

/// The columns of each file, in order, as the writer lays them out (CSV and Parquet).
pub(crate) const BOOKING_COLUMNS: [&str; 21] = [
    "load_id",
    "booked_at",
    "pickup_date",
    "origin_city",
    "origin_state",
    "origin_lat",
    "origin_lon",
    "origin_market",
    "dest_city",
    "dest_state",
    "dest_lat",
    "dest_lon",
    "dest_market",
    "equipment",
    "miles",
    "weight_lbs",
    "broker_org_id",
    "carrier_org_id",
    "rate_kind",
    "diesel_cents_per_gallon",
    "rate_cents",
];
pub(crate) const POSTING_COLUMNS: [&str; 8] = [
    "id",
    "kind",
    "posted_at",
    "org_id",
    "origin_market",
    "dest_market",
    "equipment",
    "ready_date",
];

fn invalid(path: &Path, message: String) -> FileError {
    FileError::Invalid(format!("{}: {message}", path.display()))
}

/// One row's fields by position, each read as the type its column must have.
struct Cells<'a> {
    path: &'a Path,
    row: usize,
    names: &'a [&'a str],
    fields: Vec<&'a Field>,
}

impl Cells<'_> {
    fn bad(&self, i: usize, want: &str) -> FileError {
        invalid(
            self.path,
            format!("row {}: column {} is not {want}", self.row, self.names[i]),
        )
    }

    fn text(&self, i: usize) -> Result<&str, FileError> {
        match self.fields[i] {
            Field::Str(s) => Ok(s),
            _ => Err(self.bad(i, "text")),
        }
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>, FileError> {
        match self.fields[i] {
            Field::Null => Ok(None),
            _ => self.text(i).map(|s| Some(s.to_string())),
        }
    }

    fn uuid(&self, i: usize) -> Result<Uuid, FileError> {
        self.text(i)?.parse().map_err(|_| self.bad(i, "a UUID"))
    }

    fn f64(&self, i: usize) -> Result<f64, FileError> {
        match self.fields[i] {
            Field::Double(v) => Ok(*v),
            _ => Err(self.bad(i, "a double")),
        }
    }

    fn i64(&self, i: usize) -> Result<i64, FileError> {
        match self.fields[i] {
            Field::Long(v) => Ok(*v),
            _ => Err(self.bad(i, "a 64-bit integer")),
        }
    }

    fn u32(&self, i: usize) -> Result<u32, FileError> {
        u32::try_from(self.i64(i)?).map_err(|_| self.bad(i, "a non-negative 32-bit count"))
    }

    fn time(&self, i: usize) -> Result<DateTime<Utc>, FileError> {
        match self.fields[i] {
            Field::TimestampMicros(v) => {
                DateTime::from_timestamp_micros(*v).ok_or_else(|| self.bad(i, "a time"))
            }
            _ => Err(self.bad(i, "a timestamp")),
        }
    }

    fn date(&self, i: usize) -> Result<NaiveDate, FileError> {
        match self.fields[i] {
            Field::Date(days) => NaiveDate::default()
                .checked_add_signed(chrono::Duration::days(i64::from(*days)))
                .ok_or_else(|| self.bad(i, "a date")),
            _ => Err(self.bad(i, "a date")),
        }
    }
}

/// Every row of the Parquet file at `path`, after checking its columns are `names`.
fn read_rows<T>(
    path: &Path,
    names: &[&str],
    what: &str,
    mut record: impl FnMut(&Cells) -> Result<T, FileError>,
) -> Result<Vec<T>, FileError> {
    let file = File::open(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file)?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let columns: Vec<&str> = schema.columns().iter().map(|c| c.name()).collect();
    if columns != names {
        return Err(invalid(
            path,
            format!("not a {what} file: its columns are {columns:?}"),
        ));
    }
    let mut out = Vec::with_capacity(reader.metadata().file_metadata().num_rows() as usize);
    for (n, row) in reader.get_row_iter(None)?.enumerate() {
        let row: Row = row?;
        let cells = Cells {
            path,
            row: n + 1,
            names,
            fields: row.get_column_iter().map(|(_, f)| f).collect(),
        };
        out.push(record(&cells)?);
    }
    Ok(out)
}

pub fn read_bookings_parquet(path: &Path) -> Result<Vec<BookingRecord>, FileError> {
    read_rows(path, &BOOKING_COLUMNS, "bookings", |c| {
        Ok(BookingRecord {
            load_id: c.uuid(0)?,
            booked_at: c.time(1)?,
            pickup_date: c.date(2)?,
            origin_city: c.text(3)?.into(),
            origin_state: c.text(4)?.into(),
            origin_lat: c.f64(5)?,
            origin_lon: c.f64(6)?,
            origin_market: c.text(7)?.into(),
            dest_city: c.text(8)?.into(),
            dest_state: c.text(9)?.into(),
            dest_lat: c.f64(10)?,
            dest_lon: c.f64(11)?,
            dest_market: c.text(12)?.into(),
            equipment: c.text(13)?.into(),
            miles: c.f64(14)?,
            weight_lbs: c.u32(15)?,
            broker_org_id: c.uuid(16)?,
            carrier_org_id: c.uuid(17)?,
            rate_kind: RateKind::from_name(c.text(18)?)
                .ok_or_else(|| c.bad(18, "spot or contract"))?,
            diesel_cents_per_gallon: c.u32(19)?,
            rate_cents: c.i64(20)?,
        })
    })
}

pub fn read_postings_parquet(path: &Path) -> Result<Vec<PostingRecord>, FileError> {
    read_rows(path, &POSTING_COLUMNS, "postings", |c| {
        Ok(PostingRecord {
            id: c.uuid(0)?,
            kind: match c.text(1)? {
                "load" => PostingKind::Load,
                "truck" => PostingKind::Truck,
                _ => return Err(c.bad(1, "load or truck")),
            },
            posted_at: c.time(2)?,
            org_id: c.uuid(3)?,
            origin_market: c.text(4)?.into(),
            dest_market: c.opt_text(5)?,
            equipment: c.text(6)?.into(),
            ready_date: c.date(7)?,
        })
    })
}

/// The `.parquet` files under `dir` (the archive's `date=…/part-*.parquet` layout, or any
/// other), in path order, which in the archive is time order.
pub fn parquet_files_under(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| FileError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| FileError::Io {
                    path: d.clone(),
                    source,
                })?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::{bookings_parquet, postings_parquet};
    use crate::{SimParams, Simulator};

    #[test]
    fn what_is_written_reads_back_equal_and_other_files_are_refused() {
        let mut sim = Simulator::new(SimParams {
            days: 3,
            loads_per_day: 40,
            ..SimParams::default()
        })
        .unwrap();
        let (mut bookings, mut postings) = (Vec::new(), Vec::new());
        while let Some(day) = sim.next_day() {
            bookings.extend(day.bookings);
            postings.extend(day.postings);
        }
        assert!(!bookings.is_empty() && postings.iter().any(|p| p.dest_market.is_none()));
        let dir = std::env::temp_dir().join(format!("lanerunner-parquet-{}", Uuid::now_v7()));
        let nested = dir.join("bookings").join("date=2026-01-01");
        std::fs::create_dir_all(&nested).unwrap();
        let b = nested.join("part-1.parquet");
        let p = dir.join("postings.parquet");
        std::fs::write(&b, bookings_parquet(&bookings).unwrap()).unwrap();
        std::fs::write(&p, postings_parquet(&postings).unwrap()).unwrap();
        assert_eq!(read_bookings_parquet(&b).unwrap(), bookings);
        assert_eq!(read_postings_parquet(&p).unwrap(), postings);
        assert_eq!(
            parquet_files_under(&dir.join("bookings")).unwrap(),
            [b.clone()]
        );
        let wrong = read_bookings_parquet(&p).unwrap_err().to_string();
        assert!(wrong.contains("not a bookings file"), "{wrong}");
        std::fs::write(&b, b"not parquet").unwrap();
        assert!(read_bookings_parquet(&b).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
