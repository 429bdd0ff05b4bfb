//! Transcripts are personal data (what a caller said, in their words): kept for
//! `voice.transcript_retention_days` after the call started, then deleted by an hourly
//! job. The call stays (outcome, agreed rate, summary), marked with when its transcript
//! went.

use std::sync::Weak;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::service::Calls;
use crate::store;

/// Calls whose transcripts are deleted in one transaction.
const BATCH: i64 = 200;

impl Calls {
    /// Deletes the transcripts of every call that started before `before`; how many calls.
    pub async fn purge_transcripts(&self, before: DateTime<Utc>) -> Result<usize> {
        let mut total = 0;
        loop {
            let n = store::purge_transcripts(&self.db, before, BATCH, Utc::now()).await?;
            total += n;
            metrics::counter!("voice_transcripts_purged_total").increment(n as u64);
            if (n as i64) < BATCH {
                if total > 0 {
                    tracing::info!(calls = total, "transcripts past their retention deleted");
                }
                return Ok(total);
            }
        }
    }
}

/// Deletes transcripts older than `keep` every hour while the service lives.
pub(crate) async fn job(calls: Weak<Calls>, keep: chrono::Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(c) = calls.upgrade() else {
            return;
        };
        if let Err(e) = c.purge_transcripts(Utc::now() - keep).await {
            tracing::warn!(error = %e, "deleting expired transcripts failed; the next run tries again");
        }
    }
}
