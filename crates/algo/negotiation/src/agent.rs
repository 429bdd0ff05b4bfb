//! The agent that negotiates for one side, and the guardrails every move passes through.
//!
//! Strategy (`decide`): concede along a time-dependent curve that is slow at first
//! (Boulware) and faster when the pickup is near; aim not at our own limit but at where the
//! opponent will settle, estimated from its concessions so far with the market (the rate
//! model's prediction and interval, or the lane's recent bookings) as the prior; accept an
//! offer that is at least as good as what we would counter with next, or the best left
//! when we have no offers left; walk away only when the other side is past our limit and
//! we cannot counter. Every decision says why, in a dispatcher's words.
//!
//! Guardrails (`Guardrails::apply`), applied to every decision however it was made: never
//! past the broker's maximum or below the carrier's minimum, never at or after the
//! deadline, never out of turn, never to a counterparty the organization forbids, and a
//! person approves what lies past the approval threshold.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::protocol::{Negotiation, Status};
use crate::Side;

/// What one side wants, in all-in cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub side: Side,
    /// Where it opens: the broker's start rate, the carrier's desired rate.
    pub aspiration_cents: i64,
    /// What it never goes past: the broker's maximum, the carrier's minimum.
    pub reservation_cents: i64,
    /// The broker's target: concessions aim here first and reach past it (to the
    /// reservation) only as the deadline nears.
    pub target_cents: Option<i64>,
    /// A person approves any offer or acceptance past this (above it for a broker, below
    /// it for a carrier).
    pub approval_beyond_cents: Option<i64>,
    /// How reluctantly it concedes: 1 is linear in time, below 1 holds firm longer
    /// (Boulware), above 1 gives ground early. Default 0.4.
    pub concession: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("a broker's start must not be above its maximum, a carrier's desired rate not below its minimum")]
    Inverted,
    #[error("the target must lie between the start and the maximum")]
    TargetOutside,
    #[error("rates must be positive")]
    NotPositive,
    #[error("concession must be between 0.05 and 5")]
    Concession,
}

impl Policy {
    /// `+1` for the carrier (more is better), `-1` for the broker.
    fn dir(&self) -> i64 {
        match self.side {
            Side::Carrier => 1,
            Side::Broker => -1,
        }
    }

    /// Whether `a` is at least as good for this side as `b`.
    fn at_least(&self, a: i64, b: i64) -> bool {
        self.dir() * (a - b) >= 0
    }

    pub fn check(&self) -> Result<(), PolicyError> {
        if self.aspiration_cents <= 0 || self.reservation_cents <= 0 {
            return Err(PolicyError::NotPositive);
        }
        if !self.at_least(self.aspiration_cents, self.reservation_cents) {
            return Err(PolicyError::Inverted);
        }
        if let Some(t) = self.target_cents {
            if !(self.at_least(self.aspiration_cents, t)
                && self.at_least(t, self.reservation_cents))
            {
                return Err(PolicyError::TargetOutside);
            }
        }
        if !(0.05..=5.0).contains(&self.concession) {
            return Err(PolicyError::Concession);
        }
        Ok(())
    }
}

/// The market as the agent sees it: a rate and its 80 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Market {
    pub estimate_cents: i64,
    pub low_cents: i64,
    pub high_cents: i64,
}

/// What the agent knows beside the negotiation.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub market: Option<Market>,
    pub pickup_at: DateTime<Utc>,
    /// Other open negotiations on the same load (for a broker: carriers bidding; for a
    /// carrier: rivals).
    pub rivals: u32,
    /// Whether the organization lets this counterparty book (vetting, blocked lists).
    pub counterparty_allowed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    Offer {
        rate_cents: i64,
        reason: String,
    },
    Accept {
        total_cents: i64,
        reason: String,
    },
    Reject {
        reason: String,
    },
    /// Nothing to do now (not our turn, or closed).
    Wait {
        reason: String,
    },
    /// What the agent would do, held for a person to approve.
    Approve {
        proposal: Box<Decision>,
        reason: String,
    },
}

pub fn dollars(cents: i64) -> String {
    let whole = (cents as f64 / 100.0).round() as i64;
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if whole < 0 { "-" } else { "" })
}

