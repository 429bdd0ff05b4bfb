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

use lanerunner_platform::config::{mask_url_password, BusBackend, CacheBackend, StreamsBackend};
pub use lanerunner_platform::testing::skip_engine_test;
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
/// Environment variable naming the Kafka brokers tests use (`scripts/kafka.sh` starts one).
pub const TEST_KAFKA_BROKERS_ENV: &str = "LANERUNNER_TEST_KAFKA_BROKERS";
pub const DEFAULT_TEST_KAFKA_BROKERS: &str = "127.0.0.1:9092";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in a fresh temporary data directory.
    Sqlite,
    /// A fresh database `lr_test_<uuid>` on the server named by `LANERUNNER_TEST_POSTGRES_URL`,
    /// dropped when the [`TestApp`] is dropped.
    Postgres,
    /// [`Backend::Postgres`], with the bus on RabbitMQ (`LANERUNNER_TEST_AMQP_URL`) under a
    /// namespace of its own, and the cache on Redis (`LANERUNNER_TEST_REDIS_URL`) under a
    /// key prefix of its own, and the streams on Kafka (`LANERUNNER_TEST_KAFKA_BROKERS`) under
    /// a topic prefix of its own; [`TestApp::spawn_sibling`] starts a second instance sharing
    /// all four.
    FullStack,
    /// A fresh database on the project's own primary (`LANERUNNER_TEST_PG_PRIMARY_URL`,
    /// default 127.0.0.1:5440) with `database.read_url` on its streaming replica
    /// (`LANERUNNER_TEST_PG_REPLICA_URL`, default 127.0.0.1:5441); `scripts/pg-replica.sh`
    /// starts the pair.
    PostgresReplica,
}

/// Environment variables naming the primary/replica pair of [`Backend::PostgresReplica`].
/// The project's PgBouncer in transaction pooling mode (`scripts/pgbouncer.sh`), in front
/// of the machine's PostgreSQL (where [`Backend::Postgres`] creates its databases).
pub const PGBOUNCER_PORT: u16 = 6439;

/// Points a [`Backend::Postgres`] configuration at its database through the project's
/// PgBouncer (`database.pooling = "transaction"`), the database itself becoming
/// `database.direct_url` (migrations, backups).
pub fn through_pgbouncer(config: &mut Config) {
    transaction_pooling(config, Some(PGBOUNCER_PORT));
}

/// `database.pooling = "transaction"` on a [`Backend::Postgres`] configuration: through
/// the pooler listening on `pooler_port` of the database's host, or with `None` straight
/// to PostgreSQL (what transaction pooling's way of running statements costs by itself).
pub fn transaction_pooling(config: &mut Config, pooler_port: Option<u16>) {
    let direct = config
        .database
        .url
        .clone()
        .expect("a PostgreSQL configuration");
    let mut pooled = reqwest::Url::parse(&direct).expect("a database URL");
    if let Some(port) = pooler_port {
        pooled.set_port(Some(port)).expect("a URL with a host");
    }
    config.database.url = Some(pooled.to_string());
    config.database.direct_url = Some(direct);
    config.database.pooling = lanerunner_platform::config::Pooling::Transaction;
}

pub const TEST_PG_PRIMARY_URL_ENV: &str = "LANERUNNER_TEST_PG_PRIMARY_URL";
pub const TEST_PG_REPLICA_URL_ENV: &str = "LANERUNNER_TEST_PG_REPLICA_URL";
pub const DEFAULT_TEST_PG_PRIMARY_URL: &str = "postgres://postgres@127.0.0.1:5440/postgres";
pub const DEFAULT_TEST_PG_REPLICA_URL: &str = "postgres://postgres@127.0.0.1:5441/postgres";

