//! The daily reconciliation, pure: what LaneRunner's ledger says moved through the
//! processor's balance against the processor's own balance transactions, object by object
//! (a charge, a refund, a dispute, a payout's transfer), reporting every difference: an object only one side
//! knows, or known to both with other amounts or currencies.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Charge,
    Refund,
    Dispute,
    /// A carrier payout's transfer to its connected account.
    Transfer,
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Charge => "charge",
            MovementKind::Refund => "refund",
            MovementKind::Dispute => "dispute",
            MovementKind::Transfer => "transfer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "charge" => Some(MovementKind::Charge),
            "refund" => Some(MovementKind::Refund),
            "dispute" => Some(MovementKind::Dispute),
            "transfer" => Some(MovementKind::Transfer),
            _ => None,
        }
    }
}

/// One object's effect on the processor balance, as one side records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Movement {
    /// The processor's id of the object (`ch_…`, `re_…`, `dp_…`).
    pub object_id: String,
    pub kind: MovementKind,
    /// Uppercase ISO code.
    pub currency: String,
    /// Signed cents: money in positive, refunds and disputes negative.
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(tag = "difference", rename_all = "snake_case")]
pub enum Difference {
    /// The processor moved money LaneRunner has no entry for (a webhook never arrived).
    OnlyAtProcessor { movement: Movement },
    /// LaneRunner recorded money the processor did not move.
    OnlyInLedger { movement: Movement },
    /// Both know the object, with other amounts or currencies.
    Differs {
        ledger: Movement,
        processor: Movement,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Report {
    pub matched: u64,
    pub differences: Vec<Difference>,
    /// Sums per currency on each side.
    pub ledger_totals: BTreeMap<String, i64>,
    pub processor_totals: BTreeMap<String, i64>,
    /// The processor's fees on the day's charges, per currency, as entered in the ledger.
    #[serde(default)]
    pub fees: BTreeMap<String, i64>,
}

/// The processor's fee on one charge, from its balance transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fee {
    /// The charge it was taken on.
    pub object_id: String,
    /// The balance transaction that took it: a fee is entered once per transaction.
    pub transaction_id: String,
    pub currency: String,
    pub fee_cents: i64,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What the processor's balance history holds for a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalanceHistory {
    pub movements: Vec<Movement>,
    pub fees: Vec<Fee>,
}

fn totals(ms: &[Movement]) -> BTreeMap<String, i64> {
    let mut t = BTreeMap::new();
    for m in ms {
        *t.entry(m.currency.clone()).or_insert(0) += m.amount_cents;
    }
    t
}

/// Matches the two sides by object id, in linear time. Differences are listed in a stable
/// order (by object id) so two runs over the same data read the same.
pub fn reconcile(ledger: &[Movement], processor: &[Movement]) -> Report {
    let mut at_processor: HashMap<&str, &Movement> = processor
        .iter()
        .map(|m| (m.object_id.as_str(), m))
        .collect();
    let mut matched = 0;
    let mut differences = Vec::new();
    for l in ledger {
        match at_processor.remove(l.object_id.as_str()) {
            Some(p) if p.amount_cents == l.amount_cents && p.currency == l.currency => matched += 1,
            Some(p) => differences.push(Difference::Differs {
                ledger: l.clone(),
                processor: p.clone(),
            }),
            None => differences.push(Difference::OnlyInLedger {
                movement: l.clone(),
            }),
        }
    }
    differences.extend(
        at_processor
            .into_values()
            .map(|p| Difference::OnlyAtProcessor {
                movement: p.clone(),
            }),
    );
    differences.sort_by(|a, b| key(a).cmp(key(b)));
    Report {
        matched,
        differences,
        ledger_totals: totals(ledger),
        processor_totals: totals(processor),
        fees: BTreeMap::new(),
    }
}

fn key(d: &Difference) -> &str {
    match d {
        Difference::OnlyAtProcessor { movement } | Difference::OnlyInLedger { movement } => {
            &movement.object_id
        }
        Difference::Differs { ledger, .. } => &ledger.object_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, kind: MovementKind, cents: i64) -> Movement {
        Movement {
            object_id: id.into(),
            kind,
            currency: "USD".into(),
            amount_cents: cents,
        }
    }

    #[test]
    fn every_difference_is_named_and_matches_are_counted() {
        let ledger = vec![
            m("ch_1", MovementKind::Charge, 10_000),
            m("ch_2", MovementKind::Charge, 5_000),
            m("re_1", MovementKind::Refund, -2_000),
            m("ch_9", MovementKind::Charge, 700),
        ];
        let processor = vec![
            m("ch_1", MovementKind::Charge, 10_000),
            m("ch_2", MovementKind::Charge, 4_999),
            m("re_1", MovementKind::Refund, -2_000),
            m("dp_1", MovementKind::Dispute, -10_000),
        ];
        let r = reconcile(&ledger, &processor);
        assert_eq!(r.matched, 2);
        assert_eq!(
            r.differences,
            [
                Difference::Differs {
                    ledger: m("ch_2", MovementKind::Charge, 5_000),
                    processor: m("ch_2", MovementKind::Charge, 4_999)
                },
                Difference::OnlyInLedger {
                    movement: m("ch_9", MovementKind::Charge, 700)
                },
                Difference::OnlyAtProcessor {
                    movement: m("dp_1", MovementKind::Dispute, -10_000)
                },
            ]
        );
        assert_eq!(r.ledger_totals["USD"], 13_700);
        assert_eq!(r.processor_totals["USD"], 2_999);
        assert_eq!(reconcile(&processor, &processor).differences, []);
    }
}
