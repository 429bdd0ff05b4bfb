//! The board snapshot's file format: what an instance writes so that the next one starts
//! serving in seconds instead of re-reading and re-rendering every posted load from the
//! store. Pure encoding and decoding; where the file lives, when it is written and whether
//! a decoded snapshot may be used are the service's (`board_snapshots.rs`).
//!
//! A Snappy frame stream (each frame checksummed with CRC-32C, so a flipped bit is caught
//! by the decoder) of:
//!
//! ```text
//! b"LRBOARD" FORMAT                     magic and format version
//! u32 len, JSON Header                  when it was taken and what the store held
//! u32 len, dictionary                   the views' zstd dictionary (empty: none)
//! Header.loads × record                 the index's columns, then the compressed view
//! b"END!" u64 count                     so a file cut at a frame boundary is caught too
//! ```
//!
//! Little-endian throughout. A record is the load's [`IndexedLoad`] (fixed width) and its
//! public view as the board keeps it, a zstd frame (`u32` length + bytes; see
//! `view_codec.rs`). Format 1 held the views as JSON.

use std::io::{self, Read, Write};

use chrono::{DateTime, Utc};
use lanerunner_geo::LatLon;
use lanerunner_loadsearch::IndexedLoad;
use serde::{Deserialize, Serialize};

use crate::board::BoardCopy;

const MAGIC: &[u8; 7] = b"LRBOARD";
const FORMAT: u8 = 2;
const END: &[u8; 4] = b"END!";
/// A view is a few hundred bytes, and a dictionary some kilobytes; anything this large
/// is neither.
const MAX_BLOCK_BYTES: u32 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Every change committed before this instant (less the bus's latency) is in the
    /// snapshot; the catch-up re-reads what changed since.
    pub taken_at: DateTime<Utc>,
    /// The newest `updated_at` of any load when the snapshot was taken: a store whose
    /// newest change is older was restored to an earlier point (or is another store).
    pub high_water: Option<DateTime<Utc>>,
    pub loads: u64,
    /// How many views the dictionary was trained on (0: no dictionary).
    pub trained_on: u64,
}

/// Why a snapshot cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a board snapshot (bad magic)")]
    NotASnapshot,
    #[error("snapshot format {0} is not understood by this version (format {FORMAT})")]
    Format(u8),
    #[error("the snapshot is truncated or corrupt: {0}")]
    Corrupt(String),
}

impl From<io::Error> for SnapshotError {
    fn from(e: io::Error) -> Self {
        SnapshotError::Corrupt(e.to_string())
    }
}

/// Writes a snapshot of `copy` (every load as the index holds it and its compressed
/// view, and their dictionary) taken at `taken_at` from a store whose newest change was
/// `high_water`.
pub fn write(
    out: impl Write,
    taken_at: DateTime<Utc>,
    high_water: Option<DateTime<Utc>>,
    copy: &BoardCopy,
) -> io::Result<()> {
    let mut w = snap::write::FrameEncoder::new(io::BufWriter::with_capacity(1 << 20, out));
    let header = Header {
        taken_at,
        high_water,
        loads: copy.entries.len() as u64,
        trained_on: copy.trained_on as u64,
    };
    w.write_all(MAGIC)?;
    w.write_all(&[FORMAT])?;
    put_block(&mut w, &serde_json::to_vec(&header)?)?;
    put_block(&mut w, &copy.dictionary)?;
    let mut count = 0u64;
    let mut record = Vec::with_capacity(8 << 10);
    for (load, view) in &copy.entries {
        record.clear();
        put_load(&mut record, load);
        put_block(&mut record, view)?;
        w.write_all(&record)?;
        count += 1;
    }
    w.write_all(END)?;
    w.write_all(&count.to_le_bytes())?;
    w.into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .flush()
}

