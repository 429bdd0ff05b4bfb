//! Codes texted to a verified phone (Twilio Verify) as a second factor beside TOTP:
//! enrolling the phone, texting a code when one is asked for (at sign-in, or before turning
//! MFA off or replacing recovery codes), and checking what the person typed.
//!
//! The provider holds each code and uses it up once matched, so a code works once however
//! many requests race with it. Identity asks the provider only when it texted this user a
//! code in the last ten minutes, so TOTP users never wait on it.

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use lanerunner_core::{phone, OrgId, SessionId, UserId};

use crate::error::{invalid, IdentityError, Result};
use crate::identity::Identity;
use crate::mfa::Confirmed;
use crate::phone_codes::PhoneCodeError;
use crate::sealed;
use crate::store::{self, UserRow};

/// How long a texted code can be checked (Twilio Verify's default code lifetime), and the
/// window [`MAX_TEXTS`] counts in.
const TEXTED_CODE_TTL: Duration = Duration::from_secs(600);
/// Texts one person can have sent per window: enough for a lost message or two, too few to
/// run up a bill or flood a phone.
const MAX_TEXTS: u64 = 5;

impl Identity {
    /// Enrolment, step one: texts a code to `raw_phone`, which becomes the second factor
    /// once the code is confirmed. Answers the number as shown from now on (last four
    /// digits).
    pub async fn begin_sms(&self, org: OrgId, user_id: UserId, raw_phone: &str) -> Result<String> {
        let number = phone::normalize(raw_phone)
            .ok_or_else(|| invalid("phone", "must be a mobile number, like +14155550100"))?;
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        if user.mfa_phone.is_some() {
            return Err(IdentityError::MfaState(
                "a phone is already enrolled; disable MFA first to enrol another",
            ));
        }
        user.mfa_pending_phone = Some(
            self.seal_field(&sealed::PENDING_PHONE, user_id, &number)
                .await?,
        );
        user.updated_at = Utc::now();
        store::update_user(&mut tx, &user).await?;
        self.commit(tx).await?;
        self.text_code(user_id, &number).await?;
        Ok(phone::masked(&number))
    }

