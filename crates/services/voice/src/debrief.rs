//! After the call: its outcome, the caller's sentiment, and a short summary for the
//! broker, from what happened on the call. Pure.

use serde::{Deserialize, Serialize};

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Agreed on the call: the load is booked to the caller.
    Booked,
    /// Offers were exchanged and the call ended (or went to a person) with no agreement.
    Countered,
    /// The caller turned it down, or the agent walked away.
    Declined,
    /// The caller's MC number is unknown, its authority is not active, or the broker does
    /// not book it.
    NotEligible,
    /// No open load matched what the caller asked for.
    NoLoad,
    /// Handed to a person before any offer.
    Transferred,
    /// The caller hung up before any of the above.
    Abandoned,
    /// A call we placed was not answered by a person (no answer, busy, failed, or an
    /// answering machine).
    NoAnswer,
    /// A check call answered: where the truck is, when it delivers, anything wrong.
    CheckedIn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Booked => "booked",
            Outcome::Countered => "countered",
            Outcome::Declined => "declined",
            Outcome::NotEligible => "not_eligible",
            Outcome::NoLoad => "no_load",
            Outcome::Transferred => "transferred",
            Outcome::Abandoned => "abandoned",
            Outcome::NoAnswer => "no_answer",
            Outcome::CheckedIn => "checked_in",
        }
    }
}

const WARM: &[&str] = &[
    "thanks",
    "thank",
    "great",
    "perfect",
    "awesome",
    "appreciate",
    "good",
    "sounds",
    "excellent",
    "love",
    "nice",
    "sweet",
    "cool",
    "deal",
];
const COLD: &[&str] = &[
    "ridiculous",
    "cheap",
    "insulting",
    "joke",
    "waste",
    "terrible",
    "awful",
    "crazy",
    "robot",
    "stupid",
    "hate",
    "annoying",
    "lowball",
    "scam",
    "garbage",
    "never",
];

/// `positive`, `neutral` or `negative`, from the caller's words: warm and cold words
/// counted, a frustrated ending (asking for a person after misunderstandings) weighing
/// against.
pub fn sentiment<'a>(
    caller_said: impl IntoIterator<Item = &'a str>,
    misunderstood: u32,
) -> &'static str {
    let mut score = -(misunderstood as i32);
    for line in caller_said {
        for w in line
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty())
        {
            if WARM.contains(&w) {
                score += 1;
            } else if COLD.contains(&w) {
                score -= 2;
            }
        }
    }
    match score {
        s if s >= 2 => "positive",
        s if s <= -2 => "negative",
        _ => "neutral",
    }
}

/// The facts a summary is made of.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub mc: Option<u64>,
    pub load: Option<String>,
    pub first_offer_cents: Option<i64>,
    pub last_counter_cents: Option<i64>,
    pub agreed_cents: Option<i64>,
    pub transfer_reason: Option<String>,
    /// We called them (outreach, a check call), rather than they us.
    pub outbound: bool,
    /// A check call's answers.
    pub check_in: Option<crate::events::CheckIn>,
}

pub fn summary(outcome: Outcome, f: &Facts, sentiment: &str) -> String {
    let who =
        f.mc.map(|m| format!("MC {m}"))
            .unwrap_or_else(|| "A caller who gave no MC number".into());
    let about = f
        .load
        .as_ref()
        .map(|l| format!(" about load {l}"))
        .unwrap_or_default();
    let money = |c: i64| crate::script::dollars(c);
    let mut s = if f.outbound {
        let whom =
            f.mc.map(|m| format!("MC {m}"))
                .unwrap_or_else(|| "the carrier".into());
        format!("We called {whom}{about}.")
    } else {
        format!("{who} called{about}.")
    };
    if let Some(o) = f.first_offer_cents {
        s += &format!(" Asked {}.", money(o));
    }
    if let Some(c) = f.last_counter_cents {
        s += &format!(" We countered at {}.", money(c));
    }
    s += &match outcome {
        Outcome::Booked => format!(" Booked at {}.", money(f.agreed_cents.unwrap_or_default())),
        Outcome::Countered => " No agreement on the call.".into(),
        Outcome::Declined => " Declined.".into(),
        Outcome::NotEligible => " Not eligible to book.".into(),
        Outcome::NoLoad => " No open load matched.".into(),
        Outcome::Transferred => " Handed to a person.".into(),
        Outcome::Abandoned => " Hung up.".into(),
        Outcome::NoAnswer => " No one answered.".into(),
        Outcome::CheckedIn => {
            let c = f.check_in.clone().unwrap_or_default();
            let said = |s: Option<String>| {
                s.map(|s| format!("\"{s}\""))
                    .unwrap_or_else(|| "not said".into())
            };
            format!(
                " Checked in. Truck at: {}. Delivery expected: {}. Problems: {}.",
                said(c.location),
                said(c.eta),
                said(c.issues)
            )
        }
    };
    if let Some(why) = &f.transfer_reason {
        s += &format!(" Transferred: {why}.");
    }
    s += &format!(" Caller sentiment: {sentiment}.");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentiment_from_words_and_misunderstandings() {
        assert_eq!(sentiment(["great, thanks", "sounds good"], 0), "positive");
        assert_eq!(
            sentiment(["that's ridiculous", "what a joke"], 0),
            "negative"
        );
        assert_eq!(sentiment(["2200"], 0), "neutral");
        assert_eq!(sentiment(["what", "huh"], 2), "negative");
    }

    #[test]
    fn summary_tells_the_story() {
        let f = Facts {
            mc: Some(123456),
            load: Some("LR-1002".into()),
            first_offer_cents: Some(240_000),
            last_counter_cents: Some(215_000),
            agreed_cents: Some(220_000),
            transfer_reason: None,
            outbound: false,
            check_in: None,
        };
        assert_eq!(
            summary(Outcome::Booked, &f, "positive"),
            "MC 123456 called about load LR-1002. Asked $2,400. We countered at $2,150. Booked at $2,200. Caller sentiment: positive."
        );
        let called = Facts {
            outbound: true,
            first_offer_cents: None,
            last_counter_cents: None,
            agreed_cents: None,
            ..f
        };
        assert_eq!(
            summary(Outcome::NoAnswer, &called, "neutral"),
            "We called MC 123456 about load LR-1002. No one answered. Caller sentiment: neutral."
        );
    }
}
