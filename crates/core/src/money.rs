//! Money as integer US cents. Freight rates are quoted in dollars but every sum, fee and
//! ledger entry is exact, so floating point never touches an amount.

use serde::{Deserialize, Serialize};
use std::fmt;

/// On the wire a plain integer (`180000` is $1,800.00).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    Default,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// The nearest whole cent to an amount computed in floating point (an estimate such as
    /// the cost of empty miles), half away from zero; `None` when it is not a finite
    /// amount an `i64` can hold.
    pub fn round_from(cents: f64) -> Option<Cents> {
        let rounded = cents.round();
        // i64::MAX as f64 rounds up to 2^63, which is already out of range.
        (rounded.is_finite() && rounded >= i64::MIN as f64 && rounded < i64::MAX as f64)
            .then_some(Cents(rounded as i64))
    }

    /// A rate per loaded mile, in whole cents (the unit load boards quote, to the cent):
    /// `self` over `miles`, rounded half away from zero; `None` without a positive
    /// distance.
    pub fn per_mile(self, miles: f64) -> Option<Cents> {
        if !(miles.is_finite() && miles > 0.0) {
            return None;
        }
        Cents::round_from(self.0 as f64 / miles)
    }

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    pub fn checked_sub(self, other: Cents) -> Option<Cents> {
        self.0.checked_sub(other.0).map(Cents)
    }
}

impl Cents {
    /// As people read an amount, thousands grouped: `$2,500.00`.
    pub fn grouped(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut out = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}${out}.{:02}", abs % 100)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}${}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_dollars_and_cents() {
        assert_eq!(Cents(250_000).to_string(), "$2500.00");
        assert_eq!(Cents(-5).to_string(), "-$0.05");
        assert_eq!(Cents(i64::MIN).to_string(), "-$92233720368547758.08");
    }

    #[test]
    fn groups_thousands_as_people_read_them() {
        assert_eq!(Cents(0).grouped(), "$0.00");
        assert_eq!(Cents(123_456_789).grouped(), "$1,234,567.89");
        assert_eq!(Cents(-100_000).grouped(), "-$1,000.00");
        assert_eq!(Cents(i64::MIN).grouped(), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn rates_per_mile_are_whole_cents() {
        // $2,250.00 over 777.7 miles is 289.314...¢/mile: quoted as 289¢.
        assert_eq!(Cents(225_000).per_mile(777.7), Some(Cents(289)));
        assert_eq!(
            Cents(1).per_mile(2.0),
            Some(Cents(1)),
            "half rounds away from zero"
        );
        assert_eq!(Cents(100).per_mile(0.0), None);
        assert_eq!(Cents(100).per_mile(f64::NAN), None);
    }

    #[test]
    fn floating_amounts_round_to_the_nearest_cent_or_refuse() {
        assert_eq!(Cents::round_from(359_123.5), Some(Cents(359_124)));
        assert_eq!(Cents::round_from(-0.4), Some(Cents(0)));
        assert_eq!(Cents::round_from(f64::INFINITY), None);
        assert_eq!(Cents::round_from(1e30), None);
    }

    #[test]
    fn cents_are_a_plain_integer_on_the_wire() {
        assert_eq!(serde_json::to_string(&Cents(289)).unwrap(), "289");
        assert_eq!(serde_json::from_str::<Cents>("289").unwrap(), Cents(289));
    }

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        assert_eq!(Cents(i64::MAX).checked_add(Cents(1)), None);
        assert_eq!(Cents(5).checked_sub(Cents(7)), Some(Cents(-2)));
    }
}
