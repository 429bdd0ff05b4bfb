//! Opening a service's pool on the configured backend.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Executor};

use super::host_watch::HostWatch;
use super::hosts;
use super::{Db, Pg, Pooling};
use crate::config::Config;

/// Connects to the store of the service named `schema` (lowercase letters and `_`).
pub async fn connect(config: &Config, schema: &str) -> anyhow::Result<Db> {
    anyhow::ensure!(
        !schema.is_empty() && schema.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "invalid service schema name {schema:?}"
    );
    let acquire = Duration::from_millis(config.database.acquire_timeout_ms);
    match &config.database.url {
        None => {
            std::fs::create_dir_all(&config.data_dir)?;
            let path = config.data_dir.join(format!("{schema}.db"));
            let options = SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(config.database.max_connections.min(8))
                .acquire_timeout(acquire)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool))
        }
        Some(url) => {
            let target = Target::of(url)?;
            let base = target.options().await?;
            // The schema must exist before a pool whose search_path names it is useful.
            let mut bootstrap = match direct_url(config) {
                Some(direct) if config.database.pooling == Pooling::Transaction => {
                    primary_options(direct).await?.connect().await?
                }
                _ => base.connect().await.map_err(pooler_hint)?,
            };
            let created = bootstrap
                .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
                .await;
            bootstrap.close().await?;
            match created {
                // Two instances starting together can race on the catalog; the schema exists.
                Err(e) if super::is_unique_violation(&e) => {}
                other => {
                    other?;
                }
            }
            let pool_options = PgPoolOptions::new()
                .max_connections(config.database.max_connections)
                .acquire_timeout(acquire);
            if config.database.pooling == Pooling::Transaction {
                // One host (the config check): the pooler follows the primary.
                let pool = pool_options.connect_with(through_pooler(base)).await?;
                let direct = direct_url(config).map(str::to_string);
                return Ok(Db::Postgres(Pg::pooled(pool, schema, false, direct)));
            }
            let options = base.options([("search_path", schema)]);
            let pool = match &target {
                Target::One(_) => pool_options
                    .connect_with(options)
                    .await
                    .map_err(pooler_hint)?,
                Target::Many(primary) => {
                    let pool = primary
                        .guard(pool_options)
                        .connect_with(options.clone())
                        .await?;
                    primary.follow(&pool, options);
                    pool
                }
            };
            Ok(Db::Postgres(Pg::direct(pool)))
        }
    }
}

/// A transaction pooler (PgBouncer) connected to as if it were PostgreSQL refuses the
/// startup parameters a session sets (`unsupported startup parameter: options`): say what
/// to configure instead of only passing its words on.
fn pooler_hint(e: sqlx::Error) -> anyhow::Error {
    let refused = matches!(&e, sqlx::Error::Database(db)
        if db.message().contains("unsupported startup parameter"));
    if refused {
        anyhow::Error::new(e).context(
            "database.url refuses session settings, as a transaction pooler such as PgBouncer \
             does: set database.pooling = \"transaction\" and database.direct_url to PostgreSQL itself",
        )
    } else {
        e.into()
    }
}

/// Where migrations and backups connect: `database.direct_url`, else `database.url`.
pub fn direct_url(config: &Config) -> Option<&str> {
    config
        .database
        .direct_url
        .as_deref()
        .or(config.database.url.as_deref())
}

/// Connect options for a transaction pooler: no statement cache (a named statement would
/// outlive the transaction it was prepared in), and no startup parameters beyond those
/// PgBouncer restores per client (the schema is set in each transaction instead;
/// `extra_float_digits` is refused by PgBouncer unless ignored, and PostgreSQL 12 and
/// newer print floats exactly without it).
fn through_pooler(options: PgConnectOptions) -> PgConnectOptions {
    options.statement_cache_capacity(0).extra_float_digits(None)
}

/// Where `database.url` points: one server, or a host list whose primary is followed.
enum Target {
    One(Box<PgConnectOptions>),
    Many(Arc<HostWatch>),
}

impl Target {
    fn of(url: &str) -> anyhow::Result<Target> {
        Ok(match hosts::parse(url, hosts::Role::Writer)? {
            None => Target::One(Box::new(PgConnectOptions::from_str(url)?)),
            Some(list) => Target::Many(HostWatch::of(url, list)?),
        })
    }

    async fn options(&self) -> anyhow::Result<PgConnectOptions> {
        Ok(match self {
            Target::One(options) => (**options).clone(),
            Target::Many(primary) => primary.options().await?,
        })
    }
}

/// Connect options for the server that accepts writes at `url`: `url` itself when it names
/// one host; with a host list, the current primary (probing the hosts if need be). For the
/// tools that open a connection of their own (backups, restores).
pub async fn primary_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    Target::of(url)?.options().await
}

/// [`primary_options`] as a URL naming one host, for the PostgreSQL tools (`pg_dump`,
/// `pg_restore`): libpq reads host lists too, but would pick the first host that answers.
pub async fn primary_url(url: &str) -> anyhow::Result<String> {
    Ok(match Target::of(url)? {
        Target::One(_) => url.to_string(),
        Target::Many(primary) => primary.url().await?,
    })
}

/// The pool for reads that tolerate replication lag: the replica at `database.read_url`
/// when one is configured (read-only sessions, the same `search_path`), else `primary`.
/// The replica's schema arrives by replication once the primary has created it. A
/// `read_url` listing several hosts is served by one standby at a time (each process
/// picks where in the list it starts, so instances spread over the replicas), and moves to
/// another when it goes away (`target_session_attrs`: `prefer-standby`, the default, falls
/// back to any server that answers; `standby` does not; `any` takes the first that answers).
pub fn connect_reader(config: &Config, schema: &str, primary: &Db) -> anyhow::Result<Db> {
    let Some(url) = &config.database.read_url else {
        return Ok(primary.clone());
    };
    let list = hosts::parse(url, hosts::Role::Reader)?;
    let base = match &list {
        Some(list) => list.url_of(0),
        None => url.clone(),
    };
    // Lazy: a replica that is down (or has not yet replayed a new database) must not stop
    // the service from starting on its primary; readers fall back, `readyz` reports it.
    let pool_options = PgPoolOptions::new()
        .max_connections(config.database.max_connections)
        .acquire_timeout(Duration::from_millis(config.database.acquire_timeout_ms));
    if config.database.pooling == Pooling::Transaction {
        let pool =
            pool_options.connect_lazy_with(through_pooler(PgConnectOptions::from_str(&base)?));
        return Ok(Db::Postgres(Pg::pooled(pool, schema, true, None)));
    }
    let options = PgConnectOptions::from_str(&base)?.options([
        ("search_path", schema),
        ("default_transaction_read_only", "on"),
    ]);
    let pool = match list {
        None => pool_options.connect_lazy_with(options),
        Some(list) => {
            let watch = HostWatch::of(url, list)?;
            let pool = watch
                .guard(pool_options)
                .connect_lazy_with(watch.first(&options));
            watch.follow(&pool, options);
            pool
        }
    };
    Ok(Db::Postgres(Pg::direct(pool)))
}
