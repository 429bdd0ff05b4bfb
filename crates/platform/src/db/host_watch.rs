//! Following the right host of a multi-host URL: the primary of `database.url` across a
//! failover, and a standby of `database.read_url` across the loss of one.
//!
//! One [`HostWatch`] per URL per process, shared by every service's pool: it knows which
//! host the pools use, checks on it with one query every [`CHECK_EVERY`], and when it stops
//! answering or stops being what the list wants (the primary died and a standby was
//! promoted, or it was demoted; a standby was promoted or went away), it probes the hosts
//! and points every pool at the first that will do. A pool is never rebuilt: sqlx's connect
//! loop rereads the pool's connect options on each retry, so a request waiting for a
//! connection when the switch happens gets one on the new host within its `acquire_timeout`.
//!
//! The primary is looked for in the listed order, and kept while it accepts writes even if a
//! host listed before it comes back writable (an old primary restarted without being rewound
//! into a standby): switching back would split the writes between two primaries. Standbys
//! are looked for from a place in the list each process picks at random, so the instances
//! of a deployment spread their reads over the replicas; a reader that fell back to a
//! non-standby (`prefer-standby`) looks for a standby again at every check.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::Notify;

use super::hosts::{HostList, Wants};

/// How often an instance asks its primary whether it still is one. Half a second bounds the
/// time to notice a failover, at the cost of one tiny query per instance.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long one host gets to answer a probe: a host that drops packets rather than refusing
/// (a dead machine) must not hold up the search for the next one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a server is: in recovery (a standby), and whether it accepts writes (libpq's
/// `read-write` and `primary` in one).
const WHAT_IT_IS: &str = "SELECT pg_is_in_recovery(), \
     NOT (pg_is_in_recovery() OR current_setting('transaction_read_only')::bool)";

/// How well a server suits a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// What the list wants.
    Best,
    /// Will do while nothing better answers (`prefer-standby` on a primary).
    Fallback,
    No,
}

impl Wants {
    fn fit(self, in_recovery: bool, accepts_writes: bool) -> Fit {
        match self {
            Wants::Primary if accepts_writes => Fit::Best,
            Wants::Standby | Wants::PreferStandby if in_recovery => Fit::Best,
            Wants::PreferStandby => Fit::Fallback,
            Wants::Any => Fit::Best,
            _ => Fit::No,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Wants::Primary => "the database primary",
            _ => "the read replica",
        }
    }
}

/// A new connection reached a server that is not what its list wants (a primary that no
/// longer accepts writes, a standby that was promoted).
#[derive(Debug, thiserror::Error)]
#[error("the server is not what database.{key} wants (a standby or read-only where writes go, or a primary where target_session_attrs=standby); looking again")]
pub struct NotWanted {
    key: &'static str,
}

/// No host of the list will do (all down, or none promoted yet).
#[derive(Debug, thiserror::Error)]
#[error("no host of database.{key} will do ({wants:?}): {tried}")]
pub struct NoHostWillDo {
    key: &'static str,
    wants: Wants,
    tried: String,
}

/// The host one host list's pools use, and the pools that follow it.
pub(super) struct HostWatch {
    list: HostList,
    /// Where a search for a standby starts (this process's place in the list).
    start: usize,
    /// Credentials, database and parameters; the host is set per probe or pool.
    base: PgConnectOptions,
    state: Mutex<State>,
    /// Wakes the watcher early: a new connection met a server that will not do.
    wake: Notify,
}

struct State {
    current: Option<usize>,
    switched_at: Option<Instant>,
    /// Each pool with its own options (its `search_path`), host aside.
    pools: Vec<(PgPool, PgConnectOptions)>,
    watching: bool,
}

/// One [`HostWatch`] per URL and wish: every service's pool on it shares the watcher and
/// its one connection. Weak, so a process whose pools are all closed keeps nothing.
type Watches = HashMap<(String, Wants), Weak<HostWatch>>;
static WATCHES: LazyLock<Mutex<Watches>> = LazyLock::new(Default::default);

