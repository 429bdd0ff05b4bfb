//! A service's PostgreSQL pool, connected directly or through a transaction pooler.
//!
//! A pooler in transaction mode (PgBouncer's `pool_mode = transaction`, CloudNativePG's
//! `Pooler`) lends a server connection to a client for one transaction only: between two
//! transactions, and between two messages of a statement run outside a transaction, it may
//! hand that server connection to another client. Three things sqlx (0.8) does by default
//! do not survive that:
//!
//! - it names the service's schema once per connection (`search_path` as a startup
//!   parameter), which the next client on that server connection would inherit;
//! - it runs a statement with parameters as two exchanges (Parse and Describe, then Bind
//!   and Execute), each ending with a Sync, so outside a transaction the Bind may reach a
//!   server connection where another client's statement is prepared;
//! - it names its prepared statements (`sqlx_s_1`, …) and reuses them on later
//!   transactions, which PgBouncer before 1.21 does not track (Debian ships 1.18).
//!
//! So through a transaction pooler ([`Pooling::Transaction`]) every statement runs inside
//! a transaction that opens by naming the schema (`BEGIN; SET LOCAL search_path TO …`, one
//! exchange), with the unnamed prepared statement, which nothing looks up once the
//! statement has run. A statement outside a service transaction gets a transaction of its
//! own. Migrations take a session-level advisory lock and so connect directly
//! (`database.direct_url`). Connected directly ([`Pooling::Session`]) nothing changes.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sqlx::error::BoxDynError;
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgQueryResult, PgRow, PgStatement, PgTypeInfo,
};
use sqlx::{Connection, Describe, Either, Execute, Executor, PgConnection, PgPool, Postgres};

pub use crate::config::Pooling;

/// One service's PostgreSQL pool and how its server connections are lent.
#[derive(Clone)]
pub struct Pg {
    pool: PgPool,
    way: Arc<Way>,
}

enum Way {
    Direct,
    /// Through a transaction pooler: `begin` opens every transaction (with the schema);
    /// `direct` is where migrations connect, `None` for a read pool (which never migrates).
    Pooled {
        begin: Cow<'static, str>,
        schema: String,
        direct: Option<String>,
    },
}

impl fmt::Debug for Pg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pg")
            .field("pool", &self.pool)
            .field("transaction_pooler", &self.through_pooler())
            .finish()
    }
}

impl Pg {
    /// A pool whose connections are the server's own for their whole life.
    pub(super) fn direct(pool: PgPool) -> Self {
        Self {
            pool,
            way: Arc::new(Way::Direct),
        }
    }

    /// A pool behind a transaction pooler: every transaction opens with `schema` as its
    /// search path (and read-only for a replica's pool); migrations connect to `direct`.
    pub(super) fn pooled(
        pool: PgPool,
        schema: &str,
        read_only: bool,
        direct: Option<String>,
    ) -> Self {
        let mode = if read_only { " READ ONLY" } else { "" };
        Self {
            pool,
            way: Arc::new(Way::Pooled {
                begin: format!("BEGIN{mode}; SET LOCAL search_path TO {schema}").into(),
                schema: schema.to_string(),
                direct,
            }),
        }
    }

    /// The pool itself, for what runs on it as sqlx has it (closing, sizes, tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The executor `on_db!` hands a service's SQL.
    pub fn exec(&self) -> PgExec<'_> {
        PgExec(self)
    }

    /// Whether statements go through a transaction pooler.
    pub fn through_pooler(&self) -> bool {
        matches!(*self.way, Way::Pooled { .. })
    }

    pub async fn begin(&self) -> Result<PgTx, sqlx::Error> {
        Ok(match &*self.way {
            Way::Direct => PgTx {
                tx: self.pool.begin().await?,
                one_shot: false,
            },
            Way::Pooled { begin, .. } => PgTx {
                tx: self.pool.begin_with(begin.clone()).await?,
                one_shot: true,
            },
        })
    }

    /// Runs `migrator`: on the pool when connected directly; through a pooler, on a
    /// connection of its own to `database.direct_url` (sqlx's migrator holds a
    /// session-level advisory lock from the first migration to the last).
    pub(super) async fn migrate(
        &self,
        migrator: &sqlx::migrate::Migrator,
    ) -> Result<(), sqlx::migrate::MigrateError> {
        match &*self.way {
            Way::Direct => migrator.run(&self.pool).await,
            Way::Pooled { direct: None, .. } => Err(sqlx::migrate::MigrateError::Source(
                "a read pool does not migrate".into(),
            )),
            Way::Pooled {
                direct: Some(url),
                schema,
                ..
            } => {
                let options: PgConnectOptions = super::primary_options(url)
                    .await
                    .map_err(|e| sqlx::migrate::MigrateError::Source(e.into()))?;
                let mut conn = PgConnection::connect_with(
                    &options.options([("search_path", schema.as_str())]),
                )
                .await?;
                let done = migrator.run(&mut conn).await;
                conn.close().await?;
                done
            }
        }
    }
}

