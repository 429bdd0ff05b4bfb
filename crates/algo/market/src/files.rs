//! The market as files: `bookings` and `postings`, as CSV (header = the core records'
//! field names) and as Parquet (one row group per 100,000 rows; timestamps as
//! `TIMESTAMP(MICROS, UTC)`, dates as `DATE`, ids and codes as strings), readable by
//! DuckDB, Spark or pandas as they are.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lanerunner_core::market::{BookingRecord, PostingKind, PostingRecord};
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DataType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::parser::parse_message_type;

use crate::sim::Day;

const ROW_GROUP: usize = 100_000;

const BOOKINGS_SCHEMA: &str = "message booking {
  REQUIRED BYTE_ARRAY load_id (STRING);
  REQUIRED INT64 booked_at (TIMESTAMP(MICROS,true));
  REQUIRED INT32 pickup_date (DATE);
  REQUIRED BYTE_ARRAY origin_city (STRING);
  REQUIRED BYTE_ARRAY origin_state (STRING);
  REQUIRED DOUBLE origin_lat;
  REQUIRED DOUBLE origin_lon;
  REQUIRED BYTE_ARRAY origin_market (STRING);
  REQUIRED BYTE_ARRAY dest_city (STRING);
  REQUIRED BYTE_ARRAY dest_state (STRING);
  REQUIRED DOUBLE dest_lat;
  REQUIRED DOUBLE dest_lon;
  REQUIRED BYTE_ARRAY dest_market (STRING);
  REQUIRED BYTE_ARRAY equipment (STRING);
  REQUIRED DOUBLE miles;
  REQUIRED INT64 weight_lbs;
  REQUIRED BYTE_ARRAY broker_org_id (STRING);
  REQUIRED BYTE_ARRAY carrier_org_id (STRING);
  REQUIRED BYTE_ARRAY rate_kind (STRING);
  REQUIRED INT64 diesel_cents_per_gallon;
  REQUIRED INT64 rate_cents;
}";

const POSTINGS_SCHEMA: &str = "message posting {
  REQUIRED BYTE_ARRAY id (STRING);
  REQUIRED BYTE_ARRAY kind (STRING);
  REQUIRED INT64 posted_at (TIMESTAMP(MICROS,true));
  REQUIRED BYTE_ARRAY org_id (STRING);
  REQUIRED BYTE_ARRAY origin_market (STRING);
  OPTIONAL BYTE_ARRAY dest_market (STRING);
  REQUIRED BYTE_ARRAY equipment (STRING);
  REQUIRED INT32 ready_date (DATE);
}";

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A file that is not what it was read as, or a row that is not a record.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
    Both,
}

impl Format {
    fn csv(self) -> bool {
        matches!(self, Format::Csv | Format::Both)
    }
    fn parquet(self) -> bool {
        matches!(self, Format::Parquet | Format::Both)
    }
}

fn create(path: &Path) -> Result<File, FileError> {
    File::create(path).map_err(|source| FileError::Io {
        path: path.to_owned(),
        source,
    })
}

type CsvFile = csv::Writer<BufWriter<File>>;

/// Writes days as they are simulated, so a run of millions of loads never holds them all.
pub struct MarketWriter {
    csv: Option<(CsvFile, CsvFile)>,
    parquet: Option<(SerializedFileWriter<File>, SerializedFileWriter<File>)>,
    bookings: Vec<BookingRecord>,
    postings: Vec<PostingRecord>,
}