    /// Enrolment, step two: the code texted to the pending number.
    pub async fn confirm_sms(
        &self,
        org: OrgId,
        user_id: UserId,
        code: &str,
        session: Option<SessionId>,
        addr: IpAddr,
    ) -> Result<Confirmed> {
        self.second_factor_attempt(user_id).await?;
        let user = self.member(org, user_id).await?;
        let pending_stored = user
            .mfa_pending_phone
            .clone()
            .ok_or(IdentityError::MfaState(
                "no phone enrolment in progress: start with POST /v1/me/mfa/sms",
            ))?;
        let pending = self
            .open_field(&sealed::PENDING_PHONE, user_id, &pending_stored)
            .await?;
        // Asked before the transaction opens: a provider round trip must not hold a
        // database connection.
        if !self.texted_code_matches(user_id, &pending, code).await? {
            return Err(IdentityError::InvalidMfaCode);
        }
        let mut tx = self.db.begin().await?;
        let mut user = store::get_user_tx(&mut tx, org, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        // Each sealing is randomized: the same stored value means the same enrolment.
        if user.mfa_pending_phone.as_deref() != Some(pending_stored.as_str()) {
            return Err(IdentityError::MfaState(
                "the phone being enrolled changed meanwhile; confirm the code sent to it",
            ));
        }
        user.mfa_phone = user.mfa_pending_phone.take();
        user.mfa_phone_last4 = Some(phone::last4(&pending));
        let confirmed = self.enrolled(tx, user, "sms", session, addr).await?;
        self.second_factor_passed(user_id).await;
        Ok(confirmed)
    }

    /// Texts a code to the phone of the user a sign-in challenge names.
    pub async fn text_login_code(&self, mfa_token: &str) -> Result<()> {
        let (_, user_id) = self.challenged_user(mfa_token).await?;
        let user = store::get_user_by_id(&self.db, user_id)
            .await?
            .ok_or(IdentityError::InvalidToken("MFA challenge"))?;
        self.text_enrolled_phone(&user).await
    }

    /// Texts a code to the signed-in user's phone, for the actions that ask for a current
    /// second factor (turning MFA off, new recovery codes).
    pub async fn text_code_to_member(&self, org: OrgId, user_id: UserId) -> Result<()> {
        let user = self.member(org, user_id).await?;
        self.text_enrolled_phone(&user).await
    }

    async fn text_enrolled_phone(&self, user: &UserRow) -> Result<()> {
        let number = user.mfa_phone.as_deref().ok_or(IdentityError::MfaState(
            "no phone is enrolled for text codes: use your authenticator app or a recovery code",
        ))?;
        let number = self.open_field(&sealed::PHONE, user.id, number).await?;
        self.text_code(user.id, &number).await
    }

    /// Sends a code, within the per-person allowance.
    async fn text_code(&self, user: UserId, number: &str) -> Result<()> {
        let (sent, left) = self
            .cache
            .incr_in_window(&texts_key(user), TEXTED_CODE_TTL)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "code not texted: the throttle cache is unavailable");
                IdentityError::Unavailable("texting codes is briefly unavailable; try again")
            })?;
        if sent > MAX_TEXTS {
            return Err(IdentityError::Throttled(left.as_secs().max(1)));
        }
        self.phone_codes.send(number).await.map_err(|e| match e {
            PhoneCodeError::Refused(why) => {
                invalid("phone", format!("cannot receive texts: {why}"))
            }
            PhoneCodeError::TooManyAttempts => IdentityError::Throttled(left.as_secs().max(1)),
            PhoneCodeError::Unavailable(why) => {
                tracing::warn!(user_id = %user, error = %why, "code not texted");
                IdentityError::Unavailable("the text could not be sent; try again shortly")
            }
        })?;
        self.cache
            .set(&texted_key(user), b"1", TEXTED_CODE_TTL)
            .await
            .map_err(|e| IdentityError::Internal(e.into()))?;
        tracing::info!(user_id = %user, to = %phone::masked(number), "second-factor code texted");
        Ok(())
    }

    /// Whether `code` is a code texted to `user`'s enrolled phone. Asked before the
    /// transaction that records a second factor's use opens (a provider round trip must
    /// not hold a database connection); [`Self::check_second_factor`] takes the answer.
    pub(crate) async fn texted_code(&self, user: &UserRow, code: &str) -> Result<bool> {
        match user.mfa_phone.as_deref() {
            Some(number) => {
                let number = self.open_field(&sealed::PHONE, user.id, number).await?;
                self.texted_code_matches(user.id, &number, code).await
            }
            None => Ok(false),
        }
    }

    /// Whether `code` is the code last texted to `number` for `user`. False without asking
    /// the provider when nothing was texted in the last ten minutes or the code cannot be
    /// one (TOTP users, recovery codes).
    pub(crate) async fn texted_code_matches(
        &self,
        user: UserId,
        number: &str,
        code: &str,
    ) -> Result<bool> {
        let code = code.trim();
        if !(4..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(false);
        }
        let texted = self
            .cache
            .get(&texted_key(user))
            .await
            .map_err(|e| IdentityError::Internal(e.into()))?;
        if texted.is_none() {
            return Ok(false);
        }
        match self.phone_codes.check(number, code).await {
            Ok(true) => {
                let _ = self.cache.delete(&texted_key(user)).await;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(PhoneCodeError::TooManyAttempts) => Err(IdentityError::MfaState(
                "too many wrong codes for that text: ask for a new one",
            )),
            Err(PhoneCodeError::Refused(why) | PhoneCodeError::Unavailable(why)) => {
                tracing::warn!(user_id = %user, error = %why, "texted code not checked");
                Err(IdentityError::Unavailable(
                    "the code could not be checked; try again shortly",
                ))
            }
        }
    }
}

fn texts_key(user: UserId) -> String {
    format!("identity:mfa-texts:{user}")
}

fn texted_key(user: UserId) -> String {
    format!("identity:mfa-texted:{user}")
}
