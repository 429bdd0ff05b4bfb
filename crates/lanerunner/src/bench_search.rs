//! `lanerunner bench search`: the load board over HTTP (issue 3).
//!
//! Seeds a scratch store (SQLite, or a scratch PostgreSQL database dropped afterwards) with
//! generated posted public loads through the loads service's validation and store
//! functions, starts the real application so the board is rebuilt from that store, signs
//! up a carrier, and runs a mixed set of searches over `GET /v1/loads/search` from
//! concurrent clients, then the same searches in-process through `Loads::search` on one
//! thread. Postings and searches come from `lanerunner_loadsearch::synth`, the generator of
//! the in-process index benchmark, translated into what brokers and carriers send. The
//! client runs in the same process as the server, on the same cores. Results print as
//! Markdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use lanerunner_core::OrgId;
use lanerunner_loads::bench::{board_index_memory, seed_posted, Posting};
use lanerunner_loads::domain::{Geo, HorizonDays, SearchParams};
use lanerunner_loads::LoadsService;
use lanerunner_loadsearch::synth;
use lanerunner_platform::Config;
use serde_json::{json, Value};
use sqlx::{Connection, Executor, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::app;

mod lag;
mod requests;
use requests::{params, posting};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchStore {
    Sqlite,
    Postgres,
}

pub struct SearchBenchOptions {
    pub loads: usize,
    pub queries: usize,
    /// HTTP clients, one measurement per entry.
    pub concurrency: Vec<usize>,
    pub store: SearchStore,
    /// Admin connection for the scratch database (`CREATE`/`DROP DATABASE`).
    pub postgres_admin_url: String,
    pub seed: u64,
    /// A RabbitMQ broker (`amqp://…`) for the instances to share; with it, a second
    /// instance posts loads and the lag until the first one's board shows them is
    /// measured (PostgreSQL only).
    pub bus_url: Option<String>,
    /// Loads posted for the lag measurement.
    pub lag_posts: usize,
}

/// Clients searching the measured board meanwhile.
const LAG_CLIENTS: usize = 8;

/// Loads per seeding transaction.
const SEED_BATCH: usize = 5_000;
/// Searches run before measuring (each path), at most.
const WARM_UP: usize = 1_000;
/// Every `CHECK_EVERY`-th search's first page is compared between HTTP and in-process.
const CHECK_EVERY: usize = 10;
const HOUR: i64 = 3_600;

pub async fn search(opts: SearchBenchOptions) -> anyhow::Result<String> {
    let data_dir = std::env::temp_dir().join(format!(
        "lanerunner-bench-search-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&data_dir)?;
    let mut config = Config {
        data_dir: data_dir.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..Config::default()
    };
    // The limiter stays in the request path (its cache increment is part of a request's
    // cost) but never refuses: one carrier sends every search.
    config.http.rate_limit_per_minute = u32::MAX;
    if let Some(url) = &opts.bus_url {
        anyhow::ensure!(
            opts.store == SearchStore::Postgres,
            "instances share a board only through a shared store: use --store postgres with a bus"
        );
        config.bus.backend = lanerunner_platform::config::BusBackend::Rabbitmq;
        config.bus.url = Some(url.clone());
        config.bus.namespace = format!("bench-search-{}", uuid::Uuid::new_v4().simple());
    }
    let scratch = match opts.store {
        SearchStore::Sqlite => None,
        SearchStore::Postgres => {
            let db = ScratchDatabase::create(&opts.postgres_admin_url).await?;
            config.database.url = Some(db.url.clone());
            Some(db)
        }
    };
    let result = run(&opts, config, &data_dir, scratch.as_ref()).await;
    if let Some(db) = scratch {
        if let Err(e) = db.drop_database().await {
            eprintln!("warning: could not drop scratch database {}: {e}", db.name);
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

/// The current hour, in seconds since the epoch.
pub(crate) fn hour_now() -> i64 {
    Utc::now().timestamp() / HOUR * HOUR
}

/// Seeds the loads store of `config` with `loads` generated posted public loads of a new
/// broker (the application is started once, empty, to migrate and sign the broker up);
/// returns how many, and how long generating and seeding took. Pickups start 12 h after
/// `hour` and postings end an hour before it, so no posting expires during a run and none
/// is re-read by the board's start-up catch-up.
pub async fn seed_board(
    config: &Config,
    loads: usize,
    seed: u64,
    hour: i64,
) -> anyhow::Result<(usize, Duration, Duration)> {
    let geo = Geo::offline();
    let gen_now = hour + 12 * HOUR;
    let posted_shift = -13 * HOUR;
    // An empty application migrates both stores and signs the broker up.
    let (empty, _) = Running::start(config.clone()).await?;
    let (_, broker_org, broker_user) = empty.signup("broker").await?;
    empty.stop().await;

    // Seeding: not measured beyond its duration.
    let t = Instant::now();
    let generated = synth::loads(&geo.gazetteer, &geo.markets, loads, seed, gen_now);
    let generate = t.elapsed();
    let db = lanerunner_platform::db::connect(config, lanerunner_loads::SERVICE).await?;
    let t = Instant::now();
    let mut seeded = 0;
    for (b, chunk) in generated.chunks(SEED_BATCH).enumerate() {
        let postings: Vec<Posting> = chunk
            .iter()
            .enumerate()
            .map(|(i, l)| posting(l, b * SEED_BATCH + i, posted_shift, &geo))
            .collect::<anyhow::Result<_>>()?;
        seeded += seed_posted(
            &db,
            &geo,
            HorizonDays::from(&config.loads),
            OrgId(broker_org),
            broker_user,
            &postings,
        )
        .await
        .with_context(|| format!("seeding batch {b}"))?;
    }
    let stored = t.elapsed();
    db.close().await;
    drop(generated);
    Ok((seeded, generate, stored))
}

/// The application on a loopback port, with its HTTP server.
pub(crate) struct Running {
    app: Arc<app::App>,
    pub(crate) base_url: String,
    stop: CancellationToken,
}

impl Running {
    pub(crate) async fn start(config: Config) -> anyhow::Result<(Running, Duration)> {
        let started = Instant::now();
        let app = Arc::new(
            app::build(
                config,
                &[lanerunner_identity::SERVICE, lanerunner_loads::SERVICE],
            )
            .await?,
        );
        let build = started.elapsed();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let stop = CancellationToken::new();
        let (router, signal) = (app.router(), stop.clone());
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move { signal.cancelled().await })
            .await;
        });
        Ok((
            Running {
                app,
                base_url,
                stop,
            },
            build,
        ))
    }

    /// This instance's loads service.
    pub(crate) fn loads(&self) -> anyhow::Result<Arc<lanerunner_loads::Loads>> {
        Ok(self
            .app
            .typed::<LoadsService>()
            .context("the loads service is not running")?
            .loads()
            .clone())
    }

    /// Signs up an organization of `kind`; returns (access token, org id, user id).
    pub(crate) async fn signup(
        &self,
        kind: &str,
    ) -> anyhow::Result<(String, uuid::Uuid, uuid::Uuid)> {
        self.signup_as(kind, &format!("{kind}@bench.example")).await
    }

    pub(crate) async fn signup_as(
        &self,
        kind: &str,
        email: &str,
    ) -> anyhow::Result<(String, uuid::Uuid, uuid::Uuid)> {
        let mut org = json!({ "name": format!("Bench {kind}"), "kind": kind });
        if kind == "carrier" {
            org["usdot_number"] = json!("1234567");
            org["mc_number"] = json!("MC-654321");
        }
        let client = reqwest::Client::new();
        let legal: Value = client
            .get(format!("{}/v1/legal", self.base_url))
            .send()
            .await?
            .json()
            .await?;
        let res = client
            .post(format!("{}/v1/auth/signup", self.base_url))
            .json(
                &json!({ "organization": org, "name": "Bench Owner", "email": email,
                "password": "load board passphrase 7", "terms_version": legal["terms_version"] }),
            )
            .send()
            .await?;
        anyhow::ensure!(
            res.status() == 201,
            "{kind} signup failed: {}",
            res.status()
        );
        let body: Value = res.json().await?;
        let id = |v: &Value| v.as_str().unwrap_or_default().parse::<uuid::Uuid>();
        Ok((
            body["tokens"]["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            id(&body["organization"]["id"])?,
            id(&body["user"]["id"])?,
        ))
    }

    pub(crate) async fn stop(self) {
        self.stop.cancel();
        self.app.shutdown().await;
    }
}

async fn run(
    opts: &SearchBenchOptions,
    config: Config,
    data_dir: &Path,
    scratch: Option<&ScratchDatabase>,
) -> anyhow::Result<String> {
    let geo = Geo::offline();
    let hour = hour_now();
    let gen_now = hour + 12 * HOUR;
    let (seeded, generate, seed) = seed_board(&config, opts.loads, opts.seed, hour).await?;
    let store_bytes = match scratch {
        None => dir_bytes(data_dir),
        Some(s) => s.size().await.unwrap_or(0),
    };

    // Start-up: the board is rebuilt from the store.
    let rss_before = rss_bytes();
    let second_config = config.clone();
    let (server, build) = Running::start(config).await?;
    let rss_after = rss_bytes();
    let rss_trimmed = trim_heap().then(rss_bytes);

    // Start-up from a snapshot: the first instance writes one, a second starts from it.
    let written = Instant::now();
    server.loads()?.write_board_snapshot().await?;
    let snapshot_write = written.elapsed();
    // The snapshot's key in the embedded blob directory.
    let snapshot_file = data_dir
        .join("blobs")
        .join(lanerunner_loads::BOARD_SNAPSHOT_KEY);
    let snapshot_bytes = std::fs::metadata(snapshot_file).map_or(0, |m| m.len());
    server.stop().await;
    trim_heap();
    let rss_before_snapshot = rss_bytes();
    let (server, from_snapshot) = Running::start(second_config.clone()).await?;
    let rss_from_snapshot = trim_heap()
        .then(rss_bytes)
        .map(|after| after.saturating_sub(rss_before_snapshot));
    let loads = server.loads()?;
    let views = loads.board_view_stats();
    anyhow::ensure!(
        loads.board_start() == lanerunner_loads::BoardStart::Snapshot,
        "the second start did not use the snapshot: {:?}",
        loads.board_start()
    );

    let queries: Vec<SearchParams> = synth::queries(
        &geo.gazetteer,
        &geo.markets,
        opts.queries,
        opts.seed ^ 0x5EA2C4,
        gen_now,
    )
    .iter()
    .map(|q| params(q, &geo))
    .collect();
    let queries = Arc::new(queries);

    // In-process, one thread: warm-up, then every query; keeps the sampled first pages.
    let (inproc, expected, totals) = {
        let (loads, queries) = (loads.clone(), queries.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            for q in queries.iter().take(WARM_UP) {
                loads.search(q)?;
            }
            let mut lat = Vec::with_capacity(queries.len());
            let mut expected = Vec::new();
            let mut totals = Vec::with_capacity(queries.len());
            let started = Instant::now();
            for (i, q) in queries.iter().enumerate() {
                let t = Instant::now();
                let page = loads.search(q)?;
                lat.push(t.elapsed());
                totals.push(page.total_matches);
                if i % CHECK_EVERY == 0 {
                    let ids: Vec<String> =
                        page.items.iter().map(|h| h.load_id.to_string()).collect();
                    expected.push((page.total_matches, ids));
                }
            }
            Ok((Latencies::new(lat, started.elapsed(), 0), expected, totals))
        })
        .await??
    };

    // Over HTTP, for each level, that many clients (one connection each) sharing one queue
    // of queries; the first level's pages are compared with the in-process ones.
    let (carrier_token, _, _) = server.signup("carrier").await?;
    let url = format!("{}/v1/loads/search", server.base_url);
    let mut http = Vec::new();
    let mut pages = Vec::new();
    for &concurrency in &opts.concurrency {
        let clients: Vec<reqwest::Client> = (0..concurrency)
            .map(|_| {
                reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
            })
            .collect::<Result<_, _>>()?;
        let warm: Vec<usize> = (0..queries.len().min(WARM_UP)).collect();
        http_pass(&clients, &url, &carrier_token, &queries, &warm).await;
        let all: Vec<usize> = (0..queries.len()).collect();
        let (latencies, bodies) = http_pass(&clients, &url, &carrier_token, &queries, &all).await;
        if pages.is_empty() {
            pages = bodies;
        }
        http.push((concurrency, latencies));
    }

    // Another instance posts; this one's board must show each post.
    let lag = match &opts.bus_url {
        None => None,
        Some(_) => {
            let (poster, _) = Running::start(second_config.clone()).await?;
            let lag = lag::post_to_visible(
                &poster,
                &server,
                &queries,
                LAG_CLIENTS,
                opts.lag_posts,
                opts.seed,
            )
            .await;
            poster.stop().await;
            Some(lag?)
        }
    };

    let mut checked = 0;
    let mut identical = 0;
    let mut body_sizes = Vec::new();
    for (i, body) in pages.iter().enumerate() {
        let Some(body) = body else { continue };
        body_sizes.push(body.len());
        if i % CHECK_EVERY != 0 {
            continue;
        }
        checked += 1;
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let ids: Vec<String> = v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| h["load"]["id"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let total = v["total_matches"].as_u64().unwrap_or(u64::MAX) as usize;
        if expected[i / CHECK_EVERY] == (total, ids) {
            identical += 1;
        }
    }

    let index = board_index_memory(
        &server
            .app
            .db(lanerunner_loads::SERVICE)
            .context("loads store")?,
        &geo,
    )
    .await?;
    server.stop().await;
    drop(loads);

    let mut totals = totals;
    totals.sort_unstable();
    body_sizes.sort_unstable();
    let mb = |b: u64| b as f64 / 1e6;
    let per_load = |b: u64| b as f64 / seeded.max(1) as f64;
    let mut out = String::new();
    out.push_str(&format!(
        "{seeded} posted public loads on {store}, {q} searches, {c:?} HTTP clients, seed {seed}.\n\n",
        store = match opts.store {
            SearchStore::Sqlite => "SQLite",
            SearchStore::Postgres => "PostgreSQL",
        },
        q = queries.len(),
        c = opts.concurrency,
        seed = opts.seed,
    ));
    out.push_str(&format!(
        "- Seeding: generated in {:.1} s; validated and stored in {:.1} s ({:.0} loads/s, {SEED_BATCH} per transaction); store {:.0} MB on disk ({:.0} bytes per load).\n",
        generate.as_secs_f64(),
        seed.as_secs_f64(),
        seeded as f64 / seed.as_secs_f64(),
        mb(store_bytes),
        per_load(store_bytes),
    ));
    out.push_str(&format!(
        "- Start-up (`app::build`: stores opened, board rebuilt from the store): {:.2} s.\n",
        build.as_secs_f64()
    ));
    out.push_str(&format!(
        "- Start-up from the snapshot (`app::build`: the snapshot fetched, checked and loaded, the board caught up from the store): {:.2} s; writing the snapshot {:.2} s, {:.0} MB ({:.0} bytes per load).\n",
        from_snapshot.as_secs_f64(),
        snapshot_write.as_secs_f64(),
        mb(snapshot_bytes),
        per_load(snapshot_bytes),
    ));
    let growth = rss_after.saturating_sub(rss_before);
    out.push_str(&format!(
        "- Process RSS: {:.0} MB before start-up, {:.0} MB after: +{:.0} MB, {:.0} bytes per load",
        mb(rss_before),
        mb(rss_after),
        mb(growth),
        per_load(growth)
    ));
    match rss_trimmed {
        Some(t) => out.push_str(&format!(
            "; {:.0} MB after `malloc_trim(0)` (freed rebuild buffers returned): +{:.0} MB, {:.0} bytes per load.\n",
            mb(t),
            mb(t.saturating_sub(rss_before)),
            per_load(t.saturating_sub(rss_before))
        )),
        None => out.push_str(".\n"),
    }
    if let Some(growth) = rss_from_snapshot {
        out.push_str(&format!(
            "- Process RSS growth starting from the snapshot, after `malloc_trim(0)`: +{:.0} MB, {:.0} bytes per load.\n",
            mb(growth),
            per_load(growth)
        ));
    }
    out.push_str(&format!(
        "- Public views on the board: {:.1} bytes per load compressed (zstd, a {:.0} KB dictionary trained on {} views).\n",
        views.view_bytes as f64 / views.loads.max(1) as f64,
        views.dictionary_bytes as f64 / 1024.0,
        views.trained_on,
    ));
    out.push_str(&format!(
        "- Search index alone (built from the same rows as the board's): {:.1} bytes per load ({:.1} columns + {:.1} id map + {:.1} grid).\n",
        index.bytes_per_load(),
        index.columns as f64 / index.loads.max(1) as f64,
        index.id_map as f64 / index.loads.max(1) as f64,
        index.grid as f64 / index.loads.max(1) as f64,
    ));
    if !totals.is_empty() {
        out.push_str(&format!(
            "- Matches per search: median {}, p99 {}; HTTP response body median {:.1} KB, p99 {:.1} KB.\n",
            totals[totals.len() / 2],
            totals[(totals.len() * 99 / 100).min(totals.len() - 1)],
            pct_of(&body_sizes, 0.5) as f64 / 1e3,
            pct_of(&body_sizes, 0.99) as f64 / 1e3,
        ));
    }
    if let Some(lag) = &lag {
        out.push_str(&lag.line(opts.lag_posts, LAG_CLIENTS));
    }
    out.push_str(&format!(
        "- First pages (ids, order, total) identical over HTTP and in-process: {identical}/{checked} sampled searches.\n\n"
    ));
    out.push_str("| path | p50 ms | p99 ms | mean ms | queries/s | errors |\n|---|---:|---:|---:|---:|---:|\n");
    out.push_str(&inproc.row("in-process `Loads::search`, 1 thread"));
    for (concurrency, latencies) in &http {
        out.push_str(&latencies.row(&format!(
            "HTTP `GET /v1/loads/search`, {concurrency} clients"
        )));
    }
    Ok(out)
}

/// Runs the searches `which` over HTTP from `clients`; returns the latencies and, per
/// search, the response body (`None` on an error).
async fn http_pass(
    clients: &[reqwest::Client],
    url: &str,
    token: &str,
    queries: &Arc<Vec<SearchParams>>,
    which: &[usize],
) -> (Latencies, Vec<Option<Vec<u8>>>) {
    let next = Arc::new(AtomicUsize::new(0));
    let which = Arc::new(which.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in clients {
        let (client, url, token) = (client.clone(), url.to_owned(), token.to_owned());
        let (next, which, queries) = (next.clone(), which.clone(), queries.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = which.get(k) else { break };
                let t = Instant::now();
                let res = client
                    .get(&url)
                    .query(&queries[i])
                    .bearer_auth(&token)
                    .send()
                    .await;
                let body = match res {
                    Ok(r) if r.status() == 200 => r.bytes().await.ok().map(|b| b.to_vec()),
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        eprintln!("search {i}: {status}: {text}");
                        None
                    }
                    Err(e) => {
                        eprintln!("search {i}: {e}");
                        None
                    }
                };
                done.push((i, t.elapsed(), body));
            }
            done
        }));
    }
    let mut lat = Vec::with_capacity(which.len());
    let mut errors = 0;
    let mut bodies: Vec<Option<Vec<u8>>> = vec![None; queries.len()];
    for t in tasks {
        for (i, d, body) in t.await.unwrap_or_default() {
            match body {
                Some(b) => {
                    lat.push(d);
                    bodies[i] = Some(b);
                }
                None => errors += 1,
            }
        }
    }
    (Latencies::new(lat, started.elapsed(), errors), bodies)
}

struct Latencies {
    sorted: Vec<Duration>,
    wall: Duration,
    errors: usize,
}

impl Latencies {
    fn new(mut lat: Vec<Duration>, wall: Duration, errors: usize) -> Self {
        lat.sort_unstable();
        Latencies {
            sorted: lat,
            wall,
            errors,
        }
    }

    fn row(&self, what: &str) -> String {
        let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1e3);
        let mean = if self.sorted.is_empty() {
            Duration::ZERO
        } else {
            self.sorted.iter().sum::<Duration>() / self.sorted.len() as u32
        };
        format!(
            "| {what} | {} | {} | {} | {:.0} | {} |\n",
            ms(pct_of(&self.sorted, 0.50)),
            ms(pct_of(&self.sorted, 0.99)),
            ms(mean),
            self.sorted.len() as f64 / self.wall.as_secs_f64(),
            self.errors
        )
    }
}

