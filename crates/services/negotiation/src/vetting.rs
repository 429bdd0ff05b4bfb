//! Who may deal on a broker's loads: its blocked and preferred carriers (`lists.rs`), each
//! carrier's standing as the carriers service checked it (`carrier.standing.v1`), and the
//! broker's rule for carriers whose authority no registry confirmed. The decision is
//! [`Clearance::check`], pure; the service reads the inputs in the transaction that acts.

use chrono::{DateTime, Utc};
use lanerunner_core::tenancy::OrgKind;
use lanerunner_platform::http::Caller;
use serde::{Deserialize, Serialize};

use crate::error::{NegotiationError, Result};
use crate::lists::{BLOCKED, PREFERRED};
use crate::service::Negotiations;
use crate::store::{self, ClearanceRow, VettingPolicyRow};

/// Until a broker says otherwise: unverified carriers may book (the embedded default has
/// no registry, so every carrier is unverified), and private loads go to verified carriers
/// only.
pub const DEFAULT_ALLOW_UNVERIFIED: bool = true;
pub const DEFAULT_PRIVATE_LOADS_VETTED_ONLY: bool = true;

/// Why a carrier may not deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The broker blocked it.
    Blocked,
    /// A private load, and the carrier is not in the broker's network: the load is not
    /// shown to it at all.
    NotInNetwork,
    /// Its authority failed its check, or is unverified where the broker requires more.
    NotVetted(String),
}

impl From<Refusal> for NegotiationError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Blocked => {
                NegotiationError::Forbidden("this broker does not book your organization's trucks")
            }
            Refusal::NotInNetwork => NegotiationError::NotFound("load"),
            Refusal::NotVetted(why) => NegotiationError::NotVetted(why),
        }
    }
}

/// The inputs, as read together.
pub struct Clearance(pub ClearanceRow);

