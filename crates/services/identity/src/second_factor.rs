//! Checking a second factor (a texted code, a TOTP code or a recovery code), and the attempt counter every
//! flow that asks for one shares.

use std::time::Duration;

use chrono::Utc;
use lanerunner_core::UserId;

use crate::domain::{recovery, TotpError, TotpSecret};
use crate::error::{IdentityError, Result};
use crate::identity::Identity;
use crate::sealed;
use crate::store::{self, UserRow};

/// How long a login's MFA challenge lives; also the window the attempt counter counts in.
pub(crate) const MFA_CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Failed second-factor attempts a user gets per window, across every flow.
const MAX_MFA_ATTEMPTS: u64 = 5;

impl Identity {
    /// Accepts a code texted to the enrolled phone (`texted`: the provider matched it, see
    /// [`Self::texted_code`]), a TOTP code (not replayed) or an unused recovery code; records
    /// its use. Each use is a compare-and-set that must touch its row: of several requests
    /// racing with one code, exactly one wins and the others fail as replays (a texted
    /// code is used up by the provider the same way).
    pub(crate) async fn check_second_factor(
        &self,
        tx: &mut lanerunner_platform::Tx,
        user: &mut UserRow,
        code: &str,
        texted: bool,
    ) -> Result<&'static str> {
        if !user.mfa_enabled() {
            return Err(IdentityError::MfaState("MFA is not enabled for this user"));
        }
        if texted {
            // Matched against the number read before this transaction: it must still be
            // the enrolled one.
            if user.mfa_phone.is_none() {
                return Err(IdentityError::MfaState("the phone is no longer enrolled"));
            }
            return Ok("sms");
        }
        let now = Utc::now();
        let (org, user_id) = (user.org_id, user.id);
        if recovery::is_well_formed(code) {
            let hashes = store::unused_recovery_codes(tx, org, user_id).await?;
            let idx = recovery::find_match(code, &hashes).ok_or(IdentityError::InvalidMfaCode)?;
            if !store::use_recovery_code(tx, org, user_id, &hashes[idx], now).await? {
                return Err(IdentityError::MfaCodeReplayed);
            }
            return Ok("recovery_code");
        }
        let Some(secret) = user.mfa_secret.as_deref() else {
            // Only a phone is enrolled, and this is not a code texted to it.
            return Err(IdentityError::InvalidMfaCode);
        };
        let secret = self
            .open_field(&sealed::TOTP_SECRET, user.id, secret)
            .await?;
        let secret = TotpSecret::from_base32(&secret)
            .map_err(|e| IdentityError::Internal(anyhow::anyhow!("stored TOTP secret: {e}")))?;
        match secret.verify(code, now.timestamp(), user.mfa_last_step) {
            Ok(step) => {
                if !store::advance_mfa_step(tx, org, user_id, step, now).await? {
                    return Err(IdentityError::MfaCodeReplayed);
                }
                user.mfa_last_step = Some(step);
                user.updated_at = now;
                Ok("totp")
            }
            Err(TotpError::Replayed) => Err(IdentityError::MfaCodeReplayed),
            Err(_) => Err(IdentityError::InvalidMfaCode),
        }
    }

    /// Counts one second-factor attempt of `user` (login, disabling MFA, new recovery codes
    /// share the counter) and refuses once the window's cap is reached. The attempt is
    /// counted before the code is checked, so a burst of parallel guesses cannot all pass the
    /// gate; a success clears the count ([`Self::second_factor_passed`]), so only failures
    /// accumulate.
    pub(crate) async fn second_factor_attempt(&self, user: UserId) -> Result<()> {
        let (attempts, left) = self
            .cache
            .incr_in_window(&mfa_attempts_key(user), MFA_CHALLENGE_TTL)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "second factor refused: the throttle cache is unavailable");
                IdentityError::Unavailable("verification is briefly unavailable; try again in a few seconds")
            })?;
        if attempts > MAX_MFA_ATTEMPTS {
            return Err(IdentityError::Throttled(left.as_secs().max(1)));
        }
        Ok(())
    }

    pub(crate) async fn second_factor_passed(&self, user: UserId) {
        let _ = self.cache.delete(&mfa_attempts_key(user)).await;
    }
}

fn mfa_attempts_key(user: UserId) -> String {
    format!("identity:mfa-attempts:{user}")
}
