//! Offers in free text, read deterministically: "can you do 2200?", "$2.45 a mile",
//! "twenty-one hundred all in", "best I can do is 1,950 plus fuel", "deal", "no thanks".
//!
//! The reader never guesses a number: a figure that could be a total or a rate a mile, two
//! different figures, a foreign currency, or no figure and no clear yes or no, is
//! [`Intent::Unclear`] with the question to ask back.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "cents", rename_all = "snake_case")]
pub enum Amount {
    /// All in, for the load.
    Total(i64),
    /// Per loaded mile.
    PerMile(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    /// A rate proposed (an offer or a counter); `fuel` when fuel is asked for on top, with
    /// its amount when one is named.
    Offer {
        amount: Amount,
        plus_fuel: bool,
        fuel_cents: Option<i64>,
    },
    Accept,
    Reject,
    /// What to ask back.
    Unclear {
        question: String,
    },
}

const ACCEPT: &[&str] = &[
    "deal",
    "done",
    "agreed",
    "agree",
    "accept",
    "accepted",
    "book it",
    "booked",
    "lets do it",
    "let's do it",
    "sounds good",
    "works for me",
    "that works",
    "i'll take it",
    "ill take it",
    "we'll take it",
    "take it",
    "yes",
    "yep",
    "yeah",
    "sure",
    "ok",
    "okay",
    "confirmed",
    "you got it",
    "send the rate con",
    "send rate con",
    "send me the rate con",
    "send the rate confirmation",
    "send rate confirmation",
    "send me the rate confirmation",
    "you got a truck",
    "you've got a truck",
    "perfect",
    "works for us",
    "that works for us",
];
const REJECT: &[&str] = &[
    "no thanks",
    "no thank you",
    "pass",
    "i'll pass",
    "not interested",
    "no deal",
    "can't do it",
    "cant do it",
    "can not do it",
    "cannot do it",
    "no",
    "nope",
    "nah",
    "too low",
    "too high",
    "forget it",
    "not for that",
    "no way",
    "decline",
    "declined",
    "reject",
    "won't work",
    "wont work",
    "doesn't work",
    "does not work",
    "can't make it work",
    "cant make it work",
    "too cheap",
];
/// Words of doubt: no yes or no is read where they stand ("not sure" is not "sure").
const HEDGES: &[&str] = &[
    "not sure",
    "maybe",
    "let me think",
    "let me check",
    "not yet",
    "might",
    "possibly",
    "i'll see",
    "ill see",
    "perhaps",
];
const FOREIGN: &[&str] = &[
    "cad", "c$", "cdn", "mxn", "peso", "pesos", "eur", "euro", "euros", "€", "£", "gbp",
];

/// Whether `phrase` occurs in `text` as whole words.
fn has_phrase(text: &str, phrase: &str) -> bool {
    let t: Vec<&str> = text.split_whitespace().collect();
    let p: Vec<&str> = phrase.split_whitespace().collect();
    t.windows(p.len()).any(|w| w == p.as_slice())
}

fn normalize(text: &str) -> String {
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    let mut out = String::with_capacity(lower.len());
    let chars: Vec<char> = lower.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let digit_around = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_ascii_digit())
        };
        match c {
            // Keep the separators inside numbers ("1,950", "2.45"); elsewhere they split.
            ',' | '.' if digit_around(i.checked_sub(1)) && digit_around(Some(i + 1)) => out.push(c),
            '$' | '/' | '+' | '€' | '£' | '\'' => {
                out.push(' ');
                out.push(c);
                out.push(' ');
            }
            '-' => out.push(' '),
            c if c.is_alphanumeric() => out.push(c),
            _ => out.push(' '),
        }
    }
    // Glue a "c$" back together, and split "2200k"-style suffixes from digits later.
    out.replace("c $", "c$").replace(" ' ", "'")
}

fn word_value(w: &str) -> Option<(i64, &'static str)> {
    const ONES: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(i) = ONES.iter().position(|o| *o == w) {
        return Some((i as i64, "ones"));
    }
    if let Some(i) = TENS.iter().position(|o| *o == w) {
        return Some(((i as i64 + 2) * 10, "tens"));
    }
    match w {
        "hundred" => Some((100, "hundred")),
        "thousand" | "grand" => Some((1000, "thousand")),
        "oh" => Some((0, "oh")),
        _ => None,
    }
}