/// How far along the negotiation is for `side`, 0 to 1: the larger of the time gone and
/// the offers spent.
fn progress(n: &Negotiation, side: Side, now: DateTime<Utc>) -> f64 {
    let span = (n.terms.deadline - n.opened_at).num_seconds().max(1) as f64;
    let time = ((now - n.opened_at).num_seconds() as f64 / span).clamp(0.0, 1.0);
    let offers = (n.offers_by(side) as f64 + 1.0) / n.terms.max_offers_per_side as f64;
    time.max(offers).clamp(0.0, 1.0)
}

/// The opponent's offers so far, oldest first.
fn their_offers(n: &Negotiation, side: Side) -> Vec<i64> {
    n.offers
        .iter()
        .filter(|o| o.by == side.other())
        .map(|o| o.total_cents())
        .collect()
}

/// Where the opponent will settle at most (its reservation), estimated: its concessions
/// so far, continued over the offers it has left, weighed against the market prior as
/// the evidence grows. Never past its latest offer (no one settles worse than it asked).
struct OpponentEstimate {
    cents: Option<i64>,
    /// Per offer, towards us.
    concession_per_offer: Option<i64>,
}

fn estimate_opponent(p: &Policy, n: &Negotiation, market: Option<Market>) -> OpponentEstimate {
    let theirs = their_offers(n, p.side);
    // Their reservation from the market: a carrier takes about the lower part of the
    // interval, a broker pays about the upper part.
    let prior = market.map(|m| match p.side {
        Side::Broker => m.estimate_cents - (m.estimate_cents - m.low_cents) / 2,
        Side::Carrier => m.estimate_cents + (m.high_cents - m.estimate_cents) / 2,
    });
    let Some(&last) = theirs.last() else {
        return OpponentEstimate {
            cents: prior,
            concession_per_offer: None,
        };
    };
    // Towards us is down for a carrier opponent (we are the broker), up for a broker one.
    let towards_us = p.dir();
    let per_offer = (theirs.len() >= 2).then(|| {
        let moved = (last - theirs[0]) * towards_us;
        (moved / (theirs.len() as i64 - 1)).max(0)
    });
    let left = n
        .terms
        .max_offers_per_side
        .saturating_sub(theirs.len() as u32) as i64;
    let observed = per_offer.map(|c| last + towards_us * c * left);
    let estimate = match (observed, prior) {
        (Some(o), Some(pr)) => {
            let w = ((theirs.len() as f64 - 1.0) / 3.0).min(1.0);
            (o as f64 * w + pr as f64 * (1.0 - w)).round() as i64
        }
        (Some(o), None) => o,
        (None, pr) => pr.unwrap_or(last),
    };
    // Not worse for them than their latest offer.
    let capped = if towards_us * (estimate - last) < 0 {
        last
    } else {
        estimate
    };
    OpponentEstimate {
        cents: Some(capped),
        concession_per_offer: per_offer,
    }
}

/// How much faster to concede given the pickup and the competition.
fn urgency(p: &Policy, ctx: &Context, now: DateTime<Utc>) -> f64 {
    let hours = (ctx.pickup_at - now).num_minutes() as f64 / 60.0;
    let time = if hours < 6.0 {
        2.5
    } else if hours < 24.0 {
        1.5
    } else {
        1.0
    };
    let rivals = ctx.rivals.min(10) as f64;
    let competition = match p.side {
        // Many carriers bidding: the broker can wait for a better one.
        Side::Broker => 1.0 / (1.0 + 0.1 * rivals),
        // Rival carriers on the load: concede sooner or lose it.
        Side::Carrier => 1.0 + 0.1 * rivals,
    };
    time * competition
}

/// What the strategy plans now (before guardrails).
struct Plan {
    /// The offer it would make.
    next: i64,
    /// Where it expects to settle: an offer at least this good is worth more than going on.
    settle: i64,
    why: String,
}

