use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use redis::aio::ConnectionManagerConfig;
use tokio::sync::broadcast;

use super::{Fanout, Push, LOCAL_BUFFER};
use crate::cache::{RedisConn, RedisTarget};

/// Redis pub/sub: `PUBLISH <prefix>rt:<org>`; every instance `PSUBSCRIBE <prefix>rt:*` and
/// forwards what it hears to its local feed. The subscriber reconnects by itself after an
/// outage, to the master the Sentinels name when there are some (pushes published meanwhile
/// are lost: realtime is a notification, the API stays the source of truth).
pub struct RedisFanout {
    conn: RedisConn,
    prefix: String,
    local: broadcast::Sender<Arc<Push>>,
    /// The listener stops resubscribing once this is gone.
    _alive: Arc<()>,
}

impl RedisFanout {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Self::connect_with(RedisTarget::of(url, Default::default())?, prefix).await
    }

    /// With `target` (a [`redis::Client`] for one server, e.g. TLS with a private CA; or a
    /// [`RedisTarget`]).
    pub async fn connect_with(
        target: impl Into<RedisTarget>,
        prefix: &str,
    ) -> anyhow::Result<Self> {
        let conn = RedisConn::connect(target.into(), ConnectionManagerConfig::new()).await?;
        let local = broadcast::channel(LOCAL_BUFFER).0;
        let pattern = format!("{prefix}rt:*");
        // Subscribed before `connect` returns, so nothing published after start-up is missed.
        let pubsub = subscribe(&conn, &pattern).await?;
        let alive = Arc::new(());
        tokio::spawn(listen(
            conn.clone(),
            pattern,
            pubsub,
            local.clone(),
            Arc::downgrade(&alive),
        ));
        Ok(Self {
            conn,
            prefix: prefix.to_string(),
            local,
            _alive: alive,
        })
    }
}

/// Subscribes on the master as it is now (a replica would do too, but the master is where
/// the connection already knows to go).
async fn subscribe(conn: &RedisConn, pattern: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = conn.client().await?.get_async_pubsub().await?;
    pubsub.psubscribe(pattern).await?;
    Ok(pubsub)
}

/// Forwards Redis messages to the local feed, resubscribing with backoff when the
/// connection drops; ends once the [`RedisFanout`] is dropped and the connection goes.
async fn listen(
    conn: RedisConn,
    pattern: String,
    first: redis::aio::PubSub,
    local: broadcast::Sender<Arc<Push>>,
    alive: std::sync::Weak<()>,
) {
    let mut pubsub = Some(first);
    let mut backoff = Duration::from_millis(100);
    loop {
        if let Some(ps) = pubsub.take() {
            let mut messages = ps.into_on_message();
            while let Some(msg) = messages.next().await {
                let Ok(text) = msg.get_payload::<String>() else {
                    continue;
                };
                match serde_json::from_str::<Push>(&text) {
                    Ok(push) => {
                        let _ = local.send(Arc::new(push));
                    }
                    Err(e) => tracing::warn!(error = %e, "undecodable realtime push ignored"),
                }
            }
            tracing::warn!("realtime subscription to Redis lost; resubscribing");
            metrics::counter!("realtime_resubscribe_total").increment(1);
        }
        if alive.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(backoff).await;
        match subscribe(&conn, &pattern).await {
            Ok(ps) => {
                tracing::info!("realtime subscription to Redis restored");
                pubsub = Some(ps);
                backoff = Duration::from_millis(100);
            }
            Err(e) => {
                tracing::debug!(error = %e, "resubscribing to Redis failed");
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[async_trait]
impl Fanout for RedisFanout {
    async fn publish(&self, push: &Push) -> anyhow::Result<()> {
        let channel = match push.org_id {
            Some(org) => format!("{}rt:{org}", self.prefix),
            None => format!("{}rt:all", self.prefix),
        };
        let body = serde_json::to_string(push)?;
        let publish = redis::cmd("PUBLISH").arg(channel).arg(body).clone();
        let publish = &publish;
        let _receivers: i64 = self
            .conn
            .run(|mut c| async move { publish.query_async(&mut c).await })
            .await?;
        Ok(())
    }

    fn local(&self) -> broadcast::Receiver<Arc<Push>> {
        self.local.subscribe()
    }

    fn backend(&self) -> &'static str {
        "redis"
    }
}
