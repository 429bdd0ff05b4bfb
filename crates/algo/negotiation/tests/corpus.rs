//! The parser against the corpus of offer phrases in `tests/corpus/offers.tsv` (text, a
//! tab, what it means). Every phrase must read exactly: its intent, its amount, its unit
//! and its fuel.

use lanerunner_negotiation::parse::{parse, Amount, Intent};

fn expected(spec: &str) -> Intent {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    let cents = |s: &str| (s.parse::<f64>().unwrap() * 100.0).round() as i64;
    match parts.as_slice() {
        ["accept"] => Intent::Accept,
        ["reject"] => Intent::Reject,
        ["unclear"] => Intent::Unclear {
            question: String::new(),
        },
        ["mile", r] => Intent::Offer {
            amount: Amount::PerMile(cents(r)),
            plus_fuel: false,
            fuel_cents: None,
        },
        ["total", d, rest @ ..] => Intent::Offer {
            amount: Amount::Total(cents(d)),
            plus_fuel: !rest.is_empty(),
            fuel_cents: rest.get(1).map(|f| cents(f)),
        },
        _ => panic!("bad corpus line: {spec}"),
    }
}

fn same(got: &Intent, want: &Intent) -> bool {
    match (got, want) {
        (Intent::Unclear { .. }, Intent::Unclear { .. }) => true,
        _ => got == want,
    }
}

#[test]
fn every_phrase_of_the_corpus_reads_exactly() {
    let corpus = include_str!("corpus/offers.tsv");
    let mut misread = Vec::new();
    let mut total = 0;
    for line in corpus
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (text, spec) = line.split_once('\t').expect("text<TAB>meaning");
        total += 1;
        let (got, want) = (parse(text), expected(spec));
        if !same(&got, &want) {
            misread.push(format!("{text:?}: read {got:?}, means {spec}"));
        }
    }
    assert!(total >= 500, "the corpus has {total} phrases");
    assert!(
        misread.is_empty(),
        "{} of {total} misread:\n{}",
        misread.len(),
        misread.join("\n")
    );
}

/// The parser's accuracy on a set written after it was frozen (`tests/corpus/heldout-*.tsv`):
/// printed, not asserted — it is a measurement (docs/benchmarks.md), run with
/// `cargo test -p lanerunner-negotiation --test corpus -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: run it to report held-out accuracy"]
fn held_out_accuracy() {
    for (name, set) in [("heldout-2", include_str!("corpus/heldout-2.tsv"))] {
        let mut misread = Vec::new();
        let mut total = 0;
        for line in set
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (text, spec) = line.split_once('\t').expect("text<TAB>meaning");
            total += 1;
            let got = parse(text);
            if !same(&got, &expected(spec)) {
                misread.push(format!("{text:?}: read {got:?}, means {spec}"));
            }
        }
        let right = total - misread.len();
        println!(
            "{name}: {right} of {total} exact ({:.1} %)\n{}",
            100.0 * right as f64 / total as f64,
            misread.join("\n")
        );
    }
}
