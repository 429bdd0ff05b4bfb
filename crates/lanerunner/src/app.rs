//! Assembling the application: every selected service on its own store, the shared bus and
//! cache, the background tasks (outbox relays, consumers, mailer), and one HTTP router with
//! the operational endpoints, the OpenAPI document and the middleware stack.

use std::any::Any;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::{Extension, Router};
use lanerunner_identity::IdentityService;
use lanerunner_platform::bus::{self, run_consumer, EventBus};
use lanerunner_platform::cache::{self, Cache};
use lanerunner_platform::db::Migrations;
use lanerunner_platform::fanout::Fanout;
use lanerunner_platform::http::caller::AuthenticatorHandle;
use lanerunner_platform::http::ops::ReadinessCheck;
use lanerunner_platform::http::{docs, middleware, ops, tls};
use lanerunner_platform::mail::{run_mailer, Mailer, SmtpMailer, SpoolMailer, EMAIL_REQUESTED};
use lanerunner_platform::outbox::{OutboxRelay, OutboxSignal};
use lanerunner_platform::personal_data;
use lanerunner_platform::sealing::FieldSealer;
use lanerunner_platform::service::{
    BusReadiness, CacheReadiness, ConsumerSource, ConsumerSpec, ReplicaReadiness, Service,
    ServiceContext, StoreReadiness,
};
use lanerunner_platform::streams::{self, AuditForwarder, Streams, StreamsReadiness};
use lanerunner_platform::{Config, Db};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::registry;

/// The document every service's paths are merged into. Version and description come from
/// this crate's manifest.
#[derive(OpenApi)]
#[openapi(info(title = "LaneRunner API"), modifiers(&BearerSecurity))]
struct ApiDoc;

/// Declares the `bearer` scheme (a JWT access token or an API key) that operations name in
/// their `security` requirements.
struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

struct RunningService {
    name: &'static str,
    service: Arc<dyn Service>,
    typed: Arc<dyn Any + Send + Sync>,
    db: Db,
}