impl Clearance {
    /// Whether the carrier may negotiate and book a load of this broker (`private`: the
    /// load is private).
    pub fn check(&self, private: bool) -> std::result::Result<(), Refusal> {
        let c = &self.0;
        match c.list.as_deref() {
            Some(BLOCKED) => return Err(Refusal::Blocked),
            Some(PREFERRED) => {}
            _ if private => return Err(Refusal::NotInNetwork),
            _ => {}
        }
        let allow_unverified = c.allow_unverified.unwrap_or(DEFAULT_ALLOW_UNVERIFIED);
        let vetted_only = c
            .private_loads_vetted_only
            .unwrap_or(DEFAULT_PRIVATE_LOADS_VETTED_ONLY);
        match c.standing.as_deref() {
            Some("verified") => Ok(()),
            Some("failed") => Err(Refusal::NotVetted(format!(
                "your operating authority failed its check: {}",
                c.reasons
                    .as_ref()
                    .map(|r| r.0.join("; "))
                    .unwrap_or_default()
            ))),
            standing => {
                let what = if standing.is_some() {
                    "your authority is self-declared, not checked with FMCSA"
                } else {
                    "your organization has not declared its USDOT number (PUT /v1/carriers/authority)"
                };
                if private && vetted_only {
                    Err(Refusal::NotVetted(format!(
                        "this broker shows its private loads only to FMCSA-verified carriers: {what}"
                    )))
                } else if !allow_unverified {
                    Err(Refusal::NotVetted(format!(
                        "this broker books only FMCSA-verified carriers: {what}"
                    )))
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// A broker's rule for carriers no registry verified.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VettingPolicy {
    /// Whether carriers whose authority is self-declared may negotiate and book.
    pub allow_unverified: bool,
    /// Whether private loads are negotiated only with verified carriers (always only with
    /// the broker's preferred carriers).
    pub private_loads_vetted_only: bool,
    /// `null` until the broker sets it (the defaults apply).
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct VettingPolicyRequest {
    pub allow_unverified: Option<bool>,
    pub private_loads_vetted_only: Option<bool>,
}

impl Negotiations {
    fn check_broker_admin(caller: &Caller) -> Result<()> {
        if !matches!(caller.org_kind, OrgKind::Broker | OrgKind::Shipper) {
            return Err(NegotiationError::Forbidden(
                "only brokers set a vetting policy",
            ));
        }
        if !caller.role.is_admin() {
            return Err(NegotiationError::Forbidden(
                "only an admin sets the organization's vetting policy",
            ));
        }
        Ok(())
    }

    pub async fn vetting_policy(&self, caller: &Caller) -> Result<VettingPolicy> {
        if !matches!(caller.org_kind, OrgKind::Broker | OrgKind::Shipper) {
            return Err(NegotiationError::Forbidden(
                "only brokers have a vetting policy",
            ));
        }
        Ok(match store::vetting_policy(&self.db, caller.org).await? {
            Some(p) => VettingPolicy {
                allow_unverified: p.allow_unverified,
                private_loads_vetted_only: p.private_loads_vetted_only,
                updated_at: Some(p.updated_at),
            },
            None => VettingPolicy {
                allow_unverified: DEFAULT_ALLOW_UNVERIFIED,
                private_loads_vetted_only: DEFAULT_PRIVATE_LOADS_VETTED_ONLY,
                updated_at: None,
            },
        })
    }

    pub async fn put_vetting_policy(
        &self,
        caller: &Caller,
        req: VettingPolicyRequest,
    ) -> Result<VettingPolicy> {
        Self::check_broker_admin(caller)?;
        let mut v = crate::error::Violations::default();
        if req.allow_unverified.is_none() {
            v.add("allow_unverified", "is required");
        }
        if req.private_loads_vetted_only.is_none() {
            v.add("private_loads_vetted_only", "is required");
        }
        v.into_result(())?;
        let row = VettingPolicyRow {
            allow_unverified: req.allow_unverified.unwrap_or(DEFAULT_ALLOW_UNVERIFIED),
            private_loads_vetted_only: req
                .private_loads_vetted_only
                .unwrap_or(DEFAULT_PRIVATE_LOADS_VETTED_ONLY),
            updated_at: Utc::now(),
        };
        store::put_vetting_policy(&self.db, caller.org, &row, caller.user_id()).await?;
        Ok(VettingPolicy {
            allow_unverified: row.allow_unverified,
            private_loads_vetted_only: row.private_loads_vetted_only,
            updated_at: Some(row.updated_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::types::Json;

    fn c(
        list: Option<&str>,
        standing: Option<&str>,
        allow: Option<bool>,
        vetted_only: Option<bool>,
    ) -> Clearance {
        Clearance(ClearanceRow {
            list: list.map(str::to_owned),
            standing: standing.map(str::to_owned),
            reasons: standing.map(|_| Json(vec!["out of service since 2026-11-01".to_owned()])),
            allow_unverified: allow,
            private_loads_vetted_only: vetted_only,
        })
    }

    #[test]
    fn the_rules_in_order() {
        // Blocked beats everything, verified included.
        assert_eq!(
            c(Some(BLOCKED), Some("verified"), None, None).check(false),
            Err(Refusal::Blocked)
        );
        // Private loads: only the network, and by default only verified.
        assert_eq!(
            c(None, Some("verified"), None, None).check(true),
            Err(Refusal::NotInNetwork)
        );
        assert!(c(Some(PREFERRED), Some("verified"), None, None)
            .check(true)
            .is_ok());
        assert!(matches!(
            c(Some(PREFERRED), Some("unverified"), None, None).check(true),
            Err(Refusal::NotVetted(_))
        ));
        assert!(c(Some(PREFERRED), Some("unverified"), None, Some(false))
            .check(true)
            .is_ok());
        // Public loads: unverified allowed by default, not when the broker says no.
        assert!(c(None, None, None, None).check(false).is_ok());
        assert!(c(None, Some("unverified"), None, None).check(false).is_ok());
        let Err(Refusal::NotVetted(why)) = c(None, None, Some(false), None).check(false) else {
            panic!("an undeclared carrier is not verified");
        };
        assert!(why.contains("not declared"), "{why}");
        // Failed never deals, and says why.
        let Err(Refusal::NotVetted(why)) =
            c(Some(PREFERRED), Some("failed"), Some(true), Some(false)).check(false)
        else {
            panic!("a failed carrier deals");
        };
        assert!(why.contains("out of service"), "{why}");
    }
}
