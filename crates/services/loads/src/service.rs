//! The loads service's state (store, geography, the in-memory board) and the helpers its
//! flows share.

use std::sync::RwLock;

use lanerunner_core::{EventEnvelope, EventType, LoadId, OrgId, OrgKind, Role};
use lanerunner_platform::config::LoadsConfig;
use lanerunner_platform::http::Caller;
use lanerunner_platform::outbox;
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use serde::Serialize;
use uuid::Uuid;

use crate::board::Board;
use crate::domain::{Geo, Horizon, HorizonDays};
use crate::error::{LoadsError, Result};
use crate::store::{self, Decoded};

pub struct Loads {
    pub(crate) db: Db,
    pub(crate) ctx: ServiceContext,
    pub(crate) geo: Geo,
    /// Posted public loads, searchable. Rebuilt from the store at start-up and kept
    /// current by this process after each commit (see `Board`).
    pub(crate) board: RwLock<Board>,
    /// When the board's rebuild began reading the store.
    pub(crate) rebuilt_at: chrono::DateTime<chrono::Utc>,
    board_start: BoardStart,
    /// How far from now dates may lie (`loads.horizon_days_*`).
    pub(crate) horizon_days: HorizonDays,
}

/// How this instance's board was built at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardStart {
    /// From the deployment's snapshot, caught up from the store.
    Snapshot,
    /// From the store: there was no snapshot, or it was refused for this reason.
    Store { refused: Option<&'static str> },
}

impl From<&LoadsConfig> for HorizonDays {
    fn from(c: &LoadsConfig) -> Self {
        HorizonDays {
            past: c.horizon_days_past,
            ahead: c.horizon_days_ahead,
        }
    }
}

/// The readable rows of a scan across organizations. An unreadable one is logged with its
/// id and left out: one bad row must not take the board (or a posting's alerts, or the
/// truck search) down for everyone, and reading it by id answers 500.
pub(crate) fn readable<T>(rows: Vec<Decoded<T>>) -> Vec<T> {
    rows.into_iter()
        .filter_map(|r| {
            r.map_err(|c| {
                tracing::error!(table = c.table, row_id = %c.id, column = c.column, problem = %c.problem, "skipping a stored row that cannot be read")
            })
            .ok()
        })
        .collect()
}

impl Loads {
    /// Whether the load is on this instance's board (posted, public, and its change has
    /// reached this instance).
    pub fn on_board(&self, id: LoadId) -> bool {
        self.board.read().expect("board lock").contains(id)
    }

    /// What the views on this instance's board take (a walk over the board: for
    /// benchmarks and tests, not requests).
    pub fn board_view_stats(&self) -> crate::board::ViewStats {
        self.board.read().expect("board lock").view_stats()
    }

    /// How the board was built at start-up.
    pub fn board_start(&self) -> BoardStart {
        self.board_start
    }

    /// The gazetteer places are completed from.
    pub fn places(&self) -> &lanerunner_geo::Gazetteer {
        &self.geo.gazetteer
    }

    pub async fn open(
        ctx: ServiceContext,
        settings: &LoadsConfig,
        geo: Geo,
    ) -> anyhow::Result<Self> {
        let started = std::time::Instant::now();
        use crate::board_snapshots::Snapshot;
        let (board, rebuilt_at, board_start) = match crate::board_snapshots::load(&ctx, settings)
            .await
        {
            Snapshot::Usable(mut board, taken_at) => {
                // Caught up before the first search: the snapshot may be minutes old.
                let caught_up_at = chrono::Utc::now();
                let since = taken_at - crate::board::CATCH_UP_MARGIN;
                let rows = readable(store::loads_updated_since(&ctx.db, since).await?);
                for row in &rows {
                    board.apply(row, &geo);
                }
                metrics::counter!("loads_board_starts_total", "source" => "snapshot").increment(1);
                tracing::info!(loads = board.len(), caught_up = rows.len(), %taken_at, seconds = started.elapsed().as_secs_f64(), "load board started from its snapshot");
                (*board, caught_up_at, BoardStart::Snapshot)
            }
            other => {
                let refused = match other {
                    Snapshot::Refused(reason) => Some(reason),
                    _ => None,
                };
                let (board, at) = Self::rebuild_board(&ctx, &geo, started).await?;
                (board, at, BoardStart::Store { refused })
            }
        };
        Ok(Self {
            db: ctx.db.clone(),
            geo,
            board: RwLock::new(board),
            rebuilt_at,
            board_start,
            horizon_days: HorizonDays::from(settings),
            ctx,
        })
    }