/// A transaction on a service's PostgreSQL pool.
pub struct PgTx {
    tx: sqlx::Transaction<'static, Postgres>,
    /// Through a pooler: statements use the unnamed prepared statement.
    one_shot: bool,
}

impl PgTx {
    /// The executor `on_tx!` hands a service's SQL (use `&mut *conn` for each statement).
    pub fn conn(&mut self) -> PgConn<'_> {
        PgConn {
            conn: &mut self.tx,
            one_shot: self.one_shot,
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

/// A statement run with the unnamed prepared statement: sqlx's `persistent(false)`, for
/// every statement, whatever the query said.
struct OneShot<E>(E);

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for OneShot<E> {
    fn sql(&self) -> &'q str {
        self.0.sql()
    }

    fn statement(&self) -> Option<&PgStatement<'q>> {
        self.0.statement()
    }

    fn take_arguments(&mut self) -> Result<Option<PgArguments>, BoxDynError> {
        self.0.take_arguments()
    }

    fn persistent(&self) -> bool {
        false
    }
}

/// [`Pg::exec`]: the pool itself when connected directly; through a pooler, each statement
/// in a transaction of its own.
#[derive(Clone, Copy, Debug)]
pub struct PgExec<'p>(&'p Pg);

impl<'p> Executor<'p> for PgExec<'p> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let Way::Pooled { begin, .. } = &*self.0.way else {
            return self.0.pool.fetch_many(query);
        };
        let (pool, begin) = (self.0.pool.clone(), begin.clone());
        async_stream::try_stream! {
            let mut tx = pool.begin_with(begin).await?;
            {
                let mut rows = (&mut *tx).fetch_many(OneShot(query));
                while let Some(step) = rows.try_next().await? {
                    yield step;
                }
            }
            tx.commit().await?;
        }
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let Way::Pooled { begin, .. } = &*self.0.way else {
            return self.0.pool.fetch_optional(query);
        };
        let (pool, begin) = (self.0.pool.clone(), begin.clone());
        Box::pin(async move {
            let mut tx = pool.begin_with(begin).await?;
            let row = (&mut *tx).fetch_optional(OneShot(query)).await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        // A named statement outlives the transaction a pooler lends: refused there.
        if self.0.through_pooler() {
            return Box::pin(async { Err(prepared_refused()) });
        }
        self.0.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'p: 'e,
    {
        // Describing prepares a named statement too.
        if self.0.through_pooler() {
            return Box::pin(async { Err(prepared_refused()) });
        }
        self.0.pool.describe(sql)
    }
}

/// [`PgTx::conn`]: the transaction's connection, each statement with the unnamed prepared
/// statement when the transaction is a pooler's.
#[derive(Debug)]
pub struct PgConn<'t> {
    conn: &'t mut PgConnection,
    one_shot: bool,
}

impl<'c, 't> Executor<'c> for &'c mut PgConn<'t> {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if self.one_shot {
            self.conn.fetch_many(OneShot(query))
        } else {
            self.conn.fetch_many(query)
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<PgRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        if self.one_shot {
            self.conn.fetch_optional(OneShot(query))
        } else {
            self.conn.fetch_optional(query)
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        if self.one_shot {
            return Box::pin(async { Err(prepared_refused()) });
        }
        self.conn.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Postgres>, sqlx::Error>>
    where
        'c: 'e,
    {
        if self.one_shot {
            return Box::pin(async { Err(prepared_refused()) });
        }
        self.conn.describe(sql)
    }
}

fn prepared_refused() -> sqlx::Error {
    sqlx::Error::Configuration(
        "named prepared statements do not survive a transaction pooler (database.pooling = \"transaction\")"
            .into(),
    )
}
