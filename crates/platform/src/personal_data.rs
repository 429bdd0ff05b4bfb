//! What each service holds about a person, gathered into their export (GDPR art. 15 and
//! 20: everything, machine-readable, in one document). A service that keeps personal data
//! of its own hands the binary a [`PersonalData`]; the binary registers it in the
//! instance's [`PersonalDataSources`] as the service starts, and identity's export asks
//! each one in turn. (Erasure goes the other way, by event: `identity.user_erased`.)
//!
//! In a deployment split by `--services`, some of those services run in other processes.
//! The binary tells the sources which ([`PersonalDataSources::set_remote`]); identity then
//! asks for their parts over the bus ([`gather_remote`]: one `privacy.export_requested`
//! command naming the services) and each process that runs one answers through its group
//! `privacy-export.<service>` ([`answer_export_requests`]: one replica of each service) by
//! writing its part to the blob store, `privacy/exports/<export>/<service>.json`, where
//! identity collects it and deletes it. The person's data never travels on the brokers
//! (the command carries ids only), and parts nobody collected (identity gave up waiting)
//! are deleted by the next export after an hour.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, EventType, OrgId};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::blob::Blobs;
use crate::bus::{BusError, EventBus, Subscription};

#[async_trait]
pub trait PersonalData: Send + Sync + 'static {
    /// What the service holds about `user` of `org`, as JSON, without secrets; `None` when
    /// it holds nothing.
    async fn export(&self, org: Uuid, user: Uuid) -> anyhow::Result<Option<serde_json::Value>>;
}

