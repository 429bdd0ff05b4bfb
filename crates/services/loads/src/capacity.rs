//! Truck postings: carriers manage their own; brokers and shippers search everyone's.
//! The truck search is a filtered scan of available postings in the store (trucks are
//! far fewer than loads); an index like the load board's is the next step at scale.

use chrono::{DateTime, Utc};
use lanerunner_platform::http::Caller;
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{LocationInput, TruckFilter, TruckInput, Violations};
use crate::error::{LoadsError, Result};
use crate::events::{self, TruckChanged};
use crate::service::{require_carrier, Loads};
use crate::store::{self, TruckRow};
use crate::views::TruckView;

/// `GET /v1/trucks/search`.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TruckSearchParams {
    /// "City, ST" of the load's pickup.
    pub origin: Option<String>,
    pub origin_lat: Option<f64>,
    pub origin_lon: Option<f64>,
    /// Road miles from the origin (default 100, at most 500).
    pub radius_miles: Option<f64>,
    /// Comma-separated equipment codes.
    pub equipment: Option<String>,
    /// The truck must be available at some point between these instants (RFC 3339).
    pub available_from: Option<DateTime<Utc>>,
    pub available_to: Option<DateTime<Utc>>,
    /// The load delivers in this state: only trucks willing to go there.
    pub dest_state: Option<String>,
    /// 1–200, default 50. Results are nearest first.
    pub limit: Option<usize>,
}

impl Loads {
    pub async fn create_truck(&self, caller: &Caller, input: TruckInput) -> Result<TruckView> {
        require_carrier(caller)?;
        let spec = self.with_geo(move |geo| input.validate(geo)).await??;
        let now = Utc::now();
        self.horizon().check_truck(&spec, now)?;
        let row = TruckRow {
            id: Uuid::now_v7(),
            org_id: caller.org.0,
            spec: Json(spec),
            created_at: now,
            updated_at: now,
        };
        self.save_truck(&row).await
    }

    pub async fn update_truck(
        &self,
        caller: &Caller,
        id: Uuid,
        input: TruckInput,
    ) -> Result<TruckView> {
        require_carrier(caller)?;
        let mut row = store::get_truck(&self.db, caller.org.0, id)
            .await?
            .ok_or(LoadsError::NotFound("truck"))?;
        let spec = self.with_geo(move |geo| input.validate(geo)).await??;
        self.horizon().check_truck(&spec, Utc::now())?;
        row.spec = Json(spec);
        row.updated_at = Utc::now();
        self.save_truck(&row).await
    }

    /// Stores a posting and announces it (`truck.posted.v1` carries the view, on create and
    /// on every update) in one transaction.
    async fn save_truck(&self, row: &TruckRow) -> Result<TruckView> {
        let view = TruckView::from(row);
        let mut tx = self.db.begin().await?;
        store::upsert_truck(&mut tx, row).await?;
        self.publish(&mut tx, events::TRUCK_POSTED, row.org_id, row.id, &view)
            .await?;
        self.commit(tx).await?;
        Ok(view)
    }

    pub async fn truck(&self, org: Uuid, id: Uuid) -> Result<TruckView> {
        let row = store::get_truck(&self.db, org, id)
            .await?
            .ok_or(LoadsError::NotFound("truck"))?;
        Ok(TruckView::from(&row))
    }

    pub async fn trucks(
        &self,
        org: Uuid,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<TruckView>> {
        Ok(store::list_trucks(&self.db, org, after, limit)
            .await?
            .iter()
            .map(TruckView::from)
            .collect())
    }

    pub async fn delete_truck(&self, caller: &Caller, id: Uuid) -> Result<()> {
        require_carrier(caller)?;
        let mut tx = self.db.begin().await?;
        if !store::delete_truck(&mut tx, caller.org.0, id).await? {
            return Err(LoadsError::NotFound("truck"));
        }
        self.publish(
            &mut tx,
            events::TRUCK_REMOVED,
            caller.org.0,
            id,
            &TruckChanged { truck_id: id },
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
        let at = LocationInput {
            place: p.origin.clone(),
            lat: p.origin_lat,
            lon: p.origin_lon,
        };
        let (origin, mut errs) = self
            .with_geo(move |geo| {
                let mut errs = Violations::default();
                (geo.resolve(&at, "origin", &mut errs), errs)
            })
            .await?;
        let radius = p.radius_miles.unwrap_or(100.0);
        if !(radius > 0.0 && radius <= 500.0) {
            errs.add("radius_miles", "must be between 0 and 500 miles");
        }
        let mut equipment = Vec::new();
        for code in p
            .equipment
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            match code.parse() {
                Ok(e) => equipment.push(e),
                Err(e) => errs.add("equipment", format!("{e}")),
            }
        }
        let dest_state = p
            .dest_state
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .and_then(|s| crate::domain::known_region(s, "dest_state", &mut errs))
            .map(str::to_owned);
        let limit = p.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            errs.add("limit", "must be between 1 and 200");
        }
        let origin = match origin {
            Some(o) if errs.is_empty() => o,
            _ => return Err(errs.into()),
        };
        let filter = TruckFilter {
            origin: origin.point(),
            radius_miles: radius,
            equipment,
            from: p.available_from,
            to: p.available_to,
            dest_state,
        };
        // Searching postings tolerates replication lag: the read replica serves it.
        let mut hits: Vec<TruckView> = store::available_trucks(&self.ctx.read_db, Utc::now())
            .await?
            .iter()
            .filter_map(|t| {
                let miles = filter.matches(&t.spec.0, &self.geo)?;
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
        hits.truncate(limit);
        Ok(hits)
    }
}
