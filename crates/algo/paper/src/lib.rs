//! Documents as a person reads them, and their PDF. Reports (the reporting service) and
//! freight paperwork (the documents service: rate confirmations, bills of lading,
//! invoices) are both written as a [`Document`] of headed sections and rendered by
//! [`pdf::render`]. Pure: no I/O.

mod document;
pub mod image;
pub mod pdf;

pub use document::*;

/// `1234567` as `1,234,567`: how every figure on paper is grouped.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_group_by_thousands() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1000), "1,000");
        assert_eq!(super::grouped(u64::MAX), "18,446,744,073,709,551,615");
    }
}
