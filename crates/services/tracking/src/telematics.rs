//! The telematics seam: ELD and fleet-telematics providers (Motive, adapted in the binary)
//! that post a carrier's truck positions to LaneRunner, each with its own signature scheme
//! and JSON. The service keeps which provider account a carrier connected (the shared
//! secret) and which of its vehicles hauls which load; a provider only verifies and reads.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

/// A vehicle's position as the provider reports it, the vehicle named as the provider
/// names it.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleFix {
    pub vehicle: String,
    pub lat: f64,
    pub lon: f64,
    pub at: DateTime<Utc>,
    pub speed_mph: Option<f64>,
}

/// What one delivery holds.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderDelivery {
    Fixes(Vec<VehicleFix>),
    /// Something other than positions (a fault code, a test): acknowledged, left alone.
    Ignored(String),
}

pub trait TelematicsProvider: Send + Sync {
    /// Its name in URLs and on positions: `motive`.
    fn name(&self) -> &'static str;
    /// Checks the delivery's signature under the carrier's shared secret, before the body
    /// is read; the reason when it does not hold.
    fn verify(&self, headers: &HeaderMap, body: &[u8], secret: &str) -> Result<(), String>;
    /// Reads a verified delivery; the reason when it is not the provider's JSON.
    fn read(&self, body: &[u8]) -> Result<ProviderDelivery, String>;
}
