//! Following the primary of a multi-host `database.url` across a failover.
//!
//! One [`Primary`] per URL per process, shared by every service's pool: it knows which host
//! is the primary, checks on it with one query every [`CHECK_EVERY`], and when the primary
//! stops answering or starts refusing writes (it died and a standby was promoted, or it was
//! demoted), it probes the hosts in their listed order and points every pool at the first
//! that accepts writes. A pool is never rebuilt: sqlx's connect loop rereads the pool's
//! connect options on each retry, so a request waiting for a connection when the switch
//! happens gets one on the new primary within its `acquire_timeout`.
//!
//! It stays on a primary that still accepts writes even if a host listed before it comes
//! back writable (an old primary restarted without being rewound into a standby): switching
//! back would split the writes between two primaries.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tokio::sync::Notify;

use super::hosts::HostList;

/// How often an instance asks its primary whether it still is one. Half a second bounds the
/// time to notice a failover, at the cost of one tiny query per instance.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long one host gets to answer a probe: a host that drops packets rather than refusing
/// (a dead machine) must not hold up the search for the next one.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// libpq's `target_session_attrs=read-write` and `primary` in one query.
const ACCEPTS_WRITES: &str =
    "SELECT NOT (pg_is_in_recovery() OR current_setting('transaction_read_only')::bool)";

/// A new connection reached a server that does not accept writes.
#[derive(Debug, thiserror::Error)]
#[error("the server does not accept writes (a standby, or read-only); looking for the new primary")]
pub struct NotPrimary;

/// No host of the list accepts writes (all down, or none promoted yet).
#[derive(Debug, thiserror::Error)]
#[error("no host of database.url accepts writes: {tried}")]
pub struct NoPrimary {
    tried: String,
}

/// The primary of one host list, and the pools that follow it.
pub(super) struct Primary {
    list: HostList,
    /// Credentials, database and parameters; the host is set per probe or pool.
    base: PgConnectOptions,
    state: Mutex<State>,
    /// Wakes the watcher early: a new connection met a standby.
    wake: Notify,
}

struct State {
    current: Option<usize>,
    switched_at: Option<Instant>,
    /// Each pool with its own options (its `search_path`), host aside.
    pools: Vec<(PgPool, PgConnectOptions)>,
    watching: bool,
}

/// One [`Primary`] per URL: every service's pool on it shares the watcher and its one
/// connection. Weak, so a process whose pools are all closed keeps nothing.
static PRIMARIES: LazyLock<Mutex<HashMap<String, Weak<Primary>>>> = LazyLock::new(Default::default);

impl Primary {
    pub(super) fn of(url: &str, list: HostList) -> anyhow::Result<Arc<Primary>> {
        let mut all = PRIMARIES.lock().expect("primaries lock");
        if let Some(found) = all.get(url).and_then(Weak::upgrade) {
            return Ok(found);
        }
        all.retain(|_, p| p.strong_count() > 0);
        let primary = Arc::new(Primary {
            base: list.url_of(0).parse()?,
            list,
            state: Mutex::new(State {
                current: None,
                switched_at: None,
                pools: Vec::new(),
                watching: false,
            }),
            wake: Notify::new(),
        });
        all.insert(url.to_string(), Arc::downgrade(&primary));
        Ok(primary)
    }

    /// The connect options of the current primary, looking for it first if need be.
    pub(super) async fn options(&self) -> Result<PgConnectOptions, NoPrimary> {
        let current = self.state().current;
        let index = match current {
            Some(i) => i,
            None => self.locate().await?.0,
        };
        Ok(self.on(&self.base, index))
    }

    /// The URL of the current primary alone (for `pg_dump`), looking for it if need be.
    pub(super) async fn url(&self) -> Result<String, NoPrimary> {
        // Copied out first: the lock must not be held while `locate` takes it.
        let current = self.state().current;
        let index = match current {
            Some(i) => i,
            None => self.locate().await?.0,
        };
        Ok(self.list.url_of(index))
    }

    /// `options` with the checks that keep a pool on the primary: a new connection to a
    /// server that refuses writes is closed (and the watcher woken) instead of failing
    /// writes with SQLSTATE 25006; a pooled connection opened before the last switch is
    /// closed instead of reused (its server is no longer the primary).
    pub(super) fn guard(self: &Arc<Self>, options: PgPoolOptions) -> PgPoolOptions {
        let on_connect = Arc::clone(self);
        let on_acquire = Arc::clone(self);
        options
            .after_connect(move |conn, _| {
                let primary = Arc::clone(&on_connect);
                Box::pin(async move {
                    if accepts_writes(conn).await? {
                        Ok(())
                    } else {
                        primary.wake.notify_one();
                        Err(sqlx::Error::Configuration(Box::new(NotPrimary)))
                    }
                })
            })
            .before_acquire(move |_, meta: PoolConnectionMetadata| {
                let fresh = on_acquire.opened_since_switch(meta.age);
                Box::pin(async move { Ok(fresh) })
            })
    }

    /// Makes `pool` (opened with `options`) follow the primary, and starts the watcher if
    /// it is not running.
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
        self.state.lock().expect("primary state lock")
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

    /// Probes the current primary, then every host in order; points the pools at the first
    /// that accepts writes and returns it with the probe's connection.
    async fn locate(&self) -> Result<(usize, PgConnection), NoPrimary> {
        let current = self.state().current;
        let order = current
            .into_iter()
            .chain((0..self.list.hosts.len()).filter(|i| Some(*i) != current));
        let mut tried = Vec::new();
        for index in order {
            match self.probe(index).await {
                Ok(Some(conn)) => {
                    self.switch_to(index);
                    return Ok((index, conn));
                }
                Ok(None) => tried.push(format!("{} is read-only", self.list.hosts[index])),
                Err(e) => tried.push(format!("{}: {e}", self.list.hosts[index])),
            }
        }
        Err(NoPrimary {
            tried: tried.join("; "),
        })
    }

    /// A connection to host `index` if it accepts writes.
    async fn probe(&self, index: usize) -> Result<Option<PgConnection>, sqlx::Error> {
        let attempt = async {
            let mut conn = self.on(&self.base, index).connect().await?;
            Ok::<_, sqlx::Error>(accepts_writes(&mut conn).await?.then_some(conn))
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
            tracing::warn!(from = %self.list.hosts[old], to = %self.list.hosts[index], "the database primary moved; new connections go to the new primary");
            state.switched_at = Some(Instant::now());
        }
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

async fn accepts_writes(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(ACCEPTS_WRITES).fetch_one(conn).await
}

/// Checks on the primary until every pool following it is closed.
async fn watch(primary: Arc<Primary>) {
    // If the runtime stops first (a test's), the next pool starts a new watcher.
    let _stopped = StopOnDrop(Arc::clone(&primary));
    let mut monitor: Option<PgConnection> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = primary.wake.notified() => {}
        }
        if !primary.keep_watching() {
            return;
        }
        if let Some(conn) = monitor.as_mut() {
            let check = tokio::time::timeout(PROBE_TIMEOUT, accepts_writes(conn)).await;
            if matches!(check, Ok(Ok(true))) {
                continue;
            }
        }
        monitor = match primary.locate().await {
            Ok((_, conn)) => Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "the database primary is unreachable; still looking");
                None
            }
        };
    }
}

struct StopOnDrop(Arc<Primary>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.watching = false;
        }
    }
}
