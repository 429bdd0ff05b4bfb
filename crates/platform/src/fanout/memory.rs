use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Fanout, Push, LOCAL_BUFFER};

/// One process: the local feed is the fan-out.
pub struct InMemoryFanout {
    local: broadcast::Sender<Arc<Push>>,
}

impl Default for InMemoryFanout {
    fn default() -> Self {
        Self {
            local: broadcast::channel(LOCAL_BUFFER).0,
        }
    }
}

#[async_trait]
impl Fanout for InMemoryFanout {
    async fn publish(&self, push: &Push) -> anyhow::Result<()> {
        // No receiver (no socket open) is not an error.
        let _ = self.local.send(Arc::new(push.clone()));
        Ok(())
    }

    fn local(&self) -> broadcast::Receiver<Arc<Push>> {
        self.local.subscribe()
    }

    fn backend(&self) -> &'static str {
        "in-process"
    }
}
