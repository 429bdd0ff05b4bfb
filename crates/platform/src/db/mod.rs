//! The relational-store seam.
//!
//! Each service owns a database of its own: on PostgreSQL a schema named after the service
//! (the pool's `search_path` points there), on SQLite a file named after the service under
//! the data directory. The service's SQL therefore names bare tables and runs unchanged on
//! both; no service can reach another's tables by accident, and on SQLite a transaction
//! never spans two services' files.
//!
//! Service stores share one SQL text between the dialects where they agree and write the
//! query once, run through [`on_db!`] / [`on_tx!`], which expand the same expression for
//! each pool type so sqlx checks the binds and decodes per backend.

mod connect;
mod host_watch;
pub mod hosts;
mod pg;

use sqlx::migrate::Migrator;
use sqlx::{Sqlite, SqlitePool, Transaction};

pub use connect::{connect, connect_reader, direct_url, primary_options, primary_url};
pub use host_watch::{NoHostWillDo, NotWanted};
pub use pg::{Pg, PgConn, PgExec, PgTx, Pooling};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// One service's connection pool.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(Pg),
}

/// One service's open transaction.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(PgTx),
}

/// A service's migrations, one directory per dialect (DDL is where the dialects differ:
/// `uuid`, `timestamptz`, `jsonb` on PostgreSQL; their SQLite storage classes otherwise).
///
/// Two migrators share each service's `_sqlx_migrations` table: the platform's (outbox and
/// inbox, versions 1–999) and the service's own (versions are dates), so each ignores the
/// other's rows.
pub struct Migrations {
    sqlite: Migrator,
    postgres: Migrator,
}

impl Migrations {
    /// Build with `Migrations::new(sqlx::migrate!("./migrations/sqlite"), sqlx::migrate!("./migrations/postgres"))`.
    pub fn new(mut sqlite: Migrator, mut postgres: Migrator) -> Self {
        sqlite.set_ignore_missing(true);
        postgres.set_ignore_missing(true);
        Self { sqlite, postgres }
    }

    /// The tables every service schema carries: outbox and processed events.
    pub fn platform() -> Self {
        Self::new(
            sqlx::migrate!("./migrations/sqlite"),
            sqlx::migrate!("./migrations/postgres"),
        )
    }

    /// The newest version among these migrations (0 when there are none): a store whose
    /// applied versions go beyond it was written by a newer release.
    pub fn latest_version(&self, backend: Backend) -> i64 {
        self.for_backend(backend)
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    fn for_backend(&self, backend: Backend) -> &Migrator {
        match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        }
    }
}

/// Runs `$body` with `$pool` bound to the executor of `$db`: the SQLite pool, or the
/// PostgreSQL pool's [`PgExec`] (which knows whether a transaction pooler is in between).
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres(pg) => {
                let $pool = pg.exec();
                $body
            }
        }
    };
}

/// Runs `$body` with `$conn` bound to the connection of transaction `$tx` (pass it to each
/// statement as `&mut *conn`).
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let mut conn = t.conn();
                let $conn = &mut conn;
                $body
            }
        }
    };
}

impl Db {
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether writers take turns at one lock over the whole store (SQLite) rather than
    /// writing side by side under row locks (PostgreSQL): there, a background writer's
    /// longer transaction makes every other writer wait for it.
    pub fn writers_take_turns(&self) -> bool {
        matches!(self, Db::Sqlite(_))
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails with a
    /// busy-snapshot error if another connection committed in between, and waiting cannot
    /// fix that. PostgreSQL's MVCC needs no such care.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pg) => Tx::Postgres(pg.begin().await?),
        })
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|_| ()))
    }

    /// Applies the platform's tables, then the service's own migrations.
    pub async fn migrate(&self, service: &Migrations) -> Result<(), sqlx::migrate::MigrateError> {
        for migrations in [&Migrations::platform(), service] {
            let migrator = migrations.for_backend(self.backend());
            match self {
                Db::Sqlite(p) => migrator.run(p).await?,
                Db::Postgres(pg) => pg.migrate(migrator).await?,
            }
        }
        Ok(())
    }

    /// How many migrations (platform's and the service's) are not applied yet; 0 when ready.
    pub async fn pending_migrations(&self, service: &Migrations) -> Result<usize, sqlx::Error> {
        let applied: Vec<i64> = on_db!(self, |p| {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(p)
                .await
        })
        .or_else(|e| match e {
            // No migrations table yet means nothing was applied.
            sqlx::Error::Database(_) => Ok(Vec::new()),
            other => Err(other),
        })?;
        let platform = Migrations::platform();
        Ok([&platform, service]
            .iter()
            .flat_map(|m| m.for_backend(self.backend()).iter())
            .filter(|m| !m.migration_type.is_down_migration())
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(p) => p.close().await,
            Db::Postgres(pg) => pg.pool().close().await,
        }
    }
}

impl Tx {
    /// The clause that locks the rows a `SELECT` reads until the transaction ends: `FOR
    /// UPDATE` on PostgreSQL; nothing on SQLite, whose write transactions are already serial
    /// (`BEGIN IMMEDIATE`).
    pub fn for_update(&self) -> &'static str {
        match self {
            Tx::Postgres(_) => " FOR UPDATE",
            Tx::Sqlite(_) => "",
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Postgres(t) => t.rollback().await,
        }
    }
}

/// True when the error is a unique-constraint violation (both dialects).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}