/// The assembled application. Dropping it does not stop its tasks; call [`App::shutdown`].
pub struct App {
    config: Arc<Config>,
    router: Router,
    /// `/metrics` and the probes on their own listener (`http.ops_listen`), when configured.
    ops_router: Option<Router>,
    openapi: utoipa::openapi::OpenApi,
    services: Vec<RunningService>,
    bus: Arc<dyn EventBus>,
    streams: Arc<dyn Streams>,
    shutdown: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Connects and migrates the store of every service in `services`.
pub async fn migrate(
    config: &Config,
    services: &[&'static registry::ServiceSpec],
) -> anyhow::Result<()> {
    for spec in services {
        let db = lanerunner_platform::db::connect(config, spec.name)
            .await
            .with_context(|| format!("connecting the {} store", spec.name))?;
        let result = db
            .migrate(&(spec.migrations)())
            .await
            .with_context(|| format!("migrating the {} store", spec.name));
        db.close().await;
        result?;
        tracing::info!(
            service = spec.name,
            backend = db.backend().as_str(),
            "migrations applied"
        );
    }
    Ok(())
}

/// Builds the application with the services named in `services` (every service when
/// empty), in four steps: connect the seams (bus, cache, fan-out, streams), start each
/// service on its own store, start the process-wide background work (mailer, audit stream,
/// queue-depth sampling), and assemble the router.
pub async fn build(config: Config, services: &[&str]) -> anyhow::Result<App> {
    let specs = registry::select(services)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let config = Arc::new(config);
    let seams = Seams::connect(&config).await?;
    let mut work = Background::default();
    let audit = declare_platform_consumers(&seams, &mut work).await?;
    let mut started = Started::new(&seams);
    for spec in specs.iter().copied() {
        start_service(spec, &config, &seams, &mut work, &mut started).await?;
    }
    // Parts of an export held by services this process does not run are asked for.
    seams.personal_data.set_remote(
        registry::HOLDS_PERSONAL_DATA
            .iter()
            .copied()
            .filter(|name| !specs.iter().any(|s| s.name == *name))
            .collect(),
    );
    for relay in std::mem::take(&mut started.relays) {
        work.tasks
            .push(tokio::spawn(relay.run(work.shutdown.clone())));
    }
    start_platform_work(&config, &seams, audit, &mut work)?;

    let (service_routes, mut openapi) = started.api.split_for_parts();
    docs::declare_error_surface(&mut openapi);
    let ops_router = config.http.ops_listen.map(|_| {
        ops::health_routes(started.checks.clone())
            .merge(ops::metrics_routes())
            .fallback(middleware::not_found)
            .layer(axum::middleware::map_response(
                middleware::hardening_headers,
            ))
    });
    let router = assemble(
        &config,
        &seams.cache,
        service_routes,
        started.checks,
        openapi.clone(),
        started.authenticator,
    );
    Ok(App {
        config,
        router,
        ops_router,
        openapi,
        services: started.running,
        bus: seams.bus,
        streams: seams.streams,
        shutdown: work.shutdown,
        tasks: Mutex::new(work.tasks),
    })
}

/// The engines every service shares, as the configuration names them.
struct Seams {
    bus: Arc<dyn EventBus>,
    cache: Arc<dyn Cache>,
    fanout: Arc<dyn Fanout>,
    streams: Arc<dyn Streams>,
    blobs: lanerunner_platform::blob::Blobs,
    /// What wraps every store's data keys (the keyring file, or AWS KMS).
    kek: Arc<dyn lanerunner_platform::sealing::KeyWrapper>,
    /// The services started so far that hold personal data.
    personal_data: lanerunner_platform::personal_data::PersonalDataSources,
}

impl Seams {
    async fn connect(config: &Config) -> anyhow::Result<Seams> {
        Ok(Seams {
            bus: bus::from_config(&config.bus)
                .await
                .with_context(|| format!("connecting the {:?} bus", config.bus.backend))?,
            cache: cache::from_config(&config.cache)
                .await
                .with_context(|| format!("connecting the {:?} cache", config.cache.backend))?,
            fanout: lanerunner_platform::fanout::from_config(&config.cache)
                .await
                .context("connecting the realtime fan-out")?,
            streams: streams::from_config(&config.streams)
                .await
                .with_context(|| format!("connecting the {:?} streams", config.streams.backend))?,
            blobs: lanerunner_platform::blob::open(&config.blob, &config.data_dir)
                .context("opening the blob store (blob.*)")?,
            kek: crate::keys::kek_from_config(config)?,
            personal_data: Default::default(),
        })
    }

    /// Readiness checks of the engines that can be away (the embedded ones cannot).
    fn checks(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        let mut checks: Vec<Arc<dyn ReadinessCheck>> = Vec::new();
        if self.bus.backend() != "in-process" {
            checks.push(Arc::new(BusReadiness(self.bus.clone())));
        }
        if self.cache.backend() != "in-memory" {
            checks.push(Arc::new(CacheReadiness(self.cache.clone())));
        }
        if self.streams.backend() != "in-process" {
            checks.push(Arc::new(StreamsReadiness(self.streams.clone())));
        }
        checks
    }
}

/// The tasks that run beside the HTTP server, stopped together by `shutdown`, and every
/// consumer group of this process (for the queue-depth gauges).
#[derive(Default)]
struct Background {
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    groups: Vec<String>,
}

/// What starting the services has produced so far.
struct Started {
    running: Vec<RunningService>,
    checks: Vec<Arc<dyn ReadinessCheck>>,
    authenticator: Option<Arc<dyn lanerunner_platform::http::Authenticator>>,
    api: OpenApiRouter,
    /// Outbox relays, started once every service's consumers are declared: an event a
    /// service publishes while it starts (identity re-applying an erasure after a restore)
    /// must reach the groups of services started after it.
    relays: Vec<OutboxRelay>,
}

impl Started {
    fn new(seams: &Seams) -> Started {
        Started {
            running: Vec::new(),
            checks: seams.checks(),
            authenticator: None,
            api: OpenApiRouter::with_openapi(ApiDoc::openapi()),
            relays: Vec::new(),
        }
    }
}

/// Declares the queues of the platform's own consumers (the mailer; the audit stream when
/// streams are configured) before any service can publish, so nothing is lost to a
/// subscriber that has not attached yet. Returns the audit forwarder to start.
async fn declare_platform_consumers(
    seams: &Seams,
    work: &mut Background,
) -> anyhow::Result<Option<AuditForwarder>> {
    let email_topic = EMAIL_REQUESTED.topic();
    drop(
        seams
            .bus
            .subscribe("mailer", &[email_topic.as_str()])
            .await
            .context("declaring the mailer queue")?,
    );
    work.groups.push("mailer".into());
    // With Kafka configured, every domain event is copied to the audit stream.
    if seams.streams.backend() == "in-process" {
        return Ok(None);
    }
    let forwarder = AuditForwarder {
        bus: seams.bus.clone(),
        streams: seams.streams.clone(),
    };
    forwarder
        .prepare()
        .await
        .context("preparing the audit stream")?;
    work.groups.push(streams::AUDIT_GROUP.to_string());
    Ok(Some(forwarder))
}

/// Connects and migrates one service's store, starts the service, and starts its outbox
/// relay, its listeners and its consumers.
async fn start_service(
    spec: &'static registry::ServiceSpec,
    config: &Arc<Config>,
    seams: &Seams,
    work: &mut Background,
    started: &mut Started,
) -> anyhow::Result<()> {
    let db = lanerunner_platform::db::connect(config, spec.name)
        .await
        .with_context(|| format!("connecting the {} store", spec.name))?;
    let migrations: Arc<Migrations> = Arc::new((spec.migrations)());
    db.migrate(&migrations)
        .await
        .with_context(|| format!("migrating the {} store", spec.name))?;
    let read_db = lanerunner_platform::db::connect_reader(config, spec.name, &db)
        .with_context(|| format!("connecting the {} read replica", spec.name))?;
    if config.database.read_url.is_some() {
        started.checks.push(Arc::new(ReplicaReadiness {
            service: spec.name,
            db: read_db.clone(),
        }));
    }
    let refresh = Duration::from_secs(config.keys.active_refresh_secs);
    let sealer = if spec.sealed.is_empty() {
        FieldSealer::lazy(db.clone(), seams.kek.clone(), refresh)
    } else {
        FieldSealer::connect(db.clone(), seams.kek.clone(), refresh)
            .await
            .with_context(|| format!("opening the {} store's data keys", spec.name))?
    };
    if !spec.sealed.is_empty() {
        work.tasks.push(tokio::spawn(crate::keys::run_sweep(
            spec.name,
            sealer.clone(),
            spec.sealed,
            config.keys.clone(),
            work.shutdown.clone(),
        )));
    }
    let signal = OutboxSignal::default();
    let ctx = ServiceContext {
        sealer,
        db: db.clone(),
        read_db,
        bus: seams.bus.clone(),
        cache: seams.cache.clone(),
        fanout: seams.fanout.clone(),
        outbox: signal.clone(),
        blobs: seams.blobs.clone(),
        streams: seams.streams.clone(),
        personal_data: seams.personal_data.clone(),
    };
    let peers = registry::Peers(started.running.iter().map(|s| s.typed.clone()).collect());
    let service_started = (spec.start)(ctx, config.clone(), peers)
        .await
        .with_context(|| format!("starting the {} service", spec.name))?;
    let service = service_started.service;

    started.api = std::mem::take(&mut started.api).merge(service.routes());
    started.checks.push(Arc::new(StoreReadiness {
        service: spec.name,
        db: db.clone(),
        migrations,
    }));
    if let Some(auth) = service.authenticator() {
        started.authenticator = Some(auth);
    }
    let holds = registry::HOLDS_PERSONAL_DATA.contains(&spec.name);
    anyhow::ensure!(
        service.personal_data().is_some() == holds,
        "the registry's HOLDS_PERSONAL_DATA is wrong about {}",
        spec.name
    );
    if let Some(source) = service.personal_data() {
        seams.personal_data.register(spec.name, source.clone());
        // Answers the exports identity asks for from another process (subscribed before
        // serving, so no request is missed).
        let requests = personal_data::subscribe_export_requests(seams.bus.as_ref(), spec.name)
            .await
            .with_context(|| format!("subscribing {} to export requests", spec.name))?;
        let (blobs, token, name) = (seams.blobs.clone(), work.shutdown.clone(), spec.name);
        work.tasks.push(tokio::spawn(async move {
            if let Err(e) =
                personal_data::answer_export_requests(requests, blobs, name, source, token).await
            {
                tracing::error!(service = name, error = %e, "answering export requests stopped");
            }
        }));
        work.groups.push(personal_data::export_group(spec.name));
    }

    let bus = &seams.bus;
    let mut relay = OutboxRelay::new(
        spec.name,
        db.clone(),
        bus.clone(),
        signal.clone(),
        Duration::from_millis(config.outbox.poll_interval_ms),
        config.outbox.batch_size,
    );
    if config.outbox.retention_hours > 0 {
        relay = relay.with_retention(Duration::from_secs(config.outbox.retention_hours * 3600));
    }
    started.relays.push(relay);
    for listener in service.listeners() {
        // Subscribed before the app serves, so no change after start-up is missed.
        let patterns: Vec<&str> = listener.patterns.iter().map(String::as_str).collect();
        let sub = bus
            .subscribe_broadcast(&patterns)
            .await
            .with_context(|| format!("subscribing listener {}", listener.name))?;
        listener
            .listener
            .on_subscribed()
            .await
            .with_context(|| format!("catching up listener {}", listener.name))?;
        work.tasks.push(tokio::spawn(bus::run_listener(
            sub,
            listener.name,
            listener.listener,
            work.shutdown.clone(),
        )));
    }
    for consumer in service.consumers() {
        // With the streams on Kafka, a group that reads the audit stream reads it there
        // (the forwarder copies every domain event to it); in process, the bus serves it.
        let from_stream = consumer.source == ConsumerSource::AuditStream
            && seams.streams.backend() != "in-process";
        if !from_stream {
            work.groups.push(consumer.group.clone());
            let patterns: Vec<&str> = consumer.patterns.iter().map(String::as_str).collect();
            drop(
                bus.subscribe(&consumer.group, &patterns)
                    .await
                    .with_context(|| format!("declaring consumer group {}", consumer.group))?,
            );
        }
        let (bus, streams, db, token, outbox) = (
            bus.clone(),
            seams.streams.clone(),
            db.clone(),
            work.shutdown.clone(),
            signal.clone(),
        );
        work.tasks.push(tokio::spawn(async move {
            let ConsumerSpec {
                group,
                patterns,
                handler,
                ..
            } = consumer;
            let ran = if from_stream {
                bus::run_stream_consumer(
                    streams,
                    db,
                    group.clone(),
                    patterns,
                    handler,
                    outbox,
                    token,
                )
                .await
            } else {
                run_consumer(bus, db, group.clone(), patterns, handler, outbox, token).await
            };
            if let Err(e) = ran {
                tracing::error!(group = %group, error = %e, "consumer stopped");
            }
        }));
    }
    started.running.push(RunningService {
        name: spec.name,
        service,
        typed: service_started.typed,
        db,
    });
    Ok(())
}

/// The process-wide work beside the services: the mailer, the audit stream forwarder (with
/// streams configured) and the queue-depth sampling behind `/metrics`.
fn start_platform_work(
    config: &Config,
    seams: &Seams,
    audit: Option<AuditForwarder>,
    work: &mut Background,
) -> anyhow::Result<()> {
    let mailer: Arc<dyn Mailer> = match &config.email.smtp_url {
        Some(url) => Arc::new(SmtpMailer::new(
            url,
            std::time::Duration::from_millis(config.email.smtp_timeout_ms),
            config.email.concurrency as u32,
        )?),
        None => Arc::new(SpoolMailer::new(config.data_dir.join("mail"))),
    };
    let (bus, sent, from, token, concurrency) = (
        seams.bus.clone(),
        seams.cache.clone(),
        config.email.from.clone(),
        work.shutdown.clone(),
        config.email.concurrency,
    );
    work.tasks.push(tokio::spawn(async move {
        if let Err(e) = run_mailer(bus, mailer, sent, from, concurrency, token).await {
            tracing::error!(error = %e, "mailer stopped");
        }
    }));
    if let Some(forwarder) = audit {
        let token = work.shutdown.clone();
        work.tasks.push(tokio::spawn(async move {
            if let Err(e) = forwarder.run(token).await {
                tracing::error!(error = %e, "audit stream forwarder stopped");
            }
        }));
    }
    work.tasks.push(tokio::spawn(bus::sample_queue_depths(
        seams.bus.clone(),
        std::mem::take(&mut work.groups),
        QUEUE_DEPTH_SAMPLING,
        work.shutdown.clone(),
    )));
    Ok(())
}

/// How often `/metrics` learns each consumer group's queue depth from the broker.
const QUEUE_DEPTH_SAMPLING: Duration = Duration::from_secs(15);

fn assemble(
    config: &Config,
    cache: &Arc<dyn Cache>,
    service_routes: Router,
    checks: Vec<Arc<dyn ReadinessCheck>>,
    openapi: utoipa::openapi::OpenApi,
    authenticator: Option<Arc<dyn lanerunner_platform::http::Authenticator>>,
) -> Router {
    let mut router = service_routes.merge(ops::health_routes(checks));
    if config.http.ops_listen.is_none() {
        router = router.merge(ops::metrics_routes());
    }
    if config.http.public_docs {
        router = router.merge(docs::routes(openapi));
    }
    if config.http.console {
        router = router.merge(lanerunner_console::routes(lanerunner_console::Settings {
            tile_url: config.http.console_tile_url.clone(),
            tile_attribution: config.http.console_tile_attribution.clone(),
        }));
    }
    let mut router = router
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        // The panic and timeout answers of matched routes are made inside the metrics layer,
        // so they count against the route's error rate and latency (the SLOs'), not vanish.
        .route_layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::track_metrics))
                .layer(axum::middleware::map_response(
                    middleware::bare_errors_to_problems,
                ))
                .layer(CatchPanicLayer::custom(middleware::panic_to_problem))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_millis(config.http.request_timeout_ms),
                )),
        );
    if let Some(auth) = authenticator {
        router = router.layer(Extension(AuthenticatorHandle(auth)));
        if config.http.rate_limit_per_minute > 0 {
            router = router.layer(Extension(lanerunner_platform::http::RateLimiter {
                cache: cache.clone(),
                limit: config.http.rate_limit_per_minute,
                window: std::time::Duration::from_secs(60),
                plans: std::sync::Arc::new(config.http.plans.clone()),
                routes: std::sync::Arc::new(config.http.route_limits.clone()),
            }));
        }
    }
    if !config.http.trusted_proxies.is_empty() {
        // Checked when the configuration was loaded.
        let proxies =
            lanerunner_platform::http::TrustedProxies::parse(&config.http.trusted_proxies)
                .unwrap_or_default();
        router = router.layer(Extension(proxies));
    }
    if !config.http.deprecations.is_empty() {
        let retired = std::sync::Arc::new(config.http.deprecations.clone());
        router = router.layer(axum::middleware::from_fn(move |req, next| {
            lanerunner_platform::http::gateway::retirement(retired.clone(), req, next)
        }));
    }
    if let Some(cors) = lanerunner_platform::http::gateway::cors(&config.http.cors_allowed_origins)
    {
        router = router.layer(cors);
    }
    if config.http.compress_min_bytes > 0 {
        // Negotiated per request (`Accept-Encoding`); never server-sent events (they must
        // flush event by event), images or what is already encoded (the console's assets).
        use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
        let worth_it = SizeAbove::new(config.http.compress_min_bytes)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE)
            .and(NotForContentType::const_new("application/zip"));
        router = router.layer(
            tower_http::compression::CompressionLayer::new()
                .gzip(true)
                .compress_when(worth_it),
        );
    }
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let request_id = req
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-");
            middleware::server_span(req, request_id)
        })
        .on_response(
            |res: &axum::http::Response<_>, _latency: Duration, span: &tracing::Span| {
                middleware::record_response(res.status(), span)
            },
        );
    let mut router = router
        // Inside the request-id layer below, so the id it reads is already set.
        .layer(axum::middleware::from_fn(middleware::capture_trace))
        .layer(DefaultBodyLimit::max(config.http.body_limit_bytes))
        .layer(
            // Outermost first: the id exists before the span opens and is on every response,
            // including a timeout's and a panic's.
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(trace)
                .layer(axum::middleware::map_response(
                    middleware::hardening_headers,
                ))
                .layer(axum::middleware::map_response(
                    middleware::bare_errors_to_problems,
                ))
                // A backstop for what no route matched (the routes' own are inside the
                // metrics layer above); a second later, so a route's own fires first.
                .layer(CatchPanicLayer::custom(middleware::panic_to_problem))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_millis(config.http.request_timeout_ms + 1_000),
                )),
        );
    // Outermost, so every answer over TLS carries it, a timeout's and a panic's too.
    if config.http.tls.enabled() {
        if let Some(hsts) = tls::strict_transport_security(
            config.http.tls.hsts_max_age_secs,
            config.http.tls.hsts_include_subdomains,
        ) {
            router = router.layer(axum::middleware::map_response(
                move |mut res: axum::response::Response| {
                    res.headers_mut()
                        .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, hsts.clone());
                    std::future::ready(res)
                },
            ));
        }
    }
    router
}