fn planned_offer(p: &Policy, n: &Negotiation, ctx: &Context, now: DateTime<Utc>) -> Plan {
    let progress = progress(n, p.side, now);
    let opp = estimate_opponent(p, n, ctx.market);
    let (asp, res) = (p.aspiration_cents, p.reservation_cents);
    let soft = p.target_cents.unwrap_or(res);
    // Between our aspiration and a limit, on our side of it.
    let within = |x: i64, limit: i64| {
        if p.at_least(x, limit) && p.at_least(asp, x) {
            x
        } else if p.at_least(x, asp) {
            asp
        } else {
            limit
        }
    };
    let aim_early = opp.cents.map_or(soft, |o| within(o, soft));
    let aim_late = opp.cents.map_or(res, |o| within(o, res));
    let aim = aim_early as f64 + (aim_late - aim_early) as f64 * progress.powi(2);
    let exponent = p.concession * urgency(p, ctx, now);
    let f = progress.powf(1.0 / exponent.max(0.01));
    let mut x = (asp as f64 + (aim - asp as f64) * f).round() as i64;
    // Whole dollars, rounded in our favour.
    x = match p.side {
        Side::Broker => x.div_euclid(100) * 100,
        Side::Carrier => (x + 99).div_euclid(100) * 100,
    };
    // Never take back ground already given.
    if let Some(mine) = n.offers.iter().rev().find(|o| o.by == p.side) {
        if p.at_least(x, mine.rate_cents) {
            x = mine.rate_cents;
        }
    }
    let mut why = Vec::new();
    if let Some(m) = ctx.market {
        why.push(format!(
            "market {} ± {}",
            dollars(m.estimate_cents),
            dollars((m.high_cents - m.low_cents) / 2)
        ));
    }
    if let Some(c) = opp.concession_per_offer {
        why.push(format!(
            "{} has conceded {} an offer",
            p.side.other().as_str(),
            dollars(c)
        ));
    }
    let hours = (ctx.pickup_at - now).num_hours();
    why.push(if hours >= 0 {
        format!("pickup in {hours} hours")
    } else {
        "pickup time has passed".into()
    });
    if ctx.rivals > 0 {
        why.push(format!("{} other negotiations on this load", ctx.rivals));
    }
    Plan {
        next: x,
        settle: aim.round() as i64,
        why: why.join(", "),
    }
}

/// What the agent for `p` does now in `n`.
pub fn decide(p: &Policy, n: &Negotiation, ctx: &Context, now: DateTime<Utc>) -> Decision {
    let raw = strategy(p, n, ctx, now);
    Guardrails { policy: p }.apply(n, ctx, now, raw)
}

fn strategy(p: &Policy, n: &Negotiation, ctx: &Context, now: DateTime<Utc>) -> Decision {
    if n.status != Status::Open || now >= n.terms.deadline {
        return Decision::Wait {
            reason: "the negotiation is over".into(),
        };
    }
    if n.turn() == Some(p.side.other()) {
        return Decision::Wait {
            reason: format!("waiting for the {}'s answer", p.side.other().as_str()),
        };
    }
    let Plan { next, settle, why } = planned_offer(p, n, ctx, now);
    let can_counter = n.may_offer(p.side, now);
    if let Some(standing) = n.standing().filter(|o| o.by == p.side.other()) {
        let total = standing.total_cents();
        let inside = p.at_least(total, p.reservation_cents);
        // Our last counter would be the last word: a deal within our limit now beats the
        // risk that the other side cannot answer it in time.
        let last_chance = n.offers_by(p.side) + 1 >= n.terms.max_offers_per_side;
        if inside
            && (p.at_least(total, next) || p.at_least(total, settle) || !can_counter || last_chance)
        {
            return Decision::Accept {
                total_cents: total,
                reason: if p.at_least(total, next) {
                    format!(
                        "accepted {}: no worse than our next counter of {} ({why})",
                        dollars(total),
                        dollars(next)
                    )
                } else if can_counter {
                    format!(
                        "accepted {}: better than the {} we expect to settle at ({why})",
                        dollars(total),
                        dollars(settle)
                    )
                } else {
                    format!(
                        "accepted {}: within our limit, and we have no counters left or only a last one ({why})",
                        dollars(total)
                    )
                },
            };
        }
        if !can_counter {
            return Decision::Reject {
                reason: format!(
                    "{} is past our limit of {} and we have no counters left",
                    dollars(total),
                    dollars(p.reservation_cents)
                ),
            };
        }
    }
    Decision::Offer {
        rate_cents: next,
        reason: format!(
            "{} at {}: {why}",
            if n.offers.is_empty() {
                "opened"
            } else {
                "countered"
            },
            dollars(next)
        ),
    }
}