    /// Reads every posted public load and builds the board; returns it and when the read
    /// began.
    async fn rebuild_board(
        ctx: &ServiceContext,
        geo: &Geo,
        started: std::time::Instant,
    ) -> anyhow::Result<(Board, chrono::DateTime<chrono::Utc>)> {
        // A rebuild tolerates lag: the replica serves it when there is one, and the
        // listener catches up with whatever it had not replayed yet.
        let rebuilt_at = chrono::Utc::now();
        let rows = match store::posted_public_loads(&ctx.read_db).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "the read replica cannot serve the board rebuild; reading the primary");
                store::posted_public_loads(&ctx.db).await?
            }
        };
        let board = Board::build(&readable(rows), geo)?;
        metrics::counter!("loads_board_starts_total", "source" => "store").increment(1);
        tracing::info!(
            loads = board.len(),
            seconds = started.elapsed().as_secs_f64(),
            "load board rebuilt from the store"
        );
        Ok((board, rebuilt_at))
    }

    /// The dates inputs may hold, as of now.
    pub(crate) fn horizon(&self) -> Horizon {
        Horizon::around(chrono::Utc::now(), self.horizon_days)
    }

    /// Re-reads from the primary every load changed since the rebuild began (see
    /// `board.rs`); returns once the board has them.
    pub(crate) async fn catch_up_board(&self) -> anyhow::Result<()> {
        let since = self.rebuilt_at - crate::board::CATCH_UP_MARGIN;
        let rows = readable(store::loads_updated_since(&self.db, since).await?);
        let mut board = self.board.write().expect("board lock");
        for row in &rows {
            board.apply(row, &self.geo);
        }
        tracing::info!(
            loads = rows.len(),
            "load board caught up with recent changes"
        );
        Ok(())
    }

    /// Re-reads one load from the store and puts it on the board or takes it off.
    /// An unreadable row leaves the board (logged with its id): redelivering the event
    /// would not make it readable.
    pub(crate) async fn refresh_board(&self, org: OrgId, id: LoadId) -> anyhow::Result<()> {
        match store::get_load(&self.db, org, id).await {
            Ok(Some(row)) => self
                .board
                .write()
                .expect("board lock")
                .apply(&row, &self.geo),
            Ok(None) => {}
            Err(store::StoreError::Corrupt(c)) => {
                tracing::error!(table = c.table, row_id = %c.id, column = c.column, problem = %c.problem, "taking a load that cannot be read off the board");
                self.board.write().expect("board lock").remove(id);
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Runs `work` (validation or search parameters, which geocode) with the service's
    /// geography: inline with the offline gazetteer (microseconds), on the blocking pool with
    /// a remote geocoder, so that a slow Google holds a blocking thread rather than an async
    /// worker. Never called with a transaction open: a write lock must not wait on Google.
    pub(crate) async fn with_geo<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Geo) -> T + Send + 'static,
    ) -> Result<T> {
        if !self.geo.is_remote() {
            return Ok(work(&self.geo));
        }
        let geo = self.geo.clone();
        tokio::task::spawn_blocking(move || work(&geo))
            .await
            .map_err(|e| LoadsError::Internal(e.into()))
    }

    /// Commits and wakes the outbox relay.
    pub(crate) async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.ctx.outbox.committed();
        Ok(())
    }

    pub(crate) async fn publish<P: Serialize>(
        &self,
        tx: &mut Tx,
        kind: EventType,
        org: OrgId,
        aggregate: Uuid,
        payload: &P,
    ) -> Result<()> {
        let event = EventEnvelope::new(kind, Some(org), aggregate, payload)
            .map_err(|e| LoadsError::Internal(e.into()))?;
        outbox::enqueue(tx, &event).await?;
        Ok(())
    }
}

/// May this caller change loads? Brokers and shippers post freight; carriers do not.
pub(crate) fn require_shipper_side(caller: &Caller) -> Result<()> {
    if caller.org_kind == OrgKind::Carrier {
        return Err(LoadsError::Forbidden(
            "only brokers and shippers post loads",
        ));
    }
    require_writer(caller)
}

pub(crate) fn require_carrier(caller: &Caller) -> Result<()> {
    if caller.org_kind != OrgKind::Carrier {
        return Err(LoadsError::Forbidden(
            "only carriers post trucks and save load searches",
        ));
    }
    require_writer(caller)
}

/// Viewers, accountants and drivers read; owners, admins and dispatchers write.
pub(crate) fn require_writer(caller: &Caller) -> Result<()> {
    match caller.role {
        Role::Owner | Role::Admin | Role::Dispatcher => Ok(()),
        _ => Err(LoadsError::Forbidden(
            "your role may not change loads or trucks",
        )),
    }
}
