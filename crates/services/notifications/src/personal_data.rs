//! What the notifications service holds about a person, for their export: the email it
//! writes to, their settings (the phone texts go to, in full: it is theirs), their choices,
//! their notices and every email or text sent them.

use async_trait::async_trait;
use lanerunner_platform::personal_data::PersonalData;
use lanerunner_platform::Db;
use serde_json::json;
use uuid::Uuid;

use crate::store;

pub(crate) struct Export(pub Db);

#[async_trait]
impl PersonalData for Export {
    async fn export(&self, org: Uuid, user: Uuid) -> anyhow::Result<Option<serde_json::Value>> {
        let Some(member) = store::member(&self.0, org, user).await? else {
            return Ok(None);
        };
        let settings = store::settings(&self.0, org, user).await?;
        let preferences = store::preferences(&self.0, org, user).await?;
        Ok(Some(json!({
            "email": member.email,
            "settings": settings.map(|s| json!({
                "time_zone": s.time_zone,
                "quiet_start": s.quiet_start,
                "quiet_end": s.quiet_end,
                "digest_minutes": s.digest_minutes,
                "phone": s.phone,
                "phone_verified_at": s.phone_verified_at,
                "phone_awaiting_code": s.pending_phone,
            })),
            "preferences": preferences
                .into_iter()
                .map(|(kind, channel, mode)| json!({"kind": kind, "channel": channel, "mode": mode}))
                .collect::<Vec<_>>(),
            "notices": store::notices_of(&self.0, org, user).await?,
            "deliveries": store::deliveries_of(&self.0, org, user).await?,
        })))
    }
}