/// Nearest-rank percentile of an ascending slice.
fn pct_of<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// Resident set size of this process (`/proc/self/statm`, 4 KiB pages); 0 elsewhere.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Returns freed heap memory to the system (glibc), so RSS shows what is still live.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() -> bool {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim only releases free memory; it has no preconditions.
    unsafe { malloc_trim(0) };
    true
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() -> bool {
    false
}

pub(crate) fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A scratch PostgreSQL database, dropped by [`ScratchDatabase::drop_database`].
pub(crate) struct ScratchDatabase {
    admin_url: String,
    pub(crate) name: String,
    pub(crate) url: String,
}

impl ScratchDatabase {
    pub(crate) async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!(
            "lr_bench_search_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("connecting to PostgreSQL to create the scratch database")?;
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        let _ = admin.close().await;
        let mut url = reqwest::Url::parse(admin_url)?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    pub(crate) async fn size(&self) -> anyhow::Result<u64> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        let (bytes,): (i64,) = sqlx::query_as("SELECT pg_database_size($1)")
            .bind(&self.name)
            .fetch_one(&mut admin)
            .await?;
        let _ = admin.close().await;
        Ok(bytes as u64)
    }

    pub(crate) async fn drop_database(&self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await?;
        let _ = admin.close().await;
        Ok(())
    }
}

