//! Freight rate negotiation, pure (no I/O, no clock: every call names its `now`).
//!
//! - [`protocol`]: a negotiation between a broker (for a load) and a carrier (for a truck)
//!   under alternating offers with a deadline and a per-side offer limit; Book Now, offers,
//!   counters, accept, reject, withdraw; an explicit state machine whose every transition is
//!   returned as an event to record.
//! - [`agent`]: what an agent acting for one side does next: a time-dependent concession
//!   that adapts to the opponent's concessions (with the market as the prior), acceptance
//!   when the offer beats what it would counter next, a person in the loop past a
//!   threshold, and [`agent::Guardrails`] that clamp every move whatever the strategy says.
//! - [`parse`]: offers in free text ("can you do 2200?", "$2.45 a mile", "twenty-one
//!   hundred all in", "deal") into an intent and an amount, or a question back.

pub mod agent;
pub mod parse;
pub mod protocol;

/// Which party a move is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The broker, for the load: buys capacity, wants a low rate.
    Broker,
    /// The carrier, for the truck: sells capacity, wants a high rate.
    Carrier,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Broker => Side::Carrier,
            Side::Carrier => Side::Broker,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Side::Broker => "broker",
            Side::Carrier => "carrier",
        }
    }
}
