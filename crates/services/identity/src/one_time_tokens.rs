//! One-time tokens sent by email (password reset, email verification), spent once.

use chrono::Utc;

use crate::domain::SecretToken;
use crate::error::{IdentityError, Result};
use crate::store::{self, UserRow};

pub(crate) const PURPOSE_RESET: &str = "password_reset";
pub(crate) const PURPOSE_VERIFY: &str = "email_verification";

/// Spends a live one-time token of `purpose` and returns the user it was issued to.
pub(crate) async fn consume_user_token(
    tx: &mut lanerunner_platform::Tx,
    token: &SecretToken,
    purpose: &str,
    what: &'static str,
) -> Result<UserRow> {
    let user_id = store::consume_one_time_token(tx, &token.hash(), purpose, Utc::now())
        .await?
        .ok_or(IdentityError::InvalidToken(what))?;
    store::get_user_by_id_tx(tx, user_id)
        .await?
        .ok_or(IdentityError::InvalidToken(what))
}
