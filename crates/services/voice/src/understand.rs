//! Reading what a caller said, as speech recognition wrote it down or as they keyed it:
//! an MC number ("M C one two three four five six", "MC 123456", keypad 123456#), a load
//! reference ("reference L R one zero zero two"), a lane ("Dallas to Atlanta, a reefer"),
//! and a request for a person. Pure; the rate itself is read by the negotiation's offer
//! parser, the same one as in chat.

/// The digit a spoken word stands for.
fn digit(word: &str) -> Option<char> {
    Some(match word {
        "zero" | "oh" | "o" => '0',
        "one" | "won" => '1',
        "two" | "to" | "too" => '2',
        "three" => '3',
        "four" | "for" => '4',
        "five" => '5',
        "six" => '6',
        "seven" => '7',
        "eight" | "ate" => '8',
        "nine" => '9',
        _ => return None,
    })
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The longest run of digits in `text`, spoken ("one two three", "double five") or
/// written ("123 456", "123,456").
fn digit_run(text: &str) -> String {
    let (mut best, mut run) = (String::new(), String::new());
    let mut repeat = 1;
    for w in words(text) {
        match w.as_str() {
            "double" => {
                repeat = 2;
                continue;
            }
            "triple" => {
                repeat = 3;
                continue;
            }
            _ => {}
        }
        if w.chars().all(|c| c.is_ascii_digit()) {
            run.push_str(&w);
        } else if let Some(d) = digit(&w) {
            for _ in 0..repeat {
                run.push(d);
            }
        } else if run.len() > best.len() {
            best = std::mem::take(&mut run);
        } else {
            run.clear();
        }
        repeat = 1;
    }
    if run.len() > best.len() {
        best = run;
    }
    best
}

/// An MC number: keyed digits when there are any, else the digits in the speech. MC
/// numbers run to seven digits; fewer than four is more likely a mishearing than a number.
pub fn read_mc(speech: Option<&str>, keyed: Option<&str>) -> Option<u64> {
    let keyed: String = keyed
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let digits = if keyed.is_empty() {
        digit_run(speech.unwrap_or_default())
    } else {
        keyed
    };
    let digits = digits.trim_start_matches('0');
    if !(4..=7).contains(&digits.len()) {
        return None;
    }
    digits.parse().ok()
}

/// How a reference is compared: its letters and digits only, upper case ("LR-1002" and
/// "lr 1002" are the same load).
pub fn reference_key(reference: &str) -> String {
    reference
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Words around a reference that are not part of it.
const FILLER: &[&str] = &[
    "reference",
    "ref",
    "number",
    "load",
    "is",
    "its",
    "it",
    "s",
    "the",
    "my",
    "um",
    "uh",
    "calling",
    "about",
    "on",
    "a",
    "i",
    "m",
    "im",
    "for",
    "your",
    "you",
    "have",
    "posted",
    "id",
    "that",
    "yeah",
    "yes",
    "hi",
    "hello",
    "order",
    "pro",
];

/// The reference a caller spelled out ("L R one zero zero two" → "LR1002"), or keyed.
pub fn spoken_reference(speech: Option<&str>, keyed: Option<&str>) -> Option<String> {
    if let Some(k) = keyed.map(reference_key).filter(|k| !k.is_empty()) {
        return Some(k);
    }
    let mut code = String::new();
    for w in words(speech.unwrap_or_default()) {
        if FILLER.contains(&w.as_str()) {
            continue;
        }
        if let Some(d) = digit(&w).filter(|_| w.len() > 1 || w == "o") {
            code.push(d);
        } else if w.len() <= 3 || w.chars().any(|c| c.is_ascii_digit()) {
            // A letter, a short prefix ("LR"), or letters and digits together.
            code.push_str(&w.to_ascii_uppercase());
        } else {
            // A word that is neither a letter nor a digit: not a spelled reference.
            return None;
        }
    }
    (code.len() >= 3).then_some(code)
}

/// Whether a spoken reference names a load's: the same letters and digits, or the same
/// digits when the caller left the leading letters out ("one zero zero two" for
/// "LR-1002").
pub fn reference_matches(spoken: &str, key: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    spoken == key || (spoken.chars().all(|c| c.is_ascii_digit()) && spoken == digits(key))
}

/// The board's equipment code (`V`, `R`, `F`…) as the name callers' words are matched
/// against; a name passes through.
pub fn equipment_name(code: &str) -> String {
    match code {
        "V" => "dry_van",
        "R" => "reefer",
        "F" => "flatbed",
        "SD" => "step_deck",
        "PO" => "power_only",
        "HS" => "hotshot",
        "TNK" => "tanker",
        "CONT" => "container",
        other => return other.to_lowercase(),
    }
    .into()
}

/// A lane in words: where from, where to, and the equipment if named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub origin: String,
    pub destination: String,
    pub equipment: Option<&'static str>,
}

/// Equipment as callers say it, and the word the board uses.
const EQUIPMENT: &[(&str, &str)] = &[
    ("reefer", "reefer"),
    ("refrigerated", "reefer"),
    ("flatbed", "flatbed"),
    ("flat", "flatbed"),
    ("step", "step_deck"),
    ("van", "dry_van"),
    ("dry", "dry_van"),
];

const LANE_FILLER: &[&str] = &[
    "from",
    "out",
    "of",
    "the",
    "load",
    "going",
    "headed",
    "heading",
    "into",
    "a",
    "i",
    "im",
    "m",
    "calling",
    "about",
    "your",
    "you",
    "have",
    "got",
    "that",
    "load",
    "lane",
    "run",
    "in",
    "for",
    "delivering",
    "picking",
    "up",
    "pickup",
];

/// "Dallas to Atlanta", "from Chicago, Illinois going to Denver in a reefer".
pub fn read_lane(speech: &str) -> Option<Lane> {
    let w = words(speech);
    let at = w.iter().position(|x| x == "to")?;
    let equipment = w
        .iter()
        .find_map(|x| EQUIPMENT.iter().find(|(say, _)| say == x).map(|(_, e)| *e));
    let place = |part: &[String]| {
        part.iter()
            .filter(|x| {
                !LANE_FILLER.contains(&x.as_str()) && !EQUIPMENT.iter().any(|(s, _)| s == x)
            })
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (origin, destination) = (place(&w[..at]), place(&w[at + 1..]));
    (!origin.is_empty() && !destination.is_empty()).then_some(Lane {
        origin,
        destination,
        equipment,
    })
}

/// Whether a place the caller named is a load's stop ("Dallas, TX"): its city, as words,
/// appears in what they said.
fn names_place(said: &str, label: &str) -> bool {
    let city = label.split(',').next().unwrap_or(label);
    let city = words(city).join(" ");
    !city.is_empty() && format!(" {said} ").contains(&format!(" {city} "))
}

/// Whether `lane` is this load's: origin and destination cities, and the equipment when
/// the caller named one.
pub fn lane_matches(lane: &Lane, origin: &str, destination: &str, equipment: &str) -> bool {
    names_place(&lane.origin, origin)
        && names_place(&lane.destination, destination)
        && lane.equipment.is_none_or(|e| equipment == e)
}

/// A request to speak to a person.
pub fn wants_person(speech: &str) -> bool {
    let w = words(speech);
    let has = |x: &str| w.iter().any(|y| y == x);
    [
        "human",
        "person",
        "representative",
        "operator",
        "agent",
        "dispatcher",
        "somebody",
        "someone",
        "broker",
    ]
    .iter()
    .any(|x| has(x))
        && (has("talk")
            || has("speak")
            || has("transfer")
            || has("connect")
            || has("real")
            || has("get")
            || w.len() <= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mc_numbers_spoken_written_and_keyed() {
        assert_eq!(
            read_mc(Some("M C one two three four five six"), None),
            Some(123456)
        );
        assert_eq!(read_mc(Some("it's MC 123,456"), None), Some(123456));
        assert_eq!(
            read_mc(Some("double five oh one two three"), None),
            Some(550123)
        );
        assert_eq!(read_mc(None, Some("0987654#")), Some(987654));
        assert_eq!(read_mc(Some("one two"), None), None, "too short to be one");
        assert_eq!(read_mc(Some("I don't know it"), None), None);
        assert_eq!(read_mc(Some("123456789012"), None), None, "too long");
    }

    #[test]
    fn references_spelled_out() {
        assert_eq!(
            spoken_reference(Some("reference L R one zero zero two"), None).as_deref(),
            Some("LR1002")
        );
        assert_eq!(
            spoken_reference(Some("load number 4821"), None).as_deref(),
            Some("4821")
        );
        assert_eq!(
            spoken_reference(None, Some("4821#")).as_deref(),
            Some("4821")
        );
        assert_eq!(spoken_reference(Some("the Dallas load"), None), None);
        assert_eq!(
            spoken_reference(Some("reference LR 1002"), None).as_deref(),
            Some("LR1002")
        );
        assert!(reference_matches("LR1002", &reference_key("lr-1002")));
        assert!(reference_matches("1002", "LR1002"));
        assert!(!reference_matches("1003", "LR1002"));
    }

    #[test]
    fn lanes_in_words() {
        let lane =
            read_lane("I'm calling about the reefer from Dallas Texas going to Atlanta").unwrap();
        assert_eq!(lane.equipment, Some("reefer"));
        assert!(lane_matches(&lane, "Dallas, TX", "Atlanta, GA", "reefer"));
        assert!(!lane_matches(&lane, "Dallas, TX", "Atlanta, GA", "dry_van"));
        assert!(!lane_matches(&lane, "Houston, TX", "Atlanta, GA", "reefer"));
        let lane = read_lane("Salt Lake City to Los Angeles").unwrap();
        assert!(lane_matches(
            &lane,
            "Salt Lake City, UT",
            "Los Angeles, CA",
            "flatbed"
        ));
        assert_eq!(read_lane("what do you have"), None);
    }

    #[test]
    fn asking_for_a_person() {
        assert!(wants_person("can I talk to a real person"));
        assert!(wants_person("agent"));
        assert!(wants_person("transfer me to the broker please"));
        assert!(!wants_person("I can do 2200"));
    }
}
