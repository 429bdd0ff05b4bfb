//! The services this binary can run. Adding one is one entry in [`SERVICES`].

use std::any::Any;
use std::sync::Arc;

use futures::future::BoxFuture;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::sealing::SealedField;
use lanerunner_platform::service::{Service, ServiceContext};
use lanerunner_platform::Config;

/// A started service: as the binary wires it (`service`) and as its own type, for the
/// commands that need more than the [`Service`] trait (`keys rotate`).
pub struct Started {
    pub service: Arc<dyn Service>,
    pub typed: Arc<dyn Any + Send + Sync>,
}

impl Started {
    pub fn new<S: Service>(service: S) -> Self {
        let service = Arc::new(service);
        Self {
            service: service.clone(),
            typed: service,
        }
    }
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The services started before this one in the same process, for the typed clients that
/// are a direct call when the service they ask runs alongside.
#[derive(Clone, Default)]
pub struct Peers(pub Vec<Arc<dyn Any + Send + Sync>>);

impl Peers {
    pub fn get<S: Send + Sync + 'static>(&self) -> Option<Arc<S>> {
        self.0.iter().find_map(|s| s.clone().downcast::<S>().ok())
    }
}

/// Starts a service on its seams, with the settings the binary picks out of the whole
/// configuration for it (a service never sees the others' settings) and the services
/// already running beside it.
pub type StartFn =
    fn(ServiceContext, Arc<Config>, Peers) -> BoxFuture<'static, anyhow::Result<Started>>;

/// How to migrate and start one service.
pub struct ServiceSpec {
    /// Also the name of the service's store (schema / SQLite file).
    pub name: &'static str,
    pub migrations: fn() -> Migrations,
    /// The columns of its store that hold sealed values (swept on rotation, reported by
    /// `lanerunner keys`).
    pub sealed: &'static [SealedField],
    pub start: StartFn,
}

/// A [`ServiceSpec`] for a service crate following the convention: `SERVICE`,
/// `migrations()`, and `<Type>::start(ServiceContext) -> anyhow::Result<Type>` for a service
/// without settings of its own.
macro_rules! service {
    ($krate:ident :: $service:ident) => {
        ServiceSpec {
            name: $krate::SERVICE,
            migrations: $krate::migrations,
            sealed: &[],
            start: |ctx, _config, _peers| {
                Box::pin(async move { Ok(Started::new($krate::$service::start(ctx).await?)) })
            },
        }
    };
}

/// Every service compiled into this binary, in start order. Adding one is one line.
/// The services that hold personal data of their own (a part of every export, GDPR art.
/// 15): a process that does not run one asks the process that does, over the bus. Checked
/// against each service as it starts.
pub const HOLDS_PERSONAL_DATA: &[&str] =
    &[lanerunner_notifications::SERVICE, lanerunner_chat::SERVICE];

pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: lanerunner_identity::SERVICE,
        migrations: lanerunner_identity::migrations,
        sealed: lanerunner_identity::SEALED_FIELDS,
        // `auth.*`, and the texted codes of the SMS second factor (`twilio.*`).
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let settings = lanerunner_identity::IdentitySettings {
                    auth: config.auth.clone(),
                    public_url: config.public_url.clone(),
                };
                let codes = crate::sms::phone_codes(&config.twilio, config.data_dir.clone())?;
                Ok(Started::new(
                    lanerunner_identity::IdentityService::start(ctx, settings, codes).await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_loads::SERVICE,
        migrations: lanerunner_loads::migrations,
        sealed: &[],
        // `loads.*`, and the geocoder the binary builds from `maps.*`.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let geocoder = crate::maps::geocoder(&config.maps).await?;
                Ok(Started::new(
                    lanerunner_loads::LoadsService::start(ctx, config.loads.clone(), geocoder)
                        .await?,
                ))
            })
        },
    },
    service!(lanerunner_realtime::RealtimeService),
    service!(lanerunner_matching_service::MatchingService),
    ServiceSpec {
        name: lanerunner_analytics::SERVICE,
        migrations: lanerunner_analytics::migrations,
        sealed: &[],
        // `analytics.*`: the gate before a lane aggregate is shown.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let a = &config.analytics;
                let gate = lanerunner_laneindex::Gate::new(a.min_reports, a.min_companies)
                    .map_err(|e| anyhow::anyhow!("analytics.*: {e}"))?;
                let settings = lanerunner_analytics::AnalyticsSettings {
                    gate,
                    archive_every: std::time::Duration::from_secs(a.archive_interval_secs),
                };
                Ok(Started::new(
                    lanerunner_analytics::AnalyticsService::start(ctx, settings).await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_ml::SERVICE,
        migrations: lanerunner_ml::migrations,
        sealed: &[],
        // `ml.*`, the analytics gate (comparables are shown under the same rule as lane
        // aggregates), and the geocoder the binary builds from `maps.*`.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let a = &config.analytics;
                let settings = lanerunner_ml::MlSettings {
                    gate: lanerunner_laneindex::Gate::new(a.min_reports, a.min_companies)
                        .map_err(|e| anyhow::anyhow!("analytics.*: {e}"))?,
                    reload_every: std::time::Duration::from_secs(config.ml.reload_interval_secs),
                };
                let geocoder = crate::maps::geocoder(&config.maps).await?;
                Ok(Started::new(
                    lanerunner_ml::MlService::start(ctx, settings, geocoder).await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_carriers::SERVICE,
        migrations: lanerunner_carriers::migrations,
        sealed: &[],
        // `carriers.*`: the registry that checks authority (FMCSA, or none) and how often.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let c = &config.carriers;
                let settings = lanerunner_carriers::CarriersSettings {
                    recheck_every: chrono::Duration::hours(i64::from(c.recheck_hours)),
                    sweep_every: std::time::Duration::from_secs(c.sweep_poll_secs),
                };
                Ok(Started::new(
                    lanerunner_carriers::CarriersService::start(
                        ctx,
                        crate::fmcsa::registry(c)?,
                        settings,
                    )
                    .await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_negotiation_service::SERVICE,
        migrations: lanerunner_negotiation_service::migrations,
        sealed: &[],
        // The market signal for the agents: the rate model, when ml runs alongside; and the
        // language model that reads what the offer parser cannot (`negotiation.*`).
        start: |ctx, config, peers| {
            Box::pin(async move {
                use lanerunner_negotiation_service::market::{
                    InProcessRates, MarketSource, NoMarket,
                };
                let market: Arc<dyn MarketSource> = match peers.get::<lanerunner_ml::MlService>() {
                    Some(ml) => Arc::new(InProcessRates(ml.rates().clone())),
                    None => Arc::new(NoMarket),
                };
                let language = crate::language::OpenAiCompatible::from_config(
                    &config.negotiation.language_model,
                )?;
                Ok(Started::new(
                    lanerunner_negotiation_service::NegotiationService::start(
                        ctx, market, language,
                    )
                    .await?,
                ))
            })
        },
    },
    service!(lanerunner_chat::ChatService),
    ServiceSpec {
        name: lanerunner_payments::SERVICE,
        migrations: lanerunner_payments::migrations,
        sealed: &[],
        // `payments.*`: who collects invoices online and pays carriers out (Stripe, or
        // none: settled by hand), and the payout terms brokers offer until they set theirs.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let processor = crate::stripe::processor(&config.payments)?;
                let p = &config.payments.payouts;
                let payouts = lanerunner_payments::PayoutSettings {
                    defaults: lanerunner_payments::payouts::domain::Terms {
                        standard_days: p.standard_days,
                        quick_pay_fee_bps: p.quick_pay_enabled.then_some(p.quick_pay_fee_bps),
                    },
                    poll: std::time::Duration::from_millis(p.poll_ms),
                };
                Ok(Started::new(
                    lanerunner_payments::PaymentsService::start(ctx, processor, payouts).await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_storage::SERVICE,
        migrations: lanerunner_storage::migrations,
        sealed: &[],
        // `storage.*`, the keyring file its keys come from, and `public_url` for its links.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let keys = crate::storage_keys::KeyringFile::open_or_create(
                    crate::storage_keys::path_of(&config),
                )?;
                let s = &config.storage;
                let settings = lanerunner_storage::StorageSettings {
                    max_bytes: s.max_upload_bytes,
                    link_max_secs: s.link_max_secs,
                    rewrap_every: std::time::Duration::from_secs(s.rewrap_poll_secs),
                    public_url: config.public_url.clone(),
                };
                Ok(Started::new(
                    lanerunner_storage::StorageService::start(ctx, Arc::new(keys), settings)
                        .await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_documents::SERVICE,
        migrations: lanerunner_documents::migrations,
        sealed: &[],
        // The storage service holds the documents' bytes: a direct call, so documents runs
        // where storage runs.
        start: |ctx, config, peers| {
            Box::pin(async move {
                let storage = peers
                    .get::<lanerunner_storage::StorageService>()
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "the documents service keeps its files in the storage service in the same process: run them together (--services storage,documents)"
                        )
                    })?;
                let files = Arc::new(lanerunner_documents::files::InProcessStorage(
                    storage.storage().clone(),
                ));
                Ok(Started::new(
                    lanerunner_documents::DocumentsService::start(
                        ctx,
                        files,
                        std::time::Duration::from_millis(config.documents.generate_poll_ms),
                    )
                    .await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_tracking::SERVICE,
        migrations: lanerunner_tracking::migrations,
        sealed: &[],
        // `tracking.*`, and `public_url` for the links it makes.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let t = &config.tracking;
                let settings = lanerunner_tracking::Settings {
                    fences: lanerunner_tracking::domain::Fences {
                        radius_miles: t.fence_radius_miles,
                        exit_miles: t.fence_radius_miles * 1.5,
                        free_time: chrono::Duration::minutes(t.free_time_mins),
                    },
                    limits: lanerunner_tracking::domain::Limits {
                        max_mph: t.max_mph,
                        ..Default::default()
                    },
                    detention_cents_per_hour: t.detention_cents_per_hour,
                    share_hours: t.share_hours,
                    retention: chrono::Duration::days(t.retention_days),
                    ..Default::default()
                };
                let service = lanerunner_tracking::TrackingService::start(
                    ctx,
                    settings,
                    config.public_url.clone(),
                    crate::motive::providers(),
                )
                .await?;
                // Devices publish straight to the MQTT broker when one is configured.
                if t.mqtt.url.is_some() {
                    let gateway = crate::mqtt::MqttGateway::connect(&t.mqtt).await?;
                    gateway.serve(service.tracking());
                    service.tracking().set_device_gateway(gateway);
                }
                Ok(Started::new(service))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_webhooks::SERVICE,
        migrations: lanerunner_webhooks::migrations,
        sealed: &[],
        // `webhooks.*`.
        start: |ctx, config, _peers| {
            Box::pin(async move {
                let w = &config.webhooks;
                let settings = lanerunner_webhooks::Settings {
                    retry: lanerunner_webhooks::domain::RetryPolicy {
                        base: std::time::Duration::from_millis(w.retry_base_ms),
                        cap: std::time::Duration::from_secs(w.retry_cap_secs),
                        max_attempts: w.max_attempts,
                        ..Default::default()
                    },
                    timeout: std::time::Duration::from_millis(w.timeout_ms),
                    concurrency: w.concurrency,
                    poll_every: std::time::Duration::from_millis(w.poll_ms),
                    retention: chrono::Duration::days(w.retention_days),
                };
                let sender = Arc::new(crate::webhooks::HttpSender::new(
                    w.allow_private_targets,
                    w.proxy.as_deref(),
                )?);
                Ok(Started::new(
                    lanerunner_webhooks::WebhooksService::start(ctx, sender, settings).await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_notifications::SERVICE,
        migrations: lanerunner_notifications::migrations,
        sealed: lanerunner_notifications::SEALED_FIELDS,
        // `notifications.*`, `twilio.*` (texts; a spool without an account), `public_url`
        // for links and the provider's callbacks, and the negotiation service when it runs
        // in this process (taking an offer by text; without it the reply says to use the
        // app).
        start: |ctx, config, peers| {
            Box::pin(async move {
                let n = &config.notifications;
                let settings = lanerunner_notifications::Settings {
                    public_url: config.public_url.clone(),
                    poll_every: std::time::Duration::from_millis(n.poll_ms),
                    concurrency: n.concurrency,
                    email_per_hour: n.email_per_hour,
                    sms_per_hour: n.sms_per_hour,
                    max_attempts: n.max_attempts,
                    retry_base: std::time::Duration::from_millis(n.retry_base_ms),
                    reply_code_ttl: chrono::Duration::hours(n.reply_code_hours),
                    inbound_text_retention: (n.inbound_text_retention_days > 0)
                        .then(|| chrono::Duration::days(n.inbound_text_retention_days)),
                };
                let sms = crate::sms::gateway(&config.twilio, config.data_dir.clone())?;
                let desk = peers
                    .get::<lanerunner_negotiation_service::NegotiationService>()
                    .map(|n| {
                        Arc::new(crate::offer_desk::NegotiationDesk(n.negotiations().clone()))
                            as Arc<dyn lanerunner_notifications::desk::OfferDesk>
                    });
                Ok(Started::new(
                    lanerunner_notifications::NotificationsService::start(ctx, sms, desk, settings)
                        .await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_voice::SERVICE,
        migrations: lanerunner_voice::migrations,
        sealed: lanerunner_voice::SEALED_FIELDS,
        // `public_url` for the turns' webhook URLs, `twilio.auth_token` for their
        // signatures, and the negotiation service, which vets callers and answers their
        // offers: a direct call (the caller is waiting on the line), so voice runs where
        // negotiation runs.
        start: |ctx, config, peers| {
            Box::pin(async move {
                let negotiation = peers
                    .get::<lanerunner_negotiation_service::NegotiationService>()
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "the voice service negotiates through the negotiation service in the same process: run them together (--services negotiation,voice)"
                        )
                    })?;
                let desk = Arc::new(crate::voice_desk::NegotiationDeal(
                    negotiation.negotiations().clone(),
                ));
                let telephony = Arc::new(crate::voice_desk::TwilioVoice::new(&config.twilio)?);
                let v = &config.voice;
                let settings = lanerunner_voice::Settings {
                    public_url: config.public_url.clone(),
                    check_calls: (v.check_call_after_mins > 0).then(|| {
                        (
                            std::time::Duration::from_secs(v.check_call_after_mins as u64 * 60),
                            std::time::Duration::from_secs(v.check_sweep_secs),
                        )
                    }),
                    transcript_retention: (v.transcript_retention_days > 0)
                        .then(|| chrono::Duration::days(v.transcript_retention_days)),
                };
                Ok(Started::new(
                    lanerunner_voice::VoiceService::start(ctx, desk, telephony, settings).await?,
                ))
            })
        },
    },
    ServiceSpec {
        name: lanerunner_reporting::SERVICE,
        migrations: lanerunner_reporting::migrations,
        sealed: &[],
        // `reporting.*`, `public_url` for the links it emails, and analytics, whose figures
        // it reports: a direct call, so reporting runs where analytics runs.
        start: |ctx, config, peers| {
            Box::pin(async move {
                let analytics = peers
                    .get::<lanerunner_analytics::AnalyticsService>()
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "the reporting service reads its figures from the analytics service in the same process: run them together (--services analytics,reporting)"
                        )
                    })?;
                let source = Arc::new(lanerunner_reporting::source::InProcessAnalytics(
                    analytics.analytics().clone(),
                ));
                let settings = lanerunner_reporting::ReportingSettings {
                    public_url: config.public_url.clone(),
                    poll_every: std::time::Duration::from_secs(config.reporting.schedule_poll_secs),
                };
                Ok(Started::new(
                    lanerunner_reporting::ReportingService::start(ctx, settings, source).await?,
                ))
            })
        },
    },
];

/// Names of every service, for messages.
pub fn names() -> Vec<&'static str> {
    SERVICES.iter().map(|s| s.name).collect()
}

/// The specs for `requested` (all services when empty), in registry order, each once.
/// An unknown name is an error that lists the valid ones.
pub fn select<S: AsRef<str>>(requested: &[S]) -> anyhow::Result<Vec<&'static ServiceSpec>> {
    let requested: Vec<&str> = requested
        .iter()
        .map(|s| s.as_ref().trim())
        .filter(|s| !s.is_empty())
        .collect();
    if requested.is_empty() {
        return Ok(SERVICES.iter().collect());
    }
    let unknown: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|r| !SERVICES.iter().any(|s| s.name == *r))
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!(
            "unknown service(s): {}; valid services are: {}",
            unknown.join(", "),
            names().join(", ")
        );
    }
    Ok(SERVICES
        .iter()
        .filter(|s| requested.contains(&s.name))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_selects_everything_and_unknown_lists_valid_names() {
        assert_eq!(select::<&str>(&[]).unwrap().len(), SERVICES.len());
        assert_eq!(select(&["identity", "identity"]).unwrap().len(), 1);
        let err = select(&["identity", "nope"]).unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("identity"), "{err}");
    }
}