/// Runs `run` on each store `store` names (`sqlite`, `postgres` or `both`): SQLite in a
/// temporary data directory, PostgreSQL in a scratch database on `admin_url` (with
/// `max_connections` when given), both removed afterwards. Each run answers a line of a
/// report; they are joined under `header`.
pub(crate) async fn on_stores<F, Fut>(
    store: &str,
    admin_url: &str,
    max_connections: Option<u32>,
    header: &str,
    run: F,
) -> anyhow::Result<String>
where
    F: Fn(lanerunner_platform::Config, &'static str) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    let base = |dir: std::path::PathBuf| lanerunner_platform::Config {
        data_dir: dir,
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ..lanerunner_platform::Config::default()
    };
    let mut out = header.to_owned();
    if store == "sqlite" || store == "both" {
        let dir = std::env::temp_dir().join(format!(
            "lanerunner-bench-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let result = run(base(dir.clone()), "SQLite (WAL)").await;
        let _ = std::fs::remove_dir_all(&dir);
        out.push_str(&result?);
    }
    if store == "postgres" || store == "both" {
        let scratch = ScratchDatabase::create(admin_url).await?;
        let mut config = base(std::env::temp_dir());
        config.database.url = Some(scratch.url.clone());
        if let Some(n) = max_connections {
            config.database.max_connections = n;
        }
        let result = run(config, "PostgreSQL").await;
        if let Err(e) = scratch.drop_database().await {
            eprintln!(
                "warning: could not drop scratch database {}: {e}",
                scratch.name
            );
        }
        out.push_str(&result?);
    }
    anyhow::ensure!(
        out.len() > header.len(),
        "unknown store {store:?}; use sqlite, postgres or both"
    );
    Ok(out)
}
