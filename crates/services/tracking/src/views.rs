//! What clients see of a load's tracking.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::{Dwell, Eta, StopKind};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PositionView {
    pub lat: f64,
    pub lon: f64,
    pub at: DateTime<Utc>,
    pub speed_mph: Option<f64>,
    pub source: String,
    pub received_at: DateTime<Utc>,
    /// Why it was not applied (quarantined): `out_of_range`, `from_the_future`,
    /// `too_old`, `out_of_order`, `duplicate`, `teleport`.
    pub refusal: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StopView {
    pub kind: StopKind,
    pub label: String,
    pub lat: f64,
    pub lon: f64,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub departed_at: Option<DateTime<Utc>>,
    /// Passed without a position inside its fence.
    pub missed: bool,
    pub dwell: Option<Dwell>,
    /// Detention billable at the configured hourly rate, in cents.
    pub detention_cents: i64,
}

/// A load's tracking, for its broker and carrier.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TrackingView {
    pub load_id: Uuid,
    pub reference: String,
    /// `active`, `delivered`, `cancelled`.
    pub status: String,
    pub last_position: Option<PositionView>,
    pub stops: Vec<StopView>,
    /// The stop being approached or dwelt at (an index into `stops`).
    pub next_stop: Option<usize>,
    pub inside_fence: bool,
    pub eta: Option<Eta>,
    /// The driver's hours as the positions show them.
    pub driving_hours: f64,
    /// The truck, when the carrier named it for its telematics provider.
    pub vehicle: Option<VehicleView>,
    pub updated_at: DateTime<Utc>,
}

/// What a tracking link shows the shipper: the load's position, status and ETA only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SharedView {
    pub reference: String,
    pub status: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub position_at: Option<DateTime<Utc>>,
    pub next_stop: Option<String>,
    pub eta: Option<DateTime<Utc>>,
    pub late: bool,
    pub expires_at: DateTime<Utc>,
}

/// A new link: its token is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewLinkView {
    pub id: Uuid,
    /// `driver` (reports positions) or `share` (shows them).
    pub kind: String,
    pub token: String,
    /// The console page to open with it: the driver's (`#/driver?t=`: reports the phone's
    /// position and check-ins through `/v1/track/driver/{token}/...`) or the shipper's
    /// (`#/track?t=`: reads `/v1/track/{token}`).
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkView {
    pub id: Uuid,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a reported position did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// `applied` or `quarantined`.
    pub outcome: &'static str,
    pub refusal: Option<String>,
    pub detail: Option<String>,
    /// The load status events it caused (`arrive_pickup`...).
    pub events: Vec<String>,
    pub eta: Option<Eta>,
}

/// The truck on a load, as the carrier's telematics provider names it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VehicleView {
    /// `motive`.
    pub provider: String,
    pub vehicle_id: String,
}

/// A carrier's connected account with a telematics provider.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderAccountView {
    pub provider: String,
    /// Where to point the provider's webhook (relative to this API's address).
    pub webhook_url: String,
    pub connected_at: DateTime<Utc>,
}

/// What a position from a provider did to one load its vehicle hauls.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VehicleOutcome {
    pub vehicle: String,
    pub load_id: Uuid,
    pub outcome: Outcome,
}

/// The answer to a provider's delivery (always 200 once the signature holds, so the
/// provider does not resend what was read).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderReceipt {
    pub applied: Vec<VehicleOutcome>,
    /// Vehicles reported that haul none of your loads being tracked: nothing kept.
    pub unassigned: Vec<String>,
    /// Why nothing was read: the delivery is not a position (another action).
    pub ignored: Option<String>,
}
