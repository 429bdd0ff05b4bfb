//! One typed configuration, layered: built-in defaults < TOML file < `LANERUNNER_*`
//! environment < command-line flags. The defaults need nothing installed: SQLite under
//! `./lanerunner-data/`, listening on loopback.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// Where embedded state lives: SQLite files, blobs, the email spool.
    pub data_dir: PathBuf,
    /// The URL users reach this deployment at; used in links sent by email.
    pub public_url: String,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub outbox: OutboxConfig,
    pub log: LogConfig,
    pub tracing: TracingConfig,
    pub email: EmailConfig,
    pub bus: BusConfig,
    pub cache: CacheConfig,
    pub streams: StreamsConfig,
    pub maps: MapsConfig,
    pub loads: LoadsConfig,
    pub analytics: AnalyticsConfig,
    pub ml: MlConfig,
    pub reporting: ReportingConfig,
    pub negotiation: NegotiationConfig,
    pub carriers: CarriersConfig,
    pub storage: StorageConfig,
    pub documents: DocumentsConfig,
    pub tracking: TrackingConfig,
    pub webhooks: WebhooksConfig,
    pub notifications: NotificationsConfig,
    pub twilio: TwilioConfig,
    pub voice: VoiceConfig,
    pub payments: PaymentsConfig,
    pub blob: BlobConfig,
    pub keys: KeysConfig,
    pub backup: BackupConfig,
}

/// `lanerunner backup`: where backups go, who can read them, how many are kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Empty: the directory `<data_dir>-backups` beside the data directory (never inside
    /// it: losing the disk must not lose both). `file:///dir`, or `s3://bucket[/prefix]`.
    pub url: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub allow_http: bool,
    /// S3 credentials; when unset, the standard `AWS_*` environment variables. Masked.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// This deployment's name, written into every backup: a restore refuses a backup of
    /// another deployment (a staging backup restored into production) unless told.
    pub deployment: String,
    /// The age recipients (`age1…` public keys) every backup's data is encrypted to. Only
    /// public keys: an instance that writes backups cannot read them back.
    pub recipients: Vec<String>,
    /// The recipients of the key material (the local key-encryption keyring), encrypted
    /// separately so that one stolen identity never opens both the data and its keys.
    pub keys_recipients: Vec<String>,
    /// Complete backups kept; older ones are deleted after each new backup (0 = all kept).
    pub keep: u32,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
            deployment: "default".into(),
            recipients: Vec::new(),
            keys_recipients: Vec::new(),
            // Every six hours for a week.
            keep: 28,
        }
    }
}

impl BackupConfig {
    /// The blob-store settings of the backup location.
    pub fn store(&self, data_dir: &Path) -> BlobConfig {
        let url = if self.url.trim().is_empty() {
            let mut sibling = data_dir.as_os_str().to_owned();
            sibling.push("-backups");
            let dir = PathBuf::from(sibling);
            let dir = std::path::absolute(&dir).unwrap_or(dir);
            format!("file://{}", dir.display())
        } else {
            self.url.clone()
        };
        BlobConfig {
            url,
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            allow_http: self.allow_http,
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
        }
    }
}

/// The analytics service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Reports a lane aggregate needs before it is shown (DAT: 7).
    pub min_reports: u32,
    /// Different reporting companies it needs (DAT: 3); at least 2, so no one company's
    /// rates are ever shown alone.
    pub min_companies: u32,
    /// How often accepted records are written to the Parquet archive in the blob store.
    pub archive_interval_secs: u64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            min_reports: 7,
            min_companies: 3,
            archive_interval_secs: 60,
        }
    }
}

/// Which key-encryption key wraps the data keys that seal sensitive fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KekBackend {
    /// The keyring file (`storage.keyring_file`), the one storage's objects use.
    Local,
    /// An AWS KMS key (`keys.kms_key_id`): the key never leaves KMS; data keys are
    /// wrapped and unwrapped by its `Encrypt` and `Decrypt`.
    AwsKms,
}

/// Envelope encryption of sensitive fields (`crate::sealing`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    pub kek: KekBackend,
    /// The KMS key (id, ARN or `alias/…`) new data keys are wrapped with.
    pub kms_key_id: Option<String>,
    /// A KMS endpoint other than AWS's (a local moto server in the tests).
    pub kms_endpoint: Option<String>,
    pub kms_region: String,
    /// KMS credentials; when unset, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    /// Masked by `config check`.
    pub kms_access_key_id: Option<String>,
    pub kms_secret_access_key: Option<String>,
    /// How often every instance re-reads which data key is active (so a rotation made by
    /// another instance is used for new writes within this long).
    pub active_refresh_secs: u64,
    /// How often every instance's sweep re-seals fields still under an older data key (or
    /// in the clear) and rewraps data keys still under an older key-encryption key.
    pub sweep_poll_secs: u64,
    /// Records re-sealed per statement batch.
    pub sweep_batch: u32,
    /// A replaced data key is retired (its wrapped copy erased) once nothing uses it and
    /// it has been replaced at least this long: longer than any instance can still be
    /// writing with it (`active_refresh_secs` plus an in-flight request).
    pub retire_after_secs: u64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            kek: KekBackend::Local,
            kms_key_id: None,
            kms_endpoint: None,
            kms_region: "us-east-1".into(),
            kms_access_key_id: None,
            kms_secret_access_key: None,
            active_refresh_secs: 2,
            sweep_poll_secs: 60,
            sweep_batch: 500,
            retire_after_secs: 300,
        }
    }
}

/// The blob store (`crate::blob`): files, archives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobConfig {
    /// Empty: `<data_dir>/blobs`. `file:///dir`, or `s3://bucket[/prefix]` (credentials
    /// from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
    pub url: String,
    /// An S3-compatible endpoint other than AWS (MinIO, a local moto server).
    pub endpoint: Option<String>,
    pub region: String,
    /// Allow plain HTTP to the endpoint (a local test server only).
    pub allow_http: bool,
    /// S3 credentials; when unset, the standard `AWS_*` environment variables are read.
    /// Masked by `config check`.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl Default for BlobConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

/// The rate model service (`ml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlConfig {
    /// How often every instance checks which model version is active, so a publish or a
    /// rollback reaches all of them without a restart.
    pub reload_interval_secs: u64,
}

impl Default for MlConfig {
    fn default() -> Self {
        Self {
            reload_interval_secs: 5,
        }
    }
}

/// The negotiation service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NegotiationConfig {
    pub language_model: LanguageModelConfig,
}

/// An OpenAI-compatible chat-completions endpoint that reads the messages the offer
/// parser cannot. Off unless `base_url` is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageModelConfig {
    /// E.g. `https://api.openai.com/v1`, or any server speaking that API.
    pub base_url: Option<String>,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout_ms: u64,
}

impl Default for LanguageModelConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            model: "gpt-4o-mini".into(),
            api_key: None,
            timeout_ms: 5_000,
        }
    }
}

/// Where the carriers service checks a carrier's operating authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CarrierRegistry {
    /// No registry: a carrier's declaration stands, marked unverified (embedded default).
    SelfDeclared,
    /// FMCSA's QCMobile API (`carriers.fmcsa`).
    Fmcsa,
}

/// The carriers service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarriersConfig {
    pub registry: CarrierRegistry,
    pub fmcsa: FmcsaConfig,
    /// How long a check stands before it is made again.
    pub recheck_hours: u32,
    /// How often every instance looks for due re-checks.
    pub sweep_poll_secs: u64,
}

impl Default for CarriersConfig {
    fn default() -> Self {
        Self {
            registry: CarrierRegistry::SelfDeclared,
            fmcsa: FmcsaConfig::default(),
            recheck_hours: 24,
            sweep_poll_secs: 300,
        }
    }
}

/// The storage service (its bytes go to `blob.*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Largest file accepted, in bytes (default 25 MiB: a multi-page scan or a phone photo).
    pub max_upload_bytes: usize,
    /// Longest a signed download link may work, in seconds (default 7 days).
    pub link_max_secs: i64,
    /// How often every instance moves data keys still under an older key-encryption key
    /// version to the current one.
    pub rewrap_poll_secs: u64,
    /// The key-encryption keyring file (JSON: `{"current": 2, "keys": {"1": "<base64>", …}}`).
    /// Unset: `<data_dir>/keys/storage-keyring.json`, created with one key on first start.
    /// At scale, mount it from a secret; `lanerunner keys rotate-storage` adds a version.
    pub keyring_file: Option<PathBuf>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 25 << 20,
            link_max_secs: 7 * 86_400,
            rewrap_poll_secs: 60,
            keyring_file: None,
        }
    }
}

/// Who collects invoices online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProcessorKind {
    /// None: invoices are paid outside LaneRunner and recorded by hand (embedded default).
    Manual,
    /// Stripe (`payments.stripe`).
    Stripe,
}

/// The payment service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    pub processor: PaymentProcessorKind,
    pub stripe: StripeConfig,
    pub payouts: PayoutsConfig,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            processor: PaymentProcessorKind::Manual,
            stripe: StripeConfig::default(),
            payouts: PayoutsConfig::default(),
        }
    }
}

/// Carrier payouts: the terms a broker offers until it sets its own, and the sweep that
/// pays what is due.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PayoutsConfig {
    /// Standard terms: paid this many days after the load's paperwork is complete.
    pub standard_days: i64,
    /// Quick pay's fee, in basis points of the rate (Truckstop's QuickPay: 299, 2.99 %).
    pub quick_pay_fee_bps: i64,
    /// Whether quick pay is offered at all.
    pub quick_pay_enabled: bool,
    /// How often due payouts are sent, in milliseconds.
    pub poll_ms: u64,
}

impl Default for PayoutsConfig {
    fn default() -> Self {
        Self {
            standard_days: 30,
            quick_pay_fee_bps: 299,
            quick_pay_enabled: true,
            poll_ms: 5000,
        }
    }
}

