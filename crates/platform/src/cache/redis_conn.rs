//! A connection to the Redis server that takes writes, which follows it when a Sentinel
//! failover moves it.
//!
//! The connection is a [`ConnectionManager`]: it reconnects by itself, but always to the
//! address it was made with. With a Sentinel target ([`RedisTarget::Sentinel`]) that address
//! stops being the master after a failover: the old master is gone (commands are refused)
//! or has come back as a replica (writes answer `READONLY`, reads are stale). So the
//! connection asks the Sentinels where the master is and moves to it when a Sentinel
//! announces a switch (`+switch-master`, heard on a subscription kept to one of them), when
//! a command fails that way, and at a check now and then (every `check_secs`, 30 s, for an
//! announcement missed; every 5 s while no Sentinel takes the subscription). A command
//! refused before it reached a server (`READONLY`, a refused connection) is then tried once
//! more on the new master, so callers only see the failures of the seconds Sentinel takes
//! to promote a replica. With one server ([`RedisTarget::Server`]) nothing moves.

use std::future::Future;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, RedisResult};

use super::redis_target::{RedisTarget, Switches};

/// How often a Sentinel-followed connection checks that its server is still the master
/// while no Sentinel's announcements are heard (and how long it waits before subscribing
/// again).
const CHECK_UNHEARD: Duration = Duration::from_secs(5);
/// How long connecting may take before the attempt is reported as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct RedisConn {
    inner: Arc<Inner>,
}

struct Inner {
    target: RedisTarget,
    config: ConnectionManagerConfig,
    current: RwLock<Current>,
    /// One move at a time: the commands that fail together ask the Sentinels once.
    moving: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Current {
    /// Counts the moves: a failure seen on an older connection has already been dealt with.
    generation: u64,
    /// `host:port` of the server the connection goes to.
    addr: String,
    conn: ConnectionManager,
}

fn addr_of(client: &redis::Client) -> String {
    client.get_connection_info().addr.to_string()
}

async fn manager(
    client: redis::Client,
    config: &ConnectionManagerConfig,
) -> RedisResult<ConnectionManager> {
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        ConnectionManager::new_with_config(client, config.clone()),
    )
    .await
    .unwrap_or_else(|_| {
        Err(RedisError::from(std::io::Error::from(
            std::io::ErrorKind::TimedOut,
        )))
    })
}

/// Whether `e` says the server may no longer be the master: it refused a write as a
/// replica, or could not be reached.
fn may_have_moved(e: &RedisError) -> bool {
    e.kind() == ErrorKind::ReadOnly
        || e.is_connection_refusal()
        || e.is_connection_dropped()
        || e.is_io_error()
        || e.is_timeout()
}

/// Whether `e` says the command was not carried out, so trying it again cannot apply it twice.
fn not_carried_out(e: &RedisError) -> bool {
    e.kind() == ErrorKind::ReadOnly || e.is_connection_refusal()
}

impl RedisConn {
    /// Connects to the server `target` designates now; a Sentinel target is then checked
    /// every few seconds for as long as the connection lives.
    pub async fn connect(
        target: RedisTarget,
        config: ConnectionManagerConfig,
    ) -> RedisResult<Self> {
        let client = target.client().await?;
        let addr = addr_of(&client);
        let conn = manager(client, &config).await?;
        let follows = target.follows_failovers();
        let inner = Arc::new(Inner {
            target,
            config,
            current: RwLock::new(Current {
                generation: 0,
                addr,
                conn,
            }),
            moving: tokio::sync::Mutex::new(()),
        });
        if follows {
            tokio::spawn(watch(Arc::downgrade(&inner)));
        }
        Ok(Self { inner })
    }

    fn current(&self) -> Current {
        self.inner
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Runs `op` on the connection; when it fails in a way that says the master may have
    /// moved, follows it, and runs `op` again there if it was not carried out.
    pub async fn run<T, F, Fut>(&self, op: F) -> RedisResult<T>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let seen = self.current();
        let generation = seen.generation;
        let error = match op(seen.conn).await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if !self.inner.target.follows_failovers() || !may_have_moved(&error) {
            return Err(error);
        }
        match self.inner.follow(generation, None).await {
            Ok(true) if not_carried_out(&error) => op(self.current().conn).await,
            Ok(_) => Err(error),
            Err(e) => {
                tracing::warn!(error = %e, "asking the Redis Sentinels for the master failed");
                Err(error)
            }
        }
    }

    /// A client for the master as it is now (for what needs a connection of its own, such
    /// as a subscription).
    pub async fn client(&self) -> RedisResult<redis::Client> {
        let (generation, addr) = {
            let now = self.current();
            (now.generation, now.addr)
        };
        let client = self.inner.target.client().await?;
        if addr_of(&client) != addr {
            // The master moved: the connection follows it to where the Sentinels just said.
            self.inner.follow(generation, Some(client.clone())).await?;
        }
        Ok(client)
    }

    /// The address of the server the connection goes to now.
    pub fn server(&self) -> String {
        self.current().addr
    }
}

impl Inner {
    /// Asks where the master is (unless `resolved` already says) and moves there if it is
    /// elsewhere, unless the connection has moved since `generation` was seen; whether it
    /// is on another server now.
    async fn follow(&self, generation: u64, resolved: Option<redis::Client>) -> RedisResult<bool> {
        let _one_at_a_time = self.moving.lock().await;
        let now = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if now.generation != generation {
            return Ok(true);
        }
        let client = match resolved {
            Some(client) => client,
            None => self.target.client().await?,
        };
        let addr = addr_of(&client);
        if addr == now.addr {
            // Still the master (a blip, or the failover has not happened yet): the
            // connection manager reconnects to it by itself.
            return Ok(false);
        }
        let conn = manager(client, &self.config).await?;
        tracing::warn!(from = %now.addr, to = %addr, "Redis master moved; following it");
        metrics::counter!("cache_master_moves_total").increment(1);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Current {
            generation: generation + 1,
            addr,
            conn,
        };
        Ok(true)
    }
}

/// Follows the master when a Sentinel announces that it moved, and at each check (a move
/// no command noticed: a demoted master still answers reads); ends with the connection.
async fn watch(inner: Weak<Inner>) {
    let mut switches: Option<Switches> = None;
    loop {
        let check_every = {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let Some(sentinels) = inner.target.sentinels() else {
                return;
            };
            if switches.is_none() {
                switches = match sentinels.switches().await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        tracing::debug!(error = %e, "no Sentinel takes a subscription to its announcements; checking every 5 s");
                        None
                    }
                };
            }
            sentinels.check_every
        };
        let announced = match switches.as_mut() {
            Some(s) => tokio::select! {
                heard = s.next() => match heard {
                    Some(()) => true,
                    None => {
                        // The Sentinel went away: subscribe again (to it or another).
                        switches = None;
                        false
                    }
                },
                _ = tokio::time::sleep(check_every) => false,
            },
            None => {
                tokio::time::sleep(CHECK_UNHEARD).await;
                false
            }
        };
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if announced {
            tracing::info!("a Sentinel announced a new Redis master");
        }
        let generation = inner
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation;
        if let Err(e) = inner.follow(generation, None).await {
            tracing::debug!(error = %e, "checking the Redis master with the Sentinels failed");
        }
    }
}