impl MarketWriter {
    /// Creates `bookings.{csv,parquet}` and `postings.{csv,parquet}` in `dir`.
    pub fn create(dir: &Path, format: Format) -> Result<Self, FileError> {
        std::fs::create_dir_all(dir).map_err(|source| FileError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let csv = if format.csv() {
            let open = |name: &str| -> Result<_, FileError> {
                Ok(csv::Writer::from_writer(BufWriter::new(create(
                    &dir.join(name),
                )?)))
            };
            Some((open("bookings.csv")?, open("postings.csv")?))
        } else {
            None
        };
        let parquet = if format.parquet() {
            let props = Arc::new(
                WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build(),
            );
            let open = |name: &str, schema: &str| -> Result<_, FileError> {
                let schema = Arc::new(parse_message_type(schema)?);
                Ok(SerializedFileWriter::new(
                    create(&dir.join(name))?,
                    schema,
                    props.clone(),
                )?)
            };
            Some((
                open("bookings.parquet", BOOKINGS_SCHEMA)?,
                open("postings.parquet", POSTINGS_SCHEMA)?,
            ))
        } else {
            None
        };
        Ok(MarketWriter {
            csv,
            parquet,
            bookings: Vec::new(),
            postings: Vec::new(),
        })
    }

    pub fn write(&mut self, day: &Day) -> Result<(), FileError> {
        if let Some((b, p)) = &mut self.csv {
            for r in &day.bookings {
                b.serialize(r)?;
            }
            for r in &day.postings {
                p.serialize(r)?;
            }
        }
        if self.parquet.is_some() {
            self.bookings.extend(day.bookings.iter().cloned());
            self.postings.extend(day.postings.iter().cloned());
            self.flush_parquet(ROW_GROUP)?;
        }
        Ok(())
    }

    fn flush_parquet(&mut self, at_least: usize) -> Result<(), FileError> {
        let Some((b, p)) = &mut self.parquet else {
            return Ok(());
        };
        if self.bookings.len() >= at_least && !self.bookings.is_empty() {
            write_bookings(b, &std::mem::take(&mut self.bookings))?;
        }
        if self.postings.len() >= at_least && !self.postings.is_empty() {
            write_postings(p, &std::mem::take(&mut self.postings))?;
        }
        Ok(())
    }

    /// Writes what is buffered and closes every file.
    pub fn finish(mut self) -> Result<(), FileError> {
        self.flush_parquet(0)?;
        if let Some((mut b, mut p)) = self.csv.take() {
            b.flush().map_err(|e| FileError::Csv(e.into()))?;
            p.flush().map_err(|e| FileError::Csv(e.into()))?;
        }
        if let Some((b, p)) = self.parquet.take() {
            b.close()?;
            p.close()?;
        }
        Ok(())
    }
}

fn column<T: DataType, W: Write + Send>(
    rg: &mut SerializedRowGroupWriter<'_, W>,
    values: &[T::T],
    def_levels: Option<&[i16]>,
) -> Result<(), FileError> {
    let mut col = rg.next_column()?.ok_or_else(|| {
        parquet::errors::ParquetError::General("fewer columns than the schema".into())
    })?;
    col.typed::<T>().write_batch(values, def_levels, None)?;
    col.close()?;
    Ok(())
}

fn strings<'a>(rows: impl Iterator<Item = &'a str>) -> Vec<ByteArray> {
    rows.map(ByteArray::from).collect()
}

fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

fn days(d: chrono::NaiveDate) -> i32 {
    (d - chrono::NaiveDate::default()).num_days() as i32
}

fn write_bookings<W: Write + Send>(
    w: &mut SerializedFileWriter<W>,
    rows: &[BookingRecord],
) -> Result<(), FileError> {
    let mut rg = w.next_row_group()?;
    let ids: Vec<String> = rows.iter().map(|r| r.load_id.to_string()).collect();
    column::<ByteArrayType, W>(&mut rg, &strings(ids.iter().map(String::as_str)), None)?;
    column::<Int64Type, W>(
        &mut rg,
        &rows.iter().map(|r| micros(r.booked_at)).collect::<Vec<_>>(),
        None,
    )?;
    column::<Int32Type, W>(
        &mut rg,
        &rows.iter().map(|r| days(r.pickup_date)).collect::<Vec<_>>(),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.origin_city.as_str())),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.origin_state.as_str())),
        None,
    )?;
    column::<DoubleType, W>(
        &mut rg,
        &rows.iter().map(|r| r.origin_lat).collect::<Vec<_>>(),
        None,
    )?;
    column::<DoubleType, W>(
        &mut rg,
        &rows.iter().map(|r| r.origin_lon).collect::<Vec<_>>(),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.origin_market.as_str())),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.dest_city.as_str())),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.dest_state.as_str())),
        None,
    )?;
    column::<DoubleType, W>(
        &mut rg,
        &rows.iter().map(|r| r.dest_lat).collect::<Vec<_>>(),
        None,
    )?;
    column::<DoubleType, W>(
        &mut rg,
        &rows.iter().map(|r| r.dest_lon).collect::<Vec<_>>(),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.dest_market.as_str())),
        None,
    )?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.equipment.as_str())),
        None,
    )?;
    column::<DoubleType, W>(
        &mut rg,
        &rows.iter().map(|r| r.miles).collect::<Vec<_>>(),
        None,
    )?;
    column::<Int64Type, W>(
        &mut rg,
        &rows.iter().map(|r| r.weight_lbs as i64).collect::<Vec<_>>(),
        None,
    )?;
    let brokers: Vec<String> = rows.iter().map(|r| r.broker_org_id.to_string()).collect();
    column::<ByteArrayType, W>(&mut rg, &strings(brokers.iter().map(String::as_str)), None)?;
    let carriers: Vec<String> = rows.iter().map(|r| r.carrier_org_id.to_string()).collect();
    column::<ByteArrayType, W>(&mut rg, &strings(carriers.iter().map(String::as_str)), None)?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.rate_kind.as_str())),
        None,
    )?;
    column::<Int64Type, W>(
        &mut rg,
        &rows
            .iter()
            .map(|r| r.diesel_cents_per_gallon as i64)
            .collect::<Vec<_>>(),
        None,
    )?;
    column::<Int64Type, W>(
        &mut rg,
        &rows.iter().map(|r| r.rate_cents).collect::<Vec<_>>(),
        None,
    )?;
    rg.close()?;
    Ok(())
}