/// Sources by the name of their service.
type Named = Vec<(&'static str, Arc<dyn PersonalData>)>;

/// The services of this instance that hold personal data, by name, in start-up order; and
/// those that hold it in other processes of the deployment.
#[derive(Clone, Default)]
pub struct PersonalDataSources {
    local: Arc<RwLock<Named>>,
    remote: Arc<RwLock<Vec<&'static str>>>,
}

impl PersonalDataSources {
    pub fn register(&self, service: &'static str, source: Arc<dyn PersonalData>) {
        self.local
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((service, source));
    }

    pub fn all(&self) -> Named {
        self.local.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The services holding personal data that this process does not run.
    pub fn set_remote(&self, services: Vec<&'static str>) {
        *self.remote.write().unwrap_or_else(|e| e.into_inner()) = services;
    }

    pub fn remote(&self) -> Vec<&'static str> {
        self.remote
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The command asking other processes for their parts of an export.
pub const EXPORT_REQUESTED: EventType = EventType::new("privacy.export_requested", 1);
/// Where answered parts wait in the blob store.
pub const EXPORT_PREFIX: &str = "privacy/exports";
/// How long uncollected parts are kept.
const STALE_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExportRequested {
    pub export_id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    /// The services asked; a process answers for those of them it runs.
    pub services: Vec<String>,
}

/// One service's answer, as written to the blob store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportPart {
    pub service: String,
    pub part: Option<serde_json::Value>,
}

pub fn part_key(export: Uuid, service: &str) -> String {
    format!("{EXPORT_PREFIX}/{export}/{service}.json")
}

/// The consumer group through which a service's processes answer.
pub fn export_group(service: &str) -> String {
    format!("privacy-export.{service}")
}

/// Joins `service`'s group for export requests.
pub async fn subscribe_export_requests(
    bus: &dyn EventBus,
    service: &str,
) -> Result<Box<dyn Subscription>, BusError> {
    bus.subscribe(&export_group(service), &[EXPORT_REQUESTED.topic().as_str()])
        .await
}

/// Answers export requests for `service` (run by this process) until `shutdown`: one
/// replica of each service takes each request (its group), writes its part, acknowledges.
pub async fn answer_export_requests(
    mut sub: Box<dyn Subscription>,
    blobs: Blobs,
    service: &'static str,
    source: Arc<dyn PersonalData>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let delivery = tokio::select! {
            d = sub.next() => match d { Some(d) => d, None => return Ok(()) },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let asked: ExportRequested = match serde_json::from_value(delivery.event.payload.clone()) {
            Ok(asked) => asked,
            Err(e) => {
                delivery
                    .dead_letter(format!("not an export request: {e}"))
                    .await;
                continue;
            }
        };
        if !asked.services.iter().any(|s| s == service) {
            delivery.ack().await;
            continue;
        }
        let answered = async {
            let part = source.export(asked.org_id, asked.user_id).await?;
            let part = ExportPart {
                service: service.to_owned(),
                part,
            };
            blobs
                .put(
                    &part_key(asked.export_id, service),
                    serde_json::to_vec(&part)?,
                )
                .await
        }
        .await;
        match answered {
            Ok(()) => delivery.ack().await,
            Err(e) => {
                tracing::warn!(service, export = %asked.export_id, error = %e, "an export part could not be written; retried");
                delivery.nack(e.to_string()).await;
            }
        }
    }
}

/// Why the parts held elsewhere could not all be gathered.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("no answer from {} within {} s", .0.join(", "), .1.as_secs())]
    NoAnswer(Vec<String>, Duration),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Asks the processes running `services` for their parts of `user`'s export and waits up
/// to `wait` for every one; the parts by service (none where a service holds nothing).
pub async fn gather_remote(
    bus: &dyn EventBus,
    blobs: &Blobs,
    org: OrgId,
    user: Uuid,
    services: &[&str],
    wait: Duration,
) -> Result<Vec<(String, Option<serde_json::Value>)>, GatherError> {
    let export = Uuid::now_v7();
    prune_stale(blobs).await;
    let asked = ExportRequested {
        export_id: export,
        org_id: org.as_uuid(),
        user_id: user,
        services: services.iter().map(|s| s.to_string()).collect(),
    };
    let event = EventEnvelope::new(EXPORT_REQUESTED, Some(org), export, &asked)
        .map_err(anyhow::Error::from)?;
    bus.publish(&event).await.map_err(anyhow::Error::from)?;
    let prefix = format!("{EXPORT_PREFIX}/{export}/");
    let deadline = tokio::time::Instant::now() + wait;
    let mut parts = Vec::with_capacity(services.len());
    let outcome = loop {
        for key in blobs.list(&prefix).await? {
            if parts.iter().any(|(k, _)| *k == key) {
                continue;
            }
            let part: ExportPart = serde_json::from_slice(&blobs.get(&key).await?)
                .map_err(|e| anyhow::anyhow!("the export part {key} is not readable: {e}"))?;
            parts.push((key, part));
        }
        let missing: Vec<String> = services
            .iter()
            .filter(|s| !parts.iter().any(|(_, p)| p.service == **s))
            .map(|s| s.to_string())
            .collect();
        if missing.is_empty() {
            break Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            break Err(GatherError::NoAnswer(missing, wait));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The parts hold personal data: they leave the blob store once read, answered or not.
    for key in blobs.list(&prefix).await.unwrap_or_default() {
        if let Err(e) = blobs.delete(&key).await {
            tracing::warn!(%key, error = %e, "an export part could not be deleted; the next export prunes it");
        }
    }
    outcome?;
    Ok(parts
        .into_iter()
        .map(|(_, p)| (p.service, p.part))
        .collect())
}

/// Deletes parts of exports begun over an hour ago (answered after identity stopped
/// waiting). The export id is a UUID v7: its first 48 bits are when it began.
async fn prune_stale(blobs: &Blobs) {
    let Ok(keys) = blobs.list(&format!("{EXPORT_PREFIX}/")).await else {
        return;
    };
    let now = chrono::Utc::now().timestamp_millis() as u64;
    for key in keys {
        let begun = key
            .strip_prefix(EXPORT_PREFIX)
            .and_then(|k| k.trim_start_matches('/').split('/').next())
            .and_then(|id| id.parse::<Uuid>().ok())
            .and_then(|id| id.get_timestamp())
            .map(|t| {
                let (secs, nanos) = t.to_unix();
                secs * 1000 + u64::from(nanos) / 1_000_000
            });
        if begun.is_none_or(|b| now.saturating_sub(b) > STALE_AFTER.as_millis() as u64) {
            let _ = blobs.delete(&key).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::InMemoryBus;
    use crate::config::BlobConfig;

    struct Holds(Option<serde_json::Value>);

    #[async_trait]
    impl PersonalData for Holds {
        async fn export(&self, _: Uuid, _: Uuid) -> anyhow::Result<Option<serde_json::Value>> {
            Ok(self.0.clone())
        }
    }

    fn scratch_blobs() -> (Blobs, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("lr-export-parts-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        (
            crate::blob::open(&BlobConfig::default(), &dir).unwrap(),
            dir,
        )
    }

    #[tokio::test]
    async fn parts_held_elsewhere_are_gathered_and_do_not_stay_in_the_blob_store() {
        let bus: Arc<dyn EventBus> = Arc::new(InMemoryBus::default());
        let (blobs, dir) = scratch_blobs();
        let stop = CancellationToken::new();
        for (service, held) in [
            (
                "notifications",
                Some(serde_json::json!({"email": "a@b.example"})),
            ),
            ("chat", None),
        ] {
            let sub = subscribe_export_requests(bus.as_ref(), service)
                .await
                .unwrap();
            tokio::spawn(answer_export_requests(
                sub,
                blobs.clone(),
                service,
                Arc::new(Holds(held)),
                stop.clone(),
            ));
        }
        // A part nobody collected, from an export begun two hours ago.
        let old = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            chrono::Utc::now().timestamp() as u64 - 7200,
            0,
        ));
        blobs
            .put(&part_key(old, "chat"), b"{}".to_vec())
            .await
            .unwrap();

        let org = OrgId::new();
        let mut parts = gather_remote(
            bus.as_ref(),
            &blobs,
            org,
            Uuid::now_v7(),
            &["notifications", "chat"],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            parts,
            vec![
                ("chat".to_owned(), None),
                (
                    "notifications".to_owned(),
                    Some(serde_json::json!({"email": "a@b.example"}))
                )
            ]
        );
        assert!(
            blobs
                .list(&format!("{EXPORT_PREFIX}/"))
                .await
                .unwrap()
                .is_empty(),
            "collected and stale parts are gone"
        );

        // A service nobody runs: refused after the wait, naming it.
        let err = gather_remote(
            bus.as_ref(),
            &blobs,
            org,
            Uuid::now_v7(),
            &["notifications", "voice"],
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, GatherError::NoAnswer(missing, _) if missing == &vec!["voice".to_owned()]),
            "{err}"
        );
        assert!(
            blobs
                .list(&format!("{EXPORT_PREFIX}/"))
                .await
                .unwrap()
                .is_empty(),
            "the answered part went too"
        );
        stop.cancel();
        let _ = std::fs::remove_dir_all(dir);
    }
}
