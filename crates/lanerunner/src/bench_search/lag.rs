//! How long a load posted on one instance takes to show on another instance's board while
//! that board serves searches: the path is the poster's commit, its outbox relay,
//! RabbitMQ, the other instance's board listener re-reading the load from PostgreSQL.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lanerunner_core::LoadId;
use lanerunner_loads::domain::{Geo, SearchParams};
use lanerunner_loadsearch::synth;
use serde_json::Value;

use super::{pct_of, posting, Running, HOUR};

/// How long a post may take to show before the run gives up on it.
const GIVE_UP: Duration = Duration::from_secs(10);
/// How often the other board is looked at: the figures' resolution.
const POLL: Duration = Duration::from_millis(1);
/// Pause between two posts.
const BETWEEN_POSTS: Duration = Duration::from_millis(20);

pub(super) struct Lag {
    sorted: Vec<Duration>,
    missing: usize,
    /// Searches the other instance answered meanwhile, per second, and their errors.
    searches_per_s: f64,
    search_errors: usize,
}

impl Lag {
    pub(super) fn line(&self, posts: usize, clients: usize) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "- Post on one instance → on another instance's board (PostgreSQL, RabbitMQ; {posts} posts, 20 ms apart, while {clients} clients searched the other instance at {:.0} searches/s, {} errors): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (looked for every {} ms); {} never showed within {} s.\n",
            self.searches_per_s,
            self.search_errors,
            ms(pct_of(&self.sorted, 0.5)),
            ms(pct_of(&self.sorted, 0.99)),
            ms(self.sorted.last().copied().unwrap_or_default()),
            POLL.as_millis(),
            self.missing,
            GIVE_UP.as_secs(),
        )
    }
}

/// With `poster`, a second instance on the same stores and bus as `board`, posts
/// `posts` loads through its API one after another while `clients` clients search
/// `board` over HTTP, and times each from the post's answer to the load's appearance on
/// `board`'s board.
pub(super) async fn post_to_visible(
    poster: &Running,
    board: &Running,
    queries: &Arc<Vec<SearchParams>>,
    clients: usize,
    posts: usize,
    seed: u64,
) -> anyhow::Result<Lag> {
    let geo = Geo::offline();
    let loads = board.loads()?;
    let (broker_token, _, _) = poster.signup_as("broker", "lag@bench.example").await?;
    let (carrier_token, _, _) = board
        .signup_as("carrier", "lag-carrier@bench.example")
        .await?;
    let hour = super::hour_now();
    let generated = synth::loads(
        &geo.gazetteer,
        &geo.markets,
        posts,
        seed ^ 0x1A6,
        hour + 12 * HOUR,
    );
    let inputs: Vec<Value> = generated
        .iter()
        .enumerate()
        .map(|(i, l)| Ok(serde_json::to_value(&posting(l, i, -HOUR, &geo)?.input)?))
        .collect::<anyhow::Result<_>>()?;

    // The search load on the other instance, until the posts are done.
    let stop = Arc::new(AtomicBool::new(false));
    let (served, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let url = format!("{}/v1/loads/search", board.base_url);
    let searching = Instant::now();
    let mut searchers = Vec::new();
    for c in 0..clients {
        let client = reqwest::Client::new();
        let (url, token, queries) = (url.clone(), carrier_token.clone(), queries.clone());
        let (stop, served, failed) = (stop.clone(), served.clone(), failed.clone());
        searchers.push(tokio::spawn(async move {
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let ok = client
                    .get(&url)
                    .query(&queries[i % queries.len()])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                let counter = if ok { &served } else { &failed };
                counter.fetch_add(1, Ordering::Relaxed);
                i += clients;
            }
        }));
    }

    let http = reqwest::Client::new();
    let mut lags = Vec::with_capacity(posts);
    let mut missing = 0;
    for input in &inputs {
        let created: Value = http
            .post(format!("{}/v1/loads", poster.base_url))
            .bearer_auth(&broker_token)
            .json(input)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id: uuid::Uuid = created["id"].as_str().unwrap_or_default().parse()?;
        http.post(format!("{}/v1/loads/{id}/post", poster.base_url))
            .bearer_auth(&broker_token)
            .send()
            .await?
            .error_for_status()?;
        let posted = Instant::now();
        loop {
            if loads.on_board(LoadId(id)) {
                lags.push(posted.elapsed());
                break;
            }
            if posted.elapsed() > GIVE_UP {
                missing += 1;
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        tokio::time::sleep(BETWEEN_POSTS).await;
    }
    stop.store(true, Ordering::Relaxed);
    for s in searchers {
        let _ = s.await;
    }
    let elapsed = searching.elapsed().as_secs_f64();
    lags.sort_unstable();
    Ok(Lag {
        sorted: lags,
        missing,
        searches_per_s: served.load(Ordering::Relaxed) as f64 / elapsed,
        search_errors: failed.load(Ordering::Relaxed),
    })
}
