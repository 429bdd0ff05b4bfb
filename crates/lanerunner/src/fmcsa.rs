//! The carriers service's authority registry as configured (`carriers.registry`): FMCSA's
//! QCMobile, or none (the carrier's word, unverified).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_carriers::domain::{AuthorityRecord, Checked, Declaration};
use lanerunner_carriers::registry::{AuthorityRegistry, RegistryError, SelfDeclared};
use lanerunner_fmcsa::wire::Carrier;
use lanerunner_fmcsa::QcMobile;
use lanerunner_platform::config::{CarrierRegistry, CarriersConfig};

pub fn registry(c: &CarriersConfig) -> anyhow::Result<Arc<dyn AuthorityRegistry>> {
    Ok(match c.registry {
        CarrierRegistry::SelfDeclared => Arc::new(SelfDeclared),
        CarrierRegistry::Fmcsa => Arc::new(Fmcsa(QcMobile::new(
            &c.fmcsa.base_url,
            c.fmcsa.web_key.as_deref().unwrap_or_default(),
            Duration::from_millis(c.fmcsa.timeout_ms),
        )?)),
    })
}

struct Fmcsa(QcMobile);

#[async_trait]
impl AuthorityRegistry for Fmcsa {
    async fn check(&self, d: &Declaration) -> Result<Checked, RegistryError> {
        // The MC docket names one carrier; its USDOT number must then be the one declared
        // (the domain judges a mismatch).
        let found = match d.mc_number {
            Some(mc) => self.0.by_docket(mc).await,
            None => self.0.by_dot(d.usdot_number).await,
        }
        .map_err(|e| RegistryError(e.to_string()))?;
        Ok(match found {
            None => Checked::NotFound,
            Some(c) => Checked::Found(record(&c)),
        })
    }
}

fn record(c: &Carrier) -> AuthorityRecord {
    AuthorityRecord {
        usdot_number: c.dot_number,
        legal_name: c.legal_name.clone(),
        allowed_to_operate: c.allowed_to_operate(),
        authority_active: c.authority_active(),
        // FMCSA writes dates as `2026-03-14` (older answers as `2026-03-14T00:00:00`);
        // an unreadable date is read as an order in force since the epoch, so an order
        // is never missed.
        out_of_service_since: c.oos_date.as_deref().filter(|s| !s.is_empty()).map(|s| {
            chrono::NaiveDate::parse_from_str(&s[..s.len().min(10)], "%Y-%m-%d")
                .unwrap_or(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date"))
        }),
        insurance_on_file_dollars: c.bipd_on_file_dollars(),
        insurance_required_dollars: c.bipd_required_dollars(),
    }
}