/// Stripe's API and this endpoint's webhook secrets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StripeConfig {
    pub api_base: String,
    /// The secret key (`sk_...`); required when `payments.processor = "stripe"`.
    pub secret_key: Option<String>,
    /// The webhook endpoint's signing secrets (`whsec_...`): two while one is rotated.
    pub webhook_secrets: Vec<String>,
    /// How old a webhook's signature may be, in seconds (Stripe's default: 300).
    pub webhook_tolerance_secs: i64,
    pub timeout_ms: u64,
    /// How shippers may pay an invoice: `card`, `us_bank_account` (ACH debit).
    pub payment_method_types: Vec<String>,
    /// Where carriers' connected accounts are opened (ISO country).
    pub connect_country: String,
}

impl Default for StripeConfig {
    fn default() -> Self {
        Self {
            api_base: "https://api.stripe.com".into(),
            secret_key: None,
            webhook_secrets: Vec::new(),
            webhook_tolerance_secs: 300,
            timeout_ms: 10_000,
            payment_method_types: vec!["card".into(), "us_bank_account".into()],
            connect_country: "US".into(),
        }
    }
}

/// The tracking service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// A stop's geofence: arriving inside this radius, leaving past 1.5 times it.
    pub fence_radius_miles: f64,
    /// Time at a stop before detention accrues (from arrival, or the appointment if early).
    pub free_time_mins: i64,
    /// Detention billed per hour, in cents.
    pub detention_cents_per_hour: i64,
    /// How long a shipper's tracking link works unless asked otherwise.
    pub share_hours: i64,
    /// The fastest a truck is believed to go between two positions.
    pub max_mph: f64,
    /// Days positions are kept after a load's tracking ends; then they are deleted.
    pub retention_days: i64,
    pub mqtt: MqttConfig,
}

/// The voice service's automated check calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// A load on the road with no position for this long (or none at all since it was
    /// dispatched) gets a check call to the carrier's dispatch number; 0 turns automatic
    /// check calls off (a broker can still place one).
    pub check_call_after_mins: i64,
    /// How often the service looks for loads that need one.
    pub check_sweep_secs: u64,
    /// Days a call's transcript is kept after the call started (personal data: what the
    /// caller said); then an hourly job deletes it, keeping the call. 0 keeps them.
    pub transcript_retention_days: i64,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            check_call_after_mins: 240,
            check_sweep_secs: 300,
            transcript_retention_days: 90,
        }
    }
}

/// The MQTT broker devices publish positions to (Mosquitto with its dynamic security
/// plugin: LaneRunner's account administers one account per carrier and reads positions).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// `mqtt://host:port`; unset: no device gateway.
    pub url: Option<String>,
    pub username: String,
    /// Masked by `config check`.
    pub password: Option<String>,
    /// Positions are published under `<topic_prefix>/positions/<carrier org>/<load id>`.
    pub topic_prefix: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: None,
            username: "lanerunner".into(),
            password: None,
            topic_prefix: "lanerunner".into(),
        }
    }
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            fence_radius_miles: 1.0,
            free_time_mins: 120,
            detention_cents_per_hour: 5_000,
            share_hours: 7 * 24,
            max_mph: 100.0,
            retention_days: 30,
            mqtt: MqttConfig::default(),
        }
    }
}

/// The documents service (its files go to the storage service).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsConfig {
    /// How often the sweep generates the paperwork of new bookings, in milliseconds.
    pub generate_poll_ms: u64,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            generate_poll_ms: 1000,
        }
    }
}

/// The outgoing webhooks service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// How long a customer's endpoint has to answer, in milliseconds.
    pub timeout_ms: u64,
    /// Deliveries in flight at once, per instance.
    pub concurrency: usize,
    /// How often an idle dispatcher looks for due deliveries, in milliseconds.
    pub poll_ms: u64,
    /// The first retry's delay, in milliseconds; each next one doubles it, up to
    /// `retry_cap_secs`.
    pub retry_base_ms: u64,
    pub retry_cap_secs: u64,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// Days a settled delivery stays in the log.
    pub retention_days: i64,
    /// Whether endpoints may be on loopback, private or link-local addresses. Off, the
    /// sender refuses them when it connects (no one can aim LaneRunner at the network
    /// it runs in); on, for a local receiver in development and tests.
    pub allow_private_targets: bool,
    /// An egress proxy for every delivery (`http://host:port`), as Svix's `proxy_addr`:
    /// outbound traffic through one audited exit, which then decides where it may go.
    pub proxy: Option<String>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 15_000,
            concurrency: 64,
            poll_ms: 250,
            retry_base_ms: 5_000,
            retry_cap_secs: 5 * 3600,
            max_attempts: 15,
            retention_days: 30,
            allow_private_targets: false,
            proxy: None,
        }
    }
}

/// The notifications service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// How often an idle dispatcher looks for due emails and texts, in milliseconds.
    pub poll_ms: u64,
    /// Emails and texts in flight at once, per instance.
    pub concurrency: usize,
    /// Immediate emails per person and hour; beyond it the rest of the hour's news goes
    /// into the digest.
    pub email_per_hour: u32,
    /// Immediate texts per person and hour, likewise.
    pub sms_per_hour: u32,
    /// Attempts at a text before it is given up.
    pub max_attempts: i32,
    /// The first retry's delay, in milliseconds (doubling, up to an hour).
    pub retry_base_ms: u64,
    /// Hours the code in a texted offer ("YES 4821") can take it.
    pub reply_code_hours: i64,
    /// Days texts received keep their number and words (personal data); then an hourly
    /// job empties them, keeping the message id and outcome. 0 keeps them.
    pub inbound_text_retention_days: i64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            poll_ms: 250,
            concurrency: 32,
            email_per_hour: 20,
            sms_per_hour: 6,
            max_attempts: 8,
            retry_base_ms: 10_000,
            reply_code_hours: 24,
            inbound_text_retention_days: 90,
        }
    }
}

/// Twilio: texts (the Messages API), phone verification (Verify) and the signatures on
/// what it sends us. Without an account SID texts are written to the spool
/// (`<data_dir>/sms/`) and codes are shown there, for development.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioConfig {
    pub account_sid: Option<String>,
    /// Also the key every inbound request's `X-Twilio-Signature` is checked with.
    pub auth_token: Option<String>,
    /// The number texts come from (E.164), unless a messaging service picks it.
    pub from_number: Option<String>,
    pub messaging_service_sid: Option<String>,
    /// The Verify service that sends phone verification codes.
    pub verify_service_sid: Option<String>,
    pub api_base_url: String,
    pub verify_base_url: String,
    pub timeout_ms: u64,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: None,
            auth_token: None,
            from_number: None,
            messaging_service_sid: None,
            verify_service_sid: None,
            api_base_url: "https://api.twilio.com".into(),
            verify_base_url: "https://verify.twilio.com".into(),
            timeout_ms: 10_000,
        }
    }
}

/// FMCSA's QCMobile API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FmcsaConfig {
    pub base_url: String,
    /// The QCMobile web key (required when `carriers.registry = "fmcsa"`).
    pub web_key: Option<String>,
    pub timeout_ms: u64,
}

impl Default for FmcsaConfig {
    fn default() -> Self {
        Self {
            base_url: "https://mobile.fmcsa.dot.gov/qc/services".into(),
            web_key: None,
            timeout_ms: 5_000,
        }
    }
}

/// The reporting service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportingConfig {
    /// How often every instance looks for report schedules that are due; one instance
    /// makes each run.
    pub schedule_poll_secs: u64,
}

impl Default for ReportingConfig {
    fn default() -> Self {
        Self {
            schedule_poll_secs: 30,
        }
    }
}

/// The loads service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadsConfig {
    /// How many days before now a stop time, a truck's availability or a search date may
    /// lie (drafts entered after the fact, history).
    pub horizon_days_past: u32,
    /// How many days after now they may lie (a season of planning, not year 9999).
    pub horizon_days_ahead: u32,
    /// How often each instance writes a snapshot of its load board to the blob store, which
    /// the next instance starts from instead of re-reading every posted load (0 = never).
    pub board_snapshot_interval_secs: u64,
    /// A snapshot older than this is not used (the catch-up from the store would re-read
    /// too much): the board is rebuilt from the store instead.
    pub board_snapshot_max_age_secs: u64,
}