/// Reads a whole snapshot; refuses anything that is not exactly what [`write`] wrote.
pub fn read(input: impl Read) -> Result<(Header, BoardCopy), SnapshotError> {
    let mut r = io::BufReader::with_capacity(1 << 20, snap::read::FrameDecoder::new(input));
    // A frame cut short reads as the end of the stream, so running out of bytes anywhere,
    // even here, is a truncated file rather than another kind of file.
    let magic: [u8; 8] = take(&mut r)?;
    if &magic[..7] != MAGIC {
        return Err(SnapshotError::NotASnapshot);
    }
    if magic[7] != FORMAT {
        return Err(SnapshotError::Format(magic[7]));
    }
    let header: Header = serde_json::from_slice(&get_block(&mut r)?)
        .map_err(|e| SnapshotError::Corrupt(format!("header: {e}")))?;
    let dictionary = get_block(&mut r)?;
    // Trusting the count for the allocation only as far as a sane board goes.
    let mut entries = Vec::with_capacity(header.loads.min(1 << 24) as usize);
    for _ in 0..header.loads {
        let load = get_load(&mut r)?;
        entries.push((load, get_block(&mut r)?.into_boxed_slice()));
    }
    let end: [u8; 4] = take(&mut r)?;
    let count = u64::from_le_bytes(take(&mut r)?);
    if &end != END || count != header.loads {
        return Err(SnapshotError::Corrupt("the end marker is missing".into()));
    }
    if r.read(&mut [0u8; 1])? != 0 {
        return Err(SnapshotError::Corrupt("bytes after the end marker".into()));
    }
    let copy = BoardCopy {
        dictionary,
        trained_on: header.trained_on as usize,
        entries,
    };
    Ok((header, copy))
}

fn put_block(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(bytes)
}

fn get_block(r: &mut impl Read) -> Result<Vec<u8>, SnapshotError> {
    let len = u32::from_le_bytes(take(r)?);
    if len > MAX_BLOCK_BYTES {
        return Err(SnapshotError::Corrupt(format!("a block of {len} bytes")));
    }
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn take<const N: usize>(r: &mut impl Read) -> Result<[u8; N], SnapshotError> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn put_load(out: &mut Vec<u8>, l: &IndexedLoad) {
    out.extend_from_slice(&l.id.to_le_bytes());
    for x in [l.origin.lat, l.origin.lon, l.dest.lat, l.dest.lon] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&l.origin_state);
    out.extend_from_slice(&l.dest_state);
    out.extend_from_slice(&l.dest_market.to_le_bytes());
    out.extend_from_slice(&l.equipment.to_le_bytes());
    for x in [l.pickup_start, l.pickup_end, l.rate_cents, l.posted_at] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&l.loaded_miles.to_le_bytes());
    out.extend_from_slice(&l.weight_lbs.to_le_bytes());
    out.push(u8::from(l.full));
}

