//! A test harness that runs the whole application, on SQLite, on a fresh PostgreSQL
//! database, or on PostgreSQL + RabbitMQ + Redis, behind a real HTTP listener on a loopback
//! port.
//!
//! ```ignore
//! use lanerunner::both_backends;
//! use lanerunner::testing::TestApp;
//!
//! both_backends!(async fn healthz_answers(app: TestApp) {
//!     assert_eq!(app.get("/healthz", None).await.status(), 200);
//! });
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanerunner_platform::config::{mask_url_password, BusBackend, CacheBackend};
use lanerunner_platform::Config;
use serde::Serialize;
use sqlx::{Connection, Executor, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::app::{self, App};

/// Where the admin connection for test databases points, unless overridden.
pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Environment variable naming an account allowed to `CREATE DATABASE`.
pub const TEST_POSTGRES_URL_ENV: &str = "LANERUNNER_TEST_POSTGRES_URL";
/// Environment variable naming the RabbitMQ broker tests use.
pub const TEST_AMQP_URL_ENV: &str = "LANERUNNER_TEST_AMQP_URL";
pub const DEFAULT_TEST_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// Environment variable naming the Redis server tests use.
pub const TEST_REDIS_URL_ENV: &str = "LANERUNNER_TEST_REDIS_URL";
pub const DEFAULT_TEST_REDIS_URL: &str = "redis://127.0.0.1:6379";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in a fresh temporary data directory.
    Sqlite,
    /// A fresh database `lr_test_<uuid>` on the server named by `LANERUNNER_TEST_POSTGRES_URL`,
    /// dropped when the [`TestApp`] is dropped.
    Postgres,
    /// [`Backend::Postgres`], with the bus on RabbitMQ (`LANERUNNER_TEST_AMQP_URL`) under a
    /// namespace of its own, and the cache on Redis (`LANERUNNER_TEST_REDIS_URL`) under a
    /// key prefix of its own; [`TestApp::spawn_sibling`] starts a second instance sharing
    /// all three.
    PostgresRabbitRedis,
}

/// The application, serving on `127.0.0.1:<ephemeral>`.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub config: Config,
    pub backend: Backend,
    app: Arc<App>,
    stop: CancellationToken,
    // Dropped after the fields above, so the app stops before its database goes.
    _database: Option<TestDatabase>,
    _broker: Option<TestBrokerNamespace>,
    _data_dir: TempDir,
}

