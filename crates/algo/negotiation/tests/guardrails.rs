//! The guardrails hold over random policies, markets, clocks and opponents: an agent never
//! offers past its limit, never agrees past it, never moves at or after the deadline or
//! out of turn, and never deals with a counterparty its organization forbids. And two
//! agents whose limits overlap reach a deal inside the overlap.

use chrono::{DateTime, Duration, Utc};
use lanerunner_negotiation::agent::{decide, Context, Decision, Guardrails, Market, Policy};
use lanerunner_negotiation::protocol::{Move, Negotiation, Status, Terms};
use lanerunner_negotiation::Side;
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    "2026-12-01T00:00:00Z".parse().unwrap()
}

fn policy(side: Side, a: i64, b: i64, concession: f64, approval: Option<i64>) -> Policy {
    // `a` and `b` are two rates; the policy takes them in the order its side needs.
    let (lo, hi) = (a.min(b), a.max(b));
    let (aspiration, reservation) = match side {
        Side::Broker => (lo, hi),
        Side::Carrier => (hi, lo),
    };
    Policy {
        side,
        aspiration_cents: aspiration,
        reservation_cents: reservation,
        target_cents: None,
        approval_beyond_cents: approval,
        concession,
    }
}

fn within_limit(p: &Policy, cents: i64) -> bool {
    match p.side {
        Side::Broker => cents <= p.reservation_cents,
        Side::Carrier => cents >= p.reservation_cents,
    }
}

/// Every rate a decision would commit to, unwrapping approvals.
fn committed(d: &Decision) -> Option<i64> {
    match d {
        Decision::Offer { rate_cents, .. } => Some(*rate_cents),
        Decision::Accept { total_cents, .. } => Some(*total_cents),
        Decision::Approve { proposal, .. } => committed(proposal),
        _ => None,
    }
}

#[derive(Debug, Clone)]
enum Opp {
    Offer(i64, i64),
    Accept,
    Nothing,
}

