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
//! Header.loads × record                 the index's columns, then the rendered view
//! b"END!" u64 count                     so a file cut at a frame boundary is caught too
//! ```
//!
//! Little-endian throughout. A record is the load's [`IndexedLoad`] (fixed width) and its
//! public view as JSON (`u32` length + bytes).

use std::io::{self, Read, Write};

use chrono::{DateTime, Utc};
use lanerunner_geo::LatLon;
use lanerunner_loadsearch::IndexedLoad;
use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 7] = b"LRBOARD";
const FORMAT: u8 = 1;
const END: &[u8; 4] = b"END!";
/// A rendered view is a few kilobytes; anything this large is not one.
const MAX_VIEW_BYTES: u32 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Every change committed before this instant (less the bus's latency) is in the
    /// snapshot; the catch-up re-reads what changed since.
    pub taken_at: DateTime<Utc>,
    /// The newest `updated_at` of any load when the snapshot was taken: a store whose
    /// newest change is older was restored to an earlier point (or is another store).
    pub high_water: Option<DateTime<Utc>>,
    pub loads: u64,
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

/// Writes a snapshot of `entries` (a load as the index holds it and its rendered view)
/// taken at `taken_at` from a store whose newest change was `high_water`.
pub fn write<'a>(
    out: impl Write,
    taken_at: DateTime<Utc>,
    high_water: Option<DateTime<Utc>>,
    entries: impl ExactSizeIterator<Item = (&'a IndexedLoad, &'a str)>,
) -> io::Result<()> {
    let mut w = snap::write::FrameEncoder::new(io::BufWriter::with_capacity(1 << 20, out));
    let header = Header {
        taken_at,
        high_water,
        loads: entries.len() as u64,
    };
    w.write_all(MAGIC)?;
    w.write_all(&[FORMAT])?;
    let json = serde_json::to_vec(&header)?;
    w.write_all(&(json.len() as u32).to_le_bytes())?;
    w.write_all(&json)?;
    let mut count = 0u64;
    let mut record = Vec::with_capacity(8 << 10);
    for (load, view) in entries {
        record.clear();
        put_load(&mut record, load);
        record.extend_from_slice(&(view.len() as u32).to_le_bytes());
        record.extend_from_slice(view.as_bytes());
        w.write_all(&record)?;
        count += 1;
    }
    w.write_all(END)?;
    w.write_all(&count.to_le_bytes())?;
    w.into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?
        .flush()
}

/// Reads a whole snapshot, handing each record to `each` (so the caller builds its own
/// structures without a second copy); refuses anything that is not exactly what
/// [`write`] wrote.
pub fn read(
    input: impl Read,
    mut each: impl FnMut(IndexedLoad, String) -> Result<(), SnapshotError>,
) -> Result<Header, SnapshotError> {
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
    let len = u32::from_le_bytes(take(&mut r)?);
    if len > MAX_VIEW_BYTES {
        return Err(SnapshotError::Corrupt("header length out of range".into()));
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json)?;
    let header: Header = serde_json::from_slice(&json)
        .map_err(|e| SnapshotError::Corrupt(format!("header: {e}")))?;
    for _ in 0..header.loads {
        let load = get_load(&mut r)?;
        let len = u32::from_le_bytes(take(&mut r)?);
        if len > MAX_VIEW_BYTES {
            return Err(SnapshotError::Corrupt("view length out of range".into()));
        }
        let mut view = vec![0u8; len as usize];
        r.read_exact(&mut view)?;
        let view = String::from_utf8(view)
            .map_err(|_| SnapshotError::Corrupt("a view is not UTF-8".into()))?;
        each(load, view)?;
    }
    let end: [u8; 4] = take(&mut r)?;
    let count = u64::from_le_bytes(take(&mut r)?);
    if &end != END || count != header.loads {
        return Err(SnapshotError::Corrupt("the end marker is missing".into()));
    }
    if r.read(&mut [0u8; 1])? != 0 {
        return Err(SnapshotError::Corrupt("bytes after the end marker".into()));
    }
    Ok(header)
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

    fn snapshot(n: u128) -> (Header, Vec<(IndexedLoad, String)>, Vec<u8>) {
        let header = Header {
            taken_at: "2026-12-06T07:00:00Z".parse().unwrap(),
            high_water: Some("2026-12-06T06:59:58Z".parse().unwrap()),
            loads: 0,
        };
        let entries: Vec<(IndexedLoad, String)> = (1..=n)
            .map(|i| (load(i), format!("{{\"id\":\"{i}\",\"notes\":\"é\"}}")))
            .collect();
        let mut bytes = Vec::new();
        write(
            &mut bytes,
            header.taken_at,
            header.high_water,
            entries.iter().map(|(l, v)| (l, v.as_str())),
        )
        .unwrap();
        (header, entries, bytes)
    }

    fn read_all(bytes: &[u8]) -> Result<(Header, Vec<(IndexedLoad, String)>), SnapshotError> {
        let mut got = Vec::new();
        let header = read(bytes, |l, v| {
            got.push((l, v));
            Ok(())
        })?;
        Ok((header, got))
    }

    #[test]
    fn what_is_written_is_read_back_exactly() {
        let (header, entries, bytes) = snapshot(3000);
        let (read_header, got) = read_all(&bytes).unwrap();
        assert_eq!(
            read_header,
            Header {
                loads: 3000,
                ..header
            }
        );
        assert_eq!(got, entries);
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
        // A snapshot of a later format.
        let mut later = snap::write::FrameEncoder::new(Vec::new());
        later.write_all(b"LRBOARD\x02").unwrap();
        let later = later.into_inner().unwrap();
        assert!(matches!(
            read_all(&later).unwrap_err(),
            SnapshotError::Format(2)
        ));
    }
}