/// A run of number words as dollars: "twenty one hundred" 2100, "two thousand two hundred"
/// 2200, "nineteen fifty" 1950, "twenty one fifty" 2150.
fn words_to_dollars(words: &[&str]) -> Option<i64> {
    let parts: Vec<(i64, &str)> = words.iter().map(|w| word_value(w)).collect::<Option<_>>()?;
    if parts.iter().all(|(_, k)| *k == "oh") {
        return None;
    }
    let scaled = parts
        .iter()
        .any(|(_, k)| *k == "hundred" || *k == "thousand");
    if !scaled {
        // Spoken as two pairs of digits: [19][50], [21][50], [20][oh 5].
        let mut chunks: Vec<i64> = Vec::new();
        let mut current: Option<i64> = None;
        for (v, kind) in parts {
            match (current, kind) {
                (Some(c), "ones") if c % 10 == 0 && c >= 20 && v < 10 => current = Some(c + v),
                (Some(c), _) => {
                    chunks.push(c);
                    current = Some(v);
                }
                (None, _) => current = Some(v),
            }
        }
        chunks.extend(current);
        return match chunks.as_slice() {
            [a, b] if (10..100).contains(a) && *b < 100 => Some(a * 100 + b),
            [a] if *a >= 100 => Some(*a),
            _ => None,
        };
    }
    let (mut total, mut current) = (0i64, 0i64);
    for (v, kind) in parts {
        match kind {
            "hundred" => current = current.max(1) * 100,
            "thousand" => {
                total += current.max(1) * 1000;
                current = 0;
            }
            _ => current += v,
        }
    }
    Some(total + current)
}

/// One figure found in the text, in dollars, where it was and what follows it.
#[derive(Debug, Clone, PartialEq)]
struct Figure {
    dollars: f64,
    /// The text said it was per mile.
    per_mile: bool,
    /// It is the amount of a fuel surcharge ("plus 150 fuel").
    fuel: bool,
    /// It carries decimals ("2.45").
    decimals: bool,
    /// A "$" or "k" marked it as money.
    marked: bool,
    /// Said as what the writer will not do ("can't do 2000").
    refused: bool,
}

/// Words before a figure that refuse it rather than offer it.
const REFUSING: &[&str] = &[
    "can't do",
    "cant do",
    "cannot do",
    "can not do",
    "won't do",
    "wont do",
    "not at",
    "not for",
];

const PER_MILE: &[&str] = &[
    "a mile", "per mile", "/ mi", "/ mile", "rpm", "a mi", "per mi", "cpm", "mile", "mi",
];
/// Words after a number that make it something other than a rate.
const NOT_MONEY: &[&str] = &[
    "am", "pm", "miles", "lbs", "lb", "pounds", "hours", "hrs", "hour", "days", "day", "pallets",
    "stops", "ft", "foot", "feet", "o'clock", "oclock", "minutes", "mins", "percent", "%",
];