impl Default for LoadsConfig {
    fn default() -> Self {
        Self {
            horizon_days_past: 30,
            horizon_days_ahead: 365,
            board_snapshot_interval_secs: 300,
            board_snapshot_max_age_secs: 3_600,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BusBackend {
    /// Queues in this process ([`crate::bus::InMemoryBus`]).
    InProcess,
    /// A RabbitMQ broker at `bus.url` ([`crate::bus::RabbitMqBus`]).
    Rabbitmq,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    pub backend: BusBackend,
    /// `amqp://user:password@host:5672/%2f` (`amqps://…:5671/…` for TLS, the broker's
    /// certificate verified); required when `backend = "rabbitmq"`.
    pub url: Option<String>,
    /// A private CA's certificate (PEM) that an `amqps://` broker's certificate may chain
    /// to, besides the system's roots.
    pub tls_ca_file: Option<PathBuf>,
    /// With `amqps://`, when the broker asks clients for a certificate
    /// (`ssl_options.fail_if_no_peer_cert = true`): this process's certificate and its
    /// PKCS#8 key (PEM), both or neither.
    pub tls_client_cert_file: Option<PathBuf>,
    pub tls_client_key_file: Option<PathBuf>,
    /// Every exchange and queue is named `<namespace>.…` (`lanerunner.events`); deployments
    /// sharing a broker (or tests) use different namespaces.
    pub namespace: String,
    /// Deliveries of one event to one group before it is dead-lettered.
    pub max_attempts: u32,
    /// Redelivery waits this long times the attempt number.
    pub redelivery_delay_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheBackend {
    /// A map in this process ([`crate::cache::InMemoryCache`]).
    InMemory,
    /// A Redis server at `cache.url`, or the master its Sentinels name
    /// ([`crate::cache::RedisCache`]).
    Redis,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    pub backend: CacheBackend,
    /// `redis://[:password@]host:6379[/db]`, or with Sentinel
    /// `redis+sentinel://[:password@]host:26379,host:26379/<master>[/db][?sentinel_password=…][&check_secs=30]`
    /// (`rediss…` for TLS); required when `backend = "redis"`.
    pub url: Option<String>,
    /// Prepended to every key, so deployments (and tests) can share one server.
    pub prefix: String,
    /// With a `rediss://` URL: the PEM CA certificate(s) the servers' certificates must chain
    /// to, besides the Mozilla roots (a private CA). The host name is always checked.
    pub tls_ca_file: Option<PathBuf>,
    /// With a `rediss://` URL, when the servers ask clients for a certificate
    /// (`tls-auth-clients yes`): this process's certificate and its key (PEM), both or neither.
    pub tls_client_cert_file: Option<PathBuf>,
    pub tls_client_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MapsProvider {
    /// The vendored gazetteer and great-circle × road-factor miles; no network.
    Offline,
    /// Google Maps Geocoding and Distance Matrix APIs (`maps.google`).
    Google,
}

/// Geocoding and road distances.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MapsConfig {
    pub provider: MapsProvider,
    pub google: GoogleMapsConfig,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GoogleMapsConfig {
    /// Maps Platform key with the Geocoding and Distance Matrix APIs enabled; required
    /// when `provider = "google"`. A secret: masked by `config check` and `Debug`.
    pub api_key: Option<String>,
    pub base_url: String,
    /// Whole-request timeout.
    pub timeout_ms: u64,
    /// Geocoding answers kept in memory (the same cities repeat); 0 turns it off.
    pub cache_capacity: usize,
    pub cache_ttl_secs: u64,
}

impl std::fmt::Debug for GoogleMapsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleMapsConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "****"))
            .field("base_url", &self.base_url)
            .field("timeout_ms", &self.timeout_ms)
            .field("cache_capacity", &self.cache_capacity)
            .field("cache_ttl_secs", &self.cache_ttl_secs)
            .finish()
    }
}

impl Default for MapsConfig {
    fn default() -> Self {
        Self {
            provider: MapsProvider::Offline,
            google: GoogleMapsConfig::default(),
        }
    }
}

impl Default for GoogleMapsConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: "https://maps.googleapis.com".into(),
            timeout_ms: 5_000,
            cache_capacity: 10_000,
            cache_ttl_secs: 86_400,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamsBackend {
    /// Partitioned logs in this process ([`crate::streams::InProcessStreams`]).
    InProcess,
    /// A Kafka cluster at `streams.brokers` ([`crate::streams::KafkaStreams`]).
    Kafka,
}

/// Keyed, partitioned, retained streams (the audit/analytics stream; positions later).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamsConfig {
    pub backend: StreamsBackend,
    /// `host:port[,host:port…]`; required when `backend = "kafka"`.
    pub brokers: Option<String>,
    /// Every topic and consumer group is named `<topic_prefix><name>` (`lanerunner.audit`);
    /// deployments sharing a cluster (or tests) use different prefixes.
    pub topic_prefix: String,
    /// Partitions of each topic LaneRunner creates; records of one key stay in one.
    pub partitions: u32,
    /// Replicas of each partition LaneRunner creates (Kafka only).
    pub replication_factor: u16,
    /// How long a topic keeps its records.
    pub retention_hours: u64,
    /// TLS to the brokers, their certificates and names verified (Kafka only).
    pub tls: bool,
    /// A private CA's certificate (PEM) the brokers' certificates chain to, instead of
    /// the system's roots; only with `tls`.
    pub tls_ca_file: Option<PathBuf>,
    /// With `tls`, when the brokers ask clients for a certificate (`ssl.client.auth =
    /// required`): this process's certificate and its key (PEM), both or neither.
    pub tls_client_cert_file: Option<PathBuf>,
    pub tls_client_key_file: Option<PathBuf>,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        Self {
            backend: StreamsBackend::InProcess,
            brokers: None,
            topic_prefix: "lanerunner.".into(),
            partitions: 6,
            replication_factor: 1,
            retention_hours: 168,
            tls: false,
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
        }
    }
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            backend: BusBackend::InProcess,
            url: None,
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
            namespace: "lanerunner".into(),
            max_attempts: 5,
            redelivery_delay_ms: 200,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            backend: CacheBackend::InMemory,
            url: None,
            prefix: "lanerunner:".into(),
            tls_ca_file: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://…` selects PostgreSQL; unset means SQLite files under `data_dir`. A
    /// libpq-style host list (`postgres://u:p@db-a:5432,db-b:5432/lanerunner`) names a
    /// primary and its standbys: writes go to the first host that accepts them, and every
    /// pool follows a failover to the promoted standby by itself.
    pub url: Option<String>,
    /// A streaming replica of `url` (`postgres://…`, same database name) for reads that
    /// tolerate lag: load-board rebuilds, truck search, reports. Unset: the primary serves
    /// them too.
    pub read_url: Option<String>,
    /// How the servers at `url` and `read_url` lend connections: `session` (PostgreSQL
    /// itself, or a pooler in session mode: a connection is the client's for its life) or
    /// `transaction` (PgBouncer or another pooler in transaction mode: every statement then
    /// runs in a transaction that names the service's schema, with unnamed prepared
    /// statements; `direct_url` is required).
    pub pooling: Pooling,
    /// PostgreSQL itself, not a pooler, for what a transaction pooler forbids: migrations
    /// (they hold a session-level advisory lock) and backups. Defaults to `url`.
    pub direct_url: Option<String>,
    pub max_connections: u32,
    /// How long a request waits for a pooled connection.
    pub acquire_timeout_ms: u64,
}

/// How a PostgreSQL server (or the pooler in front of it) lends connections
/// (`database.pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    Session,
    Transaction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    /// How long a SIGTERM waits for in-flight requests before exiting anyway.
    pub shutdown_grace_ms: u64,
    /// Authenticated requests one principal (user or API key) may make per minute, counted
    /// in the cache so the limit is one limit across every instance; 0 turns every limit
    /// and quota off. An organization on a plan (`plans`) has that plan's limits instead.
    pub rate_limit_per_minute: u32,
    /// Plans by name: an organization's plan (set by `lanerunner org plan`) gives its
    /// callers this per-minute limit and the organization a daily quota.
    pub plans: std::collections::BTreeMap<String, PlanLimits>,
    /// Tighter limits for routes that cost more, per principal and route, whatever the plan.
    pub route_limits: Vec<RouteLimit>,
    /// When set, `/metrics` (with `/healthz` and `/readyz`) is served on this address only,
    /// and not on the API listener, so operators need not expose it to API clients.
    pub ops_listen: Option<SocketAddr>,
    /// Serve the OpenAPI document and the interactive docs on the API listener.
    pub public_docs: bool,
    /// Serve the web console at `/` (an API-only instance turns it off).
    pub console: bool,
    /// Compress responses of at least `compress_min_bytes` with gzip for clients that send
    /// `Accept-Encoding: gzip` (a page of 50 board hits goes from about 72 KB to under a
    /// tenth); 0 turns it off.
    pub compress_min_bytes: u16,
    /// A raster tile server for the console's maps (`https://tiles.example.com/{z}/{x}/{y}.png`);
    /// unset, the maps draw North America from the bundled boundaries and need no server.
    pub console_tile_url: Option<String>,
    /// The attribution the tile server's licence asks for, shown on every map.
    pub console_tile_attribution: Option<String>,
    /// Load balancers and proxies in front of LaneRunner (CIDRs or addresses): from these
    /// peers only, `X-Forwarded-For` names the client (read from the right, past every
    /// trusted hop). Empty: the connection's peer is the client, whatever a header says.
    pub trusted_proxies: Vec<String>,
    /// Browser origins (`https://tms.example.com`, or `*`) allowed to call the API from
    /// their pages (CORS). Empty: none but the console's own.
    pub cors_allowed_origins: Vec<String>,
    /// Retired path prefixes: answered with `Deprecation`, `Sunset` and a successor link,
    /// and `410 Gone` after the sunset (`[[http.deprecations]]` tables in TOML).
    pub deprecations: Vec<crate::http::gateway::Deprecation>,
    /// TLS on the API listener (`[http.tls]`); off unless a certificate is named.
    pub tls: TlsConfig,
}

/// TLS termination by `serve` itself (behind a load balancer that terminates TLS, leave it
/// off and list the balancer in `trusted_proxies`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first); with `key_file`, turns TLS on.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) belonging to the certificate.
    pub key_file: Option<PathBuf>,
    /// How often the two files are checked for a renewal, which is then loaded without a
    /// restart (a pair that fails its checks is refused and the current one kept).
    pub reload_secs: u64,
    /// What plain HTTP gets, on the API port and on `plain_listen`: `redirect` (GET and
    /// HEAD to `https://`, the rest refused) or `refuse`.
    pub plain_http: crate::http::tls::PlainHttp,
    /// An extra plain-HTTP listener (`0.0.0.0:80`) that only redirects or refuses.
    pub plain_listen: Option<SocketAddr>,
    /// The HTTPS port that `plain_listen`'s redirects name (default: the API listener's).
    pub https_port: Option<u16>,
    /// `Strict-Transport-Security` max-age on every TLS response; 0 sends none.
    pub hsts_max_age_secs: u64,
    pub hsts_include_subdomains: bool,
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some()
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            reload_secs: 30,
            plain_http: crate::http::tls::PlainHttp::Redirect,
            plain_listen: None,
            https_port: None,
            hsts_max_age_secs: 31_536_000,
            hsts_include_subdomains: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    /// A signing key signs new tokens for this long, then a new one is made; the old key
    /// keeps verifying until every token it signed has expired.
    pub signing_key_rotation_days: i64,
    /// Failed logins allowed per account, and per client address, in `throttle_window_secs`.
    pub max_failed_logins_per_account: u64,
    pub max_failed_logins_per_address: u64,
    pub throttle_window_secs: u64,
    /// Flows anyone may start without signing in (signup, password reset, accepting an
    /// invitation, resending a verification email) send mail or hash a password: each is
    /// limited per client address and per email address (or user) in `account_flow_window_secs`.
    pub max_account_flows_per_address: u64,
    pub max_account_flows_per_email: u64,
    pub account_flow_window_secs: u64,
    pub invitation_ttl_hours: i64,
    pub password_reset_ttl_minutes: i64,
    pub email_verification_ttl_hours: i64,
    /// Argon2id memory cost in KiB (OWASP: 19456 with t=2, p=1). Tests may lower it.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// How often each audit chain's head is written down (the database and object
    /// storage), in minutes; 0 turns the job off (`lanerunner audit anchor` still works).
    pub audit_anchor_every_mins: u64,
    /// The version of the terms of service in force: consent is recorded against it, and
    /// a person whose consent names an older one is asked again (GDPR art. 7).
    pub terms_version: String,
    /// The version of the privacy notice in force (also governs marketing consent).
    pub privacy_notice_version: String,
    /// Whether joining (signing up, accepting an invitation) requires accepting the
    /// terms in force (`terms_version` in the request), recorded as consent.
    pub terms_required: bool,
    /// How long the audit trail keeps each record's client address, in days (0: as long
    /// as the record). The record itself is kept; its address is erased (GDPR art. 5(1)(e)).
    pub audit_address_retention_days: u32,
}

