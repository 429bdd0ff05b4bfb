//! The access controls report (SOX): every change to who may do what in an organization
//! over a period — accounts, roles, deactivations, invitations, API keys, second factors,
//! passwords, the MFA rule and the allowlist, plan changes, erasures — read from its
//! tamper-evident audit trail, as CSV for auditors, with the chain checked first. Money's
//! controls report is the payments service's (`/v1/payments/approvals/report`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lanerunner_core::OrgId;
use uuid::Uuid;

use crate::audit_trail::ChainReport;
use crate::domain::AuditAction;
use crate::error::{IdentityError, Result};
use crate::identity::Identity;
use crate::store::{self, AuditRow};

/// The report: its CSV, and what checking the organization's chain found.
pub struct AccessReport {
    pub csv: String,
    pub chain: ChainReport,
}

const HEADER: [&str; 12] = [
    "occurred_at",
    "action",
    "outcome",
    "actor_id",
    "actor",
    "target_id",
    "target",
    "client_addr",
    "detail",
    "record_id",
    "chain_seq",
    "hash",
];

impl Identity {
    /// `org`'s access changes in `[from, to)`, oldest first, each with who acted and on
    /// whom (emails and API key names beside the ids; no one acting is a LaneRunner
    /// operator), and its place and hash in the chain; the chain is verified first.
    pub async fn access_report(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<AccessReport> {
        let chain = self
            .verify_audit(Some(org.as_uuid()))
            .await
            .map_err(IdentityError::Internal)?
            .pop()
            .unwrap_or_else(|| ChainReport::empty(org.as_uuid()));
        let actions: Vec<AuditAction> = AuditAction::ALL
            .iter()
            .copied()
            .filter(|a| a.changes_access())
            .collect();
        let rows = store::audit_in_period(&self.db, org, &actions, from, to).await?;
        let names = store::principal_names(&self.db, org).await?;
        let csv = write_csv(&rows, &names).map_err(IdentityError::Internal)?;
        Ok(AccessReport { csv, chain })
    }
}

fn write_csv(rows: &[AuditRow], names: &HashMap<Uuid, String>) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(HEADER)?;
    let id = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let name = |u: Option<Uuid>| u.and_then(|u| names.get(&u).cloned()).unwrap_or_default();
    for r in rows {
        let actor = match r.actor_id {
            Some(_) => name(r.actor_id),
            None => "LaneRunner operator".to_owned(),
        };
        out.write_record([
            r.occurred_at.to_rfc3339(),
            r.action.as_str().to_owned(),
            r.outcome.as_str().to_owned(),
            id(r.actor_id),
            actor,
            id(r.target_id),
            name(r.target_id),
            r.client_addr.clone(),
            crate::domain::audit_chain::canonical_json(&r.detail.0),
            r.id.to_string(),
            r.chain_seq.map(|s| s.to_string()).unwrap_or_default(),
            r.hash.clone().unwrap_or_default(),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes)?)
}