fn figures(tokens: &[&str]) -> Vec<Figure> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        let prev = i.checked_sub(1).map(|j| tokens[j]);
        let marked_dollar = prev == Some("$");
        // Digits, with "k" for thousands ("2.2k", "2k").
        let (numeric, k) = match tok.strip_suffix('k') {
            Some(n)
                if !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == ',') =>
            {
                (Some(n), true)
            }
            _ => (
                tok.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
                    .then_some(tok),
                false,
            ),
        };
        let (mut value, decimals, mut consumed) =
            if let Some(n) = numeric.filter(|n| n.chars().any(|c| c.is_ascii_digit())) {
                let plain = n.replace(',', "");
                match plain.parse::<f64>() {
                    Ok(v) => (v, plain.contains('.'), 1),
                    Err(_) => {
                        i += 1;
                        continue;
                    }
                }
            } else {
                let run = tokens[i..]
                    .iter()
                    .take_while(|w| word_value(w).is_some())
                    .count();
                match (run > 0)
                    .then(|| words_to_dollars(&tokens[i..i + run]))
                    .flatten()
                {
                    Some(v) => (v as f64, false, run),
                    None => {
                        i += run.max(1);
                        continue;
                    }
                }
            };
        let mut next = tokens.get(i + consumed).copied();
        // "19 hundred": digits, then the word.
        if next == Some("hundred") && numeric.is_some() && !decimals && value < 100.0 {
            value *= 100.0;
            consumed += 1;
            next = tokens.get(i + consumed).copied();
        }
        let next_k = matches!(next, Some("k") | Some("grand"));
        if k || next_k {
            value *= 1000.0;
        }
        let after: Vec<&str> = tokens[i + consumed + usize::from(next_k)..]
            .iter()
            .take(3)
            .copied()
            .collect();
        let after_text = after.join(" ");
        if after.first().is_some_and(|w| NOT_MONEY.contains(w)) {
            i += consumed;
            continue;
        }
        // Whole words only: "2800 min" is a minimum, not "mi".
        let per_mile = PER_MILE
            .iter()
            .any(|p| after_text == *p || after_text.starts_with(&format!("{p} ")))
            || (after.first() == Some(&"cents") && after_text.contains("mile"));
        if after.first() == Some(&"cents") {
            value /= 100.0;
        }
        let before = tokens[i.saturating_sub(3)..i]
            .iter()
            .filter(|t| **t != "$")
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        let fuel = after.first().is_some_and(|w| matches!(*w, "fuel" | "fsc"))
            || before.ends_with("fuel of")
            || before.ends_with("fsc of")
            || (prev.is_some_and(|p| p == "+" || p == "plus")
                && after.first().is_some_and(|w| matches!(*w, "for" | "in"))
                && after.get(1).is_some_and(|w| w.starts_with("fuel")));
        out.push(Figure {
            dollars: value,
            per_mile,
            fuel,
            decimals,
            marked: marked_dollar || k || next_k,
            refused: REFUSING.iter().any(|r| before.ends_with(r)),
        });
        i += consumed + usize::from(next_k);
    }
    out
}

fn cents(dollars: f64) -> i64 {
    (dollars * 100.0).round() as i64
}

/// Every amount the text states, in cents (digits, "2.2k", number words), whatever it
/// means: what a reading of the text by anyone else (a language model) may name.
pub fn stated_amounts(text: &str) -> Vec<i64> {
    let norm = normalize(text);
    let tokens: Vec<&str> = norm.split_whitespace().collect();
    figures(&tokens)
        .into_iter()
        .map(|f| cents(f.dollars))
        .collect()
}

/// Whether `intent`, read by something other than this parser, names only amounts the
/// text states: an offer of a total or a rate a mile the writer wrote, and fuel likewise.
/// A number the text does not hold is a guess, and a guess is never taken.
pub fn grounded(text: &str, intent: &Intent) -> bool {
    let stated = stated_amounts(text);
    match intent {
        Intent::Offer {
            amount, fuel_cents, ..
        } => {
            let cents = match amount {
                Amount::Total(c) | Amount::PerMile(c) => *c,
            };
            stated.contains(&cents) && fuel_cents.is_none_or(|f| stated.contains(&f))
        }
        _ => true,
    }
}

