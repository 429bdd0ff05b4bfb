//! The model end to end on a simulated market: it beats the lane average, its 80 %
//! interval covers about 80 % of loads it never saw, it says when a lane is unseen, and
//! its file round-trips while a damaged one is refused.

use chrono::Duration;
use lanerunner_core::market::BookingRecord;
use lanerunner_market::{SimParams, Simulator};
use lanerunner_ratemodel::features::{self, Quote};
use lanerunner_ratemodel::gbdt::Params;
use lanerunner_ratemodel::{
    decode, encode, examples, lane_average_baseline, vocab_of, ArtifactError, Examples, FitError,
    FitOptions, MarketState, RateModel,
};
use std::sync::OnceLock;

struct Fixture {
    bookings: Vec<BookingRecord>,
    ex: Examples,
    state: MarketState,
    cut: usize,
    model: RateModel,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = SimParams {
            days: 90,
            loads_per_day: 600,
            ..SimParams::default()
        };
        let start = params.start;
        let (mut bookings, mut postings) = (Vec::new(), Vec::new());
        for d in Simulator::new(params).unwrap() {
            bookings.extend(d.bookings);
            postings.extend(d.postings);
        }
        let vocab = vocab_of(&bookings);
        let (ex, state) = examples(&bookings, &postings, &vocab);
        let test_from = (start + Duration::days(76))
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let cut = ex.index_at(test_from);
        let opts = FitOptions {
            params: Params {
                learning_rate: 0.1,
                ..Params::default()
            },
            ..FitOptions::default()
        };
        let model = RateModel::fit(&ex, 0..cut, &vocab, &opts).unwrap();
        Fixture {
            bookings,
            ex,
            state,
            cut,
            model,
        }
    })
}

#[test]
fn it_beats_the_lane_average_and_its_interval_covers_about_eighty_percent() {
    let f = fixture();
    let test = f.cut..f.ex.len();
    let ours = f.model.score(&f.ex, test.clone());
    let lane = lane_average_baseline(&f.ex, 0..f.cut, test);
    assert!(ours.rows > 5_000, "{} test loads", ours.rows);
    assert!(
        ours.mape < 0.9 * lane.mape,
        "model {} vs lane average {}",
        ours.mape,
        lane.mape
    );
    assert!(
        (0.75..0.85).contains(&ours.coverage),
        "coverage {}",
        ours.coverage
    );
    let p = &f.model.provenance;
    assert_eq!(p.train_rows + p.calibration_rows, f.cut);
    assert_eq!(p.data_fingerprint, f.ex.fingerprint(0..f.cut));
    assert_ne!(p.data_fingerprint, f.ex.fingerprint(0..f.cut - 1));
    assert!(p.version.ends_with(&p.data_fingerprint[..8]));
}

#[test]
fn an_unseen_lane_gets_a_wider_interval_and_says_so() {
    let f = fixture();
    let b = &f.bookings[f.bookings.len() - 1];
    let seen = f.model.estimate(&features::row(
        &Quote::of_booking(b),
        &f.model.vocab,
        &f.state,
    ));
    let unseen_quote = Quote {
        // A lane no load took: the same places, an equipment that never ran it.
        dest_market: "NOWHERE",
        ..Quote::of_booking(b)
    };
    let unseen = f
        .model
        .estimate(&features::row(&unseen_quote, &f.model.vocab, &f.state));
    assert_eq!(unseen.support, "unseen");
    assert_eq!(unseen.lane_reports, 0.0);
    let width = |e: &lanerunner_ratemodel::Estimate| (e.high_cents - e.low_cents) / e.rate_cents;
    if seen.support != "unseen" {
        assert!(width(&unseen) > width(&seen), "{unseen:?} vs {seen:?}");
    }
    assert!(unseen.low_cents < unseen.rate_cents && unseen.rate_cents < unseen.high_cents);
}

#[test]
fn the_file_round_trips_and_a_damaged_one_is_refused() {
    let f = fixture();
    let bytes = encode(&f.model);
    let back = decode(&bytes).unwrap();
    assert!(
        back == f.model,
        "the model changed on its way through the file"
    );
    let row = f.ex.row(f.cut);
    assert_eq!(back.estimate(row), f.model.estimate(row));

    let mut flipped = bytes.clone();
    let at = bytes.len() - 100;
    flipped[at] = if flipped[at] == b'1' { b'2' } else { b'1' };
    assert!(matches!(decode(&flipped), Err(ArtifactError::Corrupt(_))));
    assert!(matches!(
        decode(&bytes[..bytes.len() - 10]),
        Err(ArtifactError::Corrupt(_))
    ));
    assert!(matches!(
        decode(b"PK\x03\x04 a zip"),
        Err(ArtifactError::NotAModel(_))
    ));
    let newer = String::from_utf8(bytes.clone()).unwrap().replacen(
        "\"format_version\":1",
        "\"format_version\":2",
        1,
    );
    assert_eq!(
        decode(newer.as_bytes()),
        Err(ArtifactError::Incompatible { found: 2 })
    );
    // A well-formed file whose model is not servable by this build.
    let mut other = f.model.clone();
    other.features.swap(0, 1);
    assert!(matches!(
        decode(&encode(&other)),
        Err(ArtifactError::Unservable(_))
    ));
}

#[test]
fn too_little_history_is_refused() {
    let f = fixture();
    assert_eq!(
        RateModel::fit(&f.ex, 0..10, &f.model.vocab, &FitOptions::default()),
        Err(FitError::TooFew(10))
    );
    let opts = FitOptions {
        calibration_share: 0.9,
        ..FitOptions::default()
    };
    assert_eq!(
        RateModel::fit(&f.ex, 0..f.cut, &f.model.vocab, &opts),
        Err(FitError::Share(0.9))
    );
}
