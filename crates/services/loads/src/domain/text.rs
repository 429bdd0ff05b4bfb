//! Free text as the service accepts it, for every text field of every input (loads, stops,
//! contacts, trucks, reasons, saved-search names, places, search parameters, CSV cells,
//! the Idempotency-Key). A card number (Luhn-valid, 13–19 digits) is refused in any of
//! them that people type (PCI: none is ever stored); the Idempotency-Key, a token a
//! program generates, is not checked for one ([`Text::token`] says why).
//!
//! Control characters (Unicode general category Cc: U+0000–U+001F and U+007F–U+009F) are
//! refused at validation. PostgreSQL's `text` and `jsonb` reject U+0000 outright (a 500 at
//! insert time), SQLite would keep it, and the others are at best invisible and at worst
//! rewrite a terminal or a log line. Prose fields ([`Lines::Prose`]: notes and reasons) keep
//! line feeds and tabs, which are their text; carriage returns are refused there too
//! (clients send `\n` line breaks), so one convention is stored.

use super::Violations;

/// Which control characters a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// A name, code, reference or place: one line, no control character at all.
    One,
    /// Prose (notes, reasons): `\n` and `\t` are allowed, no other control character.
    Prose,
}

/// The first control character `value` may not hold as a `lines` field, if any.
pub fn forbidden_char(value: &str, lines: Lines) -> Option<char> {
    value
        .chars()
        .find(|&c| c.is_control() && !(lines == Lines::Prose && (c == '\n' || c == '\t')))
}

/// Records a violation under `field` when `value` holds a control character it may not;
/// true when the characters are fine.
pub fn check_chars(errs: &mut Violations, field: &str, value: &str, lines: Lines) -> bool {
    match forbidden_char(value, lines) {
        None => true,
        Some(c) => {
            let allowed = match lines {
                Lines::One => "",
                Lines::Prose => " other than line feeds and tabs",
            };
            errs.add(
                field,
                format!(
                    "must not contain control characters{allowed} (found U+{:04X})",
                    u32::from(c)
                ),
            );
            false
        }
    }
}

/// The rules of one text field: its characters, its length (counted in characters, without
/// surrounding whitespace) and whether it may be blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub max_chars: usize,
    pub required: bool,
    pub lines: Lines,
    /// Whether a card number in it is refused: in what people type, yes.
    pub refuse_cards: bool,
}

impl Text {
    /// An optional one-line field.
    pub const fn line(max_chars: usize) -> Self {
        Text {
            max_chars,
            required: false,
            lines: Lines::One,
            refuse_cards: true,
        }
    }

    /// An optional prose field.
    pub const fn prose(max_chars: usize) -> Self {
        Text {
            max_chars,
            required: false,
            lines: Lines::Prose,
            refuse_cards: true,
        }
    }

    /// An optional one-line token that a program generates (the Idempotency-Key): control
    /// characters and length are checked, card numbers are not. Random keys look like one
    /// too often: when a UUID v4's first three groups, or its last two, are all digits they
    /// make a 16-digit dash-grouped run, Luhn-valid one time in ten, so about one key in
    /// 14,000 was refused (two creates of the failover benchmark's 11,473), and a client
    /// retrying with the same key, as it must, could never create that load.
    pub const fn token(max_chars: usize) -> Self {
        Text {
            max_chars,
            required: false,
            lines: Lines::One,
            refuse_cards: false,
        }
    }

    /// The same rules, and the field may not be blank.
    pub const fn required(self) -> Self {
        Text {
            required: true,
            ..self
        }
    }

