//! Truck postings: carriers manage their own; brokers and shippers search everyone's.
//! The truck search is a filtered scan of available postings in the store (trucks are
//! far fewer than loads); an index like the load board's is the next step at scale.

use chrono::Utc;
use lanerunner_core::{OrgId, TruckId};
use lanerunner_platform::http::Caller;

use crate::domain::{TruckInput, TruckSearchParams};
use crate::error::{LoadsError, Result};
use crate::events::{self, TruckChanged};
use crate::service::{readable, require_carrier, Loads};
use crate::store::{self, TruckRow};
use crate::views::TruckView;

impl Loads {
    pub async fn create_truck(&self, caller: &Caller, input: TruckInput) -> Result<TruckView> {
        require_carrier(caller)?;
        let horizon = self.horizon();
        let spec = self
            .with_geo(move |geo| input.validate(geo, &horizon))
            .await??;
        let now = Utc::now();
        let row = TruckRow {
            id: TruckId::new(),
            org_id: caller.org,
            spec,
            created_at: now,
            updated_at: now,
        };
        self.save_truck(&row).await
    }

    pub async fn update_truck(
        &self,
        caller: &Caller,
        id: TruckId,
        input: TruckInput,
    ) -> Result<TruckView> {
        require_carrier(caller)?;
        let mut row = store::get_truck(&self.db, caller.org, id)
            .await?
            .ok_or(LoadsError::NotFound("truck"))?;
        let horizon = self.horizon();
        row.spec = self
            .with_geo(move |geo| input.validate(geo, &horizon))
            .await??;
        row.updated_at = Utc::now();
        self.save_truck(&row).await
    }

    /// Stores a posting and announces it (`truck.posted.v1` carries the view, on create and
    /// on every update) in one transaction.
    async fn save_truck(&self, row: &TruckRow) -> Result<TruckView> {
        let view = TruckView::from(row);
        let mut tx = self.db.begin().await?;
        store::upsert_truck(&mut tx, row).await?;
        self.publish(&mut tx, events::TRUCK_POSTED, row.org_id, row.id.0, &view)
            .await?;
        self.commit(tx).await?;
        Ok(view)
    }

    pub async fn truck(&self, org: OrgId, id: TruckId) -> Result<TruckView> {
        let row = store::get_truck(&self.db, org, id)
            .await?
            .ok_or(LoadsError::NotFound("truck"))?;
        Ok(TruckView::from(&row))
    }

    pub async fn trucks(
        &self,
        org: OrgId,
        after: Option<TruckId>,
        limit: u32,
    ) -> Result<Vec<TruckView>> {
        Ok(store::list_trucks(&self.db, org, after, limit)
            .await?
            .iter()
            .map(TruckView::from)
            .collect())
    }

    pub async fn delete_truck(&self, caller: &Caller, id: TruckId) -> Result<()> {
        require_carrier(caller)?;
        let mut tx = self.db.begin().await?;
        if !store::delete_truck(&mut tx, caller.org, id).await? {
            return Err(LoadsError::NotFound("truck"));
        }
        self.publish(
            &mut tx,
            events::TRUCK_REMOVED,
            caller.org,
            id.0,
            &TruckChanged { truck_id: id.0 },
        )
        .await?;
        self.commit(tx).await
    }

    pub async fn search_trucks(
        &self,
        caller: &Caller,
        p: TruckSearchParams,
    ) -> Result<Vec<TruckView>> {
        if caller.org_kind == lanerunner_core::OrgKind::Carrier {
            return Err(LoadsError::Forbidden("carriers search loads, not trucks"));
        }
        let horizon = self.horizon();
        let filter = self.with_geo(move |geo| p.resolve(geo, &horizon)).await??;
        // Searching postings tolerates replication lag: the read replica serves it.
        let trucks = readable(store::available_trucks(&self.ctx.read_db, Utc::now()).await?);
        let mut hits: Vec<TruckView> = trucks
            .iter()
            .filter_map(|t| {
                let miles = filter.matches(&t.spec, &self.geo)?;
                let mut v = TruckView::from(t);
                v.deadhead_miles = Some(miles);
                Some(v)
            })
            .collect();
        hits.sort_by(|a, b| {
            a.deadhead_miles
                .partial_cmp(&b.deadhead_miles)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.id.cmp(&b.id))
        });
        hits.truncate(filter.limit);
        Ok(hits)
    }
}
