//! Texts received are personal data: kept for `notifications.inbound_text_retention_days`,
//! then an hourly job empties their number and text (the message id and outcome stay, so
//! a late provider retry is still recognised as a repeat).

use std::sync::Weak;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::service::Notifications;
use crate::store;

/// Texts emptied in one statement.
const BATCH: i64 = 1_000;

impl Notifications {
    /// Empties every text received before `before`; how many.
    pub async fn purge_inbound_texts(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let mut total = 0;
        loop {
            let n = store::purge_inbound(&self.db, before, BATCH).await?;
            total += n;
            metrics::counter!("notifications_inbound_texts_purged_total").increment(n);
            if n < BATCH as u64 {
                if total > 0 {
                    tracing::info!(texts = total, "texts received past their retention emptied");
                }
                return Ok(total);
            }
        }
    }
}

/// Empties texts older than `keep` every hour while the service lives.
pub(crate) async fn job(notifications: Weak<Notifications>, keep: chrono::Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(n) = notifications.upgrade() else {
            return;
        };
        if let Err(e) = n.purge_inbound_texts(Utc::now() - keep).await {
            tracing::warn!(error = %e, "emptying expired texts failed; the next run tries again");
        }
    }
}
