//! Every status change of a load, with who and why.

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use uuid::Uuid;

use super::{CorruptRow, StoreResult};
use crate::domain::{LoadEvent, LoadStatus};

/// The `event` of the record a load's creation writes (not a lifecycle event).
pub const CREATE_EVENT: &str = "create";

/// A history record. Its names are kept as stored text (they are what the history shows),
/// but only names the service writes decode.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: Uuid,
    pub load_id: LoadId,
    pub org_id: OrgId,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: Uuid,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

fn is_status(name: &str) -> bool {
    LoadStatus::from_parts(name, false).is_some()
}

impl HistoryRow {
    fn checked(self) -> Result<HistoryRow, CorruptRow> {
        let bad = |column, value: &str| {
            CorruptRow::new(
                "load_history",
                self.id,
                column,
                format!("unknown name `{value}`"),
            )
        };
        if self.event != CREATE_EVENT && self.event.parse::<LoadEvent>().is_err() {
            return Err(bad("event", &self.event));
        }
        if let Some(from) = self.from_status.as_deref().filter(|s| !is_status(s)) {
            return Err(bad("from_status", from));
        }
        if !is_status(&self.to_status) {
            return Err(bad("to_status", &self.to_status));
        }
        Ok(self)
    }
}

pub async fn insert_history(tx: &mut Tx, h: &HistoryRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO load_history (id, load_id, org_id, event, from_status, to_status, actor_id, reason, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(h.id)
    .bind(h.load_id)
    .bind(h.org_id)
    .bind(&h.event)
    .bind(&h.from_status)
    .bind(&h.to_status)
    .bind(h.actor_id)
    .bind(&h.reason)
    .bind(h.occurred_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn list_history(db: &Db, org: OrgId, load: LoadId) -> StoreResult<Vec<HistoryRow>> {
    let rows: Vec<HistoryRow> = on_db!(db, |p| {
        sqlx::query_as(
        "SELECT id, load_id, org_id, event, from_status, to_status, actor_id, reason, occurred_at \
         FROM load_history WHERE org_id = $1 AND load_id = $2 ORDER BY id"
    )
    .bind(org)
    .bind(load)
    .fetch_all(p)
    .await
    })?;
    Ok(rows
        .into_iter()
        .map(HistoryRow::checked)
        .collect::<Result<_, _>>()?)
}