/// One plan's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Requests per principal per minute.
    pub per_minute: u32,
    /// Requests per organization per day (UTC); 0: no quota.
    #[serde(default)]
    pub daily_quota: u64,
}

/// A tighter per-minute limit for the routes under `path` (and of `method`, if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteLimit {
    #[serde(default)]
    pub method: Option<String>,
    /// A path prefix under `/v1/` (`/v1/loads/search`).
    pub path: String,
    pub per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// The relay wakes on every commit; this poll is the safety net for missed wake-ups.
    pub poll_interval_ms: u64,
    pub batch_size: i64,
    /// How long a published event stays in its service's outbox, in hours (0: for ever).
    /// The bus and the stream keep their own copies under their own retention.
    pub retention_hours: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    /// One JSON object a line, `tracing`'s own shape.
    Json,
    /// One JSON object a line in the Elastic Common Schema (`@timestamp`, `log.level`,
    /// `message`, `trace.id`, `span.id`, `http.request.id`, …), for Elasticsearch.
    Ecs,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info,lanerunner=debug`.
    pub level: String,
}

/// Distributed tracing: spans exported over OTLP/HTTP (JSON) to a collector, Jaeger or any
/// backend that speaks OTLP, with the W3C trace context carried across HTTP, the bus, the
/// streams and the outbox (`telemetry/otel.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TracingConfig {
    /// Where spans go: the collector's OTLP/HTTP address (`http://otel-collector:4318`,
    /// `/v1/traces` is added when no path is given) or the full traces URL. Unset: no
    /// spans are exported, and an incoming `traceparent` is passed on unchanged.
    pub otlp_endpoint: Option<String>,
    /// The share of new traces recorded, 0.0 to 1.0. A request that arrives with a
    /// `traceparent` follows its caller's decision, so a trace is never cut in half.
    pub sample_ratio: f64,
    /// `service.name` of this process's spans; give each group of services its own
    /// (`lanerunner-marketplace`) so a trace shows which process did what.
    pub service_name: String,
    /// How long one export may take before it is given up (the spans are dropped, the
    /// requests are not slowed).
    pub export_timeout_ms: u64,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            sample_ratio: 1.0,
            service_name: "lanerunner".into(),
            export_timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub from: String,
    /// Send over SMTP instead of writing to the spool directory: lettre's URL,
    /// `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required` (STARTTLS),
    /// or `smtp://host:port` for a relay on this machine.
    pub smtp_url: Option<String>,
    /// How long one SMTP conversation may take before it is given up and retried.
    pub smtp_timeout_ms: u64,
    /// Emails in flight at once per instance (over pooled SMTP connections).
    pub concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./lanerunner-data"),
            public_url: "http://127.0.0.1:8080".into(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            outbox: OutboxConfig::default(),
            log: LogConfig::default(),
            tracing: TracingConfig::default(),
            email: EmailConfig::default(),
            bus: BusConfig::default(),
            cache: CacheConfig::default(),
            streams: StreamsConfig::default(),
            maps: MapsConfig::default(),
            loads: LoadsConfig::default(),
            analytics: AnalyticsConfig::default(),
            ml: MlConfig::default(),
            reporting: ReportingConfig::default(),
            negotiation: NegotiationConfig::default(),
            carriers: CarriersConfig::default(),
            storage: StorageConfig::default(),
            documents: DocumentsConfig::default(),
            tracking: TrackingConfig::default(),
            webhooks: WebhooksConfig::default(),
            notifications: NotificationsConfig::default(),
            twilio: TwilioConfig::default(),
            voice: VoiceConfig::default(),
            payments: PaymentsConfig::default(),
            blob: BlobConfig::default(),
            keys: KeysConfig::default(),
            backup: BackupConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            read_url: None,
            pooling: Pooling::Session,
            direct_url: None,
            max_connections: 10,
            acquire_timeout_ms: 5_000,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1 << 20,
            request_timeout_ms: 30_000,
            shutdown_grace_ms: 20_000,
            rate_limit_per_minute: 1_200,
            ops_listen: None,
            public_docs: true,
            console: true,
            compress_min_bytes: 1_024,
            console_tile_url: None,
            console_tile_attribution: None,
            trusted_proxies: Vec::new(),
            plans: std::collections::BTreeMap::new(),
            route_limits: Vec::new(),
            cors_allowed_origins: Vec::new(),
            deprecations: Vec::new(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "lanerunner".into(),
            audience: "lanerunner-api".into(),
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            signing_key_rotation_days: 30,
            max_failed_logins_per_account: 5,
            max_failed_logins_per_address: 50,
            throttle_window_secs: 900,
            max_account_flows_per_address: 30,
            max_account_flows_per_email: 5,
            account_flow_window_secs: 3600,
            invitation_ttl_hours: 72,
            password_reset_ttl_minutes: 30,
            email_verification_ttl_hours: 48,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            audit_anchor_every_mins: 60,
            terms_version: "2026-11-01".into(),
            privacy_notice_version: "2026-11-01".into(),
            terms_required: true,
            audit_address_retention_days: 365,
        }
    }
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 500,
            batch_size: 100,
            retention_hours: 168,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
        }
    }
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            from: "LaneRunner <no-reply@lanerunner.local>".into(),
            smtp_url: None,
            smtp_timeout_ms: 30_000,
            concurrency: 8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// Flat environment names people expect (`LANERUNNER_DATABASE_URL`) mapped onto nested keys;
/// any other nested key is reachable with `__` (`LANERUNNER_AUTH__ISSUER`).
const ENV_ALIASES: &[(&str, &str)] = &[
    ("database_url", "database.url"),
    ("database_read_url", "database.read_url"),
    ("database_direct_url", "database.direct_url"),
    ("database_pooling", "database.pooling"),
    ("log_format", "log.format"),
    ("log_level", "log.level"),
    ("public_url", "public_url"),
    ("data_dir", "data_dir"),
    ("bus_url", "bus.url"),
    ("cache_url", "cache.url"),
    ("streams_brokers", "streams.brokers"),
    ("google_maps_api_key", "maps.google.api_key"),
];