    /// Records what is wrong with `value` under `field` (one complaint at most); true when
    /// nothing is.
    pub fn check(&self, errs: &mut Violations, field: &str, value: &str) -> bool {
        if !check_chars(errs, field, value, self.lines) {
            return false;
        }
        // PCI: a card number is refused wherever text is typed; LaneRunner stores none.
        if self.refuse_cards && lanerunner_core::pan::contains(value) {
            errs.add(field, lanerunner_core::pan::REFUSED);
            return false;
        }
        let len = value.trim().chars().count();
        if self.required && len == 0 {
            errs.add(field, "must not be empty");
            false
        } else if len > self.max_chars {
            errs.add(
                field,
                format!("must be at most {} characters", self.max_chars),
            );
            false
        } else {
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_card_number_is_refused_in_every_kind_of_field() {
        for rule in [
            Text::line(200),
            Text::prose(2_000),
            Text::line(200).required(),
        ] {
            for value in ["4242 4242 4242 4242", "pay 5555-5555-5555-4444 now"] {
                let mut errs = Violations::default();
                assert!(!rule.check(&mut errs, "notes", value), "{value}");
                assert!(format!("{errs:?}").contains("card number"), "{errs:?}");
            }
            let mut errs = Violations::default();
            assert!(rule.check(&mut errs, "notes", "MC 123456, call 415-555-0142"));
        }
    }

    #[test]
    fn a_generated_key_that_looks_like_a_card_is_a_token_not_typed_text() {
        // The key a failover benchmark client sent was refused as a card number (its
        // leading groups passed the Luhn check); a whole UUID no longer is, anywhere, even
        // one whose leading groups are a Visa-shaped number.
        let uuid = "41111111-1111-1111-afc0-f7127edd1da4";
        assert!(!lanerunner_core::pan::contains(uuid));
        // A generated key of another shape can still look like a card: refused as typed
        // text, accepted as a token.
        let key = "41111111-1111-1111-retry";
        assert!(lanerunner_core::pan::contains(key));
        let mut errs = Violations::default();
        assert!(!Text::line(200).check(&mut errs, "reference", key));
        let token = Text::token(200).required();
        let mut errs = Violations::default();
        for good in [uuid, key] {
            assert!(token.check(&mut errs, "Idempotency-Key", good), "{errs}");
        }
        // Its other rules hold.
        let long = "k".repeat(201);
        for bad in ["k\t1", "", long.as_str()] {
            assert!(!token.check(&mut errs, "Idempotency-Key", bad), "{bad:?}");
        }
        assert_eq!(errs.0.len(), 3, "{errs}");
    }

    #[test]
    fn one_line_fields_refuse_every_control_character() {
        for c in [
            '\0', '\t', '\n', '\r', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}',
        ] {
            assert_eq!(forbidden_char(&format!("a{c}b"), Lines::One), Some(c));
        }
        assert_eq!(forbidden_char("Dallas, TX — Ünïcode ✓", Lines::One), None);
    }

    #[test]
    fn prose_keeps_line_feeds_and_tabs_only() {
        assert_eq!(forbidden_char("dock 4\n\tcall ahead", Lines::Prose), None);
        assert_eq!(forbidden_char("a\r\nb", Lines::Prose), Some('\r'));
        assert_eq!(forbidden_char("a\0b", Lines::Prose), Some('\0'));
    }

    #[test]
    fn a_violation_names_the_field_and_the_character() {
        let mut errs = Violations::default();
        assert!(!Text::line(64)
            .required()
            .check(&mut errs, "reference", "PO\u{0}1"));
        assert!(!Text::line(64)
            .required()
            .check(&mut errs, "commodity", "  "));
        assert!(!Text::prose(3).check(&mut errs, "notes", "long\nnote"));
        assert!(Text::prose(30).check(&mut errs, "notes", "two\nlines"));
        assert_eq!(errs.fields(), ["reference", "commodity", "notes"]);
        assert!(errs.0[0].message.contains("U+0000"), "{errs}");
    }

    proptest! {
        /// A string is accepted exactly when none of its characters is Cc (bar `\n` and
        /// `\t` in prose).
        #[test]
        fn acceptance_is_exactly_the_absence_of_control_characters(s in "\\PC*[\\x00-\\x1f\\x7f-\\x9f]?\\PC*") {
            let cc = s.chars().any(char::is_control);
            prop_assert_eq!(forbidden_char(&s, Lines::One).is_some(), cc);
            let prose_cc = s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
            prop_assert_eq!(forbidden_char(&s, Lines::Prose).is_some(), prose_cc);
        }
    }
}