/// The replica's URL for the database `name` (the replica has every database the primary has).
pub fn replica_url(name: &str) -> String {
    let base = std::env::var(TEST_PG_REPLICA_URL_ENV)
        .unwrap_or_else(|_| DEFAULT_TEST_PG_REPLICA_URL.to_string());
    let mut url = reqwest::Url::parse(&base)
        .unwrap_or_else(|e| panic!("{TEST_PG_REPLICA_URL_ENV} is not a URL: {e}"));
    url.set_path(&format!("/{name}"));
    url.to_string()
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
    /// An app with a Twilio account whose API is at `api_base_url` (a stand-in), serving on
    /// a loopback port of its own that `public_url` names: Twilio signs the URL it posts
    /// to, so the webhooks' URLs must be where the app really listens.
    pub async fn spawn_with_twilio(
        backend: Backend,
        api_base_url: &str,
        account_sid: &str,
        auth_token: &str,
        configure: impl FnOnce(&mut Config),
    ) -> TestApp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        TestApp::spawn_with(backend, |c| {
            c.listen = ([127, 0, 0, 1], port).into();
            c.public_url = format!("http://127.0.0.1:{port}");
            c.twilio.account_sid = Some(account_sid.into());
            c.twilio.auth_token = Some(auth_token.into());
            c.twilio.from_number = Some("+15005550006".into());
            c.twilio.verify_service_sid = Some("VA0123456789abcdef0123456789abcdef".into());
            c.twilio.api_base_url = api_base_url.into();
            c.twilio.verify_base_url = api_base_url.into();
            configure(c);
        })
        .await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = TempDir::new();
        let mut config = test_config(data_dir.0.clone());
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres | Backend::FullStack => {
                let admin = std::env::var(TEST_POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_string());
                let db = TestDatabase::create(admin).await;
                config.database.url = Some(db.url.clone());
                Some(db)
            }
            Backend::PostgresReplica => {
                let admin = std::env::var(TEST_PG_PRIMARY_URL_ENV)
                    .unwrap_or_else(|_| DEFAULT_TEST_PG_PRIMARY_URL.to_string());
                let db = TestDatabase::create(admin).await;
                config.database.url = Some(db.url.clone());
                config.database.read_url = Some(replica_url(&db.name));
                Some(db)
            }
        };
        let mut broker = None;
        if backend == Backend::FullStack {
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
            config.streams.backend = StreamsBackend::Kafka;
            config.streams.brokers = Some(
                std::env::var(TEST_KAFKA_BROKERS_ENV)
                    .unwrap_or_else(|_| DEFAULT_TEST_KAFKA_BROKERS.to_string()),
            );
            config.streams.topic_prefix = format!("{namespace}.");
            config.streams.partitions = 3;
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
        let mut config = Config {
            data_dir: data_dir.0.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..self.config.clone()
        };
        // Instances of one deployment share the key-encryption keyring (one mounted secret
        // at scale), or they could not open each other's data keys.
        config.storage.keyring_file = Some(crate::storage_keys::path_of(&self.config));
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
            if config.streams.backend == StreamsBackend::Kafka {
                broker
                    .groups
                    .push(lanerunner_platform::streams::AUDIT_GROUP.into());
            }
            for service in app.services() {
                broker
                    .groups
                    .extend(service.consumers().into_iter().map(|c| c.group));
            }
        }
        // A random loopback port, unless the test chose one (a provider that calls back
        // to `public_url` needs to know it before the app starts).
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.listen.port()))
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("listener address");
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let server = crate::app::http_server(
            &config.http,
            app.router(),
            listener,
            async move { signal.cancelled().await },
            stop.clone(),
        )
        .await
        .expect("the HTTP server starts");
        tokio::spawn(server);
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

    /// Stops the application (the server, every background task, every pool) and keeps its
    /// stores — data directory and database — to start it again ([`StoppedApp::start`]), as
    /// an operator stops a deployment to restore a backup.
    pub async fn stop(mut self) -> StoppedApp {
        self.stop.cancel();
        self.app.shutdown().await;
        StoppedApp {
            config: self.config.clone(),
            backend: self.backend,
            database: self._database.take(),
            broker: self._broker.take(),
            data_dir: std::mem::replace(&mut self._data_dir, TempDir(PathBuf::new())),
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        // With `http.tls` on, a test swaps `client` for one that trusts its test CA.
        let scheme = if self.config.http.tls.enabled() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.address)
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

    pub async fn put_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
        token: Option<&str>,
    ) -> reqwest::Response {
        self.send(self.client.put(self.url(path)).json(body), token)
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

/// A user who signed up a new organization, with its tokens.
#[derive(Debug, Clone)]
pub struct Account {
    pub access: String,
    pub refresh: String,
    pub org_id: String,
    pub user_id: String,
    pub email: String,
}

/// Enrolled operators and their authenticators, as each operator's app would give codes:
/// a code is accepted once, so each is for a step after the last one handed out (the
/// step before now, now, the one after: what the server accepts), waiting for the next
/// step when those are used up.
pub struct Operators {
    apps: std::collections::HashMap<String, (lanerunner_identity::domain::TotpSecret, i64)>,
}

impl Operators {
    /// `olga` enrols first, alone, and vouches for each of `names`.
    pub async fn enrolled(ops: &lanerunner_identity::IdentityService, names: &[&str]) -> Operators {
        let mut all = Operators {
            apps: Default::default(),
        };
        all.enrol(ops, "olga", None).await.unwrap();
        for name in names {
            let code = all.code("olga").await;
            all.enrol(ops, name, Some(("olga", &code))).await.unwrap();
        }
        all
    }

    pub async fn enrol(
        &mut self,
        ops: &lanerunner_identity::IdentityService,
        name: &str,
        vouched: Option<(&str, &str)>,
    ) -> Result<(), lanerunner_identity::IdentityError> {
        let enrolled = ops.enroll_operator(name, vouched).await?;
        let secret =
            lanerunner_identity::domain::TotpSecret::from_base32(&enrolled.secret).unwrap();
        assert!(
            enrolled.otpauth_uri.starts_with("otpauth://totp/"),
            "{}",
            enrolled.otpauth_uri
        );
        self.apps
            .insert(name.trim().to_lowercase(), (secret, i64::MIN));
        Ok(())
    }

    /// `name`'s authenticator secret, as their app holds it (base32).
    pub fn secret_of(&self, name: &str) -> String {
        self.apps[&name.to_lowercase()].0.to_base32()
    }

    /// `name`'s next code.
    pub async fn code(&mut self, name: &str) -> String {
        let (secret, last) = self
            .apps
            .get_mut(&name.to_lowercase())
            .expect("an enrolled operator");
        loop {
            let now = chrono::Utc::now().timestamp().div_euclid(30);
            let step = (*last + 1).max(now - 1);
            if step <= now + 1 {
                *last = step;
                return secret.code_at(step);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

/// The password [`TestApp::signup`] gives every owner.
pub const TEST_PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// The token of the invitation emailed to `email` (waits up to 10 s for the email).
    pub async fn invitation_token(&self, email: &str) -> String {
        let mail = self
            .wait_for_mail(
                |m| m.contains(&format!("To: {email}")) && m.contains("Your invitation token:"),
                std::time::Duration::from_secs(10),
            )
            .await;
        mail.lines()
            .find_map(|l| l.strip_prefix("Your invitation token: "))
            .expect("the invitation email carries its token")
            .trim()
            .to_owned()
    }

    /// Invites `email` into `owner`'s organization as `role` and accepts: the new member.
    pub async fn invite_and_join(&self, owner: &Account, email: &str, role: &str) -> Account {
        let res = self
            .post_json(
                "/v1/org/invitations",
                &serde_json::json!({ "email": email, "role": role }),
                Some(&owner.access),
            )
            .await;
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let token = self.invitation_token(email).await;
        let res = self
            .post_json(
                "/v1/auth/accept-invitation",
                &serde_json::json!({ "token": token, "name": "Member", "password": TEST_PASSWORD, "terms_version": "2026-11-01" }),
                None,
            )
            .await;
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let body: serde_json::Value = res.json().await.unwrap();
        Account {
            access: body["tokens"]["access_token"].as_str().unwrap().into(),
            refresh: body["tokens"]["refresh_token"].as_str().unwrap().into(),
            org_id: body["user"]["org_id"].as_str().unwrap_or_default().into(),
            user_id: body["user"]["id"].as_str().unwrap().into(),
            email: email.into(),
        }
    }

    /// Signs up a new organization of `kind` (`broker`, `carrier`, `shipper`) whose owner
    /// is `email`; carriers get a valid USDOT and MC number.
    pub async fn signup(&self, email: &str, kind: &str) -> Account {
        let mut org = serde_json::json!({ "name": format!("{kind} co"), "kind": kind });
        if kind == "carrier" {
            org["usdot_number"] = serde_json::json!("1234567");
            org["mc_number"] = serde_json::json!("MC-654321");
        }
        let body = serde_json::json!({ "organization": org, "name": "Pat Owner", "email": email, "password": TEST_PASSWORD, "terms_version": "2026-11-01" });
        let res = self.post_json("/v1/auth/signup", &body, None).await;
        assert_eq!(res.status(), reqwest::StatusCode::CREATED, "signup failed");
        let body: serde_json::Value = res.json().await.expect("signup answers JSON");
        let text = |v: &serde_json::Value| v.as_str().expect("a string").to_string();
        Account {
            access: text(&body["tokens"]["access_token"]),
            refresh: text(&body["tokens"]["refresh_token"]),
            org_id: text(&body["organization"]["id"]),
            user_id: text(&body["user"]["id"]),
            email: email.into(),
        }
    }
}

/// A stop time `days` from today at `hour`:00, local to the stop (`2026-12-01T08:00:00`), so
/// that tests never post loads in the past whatever day they run.
pub fn at(days: i64, hour: u32) -> String {
    let d = chrono::Utc::now().date_naive() + chrono::Duration::days(days);
    format!("{}T{hour:02}:00:00", d.format("%Y-%m-%d"))
}

/// A Dallas, TX → Atlanta, GA dry-van load at an all-in `rate_cents`, picked up in three
/// days: the market tests' lane.
pub fn dallas_atlanta_load(reference: &str, rate_cents: i64) -> serde_json::Value {
    serde_json::json!({
        "reference": reference,
        "stops": [
            {"kind": "pickup", "location": {"place": "Dallas, TX"}, "window": {"start": at(3, 8), "end": at(3, 14)}},
            {"kind": "delivery", "location": {"place": "Atlanta, GA"}, "appointment": at(5, 9)}
        ],
        "equipment": "V", "trailer_length_ft": 53, "weight_lbs": 40000, "commodity": "paper",
        "rate": {"kind": "all_in", "amount_cents": rate_cents},
        "max_rate_cents": rate_cents + 50_000
    })
}

/// Creates `load` as `broker` and posts it; its id.
pub async fn posted(app: &TestApp, broker: &Account, load: &serde_json::Value) -> String {
    let res = app.post_json("/v1/loads", load, Some(&broker.access)).await;
    let created = json_of(res, reqwest::StatusCode::CREATED).await;
    let id = created["id"].as_str().expect("a load id").to_string();
    let post = app
        .post_json(
            &format!("/v1/loads/{id}/post"),
            &serde_json::json!({}),
            Some(&broker.access),
        )
        .await;
    assert_eq!(post.status(), reqwest::StatusCode::OK);
    id
}

/// Creates `load` as `broker`, posts it and covers it with `carrier` at its posted rate:
/// one booking through the loads service, as the market sees it. The load's id.
pub async fn book(
    app: &TestApp,
    broker: &Account,
    carrier: &Account,
    load: &serde_json::Value,
) -> String {
    let id = posted(app, broker, load).await;
    let cover =
        serde_json::json!({"event": "cover", "booking": {"carrier_org_id": carrier.org_id}});
    let res = app
        .post_json(
            &format!("/v1/loads/{id}/status"),
            &cover,
            Some(&broker.access),
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    id
}

/// Books a Dallas → Atlanta load at `rate_cents` with `carrier`, then takes its paperwork to
/// a complete checklist as the two parties would: the carrier signs the generated rate
/// confirmation and uploads proof of delivery, the broker moves the load to delivered. The
/// load's id, once the checklist says it is complete and the payment service has seen it.
pub async fn complete_paperwork(
    app: &TestApp,
    broker: &Account,
    carrier: &Account,
    reference: &str,
    rate_cents: i64,
) -> String {
    let id = book(
        app,
        broker,
        carrier,
        &dallas_atlanta_load(reference, rate_cents),
    )
    .await;
    let status = |event: serde_json::Value| {
        let path = format!("/v1/loads/{id}/status");
        async move {
            let res = app.post_json(&path, &event, Some(&broker.access)).await;
            assert_eq!(res.status(), reqwest::StatusCode::OK, "{event}");
        }
    };
    let docs = poll(app, &format!("/v1/loads/{id}/documents"), carrier, |b| {
        b["documents"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["kind"] == "rate_confirmation"))
    })
    .await;
    let ratecon = docs["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "rate_confirmation")
        .unwrap()
        .clone();
    let signed = app
        .post_json(
            &format!(
                "/v1/documents/{}/signatures",
                ratecon["id"].as_str().unwrap()
            ),
            &serde_json::json!({"name": "Pat Owner", "sha256": ratecon["sha256"], "consent": true}),
            Some(&carrier.access),
        )
        .await;
    assert_eq!(signed.status(), reqwest::StatusCode::CREATED);
    let pod = app
        .client
        .post(app.url(&format!("/v1/loads/{id}/documents?kind=proof_of_delivery")))
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4\n% proof of delivery\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec());
    assert_eq!(
        app.send(pod, Some(&carrier.access)).await.status(),
        reqwest::StatusCode::CREATED
    );
    for event in [
        "dispatch",
        "arrive_pickup",
        "depart_pickup",
        "arrive_delivery",
        "deliver",
    ] {
        status(serde_json::json!({"event": event})).await;
    }
    poll(
        app,
        &format!("/v1/loads/{id}/documents/checklist"),
        broker,
        |c| c["complete"] == true,
    )
    .await;
    // The payment service learns of it from `documents.checklist_completed.v1`, a moment
    // later: the carrier's payout offer is written in the same transaction that makes the
    // load invoiceable, so once the broker sees it, the load can be invoiced.
    poll(app, "/v1/payments/payouts", broker, |b| {
        b["items"]
            .as_array()
            .is_some_and(|i| i.iter().any(|p| p["reference"] == reference))
    })
    .await;
    id
}

/// Polls `path` as `who` until `done` accepts its 200 body (what follows events — the
/// matching projection, the lane index — lags the write by a moment); panics with the
/// last answer after 15 s.
pub async fn poll(
    app: &TestApp,
    path: &str,
    who: &Account,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let res = app.get(path, Some(&who.access)).await;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
        if status == reqwest::StatusCode::OK && done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never settled: {status} {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Asserts the status and returns the JSON body (`null` when there is none).
pub async fn json_of(res: reqwest::Response, status: reqwest::StatusCode) -> serde_json::Value {
    let got = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    assert_eq!(got, status, "body: {body}");
    body
}

/// Asserts a problem+json response with this status and problem type (the last segment of
/// its URI), and returns its body.
pub async fn expect_problem(res: reqwest::Response, status: u16, kind: &str) -> serde_json::Value {
    let got = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: serde_json::Value = res.json().await.unwrap_or(serde_json::Value::Null);
    assert_eq!(got, status, "unexpected status; body {body}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(
        body["type"],
        format!("https://lanerunner.dev/problems/{kind}"),
        "{body}"
    );
    body
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
        self.app.shutdown_token().cancel();
    }
}

/// PostgreSQL, RabbitMQ and Redis set aside for one multi-process test: a fresh database, a
/// RabbitMQ namespace and a Redis key prefix, all removed when dropped. [`SharedEngines::env`]
/// is the configuration a `lanerunner serve` process needs to use them.
pub struct SharedEngines {
    pub database_url: String,
    pub amqp_url: String,
    pub redis_url: String,
    pub namespace: String,
    /// The key-encryption keyring every process shares (one mounted secret at scale).
    pub keyring: PathBuf,
    _database: TestDatabase,
    _broker: TestBrokerNamespace,
}

impl SharedEngines {
    pub async fn create() -> SharedEngines {
        let admin = std::env::var(TEST_POSTGRES_URL_ENV)
            .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_string());
        let database = TestDatabase::create(admin).await;
        let namespace = format!("lrt{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let amqp_url =
            std::env::var(TEST_AMQP_URL_ENV).unwrap_or_else(|_| DEFAULT_TEST_AMQP_URL.to_string());
        let redis_url = std::env::var(TEST_REDIS_URL_ENV)
            .unwrap_or_else(|_| DEFAULT_TEST_REDIS_URL.to_string());
        // Made before any process starts, so none of them creates its own.
        let keyring = std::env::temp_dir().join(format!("lr-keyring-{namespace}.json"));
        crate::storage_keys::KeyringFile::open_or_create(keyring.clone())
            .expect("the shared keyring is created");
        SharedEngines {
            keyring,
            database_url: database.url.clone(),
            amqp_url: amqp_url.clone(),
            redis_url,
            // Every consumer group a serve process declares, so that their queues go too.
            _broker: TestBrokerNamespace {
                url: amqp_url,
                namespace: namespace.clone(),
                groups: vec!["mailer".into()],
            },
            namespace,
            _database: database,
        }
    }

    /// Remembers the consumer groups a process declared (as its `/metrics` lists them in
    /// `bus_queue_depth{group=…}`) so that their queues are deleted with the namespace.
    pub fn track_groups_from_metrics(&mut self, metrics: &str) {
        for line in metrics
            .lines()
            .filter(|l| l.starts_with("bus_queue_depth{"))
        {
            if let Some(group) = line
                .split("group=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
            {
                if !self._broker.groups.iter().any(|g| g == group) {
                    self._broker.groups.push(group.to_string());
                }
            }
        }
    }

    /// `LANERUNNER_*` variables for a `serve` process on these engines (the bus and cache
    /// URLs may be overridden, e.g. to go through a [`FlakyProxy`](lanerunner_platform::testing::FlakyProxy)).
    pub fn env(&self, amqp_url: Option<&str>, redis_url: Option<&str>) -> Vec<(String, String)> {
        [
            ("LANERUNNER_DATABASE_URL", self.database_url.as_str()),
            ("LANERUNNER_DATABASE__MAX_CONNECTIONS", "5"),
            ("LANERUNNER_BUS__BACKEND", "rabbitmq"),
            ("LANERUNNER_BUS_URL", amqp_url.unwrap_or(&self.amqp_url)),
            ("LANERUNNER_BUS__NAMESPACE", self.namespace.as_str()),
            ("LANERUNNER_BUS__REDELIVERY_DELAY_MS", "20"),
            ("LANERUNNER_CACHE__BACKEND", "redis"),
            ("LANERUNNER_CACHE_URL", redis_url.unwrap_or(&self.redis_url)),
            ("LANERUNNER_CACHE__PREFIX", &format!("{}:", self.namespace)),
            ("LANERUNNER_OUTBOX__POLL_INTERVAL_MS", "100"),
            // Cheap password hashing, as in `test_config`.
            ("LANERUNNER_AUTH__ARGON2_MEMORY_KIB", "64"),
            ("LANERUNNER_AUTH__ARGON2_ITERATIONS", "1"),
            (
                "LANERUNNER_STORAGE__KEYRING_FILE",
                self.keyring.to_str().expect("a UTF-8 temporary path"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
}

/// The configuration tests run with: defaults, except cheap password hashing and small
/// pools (many apps share one PostgreSQL server).
/// Points `config`'s blob store at the local S3 (moto on 127.0.0.1:5000, `scripts/s3.sh`),
/// under a prefix of its own in the bucket `lanerunner-test`.
/// Where localstripe answers (`scripts/localstripe.sh`).
impl TestApp {
    /// The organization's ledger balances by account (`GET /v1/payments/ledger/balances`).
    pub async fn ledger_balances(&self, who: &Account) -> std::collections::HashMap<String, i64> {
        let b = json_of(
            self.get("/v1/payments/ledger/balances", Some(&who.access))
                .await,
            reqwest::StatusCode::OK,
        )
        .await;
        b.as_array()
            .expect("a list of balances")
            .iter()
            .map(|r| {
                (
                    r["account"].as_str().unwrap().to_owned(),
                    r["balance_cents"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// Checks the ledger's invariants: every entry balanced, every currency summing to zero.
    pub async fn assert_ledger_balanced(&self) {
        let ledger = self
            .app()
            .typed::<lanerunner_payments::PaymentsService>()
            .expect("the payment service runs")
            .ledger()
            .clone();
        let inv = ledger.invariants().await.unwrap();
        assert!(inv.hold(), "{inv:?}");
    }
}

pub const LOCALSTRIPE: &str = "http://127.0.0.1:8420";

/// Points a test app's payments at localstripe with a webhook secret of its own; the
/// secret, for [`TestApp::register_stripe_webhook`] once the app listens.
pub fn use_local_stripe(config: &mut Config) -> String {
    let secret = format!("whsec_{}", uuid::Uuid::new_v4().simple());
    config.payments.processor = lanerunner_platform::config::PaymentProcessorKind::Stripe;
    config.payments.stripe.api_base = LOCALSTRIPE.into();
    config.payments.stripe.secret_key = Some("sk_test_lanerunner".into());
    config.payments.stripe.webhook_secrets = vec![secret.clone()];
    secret
}

impl TestApp {
    /// Has localstripe deliver its events to this app's webhook, signed with `secret`.
    pub async fn register_stripe_webhook(&self, secret: &str) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let res = self
            .client
            .post(format!("{LOCALSTRIPE}/_config/webhooks/{id}"))
            .form(&[
                ("url", self.url("/v1/payments/webhooks")),
                ("secret", secret.to_owned()),
            ])
            .send()
            .await
            .expect("localstripe answers (bash scripts/localstripe.sh)");
        assert!(res.status().is_success(), "localstripe took the webhook");
    }
}

pub fn use_local_s3(config: &mut Config) {
    let prefix = uuid::Uuid::new_v4().simple().to_string();
    config.blob.url = format!("s3://lanerunner-test/{prefix}");
    config.blob.endpoint = Some("http://127.0.0.1:5000".into());
    config.blob.allow_http = true;
    config.blob.access_key_id = Some("test".into());
    config.blob.secret_access_key = Some("test".into());
}

pub fn test_config(data_dir: PathBuf) -> Config {
    let mut config = Config {
        data_dir,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    config.auth.argon2_memory_kib = 64;
    config.auth.argon2_iterations = 1;
    config.database.max_connections = 4;
    // A model activated on one instance reaches its siblings within a second.
    config.ml.reload_interval_secs = 1;
    config.reporting.schedule_poll_secs = 1;
    config.carriers.sweep_poll_secs = 1;
    // The Parquet archive is written every second, so tests see it.
    config.analytics.archive_interval_secs = 1;
    // Small enough that a test can send one byte too many.
    config.storage.max_upload_bytes = 4096;
    // Receivers in tests listen on loopback; retries come within a second or two.
    config.webhooks.allow_private_targets = true;
    config.webhooks.retry_base_ms = 100;
    config.webhooks.retry_cap_secs = 1;
    config.webhooks.max_attempts = 4;
    config.webhooks.timeout_ms = 1_000;
    config.webhooks.poll_ms = 50;
    config
}

/// What a disaster destroys, for recovery drills: every service's store (the SQLite files,
/// or the PostgreSQL schemas), the stored files and the keyring.
pub async fn destroy_stores(config: &Config) -> anyhow::Result<()> {
    match &config.database.url {
        None => {
            for entry in std::fs::read_dir(&config.data_dir)?.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.ends_with(".db") || name.ends_with(".db-wal") || name.ends_with(".db-shm") {
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
        Some(url) => {
            let mut conn = PgConnection::connect(url).await?;
            for spec in crate::registry::SERVICES {
                conn.execute(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", spec.name).as_str())
                    .await?;
            }
        }
    }
    let _ = std::fs::remove_dir_all(config.data_dir.join("blobs"));
    let _ = std::fs::remove_file(crate::storage_keys::path_of(config));
    Ok(())
}

/// A [`TestApp`] stopped with its stores kept.
pub struct StoppedApp {
    pub config: Config,
    backend: Backend,
    database: Option<TestDatabase>,
    broker: Option<TestBrokerNamespace>,
    data_dir: TempDir,
}

impl StoppedApp {
    /// Starts the application again on the same stores (a new port).
    pub async fn start(self) -> TestApp {
        let config = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..self.config
        };
        TestApp::start(
            self.backend,
            config,
            self.data_dir,
            self.database,
            self.broker,
        )
        .await
    }
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
        if self.0.as_os_str().is_empty() {
            return;
        }
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
    async fn create(admin_url: String) -> Self {
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

/// Writes a test once and runs it on both deployments: the embedded defaults (SQLite,
/// in-process bus, streams and cache) and the full stack ([`Backend::FullStack`]:
/// PostgreSQL, RabbitMQ, Kafka, Redis):
///
/// ```ignore
/// both_backends!(async fn healthz_answers(app: TestApp) {
///     assert_eq!(app.get("/healthz", None).await.status(), 200);
/// });
/// ```
///
/// expands to `mod healthz_answers { #[tokio::test] async fn sqlite() … async fn postgres() … async fn full_stack() … }`
/// (SQLite with the embedded engines; PostgreSQL with the embedded bus, cache and streams;
/// PostgreSQL, RabbitMQ, Redis and Kafka),
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
                    if $crate::testing::skip_engine_test("PostgreSQL") {
                        return;
                    }
                    run($crate::testing::TestApp::spawn($crate::testing::Backend::Postgres).await).await
                }

                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn full_stack() {
                    if $crate::testing::skip_engine_test("PostgreSQL, RabbitMQ, Redis and Kafka") {
                        return;
                    }
                    run($crate::testing::TestApp::spawn($crate::testing::Backend::FullStack).await).await
                }
            }
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __both_backends_run {
    ((mut $app:ident : $ty:ty $(,)?) $body:block) => {
        async fn run(mut $app: $ty) $body
    };
    (($app:ident : $ty:ty $(,)?) $body:block) => {
        async fn run($app: $ty) $body
    };
}
