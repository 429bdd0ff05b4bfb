//! Checks of the free-text fields the account flows share: email addresses and names.

use crate::domain::EmailAddress;
use crate::error::{invalid, Result};

pub(crate) fn parse_email(email: &str) -> Result<EmailAddress> {
    EmailAddress::parse(email).map_err(|e| invalid("email", e.to_string()))
}

pub(crate) fn check_name(field: &'static str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid(field, "must be 1 to 200 characters"));
    }
    // A name is one line of text: control characters mean nothing in it, and U+0000 is
    // refused by PostgreSQL (it would be a 500 there and stored on SQLite).
    if name.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(name.to_owned())
}