fn write_postings<W: Write + Send>(
    w: &mut SerializedFileWriter<W>,
    rows: &[PostingRecord],
) -> Result<(), FileError> {
    let mut rg = w.next_row_group()?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
    column::<ByteArrayType, W>(&mut rg, &strings(ids.iter().map(String::as_str)), None)?;
    let kind = |k: PostingKind| match k {
        PostingKind::Load => "load",
        PostingKind::Truck => "truck",
    };
    column::<ByteArrayType, W>(&mut rg, &strings(rows.iter().map(|r| kind(r.kind))), None)?;
    column::<Int64Type, W>(
        &mut rg,
        &rows.iter().map(|r| micros(r.posted_at)).collect::<Vec<_>>(),
        None,
    )?;
    let orgs: Vec<String> = rows.iter().map(|r| r.org_id.to_string()).collect();
    column::<ByteArrayType, W>(&mut rg, &strings(orgs.iter().map(String::as_str)), None)?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.origin_market.as_str())),
        None,
    )?;
    let dest: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.dest_market.as_deref())
        .collect();
    let defined: Vec<i16> = rows
        .iter()
        .map(|r| r.dest_market.is_some() as i16)
        .collect();
    column::<ByteArrayType, W>(&mut rg, &strings(dest.into_iter()), Some(&defined))?;
    column::<ByteArrayType, W>(
        &mut rg,
        &strings(rows.iter().map(|r| r.equipment.as_str())),
        None,
    )?;
    column::<Int32Type, W>(
        &mut rg,
        &rows.iter().map(|r| days(r.ready_date)).collect::<Vec<_>>(),
        None,
    )?;
    rg.close()?;
    Ok(())
}

/// Reads bookings.csv back (for training from files, and to check what was written).
pub fn read_bookings_csv(path: &Path) -> Result<Vec<BookingRecord>, FileError> {
    read_csv(path, "bookings", &crate::read_parquet::BOOKING_COLUMNS)
}

/// Reads a `postings.csv` as [`MarketWriter`] writes it.
pub fn read_postings_csv(path: &Path) -> Result<Vec<PostingRecord>, FileError> {
    read_csv(path, "postings", &crate::read_parquet::POSTING_COLUMNS)
}

/// Reads a CSV whose header must be exactly `expected`, so a file of another kind is named
/// as such instead of failing on its first row.
fn read_csv<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    expected: &[&str],
) -> Result<Vec<T>, FileError> {
    let mut r = csv::Reader::from_path(path)?;
    let header: Vec<String> = r.headers()?.iter().map(str::to_owned).collect();
    if header != expected {
        return Err(FileError::Csv(csv::Error::from(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: not a {what} file: its header is {header:?}",
                path.display()
            ),
        ))));
    }
    Ok(r.deserialize().collect::<Result<_, _>>()?)
}

fn parquet_bytes<R>(
    schema: &str,
    rows: &[R],
    write: fn(&mut SerializedFileWriter<Vec<u8>>, &[R]) -> Result<(), FileError>,
) -> Result<Vec<u8>, FileError> {
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut w =
        SerializedFileWriter::new(Vec::new(), Arc::new(parse_message_type(schema)?), props)?;
    for chunk in rows.chunks(ROW_GROUP) {
        write(&mut w, chunk)?;
    }
    Ok(w.into_inner()?)
}

