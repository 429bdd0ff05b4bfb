//! Carrier payouts' rules, pure: a broker's terms, the two offers a load's payout carries,
//! quick pay's fee, and the ledger entries each movement makes on both sides (the broker
//! owes, the carrier is owed; the same cents in both books).

use chrono::{DateTime, Duration, Utc};
use lanerunner_platform::http::{Invalid, Violations};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::invoices::domain::accounts as books;
use crate::ledger::{EntryKind, NewEntry};

pub const MAX_STANDARD_DAYS: i64 = 120;
/// 10 %: a fee above it is not quick pay but a loan.
pub const MAX_FEE_BPS: i64 = 1000;

/// The accounts payouts move money between, beside the invoices' own.
pub mod accounts {
    /// The broker's: quick pay's fees earned.
    pub const QUICK_PAY_REVENUE: &str = "revenue:quick_pay";
    /// The carrier's: quick pay's fees paid.
    pub const QUICK_PAY_COST: &str = "cost:quick_pay";
    /// The carrier's: money on its account at the processor, not yet at its bank.
    pub const CONNECTED: &str = "processor:connected";
    /// The carrier's: what a broker owes it.
    pub fn receivable_from(broker: uuid::Uuid) -> String {
        format!("receivable:broker:{broker}")
    }
}

/// What a broker offers its carriers (`PUT /v1/payments/payout-terms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    /// Standard terms: paid this many days after the paperwork is complete, free.
    pub standard_days: i64,
    /// Quick pay's fee in basis points of the rate (299 = 2.99 %); absent: no quick pay.
    #[serde(default)]
    pub quick_pay_fee_bps: Option<i64>,
}

impl Terms {
    pub fn check(&self) -> Result<(), Invalid> {
        let mut v = Violations::default();
        if !(0..=MAX_STANDARD_DAYS).contains(&self.standard_days) {
            v.add(
                "standard_days",
                format!("must be 0 to {MAX_STANDARD_DAYS} days"),
            );
        }
        if let Some(bps) = self.quick_pay_fee_bps {
            if !(0..=MAX_FEE_BPS).contains(&bps) {
                v.add(
                    "quick_pay_fee_bps",
                    format!("must be 0 to {MAX_FEE_BPS} basis points (10 %)"),
                );
            }
        }
        v.into_result(())
    }
}

/// What the carrier chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    Standard,
    QuickPay,
}

impl Choice {
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Standard => "standard",
            Choice::QuickPay => "quick_pay",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(Choice::Standard),
            "quick_pay" => Some(Choice::QuickPay),
            _ => None,
        }
    }
}

/// One way the carrier may be paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Offer {
    pub option: Choice,
    pub fee_cents: i64,
    /// What reaches the carrier: the rate less the fee.
    pub net_cents: i64,
    /// When it is sent (the bank takes one or two business days more).
    pub sent_on: DateTime<Utc>,
}

/// Quick pay's fee: the rate's basis points, rounded half up to the cent.
pub fn fee(amount_cents: i64, bps: i64) -> i64 {
    ((i128::from(amount_cents) * i128::from(bps) + 5_000) / 10_000) as i64
}

