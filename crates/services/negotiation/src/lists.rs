//! A broker's preferred and blocked carriers. A blocked carrier cannot open or move in a
//! negotiation on the broker's loads, and the broker's agent treats it as a counterparty it
//! may not deal with (the guardrail). Only the broker reads its lists.

use chrono::Utc;
use lanerunner_core::tenancy::{OrgKind, Role};
use lanerunner_core::OrgId;
use lanerunner_platform::http::Caller;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{NegotiationError, Result, Violations};
use crate::service::Negotiations;
use crate::store;

pub const PREFERRED: &str = "preferred";
pub const BLOCKED: &str = "blocked";

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ListRequest {
    /// `preferred` or `blocked`.
    pub list: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListedCarrierView {
    pub carrier_org_id: Uuid,
    pub list: String,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Negotiations {
    fn check_list_owner(caller: &Caller) -> Result<()> {
        if !matches!(caller.org_kind, OrgKind::Broker | OrgKind::Shipper)
            || caller.role == Role::Viewer
        {
            return Err(NegotiationError::Forbidden(
                "only a broker's members (not viewers) keep its carrier lists",
            ));
        }
        Ok(())
    }

    pub async fn put_listed(
        &self,
        caller: &Caller,
        carrier: Uuid,
        req: ListRequest,
    ) -> Result<ListedCarrierView> {
        Self::check_list_owner(caller)?;
        let mut v = Violations::default();
        if req.list != PREFERRED && req.list != BLOCKED {
            v.add("list", "must be preferred or blocked");
        }
        if carrier == caller.org.0 {
            v.add("carrier_org_id", "is your own organization");
        }
        v.into_result(())?;
        let now = Utc::now();
        store::put_listed(
            &self.db,
            caller.org,
            OrgId(carrier),
            &req.list,
            caller.user_id(),
            now,
        )
        .await?;
        Ok(ListedCarrierView {
            carrier_org_id: carrier,
            list: req.list,
            updated_at: now,
        })
    }

    pub async fn delete_listed(&self, caller: &Caller, carrier: Uuid) -> Result<()> {
        Self::check_list_owner(caller)?;
        if store::delete_listed(&self.db, caller.org, OrgId(carrier)).await? {
            Ok(())
        } else {
            Err(NegotiationError::NotFound("listed carrier"))
        }
    }

    pub async fn listed(&self, caller: &Caller) -> Result<Vec<ListedCarrierView>> {
        Self::check_list_owner(caller)?;
        Ok(store::listed(&self.db, caller.org)
            .await?
            .into_iter()
            .map(|l| ListedCarrierView {
                carrier_org_id: l.carrier_org_id.0,
                list: l.list,
                updated_at: l.updated_at,
            })
            .collect())
    }
}
