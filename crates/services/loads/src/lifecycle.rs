//! Loads from draft to close: read, update (optimistic), status changes with history and
//! events, alerts for saved searches a posting matches, and expiry of stale postings.
//! Creation (API, copy, CSV import) is in `creation.rs`.

use chrono::{DateTime, Utc};
use lanerunner_core::{LoadId, OrgId};
use lanerunner_platform::http::Caller;
use lanerunner_platform::Tx;
use uuid::Uuid;

use crate::domain::text::Text;
use crate::domain::{Booking, BookingInput, LoadEvent, LoadSpec, LoadStatus, Violations};
use crate::error::{LoadsError, Result};
use crate::events::{self, StatusChanged};
use crate::service::{require_shipper_side, Loads};
use crate::store::{self, HistoryRow, LoadRow, StoreError};
use crate::views::{AnyLoadView, HistoryView, LoadView, PublicLoadView};
use lanerunner_core::market::RateKind;

/// Who changes a load: a caller, or the service itself (expiry).
#[derive(Debug, Clone, Copy)]
pub struct Actor(pub Uuid);

impl Actor {
    /// The service acting on its own (expiring stale postings).
    pub const SYSTEM: Actor = Actor(Uuid::nil());
}

/// Why a load changed state: prose (line breaks allowed), at most 500 characters.
const REASON: Text = Text::prose(500);

impl Loads {
    /// The caller's own load in full; anyone's posted public load as the board shows it.
    pub async fn get(&self, caller: &Caller, id: LoadId) -> Result<AnyLoadView> {
        if let Some(row) = store::get_load(&self.db, caller.org, id).await? {
            return Ok(AnyLoadView::Owner(Box::new(LoadView::new(&row, &self.geo))));
        }
        match store::get_public_load(&self.db, id).await? {
            Some(row) => Ok(AnyLoadView::Public(Box::new(PublicLoadView::new(
                &row, &self.geo,
            )))),
            None => Err(LoadsError::NotFound("load")),
        }
    }

    pub async fn list(
        &self,
        org: OrgId,
        after: Option<LoadId>,
        limit: u32,
    ) -> Result<Vec<LoadView>> {
        let rows = store::list_loads(&self.db, org, after, limit).await?;
        Ok(rows.iter().map(|r| LoadView::new(r, &self.geo)).collect())
    }