impl Config {
    /// Defaults, then the file (if given), then the environment. The caller applies flags.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            fig = fig.merge(Toml::file_exact(path));
        }
        // `LANERUNNER_CONFIG` names the file and `LANERUNNER_TEST_*` configures the test
        // harness: neither is a configuration key.
        let env = Env::prefixed("LANERUNNER_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                key != "config" && !key.starts_with("test_")
            })
            .map(|key| {
                let lower = key.as_str().to_ascii_lowercase();
                ENV_ALIASES
                    .iter()
                    .find(|(flat, _)| *flat == lower)
                    .map(|(_, nested)| (*nested).into())
                    .unwrap_or_else(|| lower.replace("__", ".").into())
            });
        let config: Config = fig.merge(env).extract().map_err(Box::new)?;
        config.validate()?;
        Ok(config)
    }

    /// `database.*`: the URLs, and what transaction pooling asks of them.
    fn validate_database(&self) -> Result<(), ConfigError> {
        use crate::db::hosts::{parse, Role};
        fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                key,
                message: message.into(),
            }
        }
        let db = &self.database;
        // Whether `url` (at `key`) lists several hosts; refused unless it is a postgres:// URL.
        let host_list = |key: &'static str, url: &str, role: Role, refusal: &str| {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(invalid(key, refusal));
            }
            match parse(url, role) {
                Ok(list) => Ok(list.is_some()),
                Err(e) => Err(invalid(key, e.to_string())),
            }
        };
        let needs_url = |key: &'static str, why: &str| {
            if db.url.is_none() {
                return Err(invalid(key, format!("needs database.url: {why}")));
            }
            Ok(())
        };
        let mut lists = Vec::new();
        if let Some(url) = &db.url {
            let refusal = "must be a postgres:// URL (leave unset for embedded SQLite)";
            if host_list("database.url", url, Role::Writer, refusal)? {
                lists.push("database.url");
            }
        }
        if let Some(url) = &db.read_url {
            needs_url(
                "database.read_url",
                "a read replica is of a PostgreSQL primary",
            )?;
            let refusal = "must be a postgres:// URL";
            if host_list("database.read_url", url, Role::Reader, refusal)? {
                lists.push("database.read_url");
            }
        }
        if let Some(url) = &db.direct_url {
            needs_url(
                "database.direct_url",
                "it is the same PostgreSQL, reached without a pooler",
            )?;
            host_list(
                "database.direct_url",
                url,
                Role::Writer,
                "must be a postgres:// URL",
            )?;
        }
        if db.pooling == Pooling::Transaction {
            if db.url.is_none() {
                return Err(invalid(
                    "database.pooling",
                    "\"transaction\" is for a pooler in front of PostgreSQL: set database.url",
                ));
            }
            if db.direct_url.is_none() {
                return Err(invalid(
                    "database.direct_url",
                    "required with database.pooling = \"transaction\": migrations hold a \
                     session-level lock, which a transaction pooler cannot keep",
                ));
            }
            if let Some(&key) = lists.first() {
                return Err(invalid(
                    key,
                    "one host with database.pooling = \"transaction\": the pooler follows \
                     the primary (a host list belongs in database.direct_url)",
                ));
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                key,
                message: message.into(),
            }
        }
        self.validate_database()?;
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        if let Some(url) = &self.email.smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                return Err(invalid(
                    "email.smtp_url",
                    "must be an smtp:// or smtps:// URL",
                ));
            }
        }
        if self.twilio.account_sid.is_some() {
            if self.twilio.auth_token.is_none() {
                return Err(invalid(
                    "twilio.auth_token",
                    "required with twilio.account_sid",
                ));
            }
            if self.twilio.from_number.is_none() && self.twilio.messaging_service_sid.is_none() {
                return Err(invalid(
                    "twilio.from_number",
                    "a sending number (or twilio.messaging_service_sid) is required with twilio.account_sid",
                ));
            }
            if self.twilio.verify_service_sid.is_none() {
                return Err(invalid(
                    "twilio.verify_service_sid",
                    "a Verify service is required with twilio.account_sid (phone verification)",
                ));
            }
        }
        if self.twilio.timeout_ms == 0 {
            return Err(invalid("twilio.timeout_ms", "must be at least 1"));
        }
        if self.notifications.concurrency == 0 {
            return Err(invalid("notifications.concurrency", "must be at least 1"));
        }
        if self.notifications.max_attempts < 1 {
            return Err(invalid("notifications.max_attempts", "must be at least 1"));
        }
        if self.notifications.poll_ms == 0 {
            return Err(invalid("notifications.poll_ms", "must be at least 1"));
        }
        if !(0..=3650).contains(&self.notifications.inbound_text_retention_days) {
            return Err(invalid(
                "notifications.inbound_text_retention_days",
                "must be 0 to 3650",
            ));
        }
        if self.email.concurrency == 0 {
            return Err(invalid("email.concurrency", "must be at least 1"));
        }
        if self.email.smtp_timeout_ms == 0 {
            return Err(invalid("email.smtp_timeout_ms", "must be at least 1"));
        }
        let w = &self.webhooks;
        if !(100..=120_000).contains(&w.timeout_ms) {
            return Err(invalid(
                "webhooks.timeout_ms",
                "must be between 100 and 120000",
            ));
        }
        if w.concurrency == 0 || w.max_attempts == 0 || w.retry_base_ms == 0 || w.poll_ms == 0 {
            return Err(invalid(
                "webhooks",
                "concurrency, max_attempts, retry_base_ms and poll_ms must be at least 1",
            ));
        }
        if w.retry_cap_secs.saturating_mul(1000) < w.retry_base_ms {
            return Err(invalid(
                "webhooks.retry_cap_secs",
                "must not be below retry_base_ms",
            ));
        }
        if let Some(proxy) = &w.proxy {
            if !(proxy.starts_with("http://") || proxy.starts_with("https://")) {
                return Err(invalid(
                    "webhooks.proxy",
                    "must be an http:// or https:// URL",
                ));
            }
        }
        if w.retention_days < 1 {
            return Err(invalid("webhooks.retention_days", "must be at least 1"));
        }
        if self.auth.access_token_ttl_secs < 30 || self.auth.access_token_ttl_secs > 86_400 {
            return Err(invalid(
                "auth.access_token_ttl_secs",
                "must be between 30 and 86400",
            ));
        }
        if self.auth.refresh_token_ttl_days < 1 {
            return Err(invalid("auth.refresh_token_ttl_days", "must be at least 1"));
        }
        if self.auth.signing_key_rotation_days < 1 {
            return Err(invalid(
                "auth.signing_key_rotation_days",
                "must be at least 1",
            ));
        }
        if self.auth.argon2_memory_kib < 8 || self.auth.argon2_iterations < 1 {
            return Err(invalid(
                "auth.argon2_memory_kib",
                "argon2 needs at least 8 KiB and 1 iteration",
            ));
        }
        if self.storage.max_upload_bytes < 1024 || self.storage.max_upload_bytes > 1 << 30 {
            return Err(invalid(
                "storage.max_upload_bytes",
                "must be between 1024 and 1073741824",
            ));
        }
        if self.storage.link_max_secs < 60 {
            return Err(invalid("storage.link_max_secs", "must be at least 60"));
        }
        if self.payments.processor == PaymentProcessorKind::Stripe {
            let st = &self.payments.stripe;
            if !st.secret_key.as_deref().unwrap_or("").starts_with("sk_") {
                return Err(invalid(
                    "payments.stripe.secret_key",
                    "must be a Stripe secret key (sk_...) when payments.processor is stripe",
                ));
            }
            if st.webhook_secrets.is_empty() || st.webhook_secrets.iter().any(|s| s.is_empty()) {
                return Err(invalid(
                    "payments.stripe.webhook_secrets",
                    "must hold the webhook endpoint's signing secret when payments.processor is stripe",
                ));
            }
            if !(1..=3600).contains(&st.webhook_tolerance_secs) {
                return Err(invalid(
                    "payments.stripe.webhook_tolerance_secs",
                    "must be between 1 and 3600",
                ));
            }
            if st.payment_method_types.is_empty()
                || st
                    .payment_method_types
                    .iter()
                    .any(|t| !["card", "us_bank_account"].contains(&t.as_str()))
            {
                return Err(invalid(
                    "payments.stripe.payment_method_types",
                    "must list card, us_bank_account or both",
                ));
            }
            if !["US", "CA"].contains(&st.connect_country.as_str()) {
                return Err(invalid(
                    "payments.stripe.connect_country",
                    "must be US or CA",
                ));
            }
        }
        let po = &self.payments.payouts;
        if !(0..=120).contains(&po.standard_days) {
            return Err(invalid(
                "payments.payouts.standard_days",
                "must be 0 to 120",
            ));
        }
        if !(0..=1000).contains(&po.quick_pay_fee_bps) {
            return Err(invalid(
                "payments.payouts.quick_pay_fee_bps",
                "must be 0 to 1000 (10 %)",
            ));
        }
        if !(50..=3_600_000).contains(&po.poll_ms) {
            return Err(invalid(
                "payments.payouts.poll_ms",
                "must be between 50 and 3600000",
            ));
        }
        let t = &self.tracking;
        let v = &self.voice;
        if v.check_call_after_mins != 0 && !(30..=7 * 24 * 60).contains(&v.check_call_after_mins) {
            return Err(invalid(
                "voice.check_call_after_mins",
                "must be 0 (off) or 30 to 10080 (a week)",
            ));
        }
        if !(1..=86_400).contains(&v.check_sweep_secs) {
            return Err(invalid("voice.check_sweep_secs", "must be 1 to 86400"));
        }
        if !(0..=3650).contains(&self.voice.transcript_retention_days) {
            return Err(invalid(
                "voice.transcript_retention_days",
                "must be 0 to 3650",
            ));
        }
        if !(0.1..=10.0).contains(&t.fence_radius_miles) {
            return Err(invalid(
                "tracking.fence_radius_miles",
                "must be 0.1 to 10 miles",
            ));
        }
        if !(0..=24 * 60).contains(&t.free_time_mins) {
            return Err(invalid("tracking.free_time_mins", "must be 0 to 1440"));
        }
        if !(0..=100_000).contains(&t.detention_cents_per_hour) {
            return Err(invalid(
                "tracking.detention_cents_per_hour",
                "must be 0 to 100000",
            ));
        }
        if !(1..=30 * 24).contains(&t.share_hours) {
            return Err(invalid("tracking.share_hours", "must be 1 to 720"));
        }
        if !(30.0..=300.0).contains(&t.max_mph) {
            return Err(invalid("tracking.max_mph", "must be 30 to 300"));
        }
        if !(0..=3650).contains(&t.retention_days) {
            return Err(invalid("tracking.retention_days", "must be 0 to 3650"));
        }
        if let Some(url) = &t.mqtt.url {
            if !url.starts_with("mqtt://")
                || url.trim_start_matches("mqtt://").rsplit_once(':').is_none()
            {
                return Err(invalid("tracking.mqtt.url", "must be mqtt://host:port"));
            }
            if t.mqtt.password.as_deref().unwrap_or("").is_empty() {
                return Err(invalid(
                    "tracking.mqtt.password",
                    "is required with tracking.mqtt.url",
                ));
            }
            if t.mqtt.topic_prefix.is_empty() || t.mqtt.topic_prefix.contains(['#', '+', '/']) {
                return Err(invalid(
                    "tracking.mqtt.topic_prefix",
                    "must be one topic level without wildcards",
                ));
            }
        }
        if !(50..=3_600_000).contains(&self.documents.generate_poll_ms) {
            return Err(invalid(
                "documents.generate_poll_ms",
                "must be between 50 and 3600000",
            ));
        }
        if self.keys.kek == KekBackend::AwsKms && self.keys.kms_key_id.is_none() {
            return Err(invalid(
                "keys.kms_key_id",
                "is required when keys.kek is aws_kms",
            ));
        }
        if self.keys.active_refresh_secs == 0 || self.keys.sweep_poll_secs == 0 {
            return Err(invalid(
                "keys.sweep_poll_secs",
                "keys.active_refresh_secs and keys.sweep_poll_secs must be at least 1",
            ));
        }
        if self.keys.sweep_batch == 0 || self.keys.sweep_batch > 10_000 {
            return Err(invalid("keys.sweep_batch", "must be between 1 and 10000"));
        }
        if self.keys.retire_after_secs < 2 * self.keys.active_refresh_secs + 30 {
            return Err(invalid(
                "keys.retire_after_secs",
                "must be at least twice keys.active_refresh_secs plus 30 seconds (an instance may still write with a replaced key until it next looks)",
            ));
        }
        if self.auth.audit_address_retention_days > 36_500 {
            return Err(invalid(
                "auth.audit_address_retention_days",
                "must be at most 36500 (0 keeps addresses as long as their records)",
            ));
        }
        if self.outbox.retention_hours > 87_600 {
            return Err(invalid(
                "outbox.retention_hours",
                "must be at most 87600 (0 keeps published events for ever)",
            ));
        }
        for (key, v) in [
            ("auth.terms_version", &self.auth.terms_version),
            (
                "auth.privacy_notice_version",
                &self.auth.privacy_notice_version,
            ),
        ] {
            if v.trim().is_empty() || v.len() > 40 || v.chars().any(char::is_control) {
                return Err(invalid(key, "must be 1 to 40 characters"));
            }
        }
        if self.storage.rewrap_poll_secs == 0 {
            return Err(invalid("storage.rewrap_poll_secs", "must be at least 1"));
        }
        for (name, plan) in &self.http.plans {
            if name.is_empty()
                || name.len() > 32
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    "http.plans",
                    "plan names are 1 to 32 of a-z, 0-9, '-' and '_'",
                ));
            }
            if plan.per_minute == 0 {
                return Err(invalid(
                    "http.plans",
                    "a plan's per_minute must be at least 1",
                ));
            }
        }
        for r in &self.http.route_limits {
            if !r.path.starts_with("/v1/") || r.path.chars().any(|c| c.is_whitespace() || c == '?')
            {
                return Err(invalid(
                    "http.route_limits",
                    "a route's path is a prefix under /v1/",
                ));
            }
            if r.per_minute == 0 {
                return Err(invalid(
                    "http.route_limits",
                    "per_minute must be at least 1",
                ));
            }
            if let Some(m) = &r.method {
                if axum::http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).is_err() {
                    return Err(invalid("http.route_limits", "method is an HTTP method"));
                }
            }
        }
        if let Err(why) = crate::http::TrustedProxies::parse(&self.http.trusted_proxies) {
            return Err(invalid("http.trusted_proxies", &why));
        }
        for origin in &self.http.cors_allowed_origins {
            if let Err(why) = crate::http::gateway::check_origin(origin) {
                return Err(invalid("http.cors_allowed_origins", &why));
            }
        }
        for d in &self.http.deprecations {
            if let Err(why) = d.check() {
                return Err(invalid("http.deprecations", &why));
            }
        }
        let tls = &self.http.tls;
        match (&tls.cert_file, &tls.key_file) {
            (Some(_), None) => {
                return Err(invalid(
                    "http.tls.key_file",
                    "required with http.tls.cert_file",
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "http.tls.cert_file",
                    "required with http.tls.key_file",
                ))
            }
            _ => {}
        }
        if tls.enabled() && tls.reload_secs == 0 {
            return Err(invalid("http.tls.reload_secs", "must be at least 1"));
        }
        if !tls.enabled() && tls.plain_listen.is_some() {
            return Err(invalid(
                "http.tls.plain_listen",
                "only with TLS on (http.tls.cert_file and key_file)",
            ));
        }
        if tls.plain_listen.is_some() && tls.plain_listen == Some(self.listen) {
            return Err(invalid("http.tls.plain_listen", "must differ from listen"));
        }
        if self.http.body_limit_bytes < 1024 {
            return Err(invalid("http.body_limit_bytes", "must be at least 1024"));
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err(invalid("public_url", "must start with http:// or https://"));
        }
        if let Some(url) = &self.http.console_tile_url {
            // It goes into the console's Content-Security-Policy, so nothing that could end
            // a directive may be in it.
            let template = ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p));
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || !template
                || url
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, ';' | ',' | '\'' | '"'))
            {
                return Err(invalid(
                    "http.console_tile_url",
                    "must be an http(s) URL template with {z}, {x} and {y} (for example https://tiles.example.com/{z}/{x}/{y}.png)",
                ));
            }
        }
        match (&self.bus.backend, &self.bus.url) {
            (BusBackend::Rabbitmq, None) => {
                return Err(invalid(
                    "bus.url",
                    "required when bus.backend = \"rabbitmq\"",
                ))
            }
            (_, Some(url)) if !(url.starts_with("amqp://") || url.starts_with("amqps://")) => {
                return Err(invalid("bus.url", "must be an amqp:// URL"))
            }
            _ => {}
        }
        if self.bus.namespace.is_empty()
            || !self
                .bus
                .namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "bus.namespace",
                "letters, digits, '-', '_' and '.' only",
            ));
        }
        if self.bus.max_attempts == 0 {
            return Err(invalid("bus.max_attempts", "must be at least 1"));
        }
        match (&self.cache.backend, &self.cache.url) {
            (CacheBackend::Redis, None) => {
                return Err(invalid(
                    "cache.url",
                    "required when cache.backend = \"redis\"",
                ))
            }
            (_, Some(url)) if crate::cache::is_sentinel_url(url) => {
                crate::cache::RedisTarget::of(url, Default::default())
                    .map_err(|e| invalid("cache.url", e.to_string()))?;
            }
            (_, Some(url)) if !(url.starts_with("redis://") || url.starts_with("rediss://")) => {
                return Err(invalid(
                    "cache.url",
                    "must be a redis://, rediss:// or redis+sentinel:// URL",
                ))
            }
            _ => {}
        }
        if self.streams.tls_ca_file.is_some() && !self.streams.tls {
            return Err(invalid(
                "streams.tls_ca_file",
                "only with streams.tls = true",
            ));
        }
        let bus_tls = self
            .bus
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("amqps://"));
        if self.bus.tls_ca_file.is_some() && !bus_tls {
            return Err(invalid(
                "bus.tls_ca_file",
                "only with an amqps:// bus.url (TLS)",
            ));
        }
        let cache_tls = self
            .cache
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("rediss://") || u.starts_with("rediss+sentinel://"));
        if self.cache.tls_ca_file.is_some() && !cache_tls {
            return Err(invalid(
                "cache.tls_ca_file",
                "only with a rediss:// or rediss+sentinel:// cache.url (TLS)",
            ));
        }
        client_certificate(
            (
                "cache.tls_client_cert_file",
                &self.cache.tls_client_cert_file,
            ),
            ("cache.tls_client_key_file", &self.cache.tls_client_key_file),
            cache_tls,
            "only with a rediss:// or rediss+sentinel:// cache.url (TLS)",
        )?;
        client_certificate(
            ("bus.tls_client_cert_file", &self.bus.tls_client_cert_file),
            ("bus.tls_client_key_file", &self.bus.tls_client_key_file),
            bus_tls,
            "only with an amqps:// bus.url (TLS)",
        )?;
        client_certificate(
            (
                "streams.tls_client_cert_file",
                &self.streams.tls_client_cert_file,
            ),
            (
                "streams.tls_client_key_file",
                &self.streams.tls_client_key_file,
            ),
            self.streams.tls,
            "only with streams.tls = true",
        )?;
        if self.maps.provider == MapsProvider::Google
            && self
                .maps
                .google
                .api_key
                .as_deref()
                .is_none_or(|k| k.trim().is_empty())
        {
            return Err(invalid(
                "maps.google.api_key",
                "required when maps.provider = \"google\"",
            ));
        }
        let base = &self.maps.google.base_url;
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(invalid(
                "maps.google.base_url",
                "must start with http:// or https://",
            ));
        }
        if self.maps.google.timeout_ms == 0 {
            return Err(invalid("maps.google.timeout_ms", "must be at least 1"));
        }
        if self.streams.backend == StreamsBackend::Kafka
            && self.streams.brokers.as_deref().is_none_or(str::is_empty)
        {
            return Err(invalid(
                "streams.brokers",
                "required when streams.backend = \"kafka\"",
            ));
        }
        if self.streams.topic_prefix.is_empty()
            || !self
                .streams
                .topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "streams.topic_prefix",
                "letters, digits, '-', '_' and '.' only",
            ));
        }
        if self.streams.partitions == 0 {
            return Err(invalid("streams.partitions", "must be at least 1"));
        }
        if self.streams.replication_factor == 0 {
            return Err(invalid("streams.replication_factor", "must be at least 1"));
        }
        if self.streams.retention_hours == 0 {
            return Err(invalid("streams.retention_hours", "must be at least 1"));
        }
        // Ten years either way is already far beyond any freight plan; the cap keeps the
        // horizon's arithmetic well inside the date types.
        for (key, days) in [
            ("loads.horizon_days_past", self.loads.horizon_days_past),
            ("loads.horizon_days_ahead", self.loads.horizon_days_ahead),
        ] {
            if !(1..=3_650).contains(&days) {
                return Err(invalid(key, "must be between 1 and 3650 days"));
            }
        }
        let loads = &self.loads;
        if loads.board_snapshot_interval_secs > 0
            && loads.board_snapshot_max_age_secs <= loads.board_snapshot_interval_secs
        {
            return Err(invalid(
                "loads.board_snapshot_max_age_secs",
                "must exceed loads.board_snapshot_interval_secs, or every snapshot would be too old to use",
            ));
        }
        if !(1..=86_400).contains(&self.analytics.archive_interval_secs) {
            return Err(invalid(
                "analytics.archive_interval_secs",
                "must be between 1 and 86400",
            ));
        }
        let lm = &self.negotiation.language_model;
        if lm
            .base_url
            .as_deref()
            .is_some_and(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(invalid(
                "negotiation.language_model.base_url",
                "must start with http:// or https://",
            ));
        }
        if !(100..=60_000).contains(&lm.timeout_ms) {
            return Err(invalid(
                "negotiation.language_model.timeout_ms",
                "must be between 100 and 60000",
            ));
        }
        let c = &self.carriers;
        if c.registry == CarrierRegistry::Fmcsa
            && c.fmcsa.web_key.as_deref().unwrap_or("").is_empty()
        {
            return Err(invalid(
                "carriers.fmcsa.web_key",
                "is required when carriers.registry is fmcsa",
            ));
        }
        if !(c.fmcsa.base_url.starts_with("http://") || c.fmcsa.base_url.starts_with("https://")) {
            return Err(invalid(
                "carriers.fmcsa.base_url",
                "must start with http:// or https://",
            ));
        }
        if !(100..=60_000).contains(&c.fmcsa.timeout_ms) {
            return Err(invalid(
                "carriers.fmcsa.timeout_ms",
                "must be between 100 and 60000",
            ));
        }
        if !(1..=720).contains(&c.recheck_hours) {
            return Err(invalid(
                "carriers.recheck_hours",
                "must be between 1 and 720",
            ));
        }
        if !(1..=3600).contains(&c.sweep_poll_secs) {
            return Err(invalid(
                "carriers.sweep_poll_secs",
                "must be between 1 and 3600",
            ));
        }
        if !(1..=3600).contains(&self.reporting.schedule_poll_secs) {
            return Err(invalid(
                "reporting.schedule_poll_secs",
                "must be between 1 and 3600",
            ));
        }
        if !(1..=3600).contains(&self.ml.reload_interval_secs) {
            return Err(invalid(
                "ml.reload_interval_secs",
                "must be between 1 and 3600",
            ));
        }
        if self.analytics.min_companies < 2 {
            return Err(invalid(
                "analytics.min_companies",
                "must be at least 2: one company's rates must never be shown alone",
            ));
        }
        if self.analytics.min_reports < self.analytics.min_companies {
            return Err(invalid(
                "analytics.min_reports",
                "must be at least analytics.min_companies",
            ));
        }
        let d = &self.backup.deployment;
        if d.is_empty()
            || d.len() > 63
            || !d
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(invalid(
                "backup.deployment",
                "must be 1-63 characters of a-z, 0-9, - and _ (a deployment's name: prod, staging)",
            ));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level", e.to_string()))?;
        if let Some(endpoint) = &self.tracing.otlp_endpoint {
            match url::Url::parse(endpoint) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => {
                    return Err(invalid(
                        "tracing.otlp_endpoint",
                        "must be an http:// or https:// URL of an OTLP/HTTP receiver",
                    ))
                }
            }
        }
        if !(0.0..=1.0).contains(&self.tracing.sample_ratio) {
            return Err(invalid(
                "tracing.sample_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if self.tracing.service_name.trim().is_empty() {
            return Err(invalid("tracing.service_name", "must not be empty"));
        }
        if self.tracing.export_timeout_ms == 0 {
            return Err(invalid("tracing.export_timeout_ms", "must be positive"));
        }
        Ok(())
    }

    /// The configuration as TOML with secrets masked, for `lanerunner config check`.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = shown.database.url.as_deref().map(mask_url_password);
        shown.database.read_url = shown.database.read_url.as_deref().map(mask_url_password);
        shown.database.direct_url = shown.database.direct_url.as_deref().map(mask_url_password);
        shown.bus.url = shown.bus.url.as_deref().map(mask_url_password);
        shown.cache.url = shown.cache.url.as_deref().map(mask_url_password);
        shown.webhooks.proxy = shown.webhooks.proxy.as_deref().map(mask_url_password);
        shown.email.smtp_url = shown.email.smtp_url.as_deref().map(mask_url_password);
        if shown.twilio.auth_token.is_some() {
            shown.twilio.auth_token = Some("****".into());
        }
        if shown.maps.google.api_key.is_some() {
            shown.maps.google.api_key = Some("****".into());
        }
        if shown.negotiation.language_model.api_key.is_some() {
            shown.negotiation.language_model.api_key = Some("****".into());
        }
        if shown.carriers.fmcsa.web_key.is_some() {
            shown.carriers.fmcsa.web_key = Some("****".into());
        }
        if shown.keys.kms_secret_access_key.is_some() {
            shown.keys.kms_secret_access_key = Some("****".into());
        }
        if shown.backup.secret_access_key.is_some() {
            shown.backup.secret_access_key = Some("****".into());
        }
        if shown.blob.secret_access_key.is_some() {
            shown.blob.secret_access_key = Some("****".into());
        }
        if shown.payments.stripe.secret_key.is_some() {
            shown.payments.stripe.secret_key = Some("****".into());
        }
        for s in &mut shown.payments.stripe.webhook_secrets {
            *s = "****".into();
        }
        if shown.tracking.mqtt.password.is_some() {
            shown.tracking.mqtt.password = Some("****".into());
        }
        toml::to_string_pretty(&shown)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

/// A client certificate and its key (`cert`, `key`: each a key name and its value): both or
/// neither, and only where TLS is on (`tls`; `only_with` says where it is not).
fn client_certificate(
    cert: (&'static str, &Option<PathBuf>),
    key: (&'static str, &Option<PathBuf>),
    tls: bool,
    only_with: &str,
) -> Result<(), ConfigError> {
    let invalid = |key: &'static str, message: String| ConfigError::Invalid { key, message };
    match (cert.1, key.1) {
        (None, None) => Ok(()),
        (Some(_), Some(_)) if tls => Ok(()),
        (Some(_), Some(_)) => Err(invalid(cert.0, only_with.to_string())),
        (Some(_), None) => Err(invalid(key.0, format!("is required with {}", cert.0))),
        (None, Some(_)) => Err(invalid(cert.0, format!("is required with {}", key.0))),
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:****@host/db`.
pub fn mask_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    // A Sentinel URL's own password is a parameter.
    if let Some((head, query)) = url.split_once('?') {
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.ends_with("password") => format!("{key}=****"),
                _ => pair.to_string(),
            })
            .collect();
        return format!("{}?{}", mask_url_password(head), masked.join("&"));
    }
    let rest = &url[scheme_end + 3..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    let userinfo = &rest[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}://{}:****{}",
            &url[..scheme_end],
            &userinfo[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_password_and_nothing_else() {
        assert_eq!(
            mask_url_password("postgres://lr:s3cret@db:5432/lr"),
            "postgres://lr:****@db:5432/lr"
        );
        assert_eq!(
            mask_url_password("postgres://lr@db/lr"),
            "postgres://lr@db/lr"
        );
        assert_eq!(mask_url_password("nonsense"), "nonsense");
        assert_eq!(
            mask_url_password("redis://:s3cret@cache:6379/0"),
            "redis://:****@cache:6379/0"
        );
        assert_eq!(
            mask_url_password("redis+sentinel://:s3cret@s1,s2:26380/main?sentinel_password=other"),
            "redis+sentinel://:****@s1,s2:26380/main?sentinel_password=****"
        );
    }

    #[test]
    fn defaults_are_valid_and_need_nothing() {
        let c = Config::default();
        c.validate().unwrap();
        assert!(c.database.url.is_none());
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn invalid_values_name_their_key() {
        let mut c = Config::default();
        c.database.url = Some("mysql://x".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn a_client_certificate_needs_its_key_and_tls() {
        let mut c = Config::default();
        c.streams.backend = StreamsBackend::Kafka;
        c.streams.brokers = Some("kafka:9093".into());
        c.streams.tls_client_cert_file = Some("/etc/lanerunner/kafka/client.crt".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("streams.tls_client_key_file")
                && err.contains("is required with streams.tls_client_cert_file"),
            "{err}"
        );
        c.streams.tls_client_key_file = Some("/etc/lanerunner/kafka/client.key".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("streams.tls_client_cert_file") && err.contains("streams.tls = true"),
            "{err}"
        );
        c.streams.tls = true;
        c.validate().unwrap();
        c.streams.tls_client_cert_file = None;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("is required with streams.tls_client_key_file"),
            "{err}"
        );
    }

    #[test]
    fn a_host_list_is_a_valid_database_url_when_well_formed() {
        let mut c = Config::default();
        c.database.url =
            Some("postgres://u@db-a:5432,db-b:5432/lr?target_session_attrs=read-write".into());
        c.validate().unwrap();
        c.database.url = Some("postgres://u@db-a:5432,db-b:x/lr".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.url") && err.contains("\"x\""),
            "{err}"
        );
    }

    #[test]
    fn check_calls_wait_at_least_half_an_hour_or_are_off() {
        let mut c = Config::default();
        for (after, sweep, key) in [
            (10, 300, "voice.check_call_after_mins"),
            (-5, 300, "voice.check_call_after_mins"),
            (240, 0, "voice.check_sweep_secs"),
        ] {
            c.voice.check_call_after_mins = after;
            c.voice.check_sweep_secs = sweep;
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(key), "{after}/{sweep}: {err}");
        }
        c.voice.check_call_after_mins = 0;
        c.voice.check_sweep_secs = 300;
        c.validate().unwrap();
    }

    #[test]
    fn transaction_pooling_needs_a_direct_url_and_one_pooler_host() {
        let mut c = Config::default();
        c.database.pooling = Pooling::Transaction;
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.pooling") && err.contains("database.url"),
            "{err}"
        );
        c.database.url = Some("postgres://u@pgbouncer:6432/lr".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.direct_url") && err.contains("session-level"),
            "{err}"
        );
        c.database.direct_url = Some("mysql://db/lr".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.direct_url") && err.contains("postgres://"),
            "{err}"
        );
        // The primary and its standby, followed: fine for the direct connection.
        c.database.direct_url = Some("postgres://u@db-a:5432,db-b:5432/lr".into());
        c.validate().unwrap();
        // The pooler follows the primary; a host list of poolers is refused.
        c.database.url = Some("postgres://u@pgb-a:6432,pgb-b:6432/lr".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.url") && err.contains("one host"),
            "{err}"
        );
        c.database.url = Some("postgres://u@pgbouncer:6432/lr".into());
        c.database.read_url = Some("postgres://u@r-a:6432,r-b:6432/lr".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.read_url") && err.contains("one host"),
            "{err}"
        );
        c.database.read_url = Some("postgres://u@pgbouncer-ro:6432/lr".into());
        c.validate().unwrap();
        // A direct URL names the same PostgreSQL as database.url: not without one.
        let mut c = Config::default();
        c.database.direct_url = Some("postgres://u@db/lr".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("database.direct_url") && err.contains("database.url"),
            "{err}"
        );
    }

    #[test]
    fn pooling_is_read_from_the_environment_by_its_flat_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LANERUNNER_DATABASE_URL", "postgres://u@pgbouncer:6432/lr");
            jail.set_env("LANERUNNER_DATABASE_DIRECT_URL", "postgres://u@db:5432/lr");
            jail.set_env("LANERUNNER_DATABASE_POOLING", "transaction");
            let c = Config::load(None).unwrap();
            assert_eq!(c.database.pooling, Pooling::Transaction);
            assert_eq!(
                c.database.direct_url.as_deref(),
                Some("postgres://u@db:5432/lr")
            );
            jail.set_env("LANERUNNER_DATABASE_POOLING", "statement");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("statement"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn transcript_and_text_retention_are_zero_to_ten_years() {
        let mut c = Config::default();
        for days in [-1, 3651] {
            c.voice.transcript_retention_days = days;
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("voice.transcript_retention_days"), "{err}");
            c.voice.transcript_retention_days = 90;
            c.notifications.inbound_text_retention_days = days;
            let err = c.validate().unwrap_err().to_string();
            assert!(
                err.contains("notifications.inbound_text_retention_days"),
                "{err}"
            );
            c.notifications.inbound_text_retention_days = 90;
        }
        c.voice.transcript_retention_days = 0;
        c.notifications.inbound_text_retention_days = 0;
        c.validate().unwrap();
    }

    #[test]
    fn a_console_tile_url_is_a_template_that_cannot_break_the_csp() {
        let mut c = Config::default();
        for bad in [
            "ftp://tiles.example.com/{z}/{x}/{y}.png",
            "https://tiles.example.com/{z}/{x}.png",
            "https://tiles.example.com/{z}/{x}/{y}.png; script-src *",
            "https://tiles.example.com/{z}/{x}/{y}.png 'unsafe-inline'",
        ] {
            c.http.console_tile_url = Some(bad.into());
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains("http.console_tile_url"), "{bad}: {err}");
        }
        c.http.console_tile_url = Some("https://{s}.tile.example.com/{z}/{x}/{y}.png".into());
        c.validate().unwrap();
    }

    #[test]
    fn a_read_replica_needs_a_postgres_primary_and_is_masked() {
        let mut c = Config::default();
        c.database.read_url = Some("postgres://u:replica-secret@r/d".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("database.read_url"), "{err}");
        c.database.url = Some("postgres://u:pw@p/d".into());
        c.validate().unwrap();
        c.database.read_url = Some("mysql://r/d".into());
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("database.read_url"));
        c.database.read_url = Some("postgres://u:replica-secret@r/d".into());
        assert!(!c.to_masked_toml().contains("replica-secret"));
    }

    #[test]
    fn masked_toml_hides_database_password() {
        let mut c = Config::default();
        c.database.url = Some("postgres://u:hunter2@h/d".into());
        let shown = c.to_masked_toml();
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("[database]"));
    }

    #[test]
    fn backends_default_to_embedded_and_need_their_url() {
        let mut c = Config::default();
        assert_eq!(c.bus.backend, BusBackend::InProcess);
        assert_eq!(c.cache.backend, CacheBackend::InMemory);
        c.bus.backend = BusBackend::Rabbitmq;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("bus.url"), "{err}");
        c.bus.url = Some("http://x".into());
        assert!(c.validate().unwrap_err().to_string().contains("bus.url"));
        c.bus.url = Some("amqp://guest:guest@127.0.0.1:5672/%2f".into());
        c.validate().unwrap();
        c.cache.backend = CacheBackend::Redis;
        assert!(c.validate().unwrap_err().to_string().contains("cache.url"));
        c.cache.url = Some("redis+sentinel://:pw@127.0.0.1:26379/main".into());
        c.validate().unwrap();
        c.cache.url = Some("redis+sentinel://:pw@127.0.0.1:26379".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("cache.url") && err.contains("master"), "{err}");
        c.cache.url = Some("redis+sentinel://:pw@127.0.0.1:26379/main?check_secs=never".into());
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("cache.url") && err.contains("check_secs"),
            "{err}"
        );
        c.cache.url = Some("redis://:pw@127.0.0.1:6379".into());
        c.validate().unwrap();
        let shown = c.to_masked_toml();
        assert!(
            !shown.contains("guest:guest") && !shown.contains(":pw@"),
            "{shown}"
        );
        assert!(shown.contains("backend = \"rabbitmq\""), "{shown}");
    }

    #[test]
    fn google_maps_needs_a_key_that_config_check_masks() {
        let mut c = Config::default();
        assert_eq!(c.maps.provider, MapsProvider::Offline);
        c.maps.provider = MapsProvider::Google;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("maps.google.api_key"), "{err}");
        c.maps.google.api_key = Some("  ".into());
        assert!(c.validate().is_err());
        c.maps.google.api_key = Some("AIzaMapsSecret".into());
        c.validate().unwrap();
        let shown = c.to_masked_toml();
        assert!(!shown.contains("AIzaMapsSecret"), "{shown}");
        assert!(shown.contains("provider = \"google\""), "{shown}");
        assert!(!format!("{c:?}").contains("AIzaMapsSecret"));
        c.maps.google.base_url = "maps.googleapis.com".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("maps.google.base_url"));
    }

    #[test]
    fn maps_keys_come_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LANERUNNER_MAPS__PROVIDER", "google");
            jail.set_env("LANERUNNER_GOOGLE_MAPS_API_KEY", "from-env");
            jail.set_env("LANERUNNER_MAPS__GOOGLE__TIMEOUT_MS", "1500");
            let c = Config::load(None).expect("loads");
            assert_eq!(c.maps.provider, MapsProvider::Google);
            assert_eq!(c.maps.google.api_key.as_deref(), Some("from-env"));
            assert_eq!(c.maps.google.timeout_ms, 1500);
            assert_eq!(c.maps.google.base_url, "https://maps.googleapis.com");
            Ok(())
        });
    }

    #[test]
    fn a_board_snapshot_must_outlive_the_interval_between_two() {
        let mut c = Config::default();
        c.validate().unwrap();
        c.loads.board_snapshot_max_age_secs = c.loads.board_snapshot_interval_secs;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("loads.board_snapshot_max_age_secs"));
        c.loads.board_snapshot_interval_secs = 0;
        c.validate().unwrap();
    }

    #[test]
    fn the_loads_horizon_is_bounded_and_named() {
        let mut c = Config::default();
        assert_eq!(c.loads.horizon_days_past, 30);
        assert_eq!(c.loads.horizon_days_ahead, 365);
        c.loads.horizon_days_ahead = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("loads.horizon_days_ahead"));
        c.loads.horizon_days_ahead = 90;
        c.loads.horizon_days_past = 100_000;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("loads.horizon_days_past"));
        figment::Jail::expect_with(|jail| {
            jail.set_env("LANERUNNER_LOADS__HORIZON_DAYS_AHEAD", "120");
            let c = Config::load(None).expect("loads");
            assert_eq!(c.loads.horizon_days_ahead, 120);
            assert_eq!(c.loads.horizon_days_past, 30);
            Ok(())
        });
    }

    #[test]
    fn the_language_model_is_off_by_default_checked_and_its_key_masked() {
        let mut c = Config::default();
        assert!(c.negotiation.language_model.base_url.is_none());
        c.negotiation.language_model.base_url = Some("ftp://models.example".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("negotiation.language_model.base_url"), "{e}");
        c.negotiation.language_model.base_url = Some("http://127.0.0.1:9/v1".into());
        c.negotiation.language_model.api_key = Some("sk-secret".into());
        assert!(c.validate().is_ok());
        let shown = c.to_masked_toml();
        assert!(
            !shown.contains("sk-secret") && shown.contains("****"),
            "{shown}"
        );
    }

    #[test]
    fn the_model_reload_interval_is_bounded() {
        let mut c = Config::default();
        assert_eq!(c.ml.reload_interval_secs, 5);
        c.ml.reload_interval_secs = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("ml.reload_interval_secs"), "{e}");
        let mut c = Config::default();
        c.carriers.registry = CarrierRegistry::Fmcsa;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("carriers.fmcsa.web_key"), "{e}");
        c.carriers.registry = CarrierRegistry::SelfDeclared;
        c.reporting.schedule_poll_secs = 0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("reporting.schedule_poll_secs"), "{e}");
    }

    #[test]
    fn span_export_settings_are_checked() {
        assert!(
            Config::default().tracing.otlp_endpoint.is_none(),
            "off by default"
        );
        for (endpoint, ratio, name, key) in [
            (
                "ftp://collector:4318",
                1.0,
                "lanerunner",
                "tracing.otlp_endpoint",
            ),
            ("collector:4318", 1.0, "lanerunner", "tracing.otlp_endpoint"),
            (
                "http://collector:4318",
                1.5,
                "lanerunner",
                "tracing.sample_ratio",
            ),
            (
                "http://collector:4318",
                -0.1,
                "lanerunner",
                "tracing.sample_ratio",
            ),
            ("http://collector:4318", 0.5, " ", "tracing.service_name"),
        ] {
            let mut c = Config::default();
            c.tracing.otlp_endpoint = Some(endpoint.into());
            c.tracing.sample_ratio = ratio;
            c.tracing.service_name = name.into();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(key), "{endpoint} {ratio} {name:?}: {e}");
        }
        let mut c = Config::default();
        c.tracing.otlp_endpoint = Some("https://traces.example.com/otlp/v1/traces".into());
        c.tracing.sample_ratio = 0.0;
        c.validate().unwrap();
    }

    #[test]
    fn the_analytics_gate_cannot_show_one_company_alone() {
        let mut c = Config::default();
        assert_eq!((c.analytics.min_reports, c.analytics.min_companies), (7, 3));
        c.analytics.min_companies = 1;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("analytics.min_companies"), "{e}");
        c.analytics.min_companies = 8;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("analytics.min_reports"), "{e}");
    }

    #[test]
    fn kafka_streams_need_brokers_and_a_sane_shape() {
        let mut c = Config::default();
        assert_eq!(c.streams.backend, StreamsBackend::InProcess);
        c.streams.backend = StreamsBackend::Kafka;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("streams.brokers"), "{err}");
        c.streams.brokers = Some("127.0.0.1:9092".into());
        c.validate().unwrap();
        c.streams.partitions = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("streams.partitions"));
        c.streams.partitions = 3;
        c.streams.topic_prefix = "bad prefix".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("streams.topic_prefix"));
        c.streams.topic_prefix = "t1.".into();
        c.streams.retention_hours = 0;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("streams.retention_hours"));
    }
}
