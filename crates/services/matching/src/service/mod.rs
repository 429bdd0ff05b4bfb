//! The matching service's state and its upkeep: the board (an in-memory view of the
//! projection) and how it is rebuilt, swept and fed. The flows live beside it, one idea a
//! file: `suggestions` (what the consumer publishes as loads and trucks arrive),
//! `matches` (ranked matches and reload chains for one load or truck), `runs` (batch
//! assignment runs).

mod matches;
mod runs;
mod suggestions;

use std::sync::RwLock;

use chrono::Utc;
use lanerunner_matching::MatchParams;
use lanerunner_platform::outbox::OutboxSignal;
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::Db;

use crate::board::Board;
use crate::domain::Destinations;
use crate::projection::Incoming;
use crate::store;

pub use matches::MAX_LIMIT;

pub struct Matching {
    db: Db,
    outbox: OutboxSignal,
    params: MatchParams,
    destinations: Destinations,
    board: RwLock<Board>,
}

impl Matching {
    pub async fn open(ctx: &ServiceContext) -> anyhow::Result<Self> {
        let m = Matching {
            db: ctx.db.clone(),
            outbox: ctx.outbox.clone(),
            params: MatchParams::default(),
            destinations: Destinations::embedded(),
            board: RwLock::new(Board::default()),
        };
        m.resync().await?;
        Ok(m)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Board> {
        self.board.read().expect("board lock")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Board> {
        self.board.write().expect("board lock")
    }

    /// Folds every stored record into the board (start-up, after subscribing, and
    /// periodically: an instance may have missed events another instance consumed while it
    /// was starting).
    pub async fn resync(&self) -> anyhow::Result<()> {
        let loads = store::all_loads(&self.db).await?;
        let trucks = store::all_trucks(&self.db).await?;
        let now = Utc::now();
        let mut b = self.write();
        for l in &loads {
            b.merge_load(l);
        }
        for t in &trucks {
            b.merge_truck(t, now, &self.destinations);
        }
        b.sweep_expired(now);
        tracing::debug!(
            loads = loads.len(),
            trucks = trucks.len(),
            "matching board resynchronised"
        );
        Ok(())
    }

    pub fn sweep_expired(&self) -> usize {
        self.write().sweep_expired(Utc::now())
    }

    pub fn apply_to_board(&self, incoming: Incoming) {
        let mut b = self.write();
        match incoming {
            Incoming::Load {
                id,
                broker_org,
                change,
            } => b.apply_load(id, broker_org, change),
            Incoming::Truck {
                id,
                carrier_org,
                change,
            } => b.apply_truck(id, carrier_org, change, Utc::now(), &self.destinations),
        }
    }
}