/// Reads one message.
pub fn parse(text: &str) -> Intent {
    let norm = normalize(text);
    let tokens: Vec<&str> = norm.split_whitespace().collect();
    if tokens.iter().any(|t| FOREIGN.contains(t)) {
        return Intent::Unclear {
            question: "We settle in US dollars: what is your rate in USD?".into(),
        };
    }
    let plus_fuel = has_phrase(&norm, "plus fuel")
        || has_phrase(&norm, "+ fuel")
        || has_phrase(&norm, "plus fsc")
        || has_phrase(&norm, "+ fsc")
        || has_phrase(&norm, "with fuel")
        || has_phrase(&norm, "and fuel")
        || has_phrase(&norm, "plus the fuel");
    let found = figures(&tokens);
    let fuel_cents = found.iter().find(|f| f.fuel).map(|f| cents(f.dollars));
    let refused_any = found.iter().any(|f| f.refused);
    let rates: Vec<&Figure> = found.iter().filter(|f| !f.fuel && !f.refused).collect();
    let mut distinct: Vec<&Figure> = Vec::new();
    for f in &rates {
        if !distinct
            .iter()
            .any(|d| d.dollars == f.dollars && d.per_mile == f.per_mile)
        {
            distinct.push(f);
        }
    }
    let negative = refused_any || REJECT.iter().any(|p| has_phrase(&norm, p));
    let positive = ACCEPT.iter().any(|p| has_phrase(&norm, p));
    let amount = match distinct.as_slice() {
        [] => None,
        [one] => Some(*one),
        _ => {
            return Intent::Unclear {
                question: "I see more than one rate there: which one are you offering?".into(),
            }
        }
    };
    let Some(f) = amount else {
        let hedged = HEDGES.iter().any(|p| has_phrase(&norm, p));
        return if hedged {
            Intent::Unclear {
                question: "Take your time: is it a yes, a no, or a rate you can do?".into(),
            }
        } else if negative && !positive_overrides(&norm) {
            Intent::Reject
        } else if positive {
            Intent::Accept
        } else {
            Intent::Unclear {
                question: "Is that a yes, a no, or a rate? Give me a number, all in or per mile."
                    .into(),
            }
        };
    };
    let amount = if f.per_mile || (f.decimals && f.dollars < 10.0 && !f.marked) {
        if !(0.25..=50.0).contains(&f.dollars) {
            return Intent::Unclear {
                question: format!(
                    "${:.2} a mile is outside any rate I can book: what did you mean?",
                    f.dollars
                ),
            };
        }
        Amount::PerMile(cents(f.dollars))
    } else if f.dollars >= 100.0 {
        if f.dollars > 100_000.0 {
            return Intent::Unclear {
                question: "That rate is far above any truckload: what did you mean?".into(),
            };
        }
        Amount::Total(cents(f.dollars))
    } else if f.dollars >= 10.0 {
        return Intent::Unclear {
            question: format!(
                "Is {} the rate for the load or per mile? Please give the full number.",
                f.dollars
            ),
        };
    } else {
        Amount::PerMile(cents(f.dollars))
    };
    Intent::Offer {
        amount,
        plus_fuel: plus_fuel || fuel_cents.is_some(),
        fuel_cents,
    }
}

/// "no problem", "not a problem", "no worries" read as yes.
fn positive_overrides(norm: &str) -> bool {
    ["no problem", "not a problem", "no worries", "no issue"]
        .iter()
        .any(|p| has_phrase(norm, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(d: i64) -> Intent {
        Intent::Offer {
            amount: Amount::Total(d * 100),
            plus_fuel: false,
            fuel_cents: None,
        }
    }

    #[test]
    fn reads_the_phrases_the_issue_names() {
        assert_eq!(parse("can you do 2200?"), total(2200));
        assert_eq!(
            parse("$2.45 a mile"),
            Intent::Offer {
                amount: Amount::PerMile(245),
                plus_fuel: false,
                fuel_cents: None
            }
        );
        assert_eq!(parse("twenty-one hundred all in"), total(2100));
        assert_eq!(
            parse("best I can do is 1,950 plus fuel"),
            Intent::Offer {
                amount: Amount::Total(195_000),
                plus_fuel: true,
                fuel_cents: None
            }
        );
        assert_eq!(parse("deal"), Intent::Accept);
        assert_eq!(parse("no thanks"), Intent::Reject);
    }

    #[test]
    fn only_stated_amounts_are_grounded() {
        let offer = |c| Intent::Offer {
            amount: Amount::Total(c),
            plus_fuel: false,
            fuel_cents: None,
        };
        assert!(grounded("2100 or 2300, your pick", &offer(230_000)));
        assert!(grounded("twenty-one hundred", &offer(210_000)));
        assert!(!grounded("make it a bit more", &offer(240_000)));
        assert!(grounded("no", &Intent::Reject));
        assert_eq!(stated_amounts("2.2k plus 150 fuel"), [220_000, 15_000]);
    }

    #[test]
    fn never_guesses() {
        assert!(matches!(parse("how about 45"), Intent::Unclear { .. }));
        assert!(matches!(parse("2100 or 2300"), Intent::Unclear { .. }));
        assert!(matches!(parse("2200 CAD"), Intent::Unclear { .. }));
        assert!(matches!(
            parse("what's the weight?"),
            Intent::Unclear { .. }
        ));
        assert_eq!(parse("pickup at 8 am, 2100"), total(2100));
    }
}
