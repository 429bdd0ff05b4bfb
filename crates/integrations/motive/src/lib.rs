//! Motive's company webhooks (<https://developer.gomotive.com/reference/company-webhooks-overview>),
//! the way ELD-equipped fleets report where their trucks are without an app on the driver's
//! phone: the carrier subscribes a webhook to `vehicle_location_updated`, and Motive posts
//! each vehicle's position as it changes.
//!
//! - `signature.rs`: every request carries `X-KT-Webhook-Signature`, the HMAC-SHA1 hex
//!   digest of the raw body under the webhook's shared secret. It is checked before the body
//!   is read.
//! - `wire.rs`: the payload in Motive's JSON (`action`, `lat`, `lon`, `located_at`,
//!   `vehicle_id`, `vehicle_number`, …); actions other than a location are recognised and
//!   left alone.
//! - `testing.rs` (feature `testing`): a stand-in that builds, signs and posts webhooks the
//!   way Motive's servers do, for tests on loopback.

pub mod signature;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wire;

pub use signature::{sign, verify, SIGNATURE_HEADER};
pub use wire::{read, Delivery, VehicleLocation};