fn get_load(r: &mut impl Read) -> Result<IndexedLoad, SnapshotError> {
    let id = u128::from_le_bytes(take(r)?);
    let mut f = [0f64; 4];
    for x in &mut f {
        *x = f64::from_le_bytes(take(r)?);
    }
    let origin_state = take(r)?;
    let dest_state = take(r)?;
    let dest_market = u16::from_le_bytes(take(r)?);
    let equipment = u16::from_le_bytes(take(r)?);
    let mut t = [0i64; 4];
    for x in &mut t {
        *x = i64::from_le_bytes(take(r)?);
    }
    let loaded_miles = f32::from_le_bytes(take(r)?);
    let weight_lbs = u32::from_le_bytes(take(r)?);
    let [full] = take(r)?;
    if full > 1 {
        return Err(SnapshotError::Corrupt(
            "a load's size flag is not 0 or 1".into(),
        ));
    }
    Ok(IndexedLoad {
        id,
        origin: LatLon::new(f[0], f[1]),
        dest: LatLon::new(f[2], f[3]),
        origin_state,
        dest_state,
        dest_market,
        equipment,
        pickup_start: t[0],
        pickup_end: t[1],
        rate_cents: t[2],
        posted_at: t[3],
        loaded_miles,
        weight_lbs,
        full: full == 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(id: u128) -> IndexedLoad {
        IndexedLoad {
            id,
            origin: LatLon::new(32.7767, -96.797),
            dest: LatLon::new(33.749, -84.388),
            origin_state: *b"TX",
            dest_state: *b"GA",
            dest_market: 7,
            equipment: 3,
            pickup_start: 1_800_000_000,
            pickup_end: 1_800_003_600,
            rate_cents: 250_000,
            loaded_miles: 781.5,
            weight_lbs: 42_000,
            full: id.is_multiple_of(2),
            posted_at: 1_799_990_000,
        }
    }

    type Entries = Vec<(IndexedLoad, Box<[u8]>)>;

    /// A snapshot of `n` loads whose views are arbitrary bytes (the format does not read
    /// them), with a dictionary.
    fn snapshot(n: u128) -> (Header, BoardCopy, Vec<u8>) {
        let header = Header {
            taken_at: "2026-12-06T07:00:00Z".parse().unwrap(),
            high_water: Some("2026-12-06T06:59:58Z".parse().unwrap()),
            loads: n as u64,
            trained_on: 1_234,
        };
        let copy = BoardCopy {
            dictionary: (0..=255u8).cycle().take(5_000).collect(),
            trained_on: 1_234,
            entries: (1..=n)
                .map(|i| {
                    (
                        load(i),
                        format!("view {i} é").into_bytes().into_boxed_slice(),
                    )
                })
                .collect(),
        };
        let mut bytes = Vec::new();
        write(&mut bytes, header.taken_at, header.high_water, &copy).unwrap();
        (header, copy, bytes)
    }

    fn read_all(bytes: &[u8]) -> Result<(Header, Entries), SnapshotError> {
        read(bytes).map(|(h, c)| (h, c.entries))
    }

    #[test]
    fn what_is_written_is_read_back_exactly() {
        let (header, copy, bytes) = snapshot(3000);
        let (read_header, got) = read(&bytes[..]).unwrap();
        assert_eq!(read_header, header);
        assert_eq!(got.entries, copy.entries);
        assert_eq!(got.dictionary, copy.dictionary);
        assert_eq!(got.trained_on, 1_234);
    }

    #[test]
    fn an_empty_board_round_trips() {
        let (_, _, bytes) = snapshot(0);
        assert_eq!(read_all(&bytes).unwrap().1, vec![]);
    }

    #[test]
    fn a_truncated_file_is_refused_wherever_it_is_cut() {
        let (_, _, bytes) = snapshot(3000);
        for cut in [
            0,
            5,
            30,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 13,
            bytes.len() - 1,
        ] {
            let err = read_all(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, SnapshotError::Corrupt(_) | SnapshotError::NotASnapshot),
                "cut at {cut}: {err}"
            );
        }
    }

    #[test]
    fn a_flipped_byte_is_caught_by_the_frame_checksums() {
        let (_, _, bytes) = snapshot(3000);
        for at in [20, bytes.len() / 2, bytes.len() - 20] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            assert!(read_all(&bad).is_err(), "flip at {at} went unnoticed");
        }
    }

    #[test]
    fn other_files_and_other_formats_are_refused() {
        assert!(matches!(
            read_all(b"PK\x03\x04 a zip file").unwrap_err(),
            SnapshotError::Corrupt(_) | SnapshotError::NotASnapshot
        ));
        // A valid Snappy stream that is not a snapshot.
        let mut other = snap::write::FrameEncoder::new(Vec::new());
        other.write_all(b"LRBOARX\x01 something else").unwrap();
        let other = other.into_inner().unwrap();
        assert!(matches!(
            read_all(&other).unwrap_err(),
            SnapshotError::NotASnapshot
        ));
        // A snapshot of another format: format 1 held JSON views.
        for format in [1u8, 3] {
            let mut other = snap::write::FrameEncoder::new(Vec::new());
            other.write_all(b"LRBOARD").unwrap();
            other.write_all(&[format]).unwrap();
            let other = other.into_inner().unwrap();
            assert!(matches!(
                read_all(&other).unwrap_err(),
                SnapshotError::Format(f) if f == format
            ));
        }
    }
}