impl TestApp {
    /// Starts the application with the test configuration (cheap Argon2, small pools).
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with `configure` applied to the configuration last.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = TempDir::new();
        let mut config = test_config(data_dir.0.clone());
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres | Backend::PostgresRabbitRedis => {
                let db = TestDatabase::create().await;
                config.database.url = Some(db.url.clone());
                Some(db)
            }
        };
        let mut broker = None;
        if backend == Backend::PostgresRabbitRedis {
            let namespace = format!("lrt{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let amqp = std::env::var(TEST_AMQP_URL_ENV)
                .unwrap_or_else(|_| DEFAULT_TEST_AMQP_URL.to_string());
            config.bus.backend = BusBackend::Rabbitmq;
            config.bus.url = Some(amqp.clone());
            config.bus.namespace = namespace.clone();
            config.bus.redelivery_delay_ms = 20;
            config.cache.backend = CacheBackend::Redis;
            config.cache.url = Some(
                std::env::var(TEST_REDIS_URL_ENV)
                    .unwrap_or_else(|_| DEFAULT_TEST_REDIS_URL.to_string()),
            );
            config.cache.prefix = format!("{namespace}:");
            broker = Some(TestBrokerNamespace {
                url: amqp,
                namespace,
                groups: Vec::new(),
            });
        }
        configure(&mut config);
        Self::start(backend, config, data_dir, database, broker).await
    }

    /// A second instance of this deployment: the same database, RabbitMQ namespace and
    /// Redis prefix, its own port and data directory (so its own mail spool). Drop it before
    /// the original, which owns the shared database.
    pub async fn spawn_sibling(&self) -> TestApp {
        let data_dir = TempDir::new();
        let config = Config {
            data_dir: data_dir.0.clone(),
            ..self.config.clone()
        };
        Self::start(self.backend, config, data_dir, None, None).await
    }

    async fn start(
        backend: Backend,
        config: Config,
        data_dir: TempDir,
        database: Option<TestDatabase>,
        mut broker: Option<TestBrokerNamespace>,
    ) -> TestApp {
        config.validate().expect("test configuration is valid");

        let app = Arc::new(
            app::build(config.clone(), &[])
                .await
                .expect("the application builds"),
        );
        if let Some(broker) = &mut broker {
            broker.groups.push("mailer".into());
            for service in app.services() {
                broker
                    .groups
                    .extend(service.consumers().into_iter().map(|c| c.group));
            }
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("listener address");
        let stop = CancellationToken::new();
        let router = app.router();
        let signal = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { signal.cancelled().await })
            .await;
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        TestApp {
            address,
            client,
            config,
            backend,
            app,
            stop,
            _database: database,
            _broker: broker,
            _data_dir: data_dir,
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `path` (starting with `/`) on this app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    /// The assembled application (services, stores, `identity()`).
    pub fn app(&self) -> &App {
        &self.app
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(self.client.get(self.url(path)), token).await
    }

    pub async fn post_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        token: Option<&str>,
    ) -> reqwest::Response {
        self.send(self.client.post(self.url(path)).json(body), token)
            .await
    }

    pub async fn patch_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        token: Option<&str>,
    ) -> reqwest::Response {
        self.send(self.client.patch(self.url(path)).json(body), token)
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.send(self.client.delete(self.url(path)), token).await
    }

    /// Sends any request built from [`TestApp::client`], adding the bearer token if given.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> reqwest::Response {
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        request.send().await.expect("the request reaches the app")
    }

    /// Where the spool mailer writes `.eml` files.
    pub fn spool_dir(&self) -> PathBuf {
        self.config.data_dir.join("mail")
    }

    /// Every spooled message so far, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.spool_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .map(|p| {
                (
                    std::fs::metadata(&p)
                        .and_then(|m| m.modified())
                        .unwrap_or(std::time::UNIX_EPOCH),
                    p,
                )
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, p)| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// The first spooled message (whole RFC 5322 text) `predicate` accepts, waiting up to
    /// `timeout` for it to arrive. Panics on timeout, listing what was spooled.
    pub async fn wait_for_mail(
        &self,
        predicate: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(mail) = self.mails().into_iter().find(|m| predicate(m)) {
                return mail;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no matching mail within {timeout:?}; spooled so far:\n{:#?}",
                    self.mails()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        self.app.shutdown_token().cancel();
    }
}

/// The configuration tests run with: defaults, except cheap password hashing and small
/// pools (many apps share one PostgreSQL server).
pub fn test_config(data_dir: PathBuf) -> Config {
    let mut config = Config {
        data_dir,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.auth.argon2_memory_kib = 64;
    config.auth.argon2_iterations = 1;
    config.database.max_connections = 4;
    config
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("lanerunner-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create a temporary data directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The RabbitMQ exchanges and queues one test deployment declared, deleted after it.
struct TestBrokerNamespace {
    url: String,
    namespace: String,
    groups: Vec<String>,
}

impl Drop for TestBrokerNamespace {
    fn drop(&mut self) {
        let (url, namespace, groups) = (
            self.url.clone(),
            self.namespace.clone(),
            std::mem::take(&mut self.groups),
        );
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                lanerunner_platform::bus::rabbitmq::delete_namespace(&url, &namespace, &groups)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if let Ok(Err(e)) = deleted {
            eprintln!(
                "warning: could not delete test broker namespace {}: {e}",
                self.namespace
            );
        }
    }
}

/// A database created for one test and dropped (`WITH (FORCE)`) after it.
struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var(TEST_POSTGRES_URL_ENV)
            .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_string());
        let name = format!("lr_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = match tokio::time::timeout(
            Duration::from_secs(10),
            PgConnection::connect(&admin_url),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            outcome => {
                let why = match outcome {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out after 10 s".to_string(),
                };
                panic!(
                    "PostgreSQL is not reachable at {} ({why}). Start it, or set {TEST_POSTGRES_URL_ENV} to an \
                     account allowed to CREATE DATABASE, e.g. {TEST_POSTGRES_URL_ENV}=postgres://user:password@host:5432/postgres",
                    mask_url_password(&admin_url)
                )
            }
        };
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        let _ = admin.close().await;
        let mut url = reqwest::Url::parse(&admin_url)
            .unwrap_or_else(|e| panic!("{TEST_POSTGRES_URL_ENV} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        TestDatabase {
            admin_url,
            name,
            url: url.to_string(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime can block.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await?;
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}

/// Writes a test once and runs it on both backends:
///
/// ```ignore
/// both_backends!(async fn healthz_answers(app: TestApp) {
///     assert_eq!(app.get("/healthz", None).await.status(), 200);
/// });
/// ```
///
/// expands to `mod healthz_answers { #[tokio::test] async fn sqlite() … async fn postgres() … }`,
/// each given a fresh [`TestApp`]. Attributes before `async fn` (e.g. `#[ignore]`) go on
/// both tests. Several functions may be given in one invocation, and
/// the parameter may be `mut`.
#[macro_export]
macro_rules! both_backends {
    ($($(#[$meta:meta])* async fn $name:ident($($app:tt)+) $body:block)+) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                $crate::__both_backends_run!(($($app)+) $body);

                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::testing::TestApp::spawn($crate::testing::Backend::Sqlite).await).await
                }

                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::testing::TestApp::spawn($crate::testing::Backend::Postgres).await).await
                }
            }
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __both_backends_run {
    ((mut $app:ident : $ty:ty) $body:block) => {
        async fn run(mut $app: $ty) $body
    };
    (($app:ident : $ty:ty) $body:block) => {
        async fn run($app: $ty) $body
    };
}
