//! The device gateway seam: where trucks' devices and ELD gateways publish positions
//! directly (an MQTT broker at scale, adapted in the binary), each carrier with an account
//! of its own that may publish only under its own topic. The service never names a broker.

use async_trait::async_trait;
use uuid::Uuid;

/// What a carrier's devices connect with. The password is shown once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DeviceCredentials {
    /// `mqtt://host:port`.
    pub url: String,
    pub username: String,
    pub password: String,
    /// Publish positions here, QoS 1, the load's id in place of `{load_id}`; JSON
    /// `{"lat", "lon", "at"?, "speed_mph"?}`.
    pub topic: String,
}

#[async_trait]
pub trait DeviceGateway: Send + Sync {
    /// Opens (or, asked again, re-keys) the carrier's account, allowed to publish under
    /// its own topic only.
    async fn issue(&self, carrier: Uuid) -> anyhow::Result<DeviceCredentials>;
}