impl App {
    /// The complete router; serve it with connect info (`into_make_service_with_connect_info::<SocketAddr>()`).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The operations router (`/metrics`, probes) when `http.ops_listen` is set.
    pub fn ops_router(&self) -> Option<Router> {
        self.ops_router.clone()
    }

    pub fn openapi(&self) -> &utoipa::openapi::OpenApi {
        &self.openapi
    }

    pub fn bus(&self) -> Arc<dyn EventBus> {
        self.bus.clone()
    }

    /// The streams (`streams.backend`); the audit stream is `streams::AUDIT_TOPIC`.
    pub fn streams(&self) -> Arc<dyn Streams> {
        self.streams.clone()
    }

    /// The running services, in start order.
    pub fn services(&self) -> Vec<Arc<dyn Service>> {
        self.services.iter().map(|s| s.service.clone()).collect()
    }

    /// The store of the service named `name`, if it runs here.
    pub fn db(&self, name: &str) -> Option<Db> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.db.clone())
    }

    /// The identity service, when it runs in this process.
    pub fn identity(&self) -> Option<Arc<IdentityService>> {
        self.typed::<IdentityService>()
    }

    /// A running service by its concrete type.
    pub fn typed<S: Send + Sync + 'static>(&self) -> Option<Arc<S>> {
        self.services
            .iter()
            .find_map(|s| s.typed.clone().downcast::<S>().ok())
    }

    /// Fires when [`App::shutdown`] starts.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the background tasks, waits for them, and closes every pool.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        let tasks: Vec<JoinHandle<()>> =
            std::mem::take(&mut *self.tasks.lock().expect("task list lock"));
        for task in tasks {
            if let Err(e) = task.await {
                if e.is_panic() {
                    tracing::error!(error = %e, "background task panicked");
                }
            }
        }
        for service in &self.services {
            service.db.close().await;
        }
    }
}

