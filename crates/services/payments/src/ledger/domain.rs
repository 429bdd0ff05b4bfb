//! The ledger's rules, pure. A journal entry is a set of postings to accounts; amounts are
//! integer cents, debits positive and credits negative; in every currency an entry touches,
//! its postings sum to zero. That one rule, checked before anything is written, is what
//! makes the sum of all balances zero and every cent traceable.

use std::collections::BTreeMap;

use lanerunner_platform::http::Violations;
use serde::{Deserialize, Serialize};

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    InvoiceIssued,
    PaymentReceived,
    Fee,
    CarrierPayable,
    Transfer,
    Payout,
    Refund,
    Dispute,
    /// A correction an accountant makes by hand.
    Adjustment,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::InvoiceIssued => "invoice_issued",
            EntryKind::PaymentReceived => "payment_received",
            EntryKind::Fee => "fee",
            EntryKind::CarrierPayable => "carrier_payable",
            EntryKind::Transfer => "transfer",
            EntryKind::Payout => "payout",
            EntryKind::Refund => "refund",
            EntryKind::Dispute => "dispute",
            EntryKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            EntryKind::InvoiceIssued,
            EntryKind::PaymentReceived,
            EntryKind::Fee,
            EntryKind::CarrierPayable,
            EntryKind::Transfer,
            EntryKind::Payout,
            EntryKind::Refund,
            EntryKind::Dispute,
            EntryKind::Adjustment,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The currencies LaneRunner moves money in (North American freight).
pub const CURRENCIES: &[&str] = &["USD", "CAD", "MXN"];

/// Largest amount one posting may carry: ten billion dollars, far beyond any load, and far
/// from `i64`'s edge however many postings a balance adds up.
pub const MAX_AMOUNT_CENTS: i64 = 1_000_000_000_000;
pub const MAX_POSTINGS: usize = 50;
pub const MAX_REFERENCE_CHARS: usize = 200;

/// One line of an entry: `amount_cents` to `account` (positive debits, negative credits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Posting {
    /// `receivable`, `revenue`, `payable:carrier:<id>`, `stripe:balance`, …: lowercase words
    /// joined by `:`, at most 100 characters.
    pub account: String,
    pub currency: String,
    pub amount_cents: i64,
}

/// An entry as it is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    pub kind: EntryKind,
    /// Unique per organization: recording the same reference again records nothing new.
    pub reference: String,
    pub memo: Option<String>,
    /// When the movement happened (a Stripe event's `created`); default: when it is recorded.
    #[serde(default)]
    pub occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    pub postings: Vec<Posting>,
}

impl NewEntry {
    /// The common entry: `cents` from `credit` to `debit`, in one currency.
    pub fn between(
        kind: EntryKind,
        reference: String,
        memo: String,
        currency: &str,
        debit: &str,
        credit: &str,
        cents: i64,
    ) -> NewEntry {
        NewEntry {
            kind,
            reference,
            memo: Some(memo),
            occurred_at: None,
            postings: vec![
                Posting {
                    account: debit.into(),
                    currency: currency.into(),
                    amount_cents: cents,
                },
                Posting {
                    account: credit.into(),
                    currency: currency.into(),
                    amount_cents: -cents,
                },
            ],
        }
    }
}

/// What one entry does to one account's balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceChange<'a> {
    pub account: &'a str,
    pub currency: &'a str,
    pub amount_cents: i64,
    /// How many of the entry's postings it merges.
    pub postings: i64,
}

fn account_ok(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 100
        && a.split(':').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
        && a.as_bytes()[0].is_ascii_lowercase()
}

impl NewEntry {
    /// Every rule, every violation at once: accounts and currencies well formed, amounts
    /// non-zero and bounded, and the postings balanced in each currency.
    pub fn check(&self) -> Result<(), lanerunner_platform::http::Invalid> {
        let mut v = Violations::default();
        let reference = self.reference.trim();
        if reference.is_empty()
            || reference.chars().count() > MAX_REFERENCE_CHARS
            || reference.chars().any(char::is_control)
        {
            v.add(
                "reference",
                format!("must be 1–{MAX_REFERENCE_CHARS} printable characters"),
            );
        }
        if let Some(memo) = &self.memo {
            if memo.chars().count() > 500 || memo.chars().any(|c| c.is_control() && c != '\n') {
                v.add(
                    "memo",
                    "must be at most 500 characters, without control characters",
                );
            }
        }
        if self.postings.len() < 2 || self.postings.len() > MAX_POSTINGS {
            v.add(
                "postings",
                format!("an entry has 2 to {MAX_POSTINGS} postings"),
            );
        }
        let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
        for (i, p) in self.postings.iter().enumerate() {
            if !account_ok(&p.account) {
                v.add(&format!("postings[{i}].account"), "must be lowercase words (a-z, 0-9, _ or -) joined by `:`, at most 100 characters");
            }
            if !CURRENCIES.contains(&p.currency.as_str()) {
                v.add(
                    &format!("postings[{i}].currency"),
                    format!("must be one of {}", CURRENCIES.join(", ")),
                );
            }
            if p.amount_cents == 0 || p.amount_cents.unsigned_abs() > MAX_AMOUNT_CENTS as u64 {
                v.add(
                    &format!("postings[{i}].amount_cents"),
                    format!("must be non-zero and at most {MAX_AMOUNT_CENTS} in size"),
                );
            }
            *sums.entry(p.currency.as_str()).or_default() += i128::from(p.amount_cents);
        }
        for (currency, sum) in sums {
            if sum != 0 {
                v.add("postings", format!("debits and credits in {currency} differ by {sum} cents; an entry must balance"));
            }
        }
        v.into_result(())
    }

