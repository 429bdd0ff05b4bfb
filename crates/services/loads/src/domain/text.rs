//! Free text as the loads service accepts it, the same on both stores: trimmed length
//! bounds, and no control characters — they mean nothing in a reference, a name or a
//! place, and PostgreSQL refuses U+0000 in text and JSON (the same input would be a 500
//! there and stored on SQLite). Multi-line fields (notes) may hold line breaks and tabs.

use super::Violations;

/// Whether a field is one line (names, references, places) or may span lines (notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    One,
    Many,
}

/// The first control character `value` must not hold, if any.
pub fn forbidden_control(value: &str, lines: Lines) -> Option<char> {
    value
        .chars()
        .find(|c| c.is_control() && !(lines == Lines::Many && matches!(c, '\n' | '\r' | '\t')))
}

/// Records what is wrong with `value` as `field`: empty when required, longer than `max`
/// characters once trimmed, or holding a control character.
pub fn check(
    errs: &mut Violations,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
    lines: Lines,
) {
    let len = value.trim().chars().count();
    if required && len == 0 {
        errs.add(field, "must not be empty");
    } else if len > max {
        errs.add(field, format!("must be at most {max} characters"));
    } else if let Some(c) = forbidden_control(value, lines) {
        errs.add(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_line_breaks_only_where_lines_are_many() {
        assert_eq!(forbidden_control("Dallas, TX", Lines::One), None);
        assert_eq!(forbidden_control("a\u{0}b", Lines::Many), Some('\u{0}'));
        assert_eq!(forbidden_control("two\nlines", Lines::One), Some('\n'));
        assert_eq!(
            forbidden_control("two\r\nlines\tand a tab", Lines::Many),
            None
        );
        assert_eq!(forbidden_control("bell\u{7}", Lines::Many), Some('\u{7}'));
        assert_eq!(forbidden_control("del\u{7f}", Lines::One), Some('\u{7f}'));
        let mut errs = Violations::default();
        check(&mut errs, "reference", "PO\u{0}1", 64, true, Lines::One);
        check(
            &mut errs,
            "notes",
            "dock 4\ncall ahead",
            2000,
            false,
            Lines::Many,
        );
        check(&mut errs, "commodity", "  ", 100, true, Lines::One);
        let fields: Vec<&str> = errs.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["reference", "commodity"]);
    }
}
