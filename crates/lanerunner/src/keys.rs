//! Field encryption at the binary's level: which key-encryption key wraps the stores' data
//! keys (`keys.kek`), every instance's sweep, and `lanerunner keys` (what each data key
//! version still protects, rotation, a sweep on demand) over the stores of every service
//! that seals fields.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use lanerunner_platform::config::{KekBackend, KeysConfig};
use lanerunner_platform::sealing::kek::{AwsKms, LocalKek};
use lanerunner_platform::sealing::{FieldSealer, KeyReport, KeyWrapper, SealedField};
use lanerunner_platform::Config;
use tokio_util::sync::CancellationToken;

use crate::registry::{ServiceSpec, SERVICES};

/// The key-encryption key the configuration names: the local keyring file (the one
/// storage's objects use), or an AWS KMS key.
pub fn kek_from_config(config: &Config) -> anyhow::Result<Arc<dyn KeyWrapper>> {
    Ok(match config.keys.kek {
        KekBackend::Local => Arc::new(LocalKek(Arc::new(
            crate::storage_keys::KeyringFile::open_or_create(crate::storage_keys::path_of(config))?,
        ))),
        KekBackend::AwsKms => {
            let k = &config.keys;
            Arc::new(AwsKms::new(
                k.kms_key_id.clone().context("keys.kms_key_id is not set")?,
                k.kms_region.clone(),
                k.kms_endpoint.clone(),
                k.kms_access_key_id.clone(),
                k.kms_secret_access_key.clone(),
            )?)
        }
    })
}

/// Every `keys.sweep_poll_secs`: re-seal what an older data key (or nothing) protects,
/// rewrap data keys under an older key-encryption key, retire what nothing uses. Every
/// instance runs it; each write is a compare-and-set, so they never undo each other.
pub async fn run_sweep(
    service: &'static str,
    sealer: Arc<FieldSealer>,
    fields: &'static [SealedField],
    keys: KeysConfig,
    shutdown: CancellationToken,
) {
    let every = Duration::from_secs(keys.sweep_poll_secs);
    loop {
        match sealer
            .sweep(
                fields,
                keys.sweep_batch,
                Duration::from_secs(keys.retire_after_secs),
            )
            .await
        {
            Ok(r) if r != Default::default() => {
                tracing::info!(service, resealed = r.resealed, sealed = r.sealed, unopenable = r.unopenable, rewrapped = r.rewrapped, retired = ?r.retired, "field keys swept");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(service, error = %e, "the field key sweep failed; it runs again later")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// The services whose stores hold sealed fields.
fn sealing_services() -> impl Iterator<Item = &'static ServiceSpec> {
    SERVICES.iter().filter(|s| !s.sealed.is_empty())
}

async fn sealer_of(
    config: &Config,
    spec: &ServiceSpec,
    kek: Arc<dyn KeyWrapper>,
) -> anyhow::Result<Arc<FieldSealer>> {
    let db = lanerunner_platform::db::connect(config, spec.name)
        .await
        .with_context(|| format!("connecting the {} store", spec.name))?;
    db.migrate(&(spec.migrations)())
        .await
        .with_context(|| format!("migrating the {} store", spec.name))?;
    Ok(FieldSealer::connect(
        db,
        kek,
        Duration::from_secs(config.keys.active_refresh_secs),
    )
    .await?)
}

/// What each data key of every store still protects.
pub async fn report(config: &Config) -> anyhow::Result<Vec<(&'static str, KeyReport)>> {
    let kek = kek_from_config(config)?;
    let mut out = Vec::new();
    for spec in sealing_services() {
        let sealer = sealer_of(config, spec, kek.clone()).await?;
        out.push((spec.name, sealer.report(spec.sealed).await?));
    }
    Ok(out)
}

/// A new active data key in every store; returns each store's new version.
pub async fn rotate(config: &Config) -> anyhow::Result<Vec<(&'static str, u32)>> {
    let kek = kek_from_config(config)?;
    let mut out = Vec::new();
    for spec in sealing_services() {
        let sealer = sealer_of(config, spec, kek.clone()).await?;
        out.push((spec.name, sealer.rotate().await?));
    }
    Ok(out)
}

/// One sweep of every store now (what the instances do every `keys.sweep_poll_secs`).
pub async fn sweep(
    config: &Config,
) -> anyhow::Result<Vec<(&'static str, lanerunner_platform::sealing::SweepReport)>> {
    let kek = kek_from_config(config)?;
    let mut out = Vec::new();
    for spec in sealing_services() {
        let sealer = sealer_of(config, spec, kek.clone()).await?;
        let report = sealer
            .sweep(
                spec.sealed,
                config.keys.sweep_batch,
                Duration::from_secs(config.keys.retire_after_secs),
            )
            .await?;
        out.push((spec.name, report));
    }
    Ok(out)
}

/// The report as the command prints it: one line per data key, then what is in the clear.
pub fn render(reports: &[(&'static str, KeyReport)]) -> String {
    let mut out = String::new();
    for (service, report) in reports {
        for key in &report.keys {
            let total: u64 = key.protects.values().sum();
            let by_field: Vec<String> = key
                .protects
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(f, n)| format!("{f}={n}"))
                .collect();
            out.push_str(&format!(
                "{service}\tv{}\t{}\t{}\t{} values\t{}\n",
                key.version,
                key.state,
                if key.kek.is_empty() { "-" } else { &key.kek },
                total,
                by_field.join(" ")
            ));
        }
        let clear: Vec<String> = report
            .clear
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(f, n)| format!("{f}={n}"))
            .collect();
        if !clear.is_empty() {
            out.push_str(&format!("{service}\tclear\t\t\t\t{}\n", clear.join(" ")));
        }
        if let Some(kek) = &report.index_key_kek {
            out.push_str(&format!("{service}\tindex\tkept\t{kek}\n"));
        }
    }
    out
}