    /// The postings merged by account and currency, in a fixed order: the order balance
    /// rows are locked in, so two entries never wait on each other in a cycle.
    pub fn balance_changes(&self) -> Vec<BalanceChange<'_>> {
        let mut by: BTreeMap<(&str, &str), (i64, i64)> = BTreeMap::new();
        for p in &self.postings {
            let (amount, n) = by
                .entry((p.account.as_str(), p.currency.as_str()))
                .or_default();
            *amount += p.amount_cents;
            *n += 1;
        }
        by.into_iter()
            .map(
                |((account, currency), (amount_cents, postings))| BalanceChange {
                    account,
                    currency,
                    amount_cents,
                    postings,
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(postings: &[(&str, &str, i64)]) -> NewEntry {
        NewEntry {
            kind: EntryKind::InvoiceIssued,
            reference: "INV-1".into(),
            memo: None,
            occurred_at: None,
            postings: postings
                .iter()
                .map(|(a, c, x)| Posting {
                    account: (*a).into(),
                    currency: (*c).into(),
                    amount_cents: *x,
                })
                .collect(),
        }
    }

    #[test]
    fn a_balanced_entry_passes_and_its_changes_are_merged_in_a_fixed_order() {
        let e = entry(&[
            ("receivable", "USD", 250_000),
            ("revenue", "USD", -25_000),
            ("payable:carrier:7", "USD", -225_000),
        ]);
        e.check().unwrap();
        let changes: Vec<_> = e
            .balance_changes()
            .into_iter()
            .map(|c| (c.account, c.currency, c.amount_cents, c.postings))
            .collect();
        assert_eq!(
            changes,
            [
                ("payable:carrier:7", "USD", -225_000, 1),
                ("receivable", "USD", 250_000, 1),
                ("revenue", "USD", -25_000, 1)
            ]
        );
        // Two postings to one account are one change that counts both.
        let twice = entry(&[
            ("cash", "USD", 70),
            ("cash", "USD", 30),
            ("sales", "USD", -100),
        ]);
        let merged = twice.balance_changes();
        assert_eq!(
            (
                merged[0].account,
                merged[0].amount_cents,
                merged[0].postings
            ),
            ("cash", 100, 2)
        );
        // Two currencies, each balanced on its own.
        entry(&[
            ("cash", "USD", 100),
            ("fx", "USD", -100),
            ("fx", "CAD", 137),
            ("cash", "CAD", -137),
        ])
        .check()
        .unwrap();
    }

    #[test]
    fn an_unbalanced_or_malformed_entry_names_every_problem() {
        let e = entry(&[
            ("receivable", "USD", 250_000),
            ("Revenue!", "EUR", -250_000),
            ("x", "USD", 0),
        ]);
        let fields: Vec<String> = e
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        for f in [
            "postings[1].account",
            "postings[1].currency",
            "postings[2].amount_cents",
            "postings",
        ] {
            assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
        }
        // Balanced across currencies is not balanced.
        assert!(entry(&[("cash", "USD", 100), ("cash", "CAD", -100)])
            .check()
            .is_err());
        assert!(
            entry(&[("cash", "USD", 100)]).check().is_err(),
            "one posting"
        );
        assert!(entry(&[
            ("cash", "USD", MAX_AMOUNT_CENTS + 1),
            ("x", "USD", -MAX_AMOUNT_CENTS - 1)
        ])
        .check()
        .is_err());
        assert!(entry(&[("cash:", "USD", 1), ("x", "USD", -1)])
            .check()
            .is_err());
        // The most negative i64 has no absolute value: refused, not a panic.
        assert!(entry(&[("cash", "USD", i64::MIN), ("x", "USD", i64::MAX)])
            .check()
            .is_err());
        let mut no_ref = entry(&[("cash", "USD", 1), ("x", "USD", -1)]);
        no_ref.reference = " ".into();
        assert!(no_ref.check().is_err());
    }
}
