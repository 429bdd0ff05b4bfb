//! Invoices' rules, pure: what a new invoice must say, the status its amounts give it, and
//! the ledger entry each movement makes.

use lanerunner_platform::http::Violations;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ledger::domain::CURRENCIES;
use crate::ledger::{EntryKind, NewEntry};

pub const MAX_LINES: usize = 20;
pub const MAX_DUE_DAYS: i64 = 120;

/// The accounts invoices move money between (each organization's own ledger).
pub mod accounts {
    pub const RECEIVABLE: &str = "receivable:customers";
    pub const REVENUE: &str = "revenue:freight";
    pub const REFUNDS: &str = "revenue:refunds";
    pub const PROCESSOR: &str = "processor:balance";
    pub const BANK: &str = "cash:bank";
    pub const UNAPPLIED: &str = "cash:unapplied";
    pub const DISPUTES: &str = "disputes";
    pub const CARRIER_COST: &str = "cost:carriers";
    pub const PROCESSOR_FEES: &str = "cost:processor_fees";
    pub fn carrier_payable(carrier: uuid::Uuid) -> String {
        format!("payable:carrier:{carrier}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub description: String,
    pub amount_cents: i64,
}

/// `POST /v1/payments/invoices`: the shipper billed for a load whose paperwork is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    pub load_id: Uuid,
    pub customer_name: String,
    pub customer_email: String,
    /// Default USD.
    #[serde(default)]
    pub currency: Option<String>,
    pub lines: Vec<Line>,
    /// Days until it is due (default 30).
    #[serde(default)]
    pub due_in_days: Option<i64>,
}

impl InvoiceInput {
    /// Every problem at once; the total when there is none.
    pub fn check(&self) -> Result<i64, lanerunner_platform::http::Invalid> {
        let mut v = Violations::default();
        let name = self.customer_name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            v.add("customer_name", "must be 1 to 200 characters on one line");
        }
        if !email_ok(&self.customer_email) {
            v.add("customer_email", "must be an email address");
        }
        if !CURRENCIES.contains(&self.currency()) {
            v.add(
                "currency",
                format!("must be one of {}", CURRENCIES.join(", ")),
            );
        }
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            v.add("lines", format!("must hold 1 to {MAX_LINES} lines"));
        }
        let mut total: i64 = 0;
        for (i, l) in self.lines.iter().enumerate() {
            let d = l.description.trim();
            if d.is_empty() || d.chars().count() > 200 || d.chars().any(char::is_control) {
                v.add(
                    &format!("lines[{i}].description"),
                    "must be 1 to 200 characters on one line",
                );
            }
            if !(1..=crate::ledger::domain::MAX_AMOUNT_CENTS).contains(&l.amount_cents) {
                v.add(
                    &format!("lines[{i}].amount_cents"),
                    "must be a positive amount of cents, at most 10^12",
                );
            } else {
                total = total.saturating_add(l.amount_cents);
            }
        }
        if total > crate::ledger::domain::MAX_AMOUNT_CENTS {
            v.add("lines", "must total at most 10^12 cents");
        }
        if let Some(d) = self.due_in_days {
            if !(0..=MAX_DUE_DAYS).contains(&d) {
                v.add("due_in_days", format!("must be 0 to {MAX_DUE_DAYS}"));
            }
        }
        v.into_result(total)
    }

    pub fn currency(&self) -> &str {
        self.currency.as_deref().unwrap_or("USD")
    }
}

