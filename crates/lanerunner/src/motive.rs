//! The telematics providers tracking accepts positions from: Motive's webhooks, read with
//! `lanerunner-motive` (its signature and JSON) behind the tracking service's seam.

use std::sync::Arc;

use axum::http::HeaderMap;
use lanerunner_motive::{Delivery, SIGNATURE_HEADER};
use lanerunner_tracking::telematics::{ProviderDelivery, TelematicsProvider, VehicleFix};

pub fn providers() -> Vec<Arc<dyn TelematicsProvider>> {
    vec![Arc::new(Motive)]
}

struct Motive;

impl TelematicsProvider for Motive {
    fn name(&self) -> &'static str {
        "motive"
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8], secret: &str) -> Result<(), String> {
        let given = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("no {SIGNATURE_HEADER} header"))?;
        if lanerunner_motive::verify(secret, given, body) {
            Ok(())
        } else {
            Err("the signature does not match the body under the connected account's secret".into())
        }
    }

    fn read(&self, body: &[u8]) -> Result<ProviderDelivery, String> {
        Ok(match lanerunner_motive::read(body)? {
            Delivery::Other(action) => {
                ProviderDelivery::Ignored(format!("`{action}` is not a vehicle's position"))
            }
            // Motive's vehicle id is the name the carrier gives LaneRunner for the truck.
            Delivery::Location(l) => ProviderDelivery::Fixes(vec![VehicleFix {
                vehicle: l.vehicle_id.to_string(),
                lat: l.lat,
                lon: l.lon,
                at: l.located_at,
                speed_mph: l.speed,
            }]),
        })
    }
}
