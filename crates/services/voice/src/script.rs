//! What the agent says, in the words a dispatcher expects to hear on the phone. Pure.

use chrono::{DateTime, Utc};
use lanerunner_core::Cents;

/// The facts of a load the agent states.
#[derive(Debug, Clone)]
pub struct LoadFacts {
    pub reference: String,
    pub origin: String,
    pub destination: String,
    pub equipment: String,
    pub weight_lbs: i64,
    pub loaded_miles: f64,
    pub pickup_at: DateTime<Utc>,
    pub rate_cents: Option<i64>,
}

pub fn dollars(cents: i64) -> String {
    let whole = Cents(cents / 100 * 100).grouped();
    let whole = whole.trim_end_matches(".00").to_owned();
    if cents % 100 == 0 {
        whole
    } else {
        Cents(cents).grouped()
    }
}

fn equipment_words(e: &str) -> String {
    match e {
        "dry_van" | "van" => "dry van".into(),
        "step_deck" => "step deck".into(),
        other => other.replace('_', " "),
    }
}

pub fn greeting(company: &str, recording_notice: bool) -> String {
    let notice = if recording_notice {
        " This call is recorded and transcribed for our records; stay on the line if that's alright with you."
    } else {
        ""
    };
    format!(
        "Thanks for calling {company}. This is the automated load desk.{notice} What's your MC number? You can say it or key it in."
    )
}

/// The opening of a call we placed to a carrier about a load that fits its truck: who is
/// calling, the recording notice, the load, and the question.
pub fn outreach(company: &str, recording_notice: bool, l: &LoadFacts) -> String {
    let notice = if recording_notice {
        " This call is recorded and transcribed for our records."
    } else {
        ""
    };
    format!(
        "Hi, this is the automated load desk calling for {company}, about a load that fits one of your trucks posted on LaneRunner.{notice} {}",
        pitch(l)
    )
}

/// The opening of a check call to the carrier hauling a load.
pub fn check_call(
    company: &str,
    recording_notice: bool,
    reference: &str,
    destination: &str,
) -> String {
    let notice = if recording_notice {
        " This call is recorded and transcribed for our records."
    } else {
        ""
    };
    format!(
        "Hi, this is the automated load desk for {company}, checking on load {reference} to {destination}; we haven't had a position from the truck in a while.{notice} Where is the truck right now?"
    )
}

pub fn ask_eta(destination: &str) -> String {
    format!("Thanks. When do you expect to deliver in {destination}?")
}

pub const ASK_ISSUES: &str = "Got it. Any problems on the road I should pass on?";

pub fn checked_in(company: &str) -> String {
    format!("Thanks, I've passed that on to {company}. Drive safe. Goodbye.")
}

/// Left on an answering machine.
pub fn voicemail(company: &str, reference: &str) -> String {
    format!("Hi, this is the automated load desk for {company}, calling about load {reference} for one of your trucks. Call us back or find it on LaneRunner. Goodbye.")
}

pub const MC_AGAIN: &str =
    "Sorry, I didn't catch that. What's your MC number? You can also key it in, then press pound.";

pub fn not_on_file(mc: u64) -> String {
    format!("I can't find MC {mc} with active authority on our platform, so I can't book you on this call. Please sign up or check your authority, and call us back. Goodbye.")
}

pub fn not_cleared(mc: u64, why: &str) -> String {
    format!("Thanks. I'm sorry, we can't book MC {mc} right now: {why}. Goodbye.")
}

pub fn ask_load(carrier: &str) -> String {
    format!("Thanks, {carrier}. Which load are you calling about? Give me the reference number, or the lane, like Dallas to Atlanta.")
}

pub const LOAD_AGAIN: &str =
    "I don't have an open load matching that. Give me the reference number, or the pickup city and the delivery city.";

pub fn pitch(l: &LoadFacts) -> String {
    let when = l.pickup_at.format("%A %B %-d at %-I %p").to_string();
    let rate = match l.rate_cents {
        Some(c) => format!(", paying {} all in", dollars(c)),
        None => String::new(),
    };
    format!(
        "Load {}: {} to {}, {}, {} pounds, picking up {} UTC, about {:.0} loaded miles{}. What rate would you need to haul it?",
        l.reference,
        l.origin,
        l.destination,
        equipment_words(&l.equipment),
        Cents(l.weight_lbs * 100).grouped().trim_end_matches(".00").trim_start_matches('$'),
        when,
        l.loaded_miles,
        rate
    )
}

pub fn countered(rate_cents: i64, offers_left: u32) -> String {
    let last = if offers_left <= 1 {
        " That's about as far as I can go."
    } else {
        ""
    };
    format!(
        "I can do {} all in.{last} Does that work for you?",
        dollars(rate_cents)
    )
}

pub fn booked(rate_cents: i64, reference: &str) -> String {
    format!("Great, you're booked on load {reference} at {} all in. The rate confirmation is on its way to your email. Thanks for hauling with us. Goodbye.", dollars(rate_cents))
}

pub const DECLINED: &str = "Understood. Thanks for calling, and call us for the next one. Goodbye.";

pub fn unavailable(why: &str) -> String {
    format!("Sorry, I can't book that: {why}. Thanks for calling. Goodbye.")
}

pub const NO_LOAD: &str = "I don't have that load open right now. Thanks for calling. Goodbye.";

pub const TRANSFER: &str = "Let me get someone from our team on the line. One moment.";

pub const NO_ONE: &str = "Nobody from our team can take the call right now; we'll call you back at this number. Goodbye.";

pub const GIVE_UP: &str = "I'm having trouble understanding.";

pub const NOT_IN_SERVICE: &str = "This number is not taking calls. Goodbye.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_pitch_as_said() {
        assert_eq!(dollars(215_000), "$2,150");
        assert_eq!(dollars(215_050), "$2,150.50");
        let l = LoadFacts {
            reference: "LR-1002".into(),
            origin: "Dallas, TX".into(),
            destination: "Atlanta, GA".into(),
            equipment: "dry_van".into(),
            weight_lbs: 42_000,
            loaded_miles: 781.4,
            pickup_at: "2026-12-08T14:00:00Z".parse().unwrap(),
            rate_cents: Some(210_000),
        };
        let said = pitch(&l);
        assert!(
            said.contains("Dallas, TX to Atlanta, GA, dry van, 42,000 pounds"),
            "{said}"
        );
        assert!(said.contains("Tuesday December 8 at 2 PM"), "{said}");
        assert!(said.contains("paying $2,100 all in"), "{said}");
    }
}