/// Serves `app` on `listener` until SIGTERM or Ctrl-C, lets in-flight requests finish,
/// then shuts the app down; the whole stop is bounded by `http.shutdown_grace_ms`.
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let signal = shutdown_signal()?;
    serve_until(app, listener, signal).await
}

/// [`serve`] with the stop signal supplied by the caller.
pub async fn serve_until(
    app: App,
    listener: tokio::net::TcpListener,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = Duration::from_millis(app.config.http.shutdown_grace_ms);
    let stopping = CancellationToken::new();
    let stop = stopping.clone();
    if let (Some(addr), Some(ops)) = (app.config.http.ops_listen, app.ops_router.clone()) {
        let ops_listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the operations listener {addr}"))?;
        tracing::info!(address = %ops_listener.local_addr()?, "operations listener (metrics, probes)");
        let ops_stop = stopping.clone();
        tokio::spawn(async move {
            let served = axum::serve(ops_listener, ops)
                .with_graceful_shutdown(async move { ops_stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the operations listener failed");
            }
        });
    }
    let signal = async move {
        signal.await;
        tracing::info!("shutting down: draining in-flight requests");
        stop.cancel();
    };
    let mut server = http_server(
        &app.config.http,
        app.router(),
        listener,
        signal,
        stopping.clone(),
    )
    .await?;
    let deadline = tokio::select! {
        result = &mut server => {
            result.context("serving HTTP")?;
            tokio::time::Instant::now() + grace
        }
        _ = stopping.cancelled() => {
            let deadline = tokio::time::Instant::now() + grace;
            match tokio::time::timeout_at(deadline, &mut server).await {
                Ok(result) => result.context("serving HTTP")?,
                Err(_) => tracing::warn!(grace_ms = grace.as_millis() as u64, "in-flight requests still running after the grace period; stopping anyway"),
            }
            deadline
        }
    };
    drop(server);
    if tokio::time::timeout_at(deadline, app.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not stop within the grace period");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The API server on `listener` until `signal`, with TLS when `http.tls` names a certificate
/// (loaded and checked now, so a bad one stops the start; then watched for renewals until
/// `stopping`), and the plain-HTTP listener that only redirects or refuses if one is set.
pub async fn http_server(
    http: &lanerunner_platform::config::HttpConfig,
    router: Router,
    listener: tokio::net::TcpListener,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
    stopping: CancellationToken,
) -> anyhow::Result<std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>>
{
    let tls = &http.tls;
    let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) else {
        return Ok(Box::pin(
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(signal)
            .into_future(),
        ));
    };
    let certificate = tls::CurrentCertificate::load(tls::CertificateFiles {
        cert: cert.clone(),
        key: key.clone(),
    })
    .context("loading the TLS certificate (http.tls)")?;
    let current = certificate.current();
    tracing::info!(subject = %current.subject, not_after = %current.not_after, "TLS on the API listener");
    certificate
        .clone()
        .watch(Duration::from_secs(tls.reload_secs), stopping.clone());
    let config = certificate.server_config().context("configuring TLS")?;
    let https_port = listener.local_addr()?.port();
    if let Some(addr) = tls.plain_listen {
        let plain = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the plain-HTTP listener {addr}"))?;
        tracing::info!(address = %addr, policy = ?tls.plain_http, "plain-HTTP listener");
        let router =
            tls::plain_http_router(tls.plain_http, Some(tls.https_port.unwrap_or(https_port)));
        let plain_stop = stopping.clone();
        tokio::spawn(async move {
            let _ = axum::serve(plain, router)
                .with_graceful_shutdown(async move { plain_stop.cancelled().await })
                .await;
        });
    }
    let listener = tls::TlsListener::start(
        listener,
        config,
        tls::plain_http_router(tls.plain_http, None),
        stopping,
    )?;
    // What `into_make_service_with_connect_info` does for TCP: each connection's router
    // carries its peer as `ConnectInfo<SocketAddr>`, which the client-address code reads.
    let make = tower::service_fn(
        move |incoming: axum::serve::IncomingStream<'_, tls::TlsListener>| {
            let peer = *incoming.remote_addr();
            let service =
                tower::Layer::layer(&Extension(axum::extract::ConnectInfo(peer)), router.clone());
            std::future::ready(Ok::<_, std::convert::Infallible>(service))
        },
    );
    Ok(Box::pin(
        axum::serve(listener, make)
            .with_graceful_shutdown(signal)
            .into_future(),
    ))
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed now, so a signal that arrives
/// before the future is first polled is not lost.
pub fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        let terminated = async move {
            term.recv().await;
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminated => {}
        }
    })
}
