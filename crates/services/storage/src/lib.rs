//! The storage service (`storage`): the files freight runs on — proof of delivery photos,
//! lumper receipts, insurance certificates, and later the documents LaneRunner generates.
//!
//! - **Encrypted at rest**, every object: its own AES-256-GCM data key, kept only wrapped by
//!   a versioned key-encryption key (`envelope.rs`, `keyring.rs`). Rotating the KEK
//!   rewraps data keys in the background (`Storage::rewrap`, by compare-and-set); objects
//!   stay readable throughout, since every version stays in the keyring until nothing uses
//!   it.
//! - **Checked by content** (`sniff.rs`): the type comes from the bytes; a sender's
//!   `Content-Type` that disagrees is refused; a size limit; a SHA-256 per object, recorded
//!   when it is stored (every read is authenticated by its GCM tag instead).
//! - **Time-limited signed links** (`link.rs`) download without a session.
//! - **Deleting really deletes**: the data key goes with the record, then the bytes.
//!
//! Layout: the pure parts (`envelope`, `keyring`, `sniff`, `link`) do no I/O; `store.rs`
//! holds the SQL, `service.rs` the flows, `api.rs` the handlers. The bytes go to the blob
//! seam (a local directory embedded, S3 at scale) and the keyring comes through
//! [`keyring::KeyEncryptionKeys`]; neither backend is named here.

pub mod api;
pub mod error;
pub mod link;
mod service;
pub mod sniff;
mod store;
pub mod views;

// The envelope and the keyring are the platform's (every service seals fields with them).
pub use lanerunner_platform::sealing::{envelope, keyring};

use std::sync::Arc;

use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{Service, ServiceContext};
use utoipa_axum::router::OpenApiRouter;

pub use service::{checksum, Content, Storage};

pub const SERVICE: &str = "storage";

lanerunner_core::id_type!(
    /// A stored file.
    FileId
);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

/// `storage.*` and `public_url`, picked out by the binary.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Longest a download link may work, in seconds.
    pub link_max_secs: i64,
    /// How often the rewrap sweep looks for data keys under an older key version.
    pub rewrap_every: std::time::Duration,
    /// Where download links point.
    pub public_url: String,
}

pub struct StorageService {
    storage: Arc<Storage>,
}

impl StorageService {
    pub async fn start(
        ctx: ServiceContext,
        keys: Arc<dyn keyring::KeyEncryptionKeys>,
        settings: StorageSettings,
    ) -> anyhow::Result<Self> {
        let every = settings.rewrap_every;
        let storage = Arc::new(Storage::new(&ctx, keys, settings));
        let weak = Arc::downgrade(&storage);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let Some(s) = weak.upgrade() else { break };
                match s.rewrap().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        objects = n,
                        "data keys rewrapped under the current key version"
                    ),
                    Err(e) => tracing::warn!(error = %e, "rewrapping data keys failed; will retry"),
                }
            }
        });
        Ok(Self { storage })
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.storage
    }
}

impl Service for StorageService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.storage.clone())
    }
}
