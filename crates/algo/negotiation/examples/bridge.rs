//! The bridge the negotiation benchmark (`bench/negotiation/run.sh`) drives LaneRunner's
//! agent through: one JSON request a line on stdin, one decision a line on stdout.
//!
//! A request carries the agent's policy, the market it knows, the deadline in rounds, the
//! round now and every offer so far (`by`, `rate_cents`, `round`). The offers are replayed
//! through the protocol (`Negotiation::apply`: alternation, limits, deadline), round `r`
//! being hour `r` of the negotiation, and the agent decides at the current round.

use std::io::{BufRead, Write};

use chrono::{DateTime, Duration, Utc};
use lanerunner_negotiation::agent::{decide, Context, Decision, Market, Policy};
use lanerunner_negotiation::protocol::{Move, Negotiation, Terms};
use lanerunner_negotiation::Side;
use serde::Deserialize;

#[derive(Deserialize)]
struct PastOffer {
    by: Side,
    rate_cents: i64,
    round: i64,
}

#[derive(Deserialize)]
struct Request {
    policy: Policy,
    market: Option<Market>,
    rounds: u32,
    round: i64,
    offers: Vec<PastOffer>,
}

fn answer(req: Request) -> Result<serde_json::Value, String> {
    req.policy.check().map_err(|e| e.to_string())?;
    let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().expect("a time");
    let at = |round: i64| t0 + Duration::hours(round);
    let mut n = Negotiation::open(
        Terms {
            deadline: at(i64::from(req.rounds) + 1),
            max_offers_per_side: req.rounds,
            posted_rate_cents: None,
        },
        t0,
    )
    .map_err(|e| e.to_string())?;
    for o in &req.offers {
        let mv = Move::Offer {
            rate_cents: o.rate_cents,
            accessorials: vec![],
            expires_at: None,
        };
        n.apply(o.by, mv, at(o.round))
            .map_err(|e| format!("replaying the offers: {e}"))?;
    }
    let ctx = Context {
        market: req.market,
        // The deadline is the pickup: urgency grows as it nears.
        pickup_at: at(i64::from(req.rounds) + 1),
        rivals: 0,
        counterparty_allowed: true,
    };
    let d = decide(&req.policy, &n, &ctx, at(req.round));
    let d = match d {
        Decision::Approve { proposal, .. } => *proposal,
        d => d,
    };
    serde_json::to_value(d).map_err(|e| e.to_string())
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(req) => answer(req).unwrap_or_else(|e| serde_json::json!({"error": e})),
            Err(e) => serde_json::json!({"error": format!("bad request: {e}")}),
        };
        writeln!(out, "{reply}").expect("stdout");
        out.flush().expect("stdout");
    }
}
