//! What the notifications service holds about a person, for their export: the email it
//! writes to, their settings (the phone texts go to, in full: it is theirs), their choices,
//! their notices and every email or text sent them.

use async_trait::async_trait;
use lanerunner_platform::personal_data::PersonalData;
use lanerunner_platform::Db;
use serde_json::json;
use uuid::Uuid;

use crate::phones::Phones;
use crate::store;

pub(crate) struct Export {
    pub db: Db,
    pub phones: Phones,
}

#[async_trait]
impl PersonalData for Export {
    async fn export(&self, org: Uuid, user: Uuid) -> anyhow::Result<Option<serde_json::Value>> {
        let db = &self.db;
        let Some(member) = store::member(db, org, user).await? else {
            return Ok(None);
        };
        let settings = store::settings(db, org, user).await?;
        let (phone, pending) = match &settings {
            Some(s) => (
                self.phones.open_some(user, s.phone.as_deref()).await?,
                self.phones
                    .open_some(user, s.pending_phone.as_deref())
                    .await?,
            ),
            None => (None, None),
        };
        let preferences = store::preferences(db, org, user).await?;
        Ok(Some(json!({
            "email": member.email,
            "settings": settings.map(|s| json!({
                "time_zone": s.time_zone,
                "quiet_start": s.quiet_start,
                "quiet_end": s.quiet_end,
                "digest_minutes": s.digest_minutes,
                "phone": phone,
                "phone_verified_at": s.phone_verified_at,
                "phone_awaiting_code": pending,
            })),
            "preferences": preferences
                .into_iter()
                .map(|(kind, channel, mode)| json!({"kind": kind, "channel": channel, "mode": mode}))
                .collect::<Vec<_>>(),
            "notices": store::notices_of(db, org, user).await?,
            "deliveries": store::deliveries_of(db, org, user).await?,
        })))
    }
}
