//! QCMobile's JSON, field for field as FMCSA names it. Only what a vetting decision reads is
//! kept; everything else in FMCSA's answer is ignored, so new fields do not break us.

use serde::{Deserialize, Serialize};

/// `GET /carriers/{dotNumber}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CarrierAnswer {
    pub content: Option<CarrierContent>,
}

/// `GET /carriers/docket-number/{mc}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocketAnswer {
    #[serde(default)]
    pub content: Option<Vec<CarrierContent>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CarrierContent {
    pub carrier: Option<Carrier>,
}

/// A carrier's census record.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Carrier {
    pub dot_number: u64,
    #[serde(default)]
    pub legal_name: Option<String>,
    #[serde(default)]
    pub dba_name: Option<String>,
    /// `"Y"` when FMCSA allows the carrier to operate.
    #[serde(default)]
    pub allowed_to_operate: Option<String>,
    /// USDOT status: `"A"` active, `"I"` inactive.
    #[serde(default)]
    pub status_code: Option<String>,
    /// The date an out-of-service order took effect (`"2026-03-14"`), if one stands.
    #[serde(default)]
    pub oos_date: Option<String>,
    /// Operating authority for hire: `"A"` active, `"I"` inactive, `"N"` none.
    #[serde(default)]
    pub common_authority_status: Option<String>,
    #[serde(default)]
    pub contract_authority_status: Option<String>,
    #[serde(default)]
    pub broker_authority_status: Option<String>,
    /// Bodily-injury and property-damage insurance on file, thousands of dollars (`"750"`).
    #[serde(default)]
    pub bipd_insurance_on_file: Option<String>,
    /// `"Y"` when the carrier's operation requires BIPD insurance.
    #[serde(default)]
    pub bipd_insurance_required: Option<String>,
    /// The amount required, thousands of dollars.
    #[serde(default)]
    pub bipd_required_amount: Option<String>,
    #[serde(default)]
    pub cargo_insurance_on_file: Option<String>,
}

impl Carrier {
    pub fn allowed_to_operate(&self) -> bool {
        flag(&self.allowed_to_operate)
    }

    /// Active common or contract authority: it may haul for hire.
    pub fn authority_active(&self) -> bool {
        [
            &self.common_authority_status,
            &self.contract_authority_status,
        ]
        .iter()
        .any(|s| s.as_deref() == Some("A"))
    }

    /// BIPD insurance on file, in dollars (FMCSA reports thousands).
    pub fn bipd_on_file_dollars(&self) -> u64 {
        thousands(&self.bipd_insurance_on_file)
    }

    pub fn bipd_required_dollars(&self) -> u64 {
        if flag(&self.bipd_insurance_required) {
            thousands(&self.bipd_required_amount)
        } else {
            0
        }
    }
}

fn flag(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("Y"))
}

fn thousands(v: &Option<String>) -> u64 {
    v.as_deref()
        .map(|s| s.trim().replace(',', ""))
        .and_then(|s| s.parse::<u64>().ok())
        .map_or(0, |k| k.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fmcsa_json_as_fmcsa_writes_it() {
        let a: CarrierAnswer = serde_json::from_str(
            r#"{"content":{"carrier":{"dotNumber":2751903,"legalName":"PRAIRIE WIND TRANSPORT INC",
            "allowedToOperate":"Y","statusCode":"A","oosDate":null,"commonAuthorityStatus":"A",
            "contractAuthorityStatus":"N","brokerAuthorityStatus":"N","bipdInsuranceOnFile":"1000",
            "bipdInsuranceRequired":"Y","bipdRequiredAmount":"750","cargoInsuranceOnFile":"100",
            "totalPowerUnits":42,"carrierOperation":{"carrierOperationCode":"A"}},
            "_links":{"self":{"href":"…"}}},"retrievalDate":"2026-12-04T05:00:00.000+0000"}"#,
        )
        .unwrap();
        let c = a.content.unwrap().carrier.unwrap();
        assert!(c.allowed_to_operate() && c.authority_active());
        assert_eq!(c.bipd_on_file_dollars(), 1_000_000);
        assert_eq!(c.bipd_required_dollars(), 750_000);
        let none: CarrierAnswer = serde_json::from_str(r#"{"content":null}"#).unwrap();
        assert!(none.content.is_none());
        let inactive = Carrier {
            common_authority_status: Some("I".into()),
            contract_authority_status: None,
            bipd_insurance_on_file: Some("0".into()),
            ..Carrier::default()
        };
        assert!(!inactive.authority_active() && !inactive.allowed_to_operate());
        assert_eq!(inactive.bipd_on_file_dollars(), 0);
    }
}
