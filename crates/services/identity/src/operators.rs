//! LaneRunner's operators (`lanerunner operator enroll|list|retire`): the people who run the
//! deployment, each with an authenticator app of their own. A step that takes two
//! operators (a plan change, `plan_changes`) asks each for a code from their own app, so
//! one person cannot act under two names: the names are tied to what each holds, not typed.
//! The very first operator enrols alone; every later enrolment, and every retirement, is
//! vouched for by an enrolled operator's code, and the last serving operator cannot retire
//! (or enrolment would be open to anyone again, or to no one). Each is in the audit trail (the deployment's
//! own chain, no organization's).

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::domain::{plan_change, AuditAction, AuditOutcome, TotpSecret};
use crate::error::{invalid, IdentityError, Result};
use crate::identity::{Actor, Identity};
use crate::mfa::Enrollment;
use crate::sealed::OPERATOR_TOTP_SECRET;
use crate::store::{self, operator_key, OperatorRow};

/// An operator as listed (never the secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct OperatorView {
    pub name: String,
    pub enrolled_at: chrono::DateTime<Utc>,
    pub retired_at: Option<chrono::DateTime<Utc>>,
}

/// An operator's code, checked but not yet used: the step it was for, taken in the
/// transaction of what it authorises (`Identity::take_operator_step`), so a step that
/// fails leaves the code unused.
pub(crate) struct OperatorCode {
    pub name: String,
    step: i64,
}

impl Identity {
    /// Enrols `name` with a new authenticator secret, shown once. When operators are
    /// enrolled already, `vouched` must be one of them and their current code.
    pub async fn enroll_operator(
        &self,
        name: &str,
        vouched: Option<(&str, &str)>,
    ) -> Result<Enrollment> {
        let name = plan_change::operator_name(name).map_err(|e| invalid("name", e))?;
        // Only the very first enrols alone: once anyone was enrolled (even if every one has
        // since retired, which `retire_operator` prevents for the last), one vouches.
        let any_enrolled = store::any_operator(&self.db).await?;
        let voucher = match (any_enrolled, vouched) {
            (false, _) => None,
            (true, Some((by, code))) => Some(self.operator_code(by, code).await?),
            (true, None) => return Err(IdentityError::Forbidden(
                "operators are enrolled: an enrolled operator vouches for a new one (--by, --code)",
            )),
        };
        let secret = TotpSecret::generate();
        let sealed = self
            .ctx
            .sealer
            .seal(
                &OPERATOR_TOTP_SECRET,
                &operator_key(&name),
                &secret.to_base32(),
            )
            .await
            .map_err(|e| IdentityError::Internal(e.into()))?;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        if let Some(voucher) = &voucher {
            self.take_operator_step(&mut tx, voucher).await?;
        }
        let row = OperatorRow {
            name: name.clone(),
            totp_secret: sealed,
            last_step: None,
            enrolled_at: now,
            retired_at: None,
        };
        if !store::insert_operator(&mut tx, &row).await? {
            return Err(IdentityError::Conflict(
                "operator-exists",
                "an operator of that name is or was enrolled (names are not reused)",
            ));
        }
        let vouched_by = voucher.as_ref().map(|v| v.name.as_str());
        self.audit(
            &mut tx,
            Actor::lanerunner(),
            AuditAction::OperatorEnrolled,
            AuditOutcome::Success,
            None::<Uuid>,
            json!({ "operator": name, "vouched_by": vouched_by }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(Enrollment {
            otpauth_uri: secret.otpauth_uri("LaneRunner operators", &name),
            secret: secret.to_base32(),
        })
    }

    /// Retires `name`: their codes are refused from then on; the name stays taken. `by`
    /// (an enrolled operator, `name` themselves included) vouches with their code.
    pub async fn retire_operator(&self, name: &str, by: &str, code: &str) -> Result<()> {
        let name = plan_change::operator_name(name).map_err(|e| invalid("name", e))?;
        let voucher = self.operator_code(by, code).await?;
        let mut tx = self.db.begin().await?;
        // Every serving operator's row locked first, in one order: of two retirements at
        // the same instant, the second sees the first's, so one operator always remains.
        let serving = store::lock_serving_operators(&mut tx).await?;
        if serving.iter().all(|k| *k == operator_key(&name)) {
            return Err(if serving.is_empty() {
                IdentityError::NotFound("operator")
            } else {
                IdentityError::Conflict(
                    "last-operator",
                    "the last serving operator cannot retire: enrol another first",
                )
            });
        }
        self.take_operator_step(&mut tx, &voucher).await?;
        if !store::retire_operator(&mut tx, &name, Utc::now()).await? {
            return Err(IdentityError::NotFound("operator"));
        }
        self.audit(
            &mut tx,
            Actor::lanerunner(),
            AuditAction::OperatorRetired,
            AuditOutcome::Success,
            None::<Uuid>,
            json!({ "operator": name, "retired_by": voucher.name }),
        )
        .await?;
        self.commit(tx).await
    }

    /// Every operator, serving or retired, by name.
    pub async fn operators(&self) -> Result<Vec<OperatorView>> {
        Ok(store::list_operators(&self.db)
            .await?
            .into_iter()
            .map(|o| OperatorView {
                name: o.name,
                enrolled_at: o.enrolled_at,
                retired_at: o.retired_at,
            })
            .collect())
    }

    /// `code` checked against `name`'s authenticator: who they are, and the step to take.
    /// Read before the transaction it authorises (no second connection inside it).
    pub(crate) async fn operator_code(&self, name: &str, code: &str) -> Result<OperatorCode> {
        let name = plan_change::operator_name(name).map_err(|e| invalid("by", e))?;
        let Some(row) = store::find_operator(&self.db, &name).await? else {
            return Err(refused());
        };
        if row.retired_at.is_some() {
            return Err(refused());
        }
        let secret = self
            .ctx
            .sealer
            .open(
                &OPERATOR_TOTP_SECRET,
                &operator_key(&name),
                &row.totp_secret,
            )
            .await
            .map_err(|e| IdentityError::Internal(e.into()))?;
        let secret = TotpSecret::from_base32(&secret)
            .map_err(|e| IdentityError::Internal(anyhow::anyhow!("operator secret: {e}")))?;
        let step = secret
            .verify(code.trim(), Utc::now().timestamp(), row.last_step)
            .map_err(|_| refused())?;
        Ok(OperatorCode {
            name: row.name,
            step,
        })
    }

    /// A transaction on behalf of operator `by`, whose `code` it has taken: the
    /// operator's name as enrolled, to record.
    pub(crate) async fn begin_as_operator(
        &self,
        by: &str,
        code: &str,
    ) -> Result<(lanerunner_platform::Tx, String)> {
        let code = self.operator_code(by, code).await?;
        let mut tx = self.db.begin().await?;
        self.take_operator_step(&mut tx, &code).await?;
        Ok((tx, code.name))
    }

    /// Uses the code in `tx`: of two uses of one code, one goes through.
    pub(crate) async fn take_operator_step(
        &self,
        tx: &mut lanerunner_platform::Tx,
        code: &OperatorCode,
    ) -> Result<()> {
        if store::take_operator_step(tx, &code.name, code.step).await? {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

/// One answer for every refused code: which part was wrong is not told.
fn refused() -> IdentityError {
    IdentityError::Forbidden(
        "not an enrolled operator's current code (wrong, already used, or the operator is not enrolled or retired)",
    )
}
