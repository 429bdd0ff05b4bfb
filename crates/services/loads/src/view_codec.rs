//! The board's public views, compressed. A rendered view is about 1.5 KB of JSON, eight
//! times what the index keeps of a load, so at a million loads the views are most of the
//! board's memory. Views differ little: the same field names, cities, equipment, brokers'
//! contacts and notes again and again. A zstd dictionary trained on a sample of the board's
//! own views holds all of that, so each view is kept as one small zstd frame compressed
//! against it (a few hundred bytes) and decompressed only when a page shows it.
//!
//! A board keeps one codec (one dictionary) and writes it into its snapshots, so that the
//! next instance reads the compressed views as they are. A board too small to train on is
//! compressed without a dictionary and retrains as it grows (see [`ViewCodec::stale`]):
//! a board built from a big store trains once, on [`SAMPLES`] views spread over it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use zstd::bulk::{Compressor, Decompressor};

/// Views a dictionary is trained on, at most: enough for a stable dictionary, few enough
/// to train in a fraction of a second.
pub const SAMPLES: usize = 2_000;
/// Fewer views than this are compressed without a dictionary (training needs samples).
const MIN_SAMPLES: usize = 64;
/// The dictionary's size: the field names and the common values of a view several times
/// over; bigger ones gained little on the benchmark's board.
const DICTIONARY_BYTES: usize = 32 << 10;
/// zstd's level for views: compressing happens once per change; higher levels made
/// views barely smaller and building a board from the store slower.
const LEVEL: i32 = 3;
/// No view decompresses to more (a view is a few kilobytes).
const MAX_VIEW_BYTES: usize = 1 << 20;

/// Tells codecs apart, so a thread's cached decompressor is never used with another
/// codec's frames.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

/// Which of `len` views to train on: [`SAMPLES`] of them (all when fewer) spread evenly.
pub fn sample(len: usize) -> impl Iterator<Item = usize> {
    let n = len.min(SAMPLES);
    (0..n).map(move |i| i * len / n)
}

thread_local! {
    /// This thread's decompressor for the codec it last decompressed for: loading a
    /// dictionary into a context costs more than decompressing a page.
    static DECOMPRESSOR: RefCell<Option<(u64, Decompressor<'static>)>> =
        const { RefCell::new(None) };
}

fn compressor(dictionary: &[u8]) -> std::io::Result<Compressor<'static>> {
    let mut c = Compressor::with_dictionary(LEVEL, dictionary)?;
    // A view is always decompressed with its board's dictionary: the frame need not name
    // it (4 bytes per view).
    c.set_parameter(zstd::zstd_safe::CParameter::DictIdFlag(false))?;
    Ok(c)
}

fn compress(c: &mut Compressor<'static>, json: &[u8]) -> Box<[u8]> {
    c.compress(json)
        .expect("a view is smaller than zstd's limits")
        .into_boxed_slice()
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("a view does not decompress: {0}")]
    Frame(std::io::Error),
    #[error("a decompressed view is not UTF-8")]
    NotUtf8,
}

pub struct ViewCodec {
    /// The dictionary (empty: none), as a snapshot stores it.
    dictionary: Vec<u8>,
    /// How many views it was trained on, or too few or unsuitable to train on: when to
    /// try again is counted from there.
    trained_on: usize,
    generation: u64,
    /// Compressing happens under the board's write lock; the mutex only makes the codec
    /// shareable with the readers that decompress.
    compressor: Mutex<Compressor<'static>>,
}

impl ViewCodec {
    /// A codec with `dictionary` (empty: none) from `trained_on` views; refuses a
    /// dictionary zstd cannot load.
    pub fn new(dictionary: Vec<u8>, trained_on: usize) -> std::io::Result<Self> {
        let compressor = compressor(&dictionary)?;
        Ok(ViewCodec {
            trained_on,
            dictionary,
            generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
            compressor: Mutex::new(compressor),
        })
    }