/// `rows` as one Parquet file in memory, with the schema of `bookings.parquet` (for an
/// archive that writes through an object store rather than to a local file).
pub fn bookings_parquet(rows: &[BookingRecord]) -> Result<Vec<u8>, FileError> {
    parquet_bytes(BOOKINGS_SCHEMA, rows, write_bookings)
}

/// `rows` as one Parquet file in memory, with the schema of `postings.parquet`.
pub fn postings_parquet(rows: &[PostingRecord]) -> Result<Vec<u8>, FileError> {
    parquet_bytes(POSTINGS_SCHEMA, rows, write_postings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimParams, Simulator};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    fn market(dir: &Path, format: Format) -> Vec<Day> {
        let p = SimParams {
            days: 2,
            loads_per_day: 300,
            ..SimParams::default()
        };
        let days: Vec<Day> = Simulator::new(p).unwrap().collect();
        let mut w = MarketWriter::create(dir, format).unwrap();
        for d in &days {
            w.write(d).unwrap();
        }
        w.finish().unwrap();
        days
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lanerunner-market-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn csv_reads_back_as_written() {
        let dir = scratch("csv");
        let days = market(&dir, Format::Csv);
        let posted: Vec<PostingRecord> = days.iter().flat_map(|d| d.postings.clone()).collect();
        assert!(posted.iter().any(|p| p.dest_market.is_none()));
        assert_eq!(
            read_postings_csv(&dir.join("postings.csv")).unwrap(),
            posted
        );
        let written: Vec<BookingRecord> = days.into_iter().flat_map(|d| d.bookings).collect();
        assert_eq!(
            read_bookings_csv(&dir.join("bookings.csv")).unwrap(),
            written
        );
        assert!(!dir.join("bookings.parquet").exists());
        // A file of another shape is refused, naming what it found.
        let e = read_bookings_csv(&dir.join("postings.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a bookings file"), "{e}");
        let e = read_postings_csv(&dir.join("bookings.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a postings file"), "{e}");
    }

    #[test]
    fn parquet_holds_every_row_with_typed_columns() {
        let dir = scratch("parquet");
        let days = market(&dir, Format::Parquet);
        let bookings: Vec<&BookingRecord> = days.iter().flat_map(|d| &d.bookings).collect();
        let postings: usize = days.iter().map(|d| d.postings.len()).sum();
        let reader =
            SerializedFileReader::new(File::open(dir.join("bookings.parquet")).unwrap()).unwrap();
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as usize,
            bookings.len()
        );
        let first = reader.get_row_iter(None).unwrap().next().unwrap().unwrap();
        assert_eq!(
            first.get_string(0).unwrap(),
            &bookings[0].load_id.to_string()
        );
        assert_eq!(
            first.get_timestamp_micros(1).unwrap(),
            bookings[0].booked_at.timestamp_micros()
        );
        assert_eq!(first.get_long(20).unwrap(), bookings[0].rate_cents);
        let reader =
            SerializedFileReader::new(File::open(dir.join("postings.parquet")).unwrap()).unwrap();
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as usize,
            postings
        );
        assert!(!dir.join("bookings.csv").exists());
    }

    #[test]
    fn in_memory_parquet_matches_the_file() {
        let dir = scratch("bytes");
        let days = market(&dir, Format::Parquet);
        let bookings: Vec<BookingRecord> = days.iter().flat_map(|d| d.bookings.clone()).collect();
        let bytes = bookings_parquet(&bookings).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as usize,
            bookings.len()
        );
        let last = reader.get_row_iter(None).unwrap().last().unwrap().unwrap();
        assert_eq!(
            last.get_long(20).unwrap(),
            bookings[bookings.len() - 1].rate_cents
        );
        let postings: Vec<PostingRecord> = days.iter().flat_map(|d| d.postings.clone()).collect();
        let bytes = postings_parquet(&postings).unwrap();
        let reader = SerializedFileReader::new(bytes::Bytes::from(bytes)).unwrap();
        assert_eq!(
            reader.metadata().file_metadata().num_rows() as usize,
            postings.len()
        );
    }
}