fn opponent() -> impl Strategy<Value = Opp> {
    prop_oneof![
        6 => (1i64..2_000_000, 0i64..50_000).prop_map(|(r, f)| Opp::Offer(r, f)),
        1 => Just(Opp::Accept),
        1 => Just(Opp::Nothing),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn no_decision_crosses_a_guardrail(
        our_broker in any::<bool>(),
        a in 50_000i64..800_000,
        b in 50_000i64..800_000,
        concession in 0.1f64..3.0,
        approval in proptest::option::of(50_000i64..800_000),
        est in 50_000i64..800_000,
        spread in 0i64..100_000,
        limit in 1u32..8,
        horizon_h in 1i64..72,
        pickup_h in -10i64..100,
        rivals in 0u32..12,
        allowed in any::<bool>(),
        moves in proptest::collection::vec((opponent(), 0i64..100), 1..20),
    ) {
        let side = if our_broker { Side::Broker } else { Side::Carrier };
        let p = policy(side, a, b, concession, approval);
        prop_assume!(p.check().is_ok());
        let ctx = Context {
            market: Some(Market { estimate_cents: est, low_cents: est - spread, high_cents: est + spread }),
            pickup_at: t0() + Duration::hours(pickup_h),
            rivals,
            counterparty_allowed: allowed,
        };
        let deadline = t0() + Duration::hours(horizon_h);
        let mut n = Negotiation::open(
            Terms { deadline, max_offers_per_side: limit, posted_rate_cents: None },
            t0(),
        ).unwrap();
        let mut now = t0();
        for (opp, step_pct) in moves {
            now += Duration::seconds(horizon_h * 3600 * step_pct / 400);
            // The opponent moves (the protocol refuses what is not allowed).
            let them = side.other();
            let _ = match opp {
                Opp::Offer(r, _f) => n.apply(them, Move::Offer { rate_cents: r, accessorials: vec![], expires_at: None }, now),
                Opp::Accept => n.apply(them, Move::Accept, now),
                Opp::Nothing => Ok(vec![]),
            };
            let d = decide(&p, &n, &ctx, now);
            if now >= deadline || n.status != Status::Open {
                prop_assert!(matches!(d, Decision::Wait { .. }), "{d:?} at/after the deadline or closed");
            }
            if !allowed {
                prop_assert!(committed(&d).is_none(), "{d:?} with a forbidden counterparty");
            }
            if let Some(c) = committed(&d) {
                prop_assert!(within_limit(&p, c), "{d:?} past the limit {}", p.reservation_cents);
                prop_assert!(c > 0);
            }
            if let (Some(limit), Some(c)) = (p.approval_beyond_cents, committed(&d)) {
                let past = match side { Side::Broker => c > limit, Side::Carrier => c < limit };
                prop_assert!(!past || matches!(d, Decision::Approve { .. }), "{d:?} should wait for approval");
            }
            // What the agent decides, the protocol accepts (a person approves it as is).
            let chosen = match d { Decision::Approve { proposal, .. } => *proposal, d => d };
            let applied = match &chosen {
                Decision::Offer { rate_cents, .. } => Some(n.apply(side, Move::Offer { rate_cents: *rate_cents, accessorials: vec![], expires_at: None }, now)),
                Decision::Accept { .. } => Some(n.apply(side, Move::Accept, now)),
                Decision::Reject { .. } => Some(n.apply(side, Move::Reject, now)),
                Decision::Wait { .. } | Decision::Approve { .. } => None,
            };
            if let Some(result) = applied {
                prop_assert!(result.is_ok(), "{chosen:?} refused by the protocol: {result:?}");
            }
            if let Some(agreed) = n.agreed_cents {
                prop_assert!(within_limit(&p, agreed), "agreed at {agreed} past our limit");
            }
        }
    }

    #[test]
    fn a_wild_decision_from_anywhere_is_clamped(
        a in 50_000i64..800_000,
        b in 50_000i64..800_000,
        wild in -1_000_000i64..10_000_000,
    ) {
        for side in [Side::Broker, Side::Carrier] {
            let p = policy(side, a, b, 0.4, None);
            let n = Negotiation::open(
                Terms { deadline: t0() + Duration::hours(5), max_offers_per_side: 3, posted_rate_cents: None },
                t0(),
            ).unwrap();
            let ctx = Context { market: None, pickup_at: t0() + Duration::hours(30), rivals: 0, counterparty_allowed: true };
            let d = Guardrails { policy: &p }.apply(&n, &ctx, t0(), Decision::Offer { rate_cents: wild, reason: String::new() });
            let c = committed(&d).unwrap();
            prop_assert!(within_limit(&p, c) && c > 0, "{d:?}");
        }
    }
}

/// Two agents with overlapping limits, each playing the protocol in turn until it ends.
fn self_play(broker: &Policy, carrier: &Policy, market: Option<Market>, limit: u32) -> Negotiation {
    let deadline = t0() + Duration::hours(10);
    let mut n = Negotiation::open(
        Terms {
            deadline,
            max_offers_per_side: limit,
            posted_rate_cents: None,
        },
        t0(),
    )
    .unwrap();
    let ctx = Context {
        market,
        pickup_at: t0() + Duration::hours(30),
        rivals: 0,
        counterparty_allowed: true,
    };
    let mut side = Side::Carrier;
    let mut now = t0();
    for _ in 0..(2 * limit + 2) {
        now += Duration::minutes(600 / (2 * limit as i64 + 2));
        let p = if side == Side::Broker {
            broker
        } else {
            carrier
        };
        let mv = match decide(p, &n, &ctx, now) {
            Decision::Offer { rate_cents, .. } => Move::Offer {
                rate_cents,
                accessorials: vec![],
                expires_at: None,
            },
            Decision::Accept { .. } => Move::Accept,
            Decision::Reject { .. } => Move::Reject,
            other => panic!("{other:?}"),
        };
        n.apply(side, mv, now).unwrap();
        if n.status != Status::Open {
            break;
        }
        side = side.other();
    }
    n
}

#[test]
fn agents_whose_limits_overlap_agree_inside_the_overlap() {
    let mut agreed = 0;
    let cases = 300;
    for i in 0..cases {
        // A market near $2,000 and limits around it, overlapping by $0–$300.
        let est = 150_000 + (i * 7_919) % 100_000;
        let carrier_min = est - 10_000 + (i * 31) % 15_000;
        let broker_max = carrier_min + (i * 97) % 30_000;
        let broker = policy(Side::Broker, est - 40_000, broker_max, 0.4, None);
        let carrier = policy(Side::Carrier, est + 40_000, carrier_min, 0.4, None);
        let market = Market {
            estimate_cents: est,
            low_cents: est - 14_000,
            high_cents: est + 14_000,
        };
        let n = self_play(&broker, &carrier, Some(market), 5);
        if let Some(cents) = n.agreed_cents {
            assert!(
                (carrier_min..=broker_max).contains(&cents),
                "case {i}: {cents} outside {carrier_min}..={broker_max}"
            );
            agreed += 1;
        }
    }
    assert!(
        agreed * 100 >= cases * 95,
        "only {agreed} of {cases} overlapping cases agreed"
    );
}