fn email_ok(e: &str) -> bool {
    let e = e.trim();
    e.len() <= 254
        && e.split_once('@').is_some_and(|(user, domain)| {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What an invoice's amounts make it.
pub fn status(amount: i64, paid: i64, refunded: i64, disputed: i64) -> &'static str {
    if disputed > 0 {
        "disputed"
    } else if paid > 0 && refunded >= paid {
        "refunded"
    } else if paid >= amount {
        "paid"
    } else if paid > 0 {
        "partially_paid"
    } else {
        "open"
    }
}

/// The customer owes the invoice: receivable against revenue.
pub fn issued(invoice: Uuid, number: &str, currency: &str, cents: i64) -> NewEntry {
    NewEntry::between(
        EntryKind::InvoiceIssued,
        format!("invoice:{invoice}"),
        format!("invoice {number} issued"),
        currency,
        accounts::RECEIVABLE,
        accounts::REVENUE,
        cents,
    )
}

/// The carrier is owed the load's rate once its paperwork is complete.
pub fn carrier_payable(load: Uuid, reference: &str, carrier: Uuid, cents: i64) -> NewEntry {
    NewEntry::between(
        EntryKind::CarrierPayable,
        format!("carrier-payable:{load}"),
        format!("carrier payable for load {reference}"),
        "USD",
        accounts::CARRIER_COST,
        &accounts::carrier_payable(carrier),
        cents,
    )
}

/// Money received for an invoice (`cash` is where it landed); an unknown or already-paid
/// invoice's money is kept as unapplied cash for an accountant to place.
pub fn received(
    reference: String,
    memo: String,
    currency: &str,
    cash: &str,
    applied: bool,
    cents: i64,
) -> NewEntry {
    let credit = if applied {
        accounts::RECEIVABLE
    } else {
        accounts::UNAPPLIED
    };
    NewEntry::between(
        EntryKind::PaymentReceived,
        reference,
        memo,
        currency,
        cash,
        credit,
        cents,
    )
}

pub fn refunded(reference: String, memo: String, currency: &str, cents: i64) -> NewEntry {
    NewEntry::between(
        EntryKind::Refund,
        reference,
        memo,
        currency,
        accounts::REFUNDS,
        accounts::PROCESSOR,
        cents,
    )
}

/// The processor's fee on a charge, taken from its balance.
pub fn processor_fee(fee: &crate::reconcile::Fee) -> NewEntry {
    NewEntry::between(
        EntryKind::Fee,
        format!("processor-fee:{}", fee.transaction_id),
        format!("processor fee on {}", fee.object_id),
        &fee.currency,
        accounts::PROCESSOR_FEES,
        accounts::PROCESSOR,
        fee.fee_cents,
    )
}

pub fn disputed(reference: String, memo: String, currency: &str, cents: i64) -> NewEntry {
    NewEntry::between(
        EntryKind::Dispute,
        reference,
        memo,
        currency,
        accounts::DISPUTES,
        accounts::PROCESSOR,
        cents,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> InvoiceInput {
        InvoiceInput {
            load_id: Uuid::nil(),
            customer_name: "Big Box Retail".into(),
            customer_email: "ap@bigbox.example".into(),
            currency: None,
            lines: vec![
                Line {
                    description: "Linehaul".into(),
                    amount_cents: 300_000,
                },
                Line {
                    description: "Fuel".into(),
                    amount_cents: 12_550,
                },
            ],
            due_in_days: Some(30),
        }
    }

    #[test]
    fn a_sound_invoice_totals_and_a_bad_one_names_every_field() {
        assert_eq!(input().check().unwrap(), 312_550);
        let bad = InvoiceInput {
            customer_name: " ".into(),
            customer_email: "nobody".into(),
            currency: Some("EUR".into()),
            lines: vec![
                Line {
                    description: "".into(),
                    amount_cents: 0,
                },
                Line {
                    description: "x".into(),
                    amount_cents: i64::MAX,
                },
            ],
            due_in_days: Some(365),
            ..input()
        };
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            [
                "customer_name",
                "customer_email",
                "currency",
                "lines[0].description",
                "lines[0].amount_cents",
                "lines[1].amount_cents",
                "due_in_days"
            ]
        );
        let none = InvoiceInput {
            lines: vec![],
            ..input()
        };
        assert!(none.check().is_err());
    }

    #[test]
    fn status_follows_the_amounts() {
        assert_eq!(status(100, 0, 0, 0), "open");
        assert_eq!(status(100, 40, 0, 0), "partially_paid");
        assert_eq!(status(100, 100, 0, 0), "paid");
        assert_eq!(status(100, 100, 30, 0), "paid");
        assert_eq!(status(100, 100, 100, 0), "refunded");
        assert_eq!(status(100, 100, 0, 100), "disputed");
    }

    #[test]
    fn every_movement_balances() {
        for e in [
            issued(Uuid::nil(), "INV-1", "USD", 500),
            carrier_payable(Uuid::nil(), "L-1", Uuid::nil(), 400),
            received(
                "payment:pi_1".into(),
                "m".into(),
                "USD",
                accounts::PROCESSOR,
                true,
                500,
            ),
            received(
                "payment:pi_2".into(),
                "m".into(),
                "USD",
                accounts::PROCESSOR,
                false,
                500,
            ),
            refunded("refund:ch_1:200".into(), "m".into(), "USD", 200),
            disputed("dispute:dp_1".into(), "m".into(), "USD", 500),
        ] {
            e.check()
                .unwrap_or_else(|err| panic!("{} does not check: {err:?}", e.reference));
        }
    }
}