    pub async fn history(&self, org: OrgId, id: LoadId) -> Result<Vec<HistoryView>> {
        store::get_load(&self.db, org, id)
            .await?
            .ok_or(LoadsError::NotFound("load"))?;
        Ok(store::list_history(&self.db, org, id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn load_for_change(
        &self,
        tx: &mut Tx,
        org: OrgId,
        id: LoadId,
        if_match: Option<i64>,
        required: bool,
    ) -> Result<LoadRow> {
        let row = store::get_load_tx(tx, org, id)
            .await?
            .ok_or(LoadsError::NotFound("load"))?;
        match if_match {
            Some(v) if v != row.version => Err(LoadsError::VersionMismatch {
                current: row.version,
            }),
            None if required => Err(LoadsError::PreconditionRequired),
            _ => Ok(row),
        }
    }

    /// Replaces the load's terms (draft or posted loads only); needs the current version.
    pub async fn update(
        &self,
        caller: &Caller,
        id: LoadId,
        if_match: Option<i64>,
        input: crate::domain::LoadInput,
    ) -> Result<LoadView> {
        require_shipper_side(caller)?;
        let horizon = self.horizon();
        let validated = self
            .with_geo(move |geo| input.validate(geo, &horizon))
            .await?;
        let mut tx = self.db.begin().await?;
        let mut row = self
            .load_for_change(&mut tx, caller.org, id, if_match, true)
            .await?;
        if !row.status.is_editable() {
            return Err(LoadsError::NotEditable(row.status));
        }
        let spec = validated?;
        if row.status == LoadStatus::Posted {
            check_postable(&spec, Utc::now())?;
        }
        let expected = row.version;
        row.spec = spec;
        row.version += 1;
        row.updated_at = Utc::now();
        if !store::update_load(&mut tx, caller.org, &row, expected).await? {
            return Err(LoadsError::VersionMismatch {
                current: expected + 1,
            });
        }
        // Carries the new public terms so that projections (matching) stay current.
        let payload = serde_json::json!({
            "load_id": row.id,
            "version": row.version,
            "status": row.status.as_str(),
            "load": PublicLoadView::new(&row, &self.geo),
        });
        self.publish(
            &mut tx,
            events::LOAD_UPDATED,
            row.org_id,
            row.id.0,
            &payload,
        )
        .await?;
        self.commit(tx).await?;
        self.board
            .write()
            .expect("board lock")
            .apply(&row, &self.geo);
        Ok(LoadView::new(&row, &self.geo))
    }

    /// Applies a lifecycle event (post, unpost, cover, ..., cancel) for a caller.
    pub async fn change_status(
        &self,
        caller: &Caller,
        id: LoadId,
        event: LoadEvent,
        reason: Option<String>,
        booking: Option<BookingInput>,
        if_match: Option<i64>,
    ) -> Result<LoadView> {
        require_shipper_side(caller)?;
        if event == LoadEvent::Expire {
            return Err(LoadsError::Forbidden(
                "loads expire by themselves when their pickup window passes",
            ));
        }
        let mut v = Violations::default();
        if let Some(r) = &reason {
            REASON.check(&mut v, "reason", r);
        }
        let reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if v.is_empty() && event == LoadEvent::Cancel && reason.is_none() {
            v.add("reason", "say why the load is cancelled");
        }
        if booking.is_some() && event != LoadEvent::Cover {
            v.add("booking", "is given only with the cover event");
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let mut tx = self.db.begin().await?;
        let row = self
            .load_for_change(&mut tx, caller.org, id, if_match, false)
            .await?;
        let booking = (event == LoadEvent::Cover)
            .then(|| {
                booking.unwrap_or_default().validate(
                    row.org_id,
                    row.spec.all_in_rate_cents(),
                    stored_now(),
                )
            })
            .transpose()?;
        let row = self
            .transition(
                &mut tx,
                row,
                event,
                Actor(caller.actor_id()),
                reason.as_deref(),
                booking,
            )
            .await?;
        self.commit(tx).await?;
        self.board
            .write()
            .expect("board lock")
            .apply(&row, &self.geo);
        Ok(LoadView::new(&row, &self.geo))
    }

    /// The state change, its history record and its events, in `tx`.
    pub(crate) async fn transition(
        &self,
        tx: &mut Tx,
        mut row: LoadRow,
        event: LoadEvent,
        actor: Actor,
        reason: Option<&str>,
        booking: Option<Booking>,
    ) -> Result<LoadRow> {
        let from = row.status;
        let to = from.transition(event).map_err(LoadsError::Transition)?;
        let now = stored_now();
        if to == LoadStatus::Posted {
            check_postable(&row.spec, now)?;
            row.posted_at = Some(now);
        }
        if booking.is_some() {
            row.booking = booking;
        }
        let expected = row.version;
        row.status = to;
        row.version += 1;
        row.updated_at = now;
        if !store::update_load(tx, row.org_id, &row, expected).await? {
            return Err(LoadsError::VersionMismatch {
                current: expected + 1,
            });
        }
        store::insert_history(
            tx,
            &HistoryRow {
                id: Uuid::now_v7(),
                load_id: row.id,
                org_id: row.org_id,
                event: event.as_str().into(),
                from_status: Some(from.as_str().into()),
                to_status: to.as_str().into(),
                actor_id: actor.0,
                reason: reason.map(str::to_string),
                occurred_at: now,
            },
        )
        .await?;
        let changed = StatusChanged {
            load_id: row.id.0,
            from: from.as_str(),
            to: to.as_str(),
            event: event.as_str(),
            truck_ordered_not_used: to.truck_ordered_not_used(),
            actor_id: actor.0,
            reason,
            version: row.version,
            visibility: row.spec.visibility.as_str(),
        };
        self.publish(
            tx,
            events::LOAD_STATUS_CHANGED,
            row.org_id,
            row.id.0,
            &changed,
        )
        .await?;
        if to == LoadStatus::Posted {
            // Every posting (private ones too: matching serves the broker's own network);
            // consumers that face carriers filter on `visibility`.
            let public = PublicLoadView::new(&row, &self.geo);
            self.publish(tx, events::LOAD_POSTED, row.org_id, row.id.0, &public)
                .await?;
            // Saved-search alerts follow from `load.posted.v1` after this commits
            // (`alerts.rs`), not inside this transaction.
        }
        if let Some(b) = booking {
            self.publish_booked(tx, &row, b).await?;
        }
        count_business_metrics(from, &row);
        Ok(row)
    }

    /// `load.booked.v1`, for the market (analytics, rates): only a booking whose rate is
    /// known teaches the market anything, so a cover without one publishes nothing here
    /// (`load.status_changed.v1` still says the load was covered).
    async fn publish_booked(&self, tx: &mut Tx, row: &LoadRow, b: Booking) -> Result<()> {
        let Some(rate_cents) = b.rate_cents else {
            return Ok(());
        };
        let booked = events::Booked {
            load_id: row.id.0,
            broker_org_id: row.org_id.0,
            carrier_org_id: b.carrier_org_id.map(|o| o.0),
            rate_cents,
            rate_kind: RateKind::Spot,
            booked_at: b.booked_at,
            posted_at: row.posted_at,
            load: PublicLoadView::new(row, &self.geo),
        };
        self.publish(tx, events::LOAD_BOOKED, row.org_id, row.id.0, &booked)
            .await
    }

    /// Expires every posting whose first pickup window closed before `now`; returns how
    /// many. Runs every minute in the background. A load that cannot be read is logged and
    /// skipped, so that it does not hold up the others.
    pub async fn expire_overdue(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        for (org, id) in store::overdue_postings(&self.db, now).await? {
            let mut tx = self.db.begin().await?;
            let row = match store::get_load_tx(&mut tx, org, id).await {
                Ok(Some(row)) => row,
                Ok(None) => continue,
                Err(StoreError::Corrupt(c)) => {
                    tracing::error!(table = c.table, row_id = %c.id, column = c.column, problem = %c.problem, "cannot expire a load that cannot be read");
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            if row.status != LoadStatus::Posted {
                continue;
            }
            let row = self
                .transition(
                    &mut tx,
                    row,
                    LoadEvent::Expire,
                    Actor::SYSTEM,
                    Some("pickup window passed"),
                    None,
                )
                .await?;
            self.commit(tx).await?;
            self.board
                .write()
                .expect("board lock")
                .apply(&row, &self.geo);
            n += 1;
        }
        Ok(n)
    }
}

/// A load goes on the board only while its first pickup window is still open.
fn check_postable(spec: &LoadSpec, now: DateTime<Utc>) -> Result<()> {
    if spec.first_pickup().window.end < now {
        let mut v = Violations::default();
        let field = if spec.first_pickup().window.appointment {
            "stops[0].appointment"
        } else {
            "stops[0].window.end"
        };
        v.add(
            field,
            "has passed; a load cannot be posted after its pickup window",
        );
        return Err(v.into());
    }
    Ok(())
}

/// Now, to the microsecond, as PostgreSQL keeps a timestamp: so the answer to a change
/// equals every later read of it.
pub(crate) fn stored_now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// The market's pulse for dashboards and alerts: loads posted, loads booked and how long a
/// posting took to cover. Counted when the change is made in its transaction, so the rare
/// transaction that fails to commit afterwards is counted too (a counter cannot be taken
/// back); the reporting service has the exact figures.
fn count_business_metrics(from: LoadStatus, row: &LoadRow) {
    if row.status == from {
        return;
    }
    match row.status {
        LoadStatus::Posted => metrics::counter!("loads_posted_total").increment(1),
        LoadStatus::Covered => {
            metrics::counter!("loads_booked_total").increment(1);
            if let (Some(posted), Some(booking)) = (row.posted_at, &row.booking) {
                let waited = (booking.booked_at - posted).num_milliseconds().max(0);
                metrics::histogram!("load_time_to_cover_seconds").record(waited as f64 / 1000.0);
            }
        }
        _ => {}
    }
}
