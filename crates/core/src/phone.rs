//! Telephone numbers as the providers write them (E.164: `+14155550100`), shared by every
//! service that texts or calls someone.

/// Whether `n` is E.164 as written: `+` and 8 to 15 digits, the first not zero.
pub fn is_e164(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

/// A number as a person types it, in E.164: spaces, dashes, dots and brackets dropped; a
/// bare ten-digit North American number gets `+1`. `None` when it is not a number.
pub fn normalize(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let e164 = match kept.strip_prefix('+') {
        Some(_) => kept,
        None if kept.len() == 10 => format!("+1{kept}"),
        None => return None,
    };
    is_e164(&e164).then_some(e164)
}

/// The number's last four digits (what may be kept readable beside a sealed number).
pub fn last4(e164: &str) -> String {
    let skip = e164.chars().count().saturating_sub(4);
    e164.chars().skip(skip).collect()
}

/// The number as shown back to its owner once it is on file: the last four digits only.
pub fn masked(e164: &str) -> String {
    format!("•••{}", last4(e164))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_e164_or_are_refused() {
        assert_eq!(normalize("(415) 555-0100").as_deref(), Some("+14155550100"));
        assert_eq!(
            normalize("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(normalize("415.555.0100").as_deref(), Some("+14155550100"));
        assert_eq!(normalize("555-0100"), None);
        assert_eq!(normalize("+0123456789"), None);
        assert_eq!(normalize("+1415555010a"), None);
        assert_eq!(normalize(""), None);
        assert!(is_e164("+14155550100"));
        assert!(!is_e164("14155550100"));
        assert!(!is_e164("+1234567"));
    }

    #[test]
    fn only_the_last_four_digits_are_shown() {
        assert_eq!(masked("+14155550100"), "•••0100");
    }
}
