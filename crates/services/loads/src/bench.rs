//! Seeding a store with posted public loads, for `lanerunner bench search`.
//!
//! Each input goes through [`LoadInput::validate`] and is written with the store's own
//! insert functions, so the rows are those the service writes when a broker creates a load
//! and posts it: the load at version 2 in status `posted`, and its `create` and `post`
//! history records. Many loads share one transaction, which is what makes a million of them
//! affordable.
//!
//! No events are enqueued. The benchmark measures the board, which `Loads::open` rebuilds
//! from the store; a million `load.created`, `load.status_changed` and `load.posted` events
//! in the outbox would be relayed, and re-applied to the board, while the searches run.

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId};
use lanerunner_loadsearch::{LoadIndex, MemoryUsage};
use lanerunner_platform::Db;
use uuid::Uuid;

use crate::domain::{indexed_load, Geo, Horizon, HorizonDays, LoadInput, LoadStatus, Violations};
use crate::error::Result;
use crate::service::readable;
use crate::store::{self, HistoryRow, LoadRow};

/// One load to seed: what the broker sent, and when they posted it.
pub struct Posting {
    pub input: LoadInput,
    /// Also the load's creation and last update.
    pub posted_at: DateTime<Utc>,
}

/// Validates every posting (dates within `horizon_days` of now, as the service's
/// configuration says), then stores them all as posted public or private loads of `org`,
/// created and posted by `actor`, in one transaction. Nothing is stored when one is
/// invalid; the error names its index (`postings[i].field`).
pub async fn seed_posted(
    db: &Db,
    geo: &Geo,
    horizon_days: HorizonDays,
    org: OrgId,
    actor: Uuid,
    postings: &[Posting],
) -> Result<usize> {
    let now = Utc::now();
    let horizon = Horizon::around(now, horizon_days);
    let mut rows = Vec::with_capacity(postings.len());
    let mut errs = Violations::default();
    for (i, p) in postings.iter().enumerate() {
        let spec = match p.input.validate(geo, &horizon) {
            Ok(spec) => spec,
            Err(v) => {
                for e in v.0 {
                    errs.add(format!("postings[{i}].{}", e.field), e.message);
                }
                continue;
            }
        };
        // What posting checks on top of validation (`lifecycle::check_postable`).
        if spec.first_pickup().window.end < now {
            errs.add(
                format!("postings[{i}].stops[0].window.end"),
                "has passed; a load cannot be posted after its pickup window",
            );
            continue;
        }
        rows.push(LoadRow {
            id: LoadId::new(),
            org_id: org,
            status: LoadStatus::Posted,
            version: 2,
            spec,
            created_by: actor,
            created_at: p.posted_at,
            updated_at: p.posted_at,
            posted_at: Some(p.posted_at),
            booking: None,
        });
    }
    if !errs.is_empty() {
        return Err(errs.into());
    }
    let mut tx = db.begin().await?;
    for row in &rows {
        store::insert_load(&mut tx, row).await?;
        for (event, from, to) in [
            (store::CREATE_EVENT, None, LoadStatus::Draft),
            ("post", Some(LoadStatus::Draft), LoadStatus::Posted),
        ] {
            store::insert_history(
                &mut tx,
                &HistoryRow {
                    id: Uuid::now_v7(),
                    load_id: row.id,
                    org_id: org,
                    event: event.into(),
                    from_status: from.map(|s: LoadStatus| s.as_str().into()),
                    to_status: to.as_str().into(),
                    actor_id: actor,
                    reason: None,
                    occurred_at: row.created_at,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(rows.len())
}

/// The memory of a search index over the store's posted public loads, built the way the
/// board builds its own at start-up (the board does not expose its index).
pub async fn board_index_memory(db: &Db, geo: &Geo) -> anyhow::Result<MemoryUsage> {
    let rows = readable(store::posted_public_loads(db).await?);
    let loads = rows
        .iter()
        // Decoded posted rows always have `posted_at` (see `store::loads`).
        .filter_map(|r| Some(indexed_load(r.id, &r.spec, r.posted_at?, geo)))
        .collect();
    Ok(LoadIndex::bulk_build(loads)?.memory_usage())
}
