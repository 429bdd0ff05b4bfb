//! What clients send and see.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `PUT /v1/carriers/authority`: the carrier's own numbers and insurance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeclareRequest {
    pub usdot_number: Option<u64>,
    /// The MC docket number, digits only (`938251` for MC-938251).
    pub mc_number: Option<u64>,
    /// When the insurance certificate expires (`2027-06-30`).
    pub insurance_expires_on: Option<NaiveDate>,
}

/// A carrier's authority as last checked.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorityView {
    pub carrier_org_id: Uuid,
    pub usdot_number: u64,
    pub mc_number: Option<u64>,
    pub insurance_expires_on: Option<NaiveDate>,
    /// The legal name on file with the registry, when one was asked.
    pub legal_name: Option<String>,
    /// `fmcsa` or `self_declared`.
    pub source: String,
    /// `verified`, `unverified` or `failed`.
    pub standing: String,
    /// Why, in words.
    pub reasons: Vec<String>,
    pub checked_at: DateTime<Utc>,
    /// When it is checked again (sooner when the insurance lapses sooner).
    pub next_check_at: DateTime<Utc>,
}