/// The offers a payout carries: standard terms always, quick pay when the broker offers it
/// and the standard date has not come (after it, quick pay is only slower and dearer).
pub fn offers(
    amount_cents: i64,
    standard_days: i64,
    quick_pay_fee_bps: Option<i64>,
    completed_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Offer> {
    let standard_on = completed_at + Duration::days(standard_days);
    let mut out = vec![Offer {
        option: Choice::Standard,
        fee_cents: 0,
        net_cents: amount_cents,
        sent_on: standard_on,
    }];
    if let Some(bps) = quick_pay_fee_bps {
        if now < standard_on {
            let f = fee(amount_cents, bps);
            out.push(Offer {
                option: Choice::QuickPay,
                fee_cents: f,
                net_cents: amount_cents - f,
                sent_on: now,
            });
        }
    }
    out
}

/// How long a refused transfer or payout waits before the next attempt: doubling from a
/// minute, at most a day.
pub fn backoff(attempts: i32) -> Duration {
    Duration::minutes(1_i64 << attempts.clamp(0, 11)).min(Duration::days(1))
}

/// The carrier's side of a completed load: the broker owes it the rate.
pub fn receivable(load: Uuid, reference: &str, broker: Uuid, cents: i64) -> NewEntry {
    NewEntry::between(
        EntryKind::CarrierPayable,
        format!("carrier-receivable:{load}"),
        format!("rate for load {reference}"),
        "USD",
        &accounts::receivable_from(broker),
        books::REVENUE,
        cents,
    )
}

/// Quick pay's fee, on each side: the broker's payable and the carrier's receivable shrink.
pub fn quick_pay_fee(
    payout: Uuid,
    reference: &str,
    broker: Uuid,
    carrier: Uuid,
    currency: &str,
    cents: i64,
) -> (NewEntry, NewEntry) {
    let memo = format!("quick pay fee for load {reference}");
    (
        NewEntry::between(
            EntryKind::Fee,
            format!("quick-pay-fee:{payout}"),
            memo.clone(),
            currency,
            &books::carrier_payable(carrier),
            accounts::QUICK_PAY_REVENUE,
            cents,
        ),
        NewEntry::between(
            EntryKind::Fee,
            format!("quick-pay-fee:{payout}"),
            memo,
            currency,
            accounts::QUICK_PAY_COST,
            &accounts::receivable_from(broker),
            cents,
        ),
    )
}

/// The money sent, on each side: from the broker's processor balance (or its bank, by
/// hand) to the carrier's connected account (or its bank).
pub fn sent(
    payout: Uuid,
    reference: &str,
    broker: Uuid,
    carrier: Uuid,
    currency: &str,
    by_hand: bool,
    cents: i64,
) -> (NewEntry, NewEntry) {
    let memo = format!("payout for load {reference}");
    let (from, to) = if by_hand {
        (books::BANK, books::BANK)
    } else {
        (books::PROCESSOR, accounts::CONNECTED)
    };
    (
        NewEntry::between(
            EntryKind::Transfer,
            format!("payout-transfer:{payout}"),
            memo.clone(),
            currency,
            &books::carrier_payable(carrier),
            from,
            cents,
        ),
        NewEntry::between(
            EntryKind::Transfer,
            format!("payout-transfer:{payout}"),
            memo,
            currency,
            to,
            &accounts::receivable_from(broker),
            cents,
        ),
    )
}

/// The carrier's side of a payout reaching its bank.
pub fn banked(processor_payout: &str, reference: &str, currency: &str, cents: i64) -> NewEntry {
    NewEntry::between(
        EntryKind::Payout,
        format!("payout:{processor_payout}"),
        format!("payout for load {reference} reached the bank"),
        currency,
        books::BANK,
        accounts::CONNECTED,
        cents,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn fee_rounds_half_up_to_the_cent() {
        assert_eq!(fee(250_000, 299), 7_475);
        assert_eq!(fee(150, 299), 4); // 4.485 cents
        assert_eq!(fee(50, 100), 1); // 0.5 cent
        assert_eq!(fee(49, 100), 0);
        assert_eq!(
            fee(crate::ledger::domain::MAX_AMOUNT_CENTS, MAX_FEE_BPS),
            100_000_000_000
        );
    }

    #[test]
    fn quick_pay_is_offered_until_the_standard_date() {
        let o = offers(250_000, 30, Some(299), at(1), at(2));
        assert_eq!(o.len(), 2);
        assert_eq!(o[0].option, Choice::Standard);
        assert_eq!(o[0].net_cents, 250_000);
        assert_eq!(o[0].sent_on, at(31));
        assert_eq!(o[1].option, Choice::QuickPay);
        assert_eq!((o[1].fee_cents, o[1].net_cents), (7_475, 242_525));
        assert_eq!(o[1].sent_on, at(2));
        // Not offered by the broker, or the standard date reached: standard only.
        assert_eq!(offers(250_000, 30, None, at(1), at(2)).len(), 1);
        assert_eq!(offers(250_000, 0, Some(299), at(1), at(1)).len(), 1);
    }

    #[test]
    fn terms_name_every_bad_field() {
        let bad = Terms {
            standard_days: -1,
            quick_pay_fee_bps: Some(1001),
        };
        let fields: Vec<String> = bad
            .check()
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["standard_days", "quick_pay_fee_bps"]);
        assert!(Terms {
            standard_days: 30,
            quick_pay_fee_bps: None
        }
        .check()
        .is_ok());
    }

    #[test]
    fn backoff_doubles_and_stops_at_a_day() {
        assert_eq!(backoff(0), Duration::minutes(1));
        assert_eq!(backoff(3), Duration::minutes(8));
        assert_eq!(backoff(40), Duration::days(1));
    }

    #[test]
    fn every_movement_balances_and_both_books_agree() {
        let (p, c, l) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (fee_b, fee_c) = quick_pay_fee(p, "L-1", Uuid::nil(), Uuid::nil(), "USD", 7_475);
        let (sent_b, sent_c) = sent(p, "L-1", Uuid::nil(), Uuid::nil(), "USD", false, 242_525);
        let (hand_b, hand_c) = sent(p, "L-1", Uuid::nil(), Uuid::nil(), "USD", true, 242_525);
        for e in [
            receivable(l, "L-1", c, 250_000),
            fee_b,
            fee_c,
            sent_b,
            sent_c,
            hand_b,
            hand_c,
            banked("po_1", "L-1", "USD", 242_525),
        ] {
            e.check()
                .unwrap_or_else(|err| panic!("{} does not check: {err:?}", e.reference));
        }
    }
}