impl HostWatch {
    pub(super) fn of(url: &str, list: HostList) -> anyhow::Result<Arc<HostWatch>> {
        let mut all = WATCHES.lock().expect("host watches lock");
        let key = (url.to_string(), list.wants);
        if let Some(found) = all.get(&key).and_then(Weak::upgrade) {
            return Ok(found);
        }
        all.retain(|_, p| p.strong_count() > 0);
        let start = match list.wants {
            Wants::Primary => 0,
            _ => (uuid::Uuid::new_v4().as_u128() % list.hosts.len() as u128) as usize,
        };
        let watch = Arc::new(HostWatch {
            base: list.url_of(0).parse()?,
            start,
            list,
            state: Mutex::new(State {
                current: None,
                switched_at: None,
                pools: Vec::new(),
                watching: false,
            }),
            wake: Notify::new(),
        });
        all.insert(key, Arc::downgrade(&watch));
        Ok(watch)
    }

    fn key(&self) -> &'static str {
        match self.list.wants {
            Wants::Primary => "url",
            _ => "read_url",
        }
    }

    /// The current host, looking for it first if need be.
    async fn current(&self) -> Result<usize, NoHostWillDo> {
        // Copied out first: the lock must not be held while `locate` takes it.
        let current = self.state().current;
        match current {
            Some(i) => Ok(i),
            None => Ok(self.locate().await?.0),
        }
    }

    /// The connect options of the current host, looking for it first if need be.
    pub(super) async fn options(&self) -> Result<PgConnectOptions, NoHostWillDo> {
        Ok(self.on(&self.base, self.current().await?))
    }

    /// The URL of the current host alone (for `pg_dump`), looking for it if need be.
    pub(super) async fn url(&self) -> Result<String, NoHostWillDo> {
        Ok(self.list.url_of(self.current().await?))
    }

    /// The host a pool is opened on before the watcher has looked: the current one, or where
    /// this process's search starts.
    pub(super) fn first(&self, options: &PgConnectOptions) -> PgConnectOptions {
        let index = self.state().current.unwrap_or(self.start);
        self.on(options, index)
    }

    /// `options` with the checks that keep a pool on the right host: a new connection to a
    /// server that will not do (one that refuses writes, for a primary: closed, and the
    /// watcher woken, instead of failing writes with SQLSTATE 25006) is refused; a pooled
    /// connection opened before the last switch is closed instead of reused (its server is
    /// no longer the one).
    pub(super) fn guard(self: &Arc<Self>, options: PgPoolOptions) -> PgPoolOptions {
        let on_connect = Arc::clone(self);
        let on_acquire = Arc::clone(self);
        options
            .after_connect(move |conn, _| {
                let watch = Arc::clone(&on_connect);
                Box::pin(async move {
                    match watch.fit(conn).await? {
                        // A fallback serves while nothing better answers; the watcher looks
                        // for better at every check.
                        Fit::Best | Fit::Fallback => Ok(()),
                        Fit::No => {
                            watch.wake.notify_one();
                            Err(sqlx::Error::Configuration(Box::new(NotWanted {
                                key: watch.key(),
                            })))
                        }
                    }
                })
            })
            .before_acquire(move |_, meta: PoolConnectionMetadata| {
                let fresh = on_acquire.opened_since_switch(meta.age);
                Box::pin(async move { Ok(fresh) })
            })
    }

    /// Makes `pool` (opened with `options`) follow the host, and starts the watcher if it
    /// is not running.
    pub(super) fn follow(self: &Arc<Self>, pool: &PgPool, options: PgConnectOptions) {
        let mut state = self.state();
        // A switch may have happened since the pool was opened.
        if let Some(i) = state.current {
            pool.set_connect_options(self.on(&options, i));
        }
        state.pools.push((pool.clone(), options));
        if !state.watching {
            state.watching = true;
            tokio::spawn(watch(Arc::clone(self)));
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("host watch state lock")
    }

    async fn fit(&self, conn: &mut PgConnection) -> Result<Fit, sqlx::Error> {
        let (in_recovery, accepts_writes): (bool, bool) =
            sqlx::query_as(WHAT_IT_IS).fetch_one(conn).await?;
        Ok(self.list.wants.fit(in_recovery, accepts_writes))
    }

    fn on(&self, options: &PgConnectOptions, index: usize) -> PgConnectOptions {
        let host = &self.list.hosts[index];
        options.clone().host(&host.name).port(host.port)
    }

    fn opened_since_switch(&self, age: Duration) -> bool {
        self.state()
            .switched_at
            .is_none_or(|at| at.elapsed() >= age)
    }

    /// Probes the current host, then every host in order (from this process's place in the
    /// list); points the pools at the first that is what the list wants — or, failing one,
    /// the first that will do — and returns it with the probe's connection.
    async fn locate(&self) -> Result<(usize, PgConnection), NoHostWillDo> {
        let current = self.state().current;
        let n = self.list.hosts.len();
        let order = current.into_iter().chain(
            (0..n)
                .map(|k| (self.start + k) % n)
                .filter(|i| Some(*i) != current),
        );
        let mut tried = Vec::new();
        let mut fallback = None;
        for index in order {
            match self.probe(index).await {
                Ok((Fit::Best, conn)) => {
                    self.switch_to(index);
                    return Ok((index, conn));
                }
                Ok((Fit::Fallback, conn)) => {
                    fallback = fallback.or(Some((index, conn)));
                }
                Ok((Fit::No, _)) => {
                    tried.push(format!("{} is not what it wants", self.list.hosts[index]))
                }
                Err(e) => tried.push(format!("{}: {e}", self.list.hosts[index])),
            }
        }
        if let Some((index, conn)) = fallback {
            self.switch_to(index);
            return Ok((index, conn));
        }
        Err(NoHostWillDo {
            key: self.key(),
            wants: self.list.wants,
            tried: tried.join("; "),
        })
    }

    /// A connection to host `index`, and how well it suits.
    async fn probe(&self, index: usize) -> Result<(Fit, PgConnection), sqlx::Error> {
        let attempt = async {
            let mut conn = self.on(&self.base, index).connect().await?;
            Ok::<_, sqlx::Error>((self.fit(&mut conn).await?, conn))
        };
        tokio::time::timeout(PROBE_TIMEOUT, attempt)
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut))
    }

    fn switch_to(&self, index: usize) {
        let mut state = self.state();
        if state.current == Some(index) {
            return;
        }
        if let Some(old) = state.current {
            tracing::warn!(from = %self.list.hosts[old], to = %self.list.hosts[index], "{} moved; new connections go to the new host", self.list.wants.what());
        }
        // Also on the first choice: a lazy read pool may already hold a connection to the
        // host its search started at, which was not the one chosen.
        state.switched_at = Some(Instant::now());
        state.current = Some(index);
        for (pool, options) in &state.pools {
            pool.set_connect_options(self.on(options, index));
        }
    }

    /// Forgets closed pools; false (and the watcher marked stopped) when none is left.
    fn keep_watching(&self) -> bool {
        let mut state = self.state();
        state.pools.retain(|(pool, _)| !pool.is_closed());
        state.watching = !state.pools.is_empty();
        state.watching
    }
}

/// Checks on the host until every pool following it is closed. A pool opened before any
/// host was chosen (a lazy read pool) has one chosen at once.
async fn watch(host: Arc<HostWatch>) {
    // If the runtime stops first (a test's), the next pool starts a new watcher.
    let _stopped = StopOnDrop(Arc::clone(&host));
    let mut monitor: Option<PgConnection> = None;
    let mut first = host.state().current.is_none();
    loop {
        if !std::mem::take(&mut first) {
            tokio::select! {
                _ = tokio::time::sleep(CHECK_EVERY) => {}
                _ = host.wake.notified() => {}
            }
        }
        if !host.keep_watching() {
            return;
        }
        if let Some(conn) = monitor.as_mut() {
            let check = tokio::time::timeout(PROBE_TIMEOUT, host.fit(conn)).await;
            if matches!(check, Ok(Ok(Fit::Best))) {
                continue;
            }
        }
        monitor = match host.locate().await {
            Ok((_, conn)) => Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "{} is unreachable; still looking", host.list.wants.what());
                None
            }
        };
    }
}

struct StopOnDrop(Arc<HostWatch>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.watching = false;
        }
    }
}