    /// Compresses many views on all cores (building a board from the store), in order.
    pub fn compress_all<T: Sync>(
        &self,
        items: &[T],
        json: impl Fn(&T) -> Vec<u8> + Sync,
    ) -> Vec<Box<[u8]>> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = items.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let parts: Vec<_> = items
                .chunks(chunk)
                .map(|part| {
                    let json = &json;
                    s.spawn(move || {
                        let mut c = compressor(&self.dictionary)
                            .expect("the codec's dictionary loaded before");
                        part.iter()
                            .map(|item| compress(&mut c, &json(item)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|p| p.join().expect("a view compressor panicked"))
                .collect()
        })
    }

    /// A codec trained on `samples` (rendered views; see [`sample`]). Too few, or a
    /// sample zstd cannot train on, give a codec without a dictionary rather than an
    /// error: the views are still compressed, less well.
    pub fn train<S: AsRef<[u8]>>(samples: &[S]) -> Self {
        if samples.len() >= MIN_SAMPLES {
            match zstd::dict::from_samples(samples, DICTIONARY_BYTES)
                .and_then(|d| ViewCodec::new(d, samples.len()))
            {
                Ok(codec) => return codec,
                Err(e) => {
                    tracing::warn!(samples = samples.len(), error = %e, "no dictionary trained for the board's views; compressing without one")
                }
            }
        }
        ViewCodec::new(Vec::new(), samples.len()).expect("zstd compresses without a dictionary")
    }

    /// The dictionary (empty: none) and how many views it came from, for a snapshot.
    pub fn dictionary(&self) -> (&[u8], usize) {
        (&self.dictionary, self.trained_on)
    }

    /// Whether a board of `views` views should retrain: it has grown to four times the
    /// views its dictionary learnt from, and that was fewer than [`SAMPLES`]. A board
    /// growing from empty retrains at 64, 256, 1,024 and 4,096 views, then never again.
    pub fn stale(&self, views: usize) -> bool {
        self.trained_on < SAMPLES && views >= (self.trained_on * 4).max(MIN_SAMPLES)
    }

    pub fn compress(&self, json: &[u8]) -> Box<[u8]> {
        compress(&mut self.compressor.lock().expect("view compressor"), json)
    }

    /// The JSON a frame of this codec's holds.
    pub fn decompress(&self, frame: &[u8]) -> Result<Vec<u8>, CodecError> {
        DECOMPRESSOR.with(|cell| {
            let mut cached = cell.borrow_mut();
            if cached.as_ref().is_none_or(|(g, _)| *g != self.generation) {
                let d =
                    Decompressor::with_dictionary(&self.dictionary).map_err(CodecError::Frame)?;
                *cached = Some((self.generation, d));
            }
            let (_, d) = cached.as_mut().expect("just set");
            // The frame says how big the view is (zstd writes the content size), so the
            // buffer is allocated once, at its size.
            let size = match zstd::zstd_safe::get_frame_content_size(frame) {
                Ok(Some(n)) if n <= MAX_VIEW_BYTES as u64 => n as usize,
                _ => {
                    return Err(CodecError::Frame(std::io::Error::other(
                        "not a view's frame",
                    )))
                }
            };
            let mut json = Vec::with_capacity(size);
            d.decompress_to_buffer(frame, &mut json)
                .map_err(CodecError::Frame)?;
            Ok(json)
        })
    }

    /// The view a frame holds, as JSON for a page. Not parsed: the board compressed it
    /// from JSON it rendered itself (see `SearchPageView::to_json`).
    pub fn view(&self, frame: &[u8]) -> Result<Box<str>, CodecError> {
        let json = String::from_utf8(self.decompress(frame)?).map_err(|_| CodecError::NotUtf8)?;
        Ok(json.into_boxed_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(i: usize) -> Vec<u8> {
        let cities = [
            "Dallas, TX",
            "Atlanta, GA",
            "Chicago, IL",
            "Fresno, CA",
            "Newark, NJ",
        ];
        let equipment = ["van", "reefer", "flatbed"][i % 3];
        let notes = if i.is_multiple_of(2) {
            "No touch freight. Call 1 hour before arrival."
        } else {
            "Driver assist at delivery."
        };
        serde_json::to_vec(&serde_json::json!({
            "id": format!("0000{i:04}-aaaa-4bbb-8ccc-{i:012}"),
            "reference": format!("PO-{}", i * 7919 % 100_000),
            "stops": [
                {"type": "pickup", "city": cities[i % 5], "window": {"start": "2026-12-07T08:00:00Z"}},
                {"type": "delivery", "city": cities[(i / 5) % 5], "window": {"start": "2026-12-08T17:00:00Z"}},
            ],
            "equipment": equipment,
            "weight_lbs": 20_000 + (i * 37 % 25_000),
            "notes": notes,
        }))
        .unwrap()
    }

    #[test]
    fn views_round_trip_with_and_without_a_dictionary() {
        let views: Vec<Vec<u8>> = (0..3_000).map(view).collect();
        let samples: Vec<&Vec<u8>> = sample(views.len()).map(|i| &views[i]).collect();
        assert_eq!(samples.len(), SAMPLES);
        assert_eq!(
            (samples[0], samples[SAMPLES - 1]),
            (&views[0], &views[2_998])
        );
        let trained = ViewCodec::train(&samples);
        assert_eq!(trained.dictionary().1, SAMPLES);
        let small = ViewCodec::train(&views[..10]);
        assert_eq!(small.dictionary(), (&[][..], 10));
        for codec in [&trained, &small] {
            for v in &views[..200] {
                assert_eq!(&codec.decompress(&codec.compress(v)).unwrap(), v);
            }
            // On all cores, in order, the same frames.
            let all = codec.compress_all(&views[..501], |v| v.clone());
            assert_eq!(all.len(), 501);
            for (frame, v) in all.iter().zip(&views) {
                assert_eq!(frame, &codec.compress(v));
            }
        }
        // The point of the dictionary: views compress several times better with it.
        let size = |c: &ViewCodec| -> usize { views.iter().map(|v| c.compress(v).len()).sum() };
        assert!(
            size(&trained) * 2 < size(&small),
            "{} vs {}",
            size(&trained),
            size(&small)
        );
    }

    #[test]
    fn a_codec_rebuilt_from_its_dictionary_reads_the_same_frames() {
        let views: Vec<Vec<u8>> = (0..500).map(view).collect();
        let a = ViewCodec::train(&views);
        let (dict, trained_on) = a.dictionary();
        let b = ViewCodec::new(dict.to_vec(), trained_on).unwrap();
        let frame = a.compress(&views[7]);
        // Alternating codecs on one thread swaps its cached decompressor each time.
        for _ in 0..3 {
            assert_eq!(b.decompress(&frame).unwrap(), views[7]);
            assert_eq!(a.decompress(&frame).unwrap(), views[7]);
        }
    }

    #[test]
    fn damaged_frames_and_foreign_dictionaries_are_errors_not_panics() {
        let views: Vec<Vec<u8>> = (0..500).map(view).collect();
        let a = ViewCodec::train(&views);
        let other: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("{{\"n\":{i},\"x\":\"{}\"}}", "y".repeat(i % 40)).into_bytes())
            .collect();
        let b = ViewCodec::train(&other);
        let frame = a.compress(&views[3]);
        assert!(a.decompress(&frame[..frame.len() / 2]).is_err());
        assert!(a.decompress(b"not a zstd frame").is_err());
        // Another dictionary decodes garbage or fails; never the view.
        assert_ne!(
            b.decompress(&frame).ok().as_deref(),
            Some(views[3].as_slice())
        );
        assert!(matches!(
            a.view(&a.compress(b"\xff\xfe")),
            Err(CodecError::NotUtf8)
        ));
    }

    #[test]
    fn a_growing_board_retrains_a_few_times_then_never() {
        let untrained = ViewCodec::new(Vec::new(), 0).unwrap();
        assert!(!untrained.stale(10));
        assert!(untrained.stale(MIN_SAMPLES));
        // A sample that gave no dictionary is not retried until the board has grown.
        let failed = ViewCodec::new(Vec::new(), MIN_SAMPLES).unwrap();
        assert!(!failed.stale(MIN_SAMPLES + 1));
        assert!(failed.stale(MIN_SAMPLES * 4));
        let views: Vec<Vec<u8>> = (0..300).map(view).collect();
        let on_300 = ViewCodec::train(&views);
        assert!(!on_300.stale(1_199));
        assert!(on_300.stale(1_200));
        let full: Vec<Vec<u8>> = (0..SAMPLES).map(view).collect();
        let on_all = ViewCodec::train(&full);
        assert!(!on_all.stale(10_000_000));
    }
}
