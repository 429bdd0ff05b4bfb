//! Card numbers (primary account numbers) in free text. LaneRunner never takes cards itself
//! (Stripe's components do, PCI SAQ A), but people paste them where they type: a chat
//! message, a note. Anything shaped like one — 13 to 19 digits, in groups separated by
//! single spaces or dashes, with the leading digits and length of a number some card brand
//! issues — that passes the Luhn check is masked to its last four digits before it is
//! stored, sent on, or logged (or, where text is refused rather than masked, refused).

use std::borrow::Cow;

/// Why a text field that holds a card number is refused, where text is refused rather than
/// masked (what is printed on documents, what a load says).
pub const REFUSED: &str =
    "must not contain a card number (LaneRunner never stores one; payments go through the processor)";

/// What a masked card number becomes: its last four digits only.
pub fn masked_form(last4: &str) -> String {
    format!("[card ••••{last4}]")
}

/// `text` with every card number masked (borrowed when there was none).
pub fn mask(text: &str) -> Cow<'_, str> {
    let found = find(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, last4) in found {
        out.push_str(&text[at..start]);
        out.push_str(&masked_form(&last4));
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// `text` without the masked card numbers in it ([`masked_form`]): what a reader of the
/// words (the offer parser) should see, so the last four digits are not taken for a figure.
pub fn without_masked(text: &str) -> Cow<'_, str> {
    const OPEN: &str = "[card ••••";
    if !text.contains(OPEN) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(OPEN) {
        let after = &rest[at + OPEN.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 4 && after[4..].starts_with(']') {
            out.push_str(&rest[..at]);
            rest = &after[5..];
        } else {
            out.push_str(&rest[..at + OPEN.len()]);
            rest = after;
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

pub fn contains(text: &str) -> bool {
    !find(text).is_empty()
}

/// Byte ranges of the card numbers in `text`, with their last four digits.
fn find(text: &str) -> Vec<(usize, usize, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // A run starts at a digit not preceded by a digit (or a letter: part of a word).
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        let mut end = i;
        let mut j = i;
        while j < bytes.len() {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(b - b'0');
                j += 1;
                end = j;
            } else if (b == b' ' || b == b'-')
                && j + 1 < bytes.len()
                && bytes[j + 1].is_ascii_digit()
                && bytes[j - 1].is_ascii_digit()
            {
                j += 1;
            } else {
                break;
            }
        }
        let followed_by_word = end < bytes.len() && bytes[end].is_ascii_alphabetic();
        if (13..=19).contains(&digits.len())
            && !followed_by_word
            && !in_uuid(bytes, start, end)
            && issued_shape(&digits)
            && luhn(&digits)
        {
            let last4: String = digits[digits.len() - 4..]
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect();
            found.push((start, end, last4));
        }
        i = end.max(i + 1);
    }
    found
}

/// Whether `start..end` lies inside a UUID (`8-4-4-4-12` hex digits). About one random
/// UUID in 14,000 has three leading or two trailing groups of digits only that pass the
/// Luhn check (`78198485-2950-4852-afc0-…`); request ids, event ids and idempotency keys
/// are UUIDs, and masking them would break the lines and messages that quote them.
fn in_uuid(bytes: &[u8], start: usize, end: usize) -> bool {
    let part = |b: &u8| b.is_ascii_hexdigit() || *b == b'-';
    let from = bytes[..start]
        .iter()
        .rposition(|b| !part(b))
        .map_or(0, |i| i + 1);
    let to = bytes[end..]
        .iter()
        .position(|b| !part(b))
        .map_or(bytes.len(), |i| end + i);
    let token = &bytes[from..to];
    token.len() == 36
        && token.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Whether `digits` begin and run as the numbers some card brand issues (a broad reading of
/// the published issuer ranges, erring towards a card): Visa, Mastercard, American Express,
/// Discover, Diners, JCB, UnionPay, Maestro, Mir, RuPay, Troy, UATP. Other numbers that pass
/// the Luhn check are left alone: a 15-digit device identity (IMEI, which carries a Luhn
/// digit: `35…`, `86…`, `01…`, `49…`), a telematics vehicle id. Most Luhn-valid numbers
/// starting 3 to 6 are still taken for cards.
fn issued_shape(digits: &[u8]) -> bool {
    let len = digits.len();
    let lead = |n: usize| {
        digits
            .iter()
            .take(n)
            .fold(0u32, |a, &d| a * 10 + u32::from(d))
    };
    match digits[0] {
        // UATP (airline cards).
        1 => len == 15,
        // Mastercard's 2-series; Mir.
        2 => {
            ((2221..=2720).contains(&lead(4)) && len == 16)
                || ((2200..=2204).contains(&lead(4)) && len >= 16)
        }
        3 => match lead(2) {
            // American Express.
            34 | 37 => len == 15,
            // Diners Club.
            30 | 36 | 38 | 39 => len >= 14,
            // JCB.
            35 => (3528..=3589).contains(&lead(4)) && len >= 16,
            _ => false,
        },
        // Visa.
        4 => matches!(len, 13 | 16 | 19),
        // Mastercard; Maestro (50, 56–59).
        5 => match lead(2) {
            51..=55 => len == 16,
            _ => true,
        },
        // Discover, UnionPay, RuPay, Maestro: every 6.
        6 => true,
        // UnionPay, RuPay.
        8 => matches!(lead(2), 81 | 82) && len >= 16,
        // Troy.
        9 => lead(4) == 9792 && len == 16,
        _ => false,
    }
}

/// The Luhn (mod 10) check every card number passes.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_numbers_in_every_common_shape_are_masked() {
        for (text, last4) in [
            ("4242424242424242", "4242"),
            ("pay with 4111 1111 1111 1111 please", "1111"),
            ("5555-5555-5555-4444", "4444"),
            ("amex 378282246310005.", "0005"),
            ("(6011111111111117)", "1117"),
        ] {
            let m = mask(text);
            assert!(m.contains(&masked_form(last4)), "{text} -> {m}");
            assert!(!m.contains("4242424242") && !m.contains("1111 1111"), "{m}");
            assert!(contains(text));
        }
        // A card number next to a UUID, or dashed like one but not one, is still masked.
        assert_eq!(
            mask("id 78198485-2950-4852-afc0-f7127edd1da4: 5555-5555-5555-4444"),
            "id 78198485-2950-4852-afc0-f7127edd1da4: [card ••••4444]"
        );
        assert!(contains("41111111-1111-1111-afc0"));
        assert_eq!(
            mask("card 4242424242424242 and 5555555555554444"),
            "card [card ••••4242] and [card ••••4444]"
        );
    }

    #[test]
    fn what_is_not_a_card_number_is_left_alone() {
        for text in [
            "call +1 415 555 0142",
            "load 20261205-0001 at dock 12",
            "4242424242424241",
            "MC 123456, DOT 1234567",
            "ref ABC4242424242424242",
            "12345678901234567890123",
            // Device identities (IMEI) carry a Luhn digit; no brand issues these shapes.
            "device 490154203237518",
            "imei 356938035643809",
            "tracker 860461027162042",
            // Luhn-valid, but a length Visa does not issue, and a leading 7 no brand uses.
            "411111111111116",
            "77777777777773",
            // UUIDs whose leading or trailing digit groups pass the Luhn check.
            "request 78198485-2950-4852-afc0-f7127edd1da4 failed",
            "event 0f7a1c2e-9b3d-4c52-4111-111111111111",
            "",
        ] {
            assert_eq!(mask(text), text, "{text}");
            assert!(!contains(text));
        }
    }

    #[test]
    fn masked_numbers_can_be_read_past() {
        let masked = mask("2400 all in, card 6011 1111 1111 1117 thanks");
        assert_eq!(masked, "2400 all in, card [card ••••1117] thanks");
        assert_eq!(without_masked(&masked), "2400 all in, card  thanks");
        // Text that only looks like the masked form is kept.
        for kept in [
            "[card ••••12]",
            "[card ••••12345]",
            "[card ••••abcd]",
            "no card",
        ] {
            assert_eq!(without_masked(kept), kept);
        }
        assert_eq!(without_masked("[card ••••1111][card ••••2222]x"), "x");
    }

    #[test]
    fn luhn_matches_the_reference_values() {
        assert!(luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(!luhn(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 4]));
        assert!(!luhn(&[]));
    }
}