/// The limits every decision is held to, whatever produced it (the strategy, a language
/// model's reading of a message, a person's click relayed by the agent).
pub struct Guardrails<'a> {
    pub policy: &'a Policy,
}

impl Guardrails<'_> {
    pub fn apply(
        &self,
        n: &Negotiation,
        ctx: &Context,
        now: DateTime<Utc>,
        d: Decision,
    ) -> Decision {
        let p = self.policy;
        let over = || Decision::Wait {
            reason: "the negotiation is over or past its deadline".into(),
        };
        if n.status != Status::Open || now >= n.terms.deadline {
            return over();
        }
        if !ctx.counterparty_allowed
            && matches!(
                d,
                Decision::Offer { .. } | Decision::Accept { .. } | Decision::Approve { .. }
            )
        {
            return Decision::Reject {
                reason: "this carrier may not book our loads (not vetted, or blocked)".into(),
            };
        }
        let approval = |d: Decision, cents: i64| match p.approval_beyond_cents {
            Some(limit) if !p.at_least(cents, limit) => Decision::Approve {
                reason: format!(
                    "{} is past the {} a person must approve",
                    dollars(cents),
                    dollars(limit)
                ),
                proposal: Box::new(d),
            },
            _ => d,
        };
        match d {
            Decision::Offer { rate_cents, reason } => {
                if !n.may_offer(p.side, now) {
                    return Decision::Wait {
                        reason: "no offer may be made now (not our turn, or none left)".into(),
                    };
                }
                let (rate, reason) = if p.at_least(rate_cents, p.reservation_cents) {
                    (rate_cents, reason)
                } else {
                    (
                        p.reservation_cents,
                        format!(
                            "{reason}; held at our limit of {}",
                            dollars(p.reservation_cents)
                        ),
                    )
                };
                let rate = rate.max(1);
                approval(
                    Decision::Offer {
                        rate_cents: rate,
                        reason,
                    },
                    rate,
                )
            }
            Decision::Accept { reason, .. } => {
                let Some(standing) = n
                    .standing()
                    .filter(|o| o.by == p.side.other() && o.expires_at.is_none_or(|e| now < e))
                else {
                    return Decision::Wait {
                        reason: "there is no open offer to accept".into(),
                    };
                };
                let total = standing.total_cents();
                if !p.at_least(total, p.reservation_cents) {
                    return Decision::Reject {
                        reason: format!(
                            "{} is past our limit of {}",
                            dollars(total),
                            dollars(p.reservation_cents)
                        ),
                    };
                }
                approval(
                    Decision::Accept {
                        total_cents: total,
                        reason,
                    },
                    total,
                )
            }
            Decision::Approve { proposal, .. } => self.apply(n, ctx, now, *proposal),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Move, Terms};
    use chrono::Duration;

    fn t(h: i64) -> DateTime<Utc> {
        "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::hours(h)
    }

    fn broker() -> Policy {
        Policy {
            side: Side::Broker,
            aspiration_cents: 180_000,
            reservation_cents: 230_000,
            target_cents: Some(210_000),
            approval_beyond_cents: None,
            concession: 0.4,
        }
    }

    fn ctx() -> Context {
        Context {
            market: Some(Market {
                estimate_cents: 223_000,
                low_cents: 209_000,
                high_cents: 237_000,
            }),
            pickup_at: t(20),
            rivals: 0,
            counterparty_allowed: true,
        }
    }

    fn negotiation() -> Negotiation {
        Negotiation::open(
            Terms {
                deadline: t(10),
                max_offers_per_side: 5,
                posted_rate_cents: None,
            },
            t(0),
        )
        .unwrap()
    }

    #[test]
    fn the_broker_opens_low_concedes_slowly_and_says_why() {
        let n = negotiation();
        let Decision::Offer { rate_cents, reason } = decide(&broker(), &n, &ctx(), t(0)) else {
            panic!()
        };
        assert!((180_000..200_000).contains(&rate_cents), "{rate_cents}");
        assert!(
            reason.starts_with("opened at $") && reason.contains("market $2,230 ± $140"),
            "{reason}"
        );
        assert!(reason.contains("pickup in 20 hours"), "{reason}");
    }

    #[test]
    fn a_good_enough_offer_is_accepted_and_a_bad_last_one_refused() {
        let mut n = negotiation();
        n.apply(
            Side::Carrier,
            Move::Offer {
                rate_cents: 185_000,
                accessorials: vec![],
                expires_at: None,
            },
            t(1),
        )
        .unwrap();
        assert!(matches!(
            decide(&broker(), &n, &ctx(), t(1)),
            Decision::Accept {
                total_cents: 185_000,
                ..
            }
        ));

        let mut p = broker();
        p.approval_beyond_cents = Some(180_000);
        let d = decide(&p, &n, &ctx(), t(1));
        assert!(
            matches!(&d, Decision::Approve { proposal, .. } if matches!(**proposal, Decision::Accept { .. })),
            "{d:?}"
        );

        let mut n = Negotiation::open(
            Terms {
                deadline: t(10),
                max_offers_per_side: 1,
                posted_rate_cents: None,
            },
            t(0),
        )
        .unwrap();
        n.apply(
            Side::Broker,
            Move::Offer {
                rate_cents: 190_000,
                accessorials: vec![],
                expires_at: None,
            },
            t(0),
        )
        .unwrap();
        n.apply(
            Side::Carrier,
            Move::Offer {
                rate_cents: 260_000,
                accessorials: vec![],
                expires_at: None,
            },
            t(1),
        )
        .unwrap();
        assert!(matches!(
            decide(&broker(), &n, &ctx(), t(1)),
            Decision::Reject { .. }
        ));
    }

    #[test]
    fn the_opponents_concessions_are_read_in_its_direction() {
        let mut n = negotiation();
        let offer = |r| Move::Offer {
            rate_cents: r,
            accessorials: vec![],
            expires_at: None,
        };
        n.apply(Side::Carrier, offer(260_000), t(0)).unwrap();
        n.apply(Side::Broker, offer(185_000), t(1)).unwrap();
        n.apply(Side::Carrier, offer(250_000), t(2)).unwrap();
        let Decision::Offer { reason, .. } = decide(&broker(), &n, &ctx(), t(2)) else {
            panic!()
        };
        assert!(
            reason.contains("carrier has conceded $100 an offer"),
            "{reason}"
        );
    }

    #[test]
    fn guardrails_hold_whatever_the_strategy_says() {
        let mut n = negotiation();
        let g = Guardrails { policy: &broker() };
        let wild = Decision::Offer {
            rate_cents: 900_000,
            reason: "a language model said so".into(),
        };
        assert!(matches!(
            g.apply(&n, &ctx(), t(1), wild.clone()),
            Decision::Offer {
                rate_cents: 230_000,
                ..
            }
        ));
        assert!(matches!(
            g.apply(&n, &ctx(), t(10), wild.clone()),
            Decision::Wait { .. }
        ));
        let forbidden = Context {
            counterparty_allowed: false,
            ..ctx()
        };
        assert!(matches!(
            g.apply(&n, &forbidden, t(1), wild.clone()),
            Decision::Reject { .. }
        ));
        n.apply(
            Side::Carrier,
            Move::Offer {
                rate_cents: 250_000,
                accessorials: vec![],
                expires_at: None,
            },
            t(1),
        )
        .unwrap();
        let accept = Decision::Accept {
            total_cents: 0,
            reason: String::new(),
        };
        assert!(matches!(
            g.apply(&n, &ctx(), t(2), accept),
            Decision::Reject { .. }
        ));
        assert_eq!(broker().check(), Ok(()));
        let inverted = Policy {
            reservation_cents: 100_000,
            ..broker()
        };
        assert_eq!(inverted.check(), Err(PolicyError::Inverted));
    }
}
