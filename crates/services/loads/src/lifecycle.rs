//! Loads from creation to close: create (idempotent), read, update (optimistic), status
//! changes with history and events, copy, CSV import, and expiry of stale postings.

use chrono::{DateTime, Utc};
use lanerunner_loadsearch::brute_force_search;
use lanerunner_platform::http::Caller;
use lanerunner_platform::Tx;
use sha2::{Digest, Sha256};
use sqlx::types::Json;
use uuid::Uuid;

use crate::domain::{
    csv_import, indexed_load, LoadEvent, LoadInput, LoadSpec, LoadStatus, Violations, Visibility,
};
use crate::error::{LoadsError, Result};
use crate::events::{self, LoadCreated, SearchAlert, StatusChanged};
use crate::service::{require_shipper_side, Loads};
use crate::store::{self, HistoryRow, IdempotencyRow, LoadRow};
use crate::views::{AnyLoadView, HistoryView, LoadView, PublicLoadView};

/// Who changes a load: a caller, or the service itself (expiry).
#[derive(Debug, Clone, Copy)]
pub struct Actor(pub Uuid);

impl Actor {
    /// The service acting on its own (expiring stale postings).
    pub const SYSTEM: Actor = Actor(Uuid::nil());
}

/// The response a create produced (replayed for a repeated Idempotency-Key).
pub struct Created {
    pub status: u16,
    pub body: serde_json::Value,
}

fn request_hash(input: &LoadInput) -> String {
    let bytes = serde_json::to_vec(input).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first answer under an Idempotency-Key, for a repeat of the same request.
fn replay(seen: IdempotencyRow, hash: &str) -> Result<Created> {
    if seen.request_hash != hash {
        return Err(LoadsError::IdempotencyMismatch);
    }
    Ok(Created {
        status: seen.response_status as u16,
        body: seen.response_body.0,
    })
}

impl Loads {
    fn new_row(&self, caller: &Caller, spec: LoadSpec, now: DateTime<Utc>) -> LoadRow {
        LoadRow {
            id: Uuid::now_v7(),
            org_id: caller.org.0,
            status: LoadStatus::Draft.as_str().into(),
            truck_ordered_not_used: false,
            version: 1,
            spec: Json(spec),
            created_by: caller.actor_id(),
            created_at: now,
            updated_at: now,
            posted_at: None,
        }
    }

    async fn insert_new(&self, tx: &mut Tx, row: &LoadRow, via: &str) -> Result<()> {
        store::insert_load(tx, row).await?;
        store::insert_history(
            tx,
            &HistoryRow {
                id: Uuid::now_v7(),
                load_id: row.id,
                org_id: row.org_id,
                event: "create".into(),
                from_status: None,
                to_status: row.status.clone(),
                actor_id: row.created_by,
                reason: None,
                occurred_at: row.created_at,
            },
        )
        .await?;
        let payload = LoadCreated {
            load_id: row.id,
            reference: &row.spec.0.reference,
            created_by: row.created_by,
            via,
        };
        self.publish(tx, events::LOAD_CREATED, row.org_id, row.id, &payload)
            .await
    }

    /// Creates a draft. With an Idempotency-Key, a repeat of the same request returns the
    /// first response and a different request under the same key is refused.
    pub async fn create(
        &self,
        caller: &Caller,
        input: LoadInput,
        key: Option<&str>,
    ) -> Result<Created> {
        require_shipper_side(caller)?;
        let hash = request_hash(&input);
        let spec = self.with_geo(move |geo| input.validate(geo)).await??;
        self.horizon().check_load(&spec, Utc::now())?;
        let mut tx = self.db.begin().await?;
        if let Some(key) = key {
            if let Some(seen) = store::get_idempotency(&mut tx, caller.org.0, key).await? {
                return replay(seen, &hash);
            }
        }
        let now = Utc::now();
        let row = self.new_row(caller, spec, now);
        self.insert_new(&mut tx, &row, "api").await?;
        let body = serde_json::to_value(LoadView::new(&row, &self.geo)?)
            .map_err(|e| LoadsError::Internal(e.into()))?;
        if let Some(key) = key {
            let record = IdempotencyRow {
                request_hash: hash.clone(),
                response_status: 201,
                response_body: Json(body.clone()),
            };
            if let Err(e) =
                store::insert_idempotency(&mut tx, caller.org.0, key, &record, now).await
            {
                if !lanerunner_platform::db::is_unique_violation(&e) {
                    return Err(e.into());
                }
                // A request with the same key committed first, between our read and our
                // insert (PostgreSQL made us wait for it): nothing of ours is kept, and the
                // caller gets the first answer, as a sequential repeat would.
                tx.rollback().await?;
                let seen = store::get_idempotency_committed(&self.db, caller.org.0, key)
                    .await?
                    .ok_or_else(|| {
                        LoadsError::Internal(anyhow::anyhow!(
                            "idempotency key {key} conflicted but is not stored"
                        ))
                    })?;
                return replay(seen, &hash);
            }
        }
        self.commit(tx).await?;
        Ok(Created { status: 201, body })
    }

    /// The caller's own load in full; anyone's posted public load as the board shows it.
    pub async fn get(&self, caller: &Caller, id: Uuid) -> Result<AnyLoadView> {
        if let Some(row) = store::get_load(&self.db, caller.org.0, id).await? {
            return Ok(AnyLoadView::Owner(Box::new(LoadView::new(
                &row, &self.geo,
            )?)));
        }
        match store::get_public_load(&self.db, id).await? {
            Some(row) => Ok(AnyLoadView::Public(Box::new(PublicLoadView::new(
                &row, &self.geo,
            )))),
            None => Err(LoadsError::NotFound("load")),
        }
    }

    pub async fn list(&self, org: Uuid, after: Option<Uuid>, limit: u32) -> Result<Vec<LoadView>> {
        let rows = store::list_loads(&self.db, org, after, limit).await?;
        Ok(rows
            .iter()
            .map(|r| LoadView::new(r, &self.geo))
            .collect::<std::result::Result<_, _>>()?)
    }

    pub async fn history(&self, org: Uuid, id: Uuid) -> Result<Vec<HistoryView>> {
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
        org: Uuid,
        id: Uuid,
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
        id: Uuid,
        if_match: Option<i64>,
        input: LoadInput,
    ) -> Result<LoadView> {
        require_shipper_side(caller)?;
        let validated = self.with_geo(move |geo| input.validate(geo)).await?;
        let mut tx = self.db.begin().await?;
        let mut row = self
            .load_for_change(&mut tx, caller.org.0, id, if_match, true)
            .await?;
        let status = row.status()?;
        if !status.is_editable() {
            return Err(LoadsError::NotEditable(status));
        }
        let spec = validated?;
        self.horizon().check_load(&spec, Utc::now())?;
        if status == LoadStatus::Posted {
            check_postable(&spec, Utc::now())?;
        }
        let expected = row.version;
        row.spec = Json(spec);
        row.version += 1;
        row.updated_at = Utc::now();
        if !store::update_load(&mut tx, &row, expected).await? {
            return Err(LoadsError::VersionMismatch {
                current: expected + 1,
            });
        }
        // Carries the new public terms so that projections (matching) stay current.
        let payload = serde_json::json!({
            "load_id": row.id,
            "version": row.version,
            "status": row.status,
            "load": PublicLoadView::new(&row, &self.geo),
        });
        self.publish(&mut tx, events::LOAD_UPDATED, row.org_id, row.id, &payload)
            .await?;
        self.commit(tx).await?;
        self.board
            .write()
            .expect("board lock")
            .apply(&row, &self.geo);
        Ok(LoadView::new(&row, &self.geo)?)
    }

    /// Applies a lifecycle event (post, unpost, cover, ..., cancel) for a caller.
    pub async fn change_status(
        &self,
        caller: &Caller,
        id: Uuid,
        event: LoadEvent,
        reason: Option<String>,
        if_match: Option<i64>,
    ) -> Result<LoadView> {
        require_shipper_side(caller)?;
        if event == LoadEvent::Expire {
            return Err(LoadsError::Forbidden(
                "loads expire by themselves when their pickup window passes",
            ));
        }
        let reason = reason
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if event == LoadEvent::Cancel && reason.is_none() {
            let mut v = Violations::default();
            v.add("reason", "say why the load is cancelled");
            return Err(v.into());
        }
        if let Some(r) = &reason {
            let mut v = Violations::default();
            crate::domain::text::check(
                &mut v,
                "reason",
                r,
                500,
                false,
                crate::domain::text::Lines::Many,
            );
            if !v.0.is_empty() {
                return Err(v.into());
            }
        }
        let mut tx = self.db.begin().await?;
        let row = self
            .load_for_change(&mut tx, caller.org.0, id, if_match, false)
            .await?;
        let row = self
            .transition(
                &mut tx,
                row,
                event,
                Actor(caller.actor_id()),
                reason.as_deref(),
            )
            .await?;
        self.commit(tx).await?;
        self.board
            .write()
            .expect("board lock")
            .apply(&row, &self.geo);
        Ok(LoadView::new(&row, &self.geo)?)
    }

    /// The state change, its history record and its events, in `tx`.
    async fn transition(
        &self,
        tx: &mut Tx,
        mut row: LoadRow,
        event: LoadEvent,
        actor: Actor,
        reason: Option<&str>,
    ) -> Result<LoadRow> {
        let from = row.status()?;
        let to = from.transition(event).map_err(LoadsError::Transition)?;
        let now = Utc::now();
        if to == LoadStatus::Posted {
            check_postable(&row.spec.0, now)?;
            row.posted_at = Some(now);
        }
        let expected = row.version;
        row.set_status(to);
        row.version += 1;
        row.updated_at = now;
        if !store::update_load(tx, &row, expected).await? {
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
            load_id: row.id,
            from: from.as_str(),
            to: to.as_str(),
            event: event.as_str(),
            truck_ordered_not_used: to.truck_ordered_not_used(),
            actor_id: actor.0,
            reason,
            version: row.version,
        };
        self.publish(
            tx,
            events::LOAD_STATUS_CHANGED,
            row.org_id,
            row.id,
            &changed,
        )
        .await?;
        if to == LoadStatus::Posted {
            // Every posting (private ones too: matching serves the broker's own network);
            // consumers that face carriers filter on `visibility`.
            let public = PublicLoadView::new(&row, &self.geo);
            self.publish(tx, events::LOAD_POSTED, row.org_id, row.id, &public)
                .await?;
            if row.spec.0.visibility == Visibility::Public {
                self.raise_alerts(tx, &row).await?;
            }
        }
        Ok(row)
    }

    /// `search.alert.v1` for every saved search the newly posted load matches.
    async fn raise_alerts(&self, tx: &mut Tx, row: &LoadRow) -> Result<()> {
        let indexed = indexed_load(
            row.id,
            &row.spec.0,
            row.posted_at.unwrap_or_else(Utc::now),
            &self.geo,
        );
        for search in store::all_searches(tx).await? {
            let Ok(mut q) = search.params.0.resolve(&self.geo) else {
                continue;
            };
            q.after = None;
            q.limit = 1;
            let Ok(page) = brute_force_search(std::slice::from_ref(&indexed), &q) else {
                continue;
            };
            if let Some(hit) = page.hits.first() {
                let alert = SearchAlert {
                    search_id: search.id,
                    search_name: &search.name,
                    carrier_org_id: search.org_id,
                    user_id: search.created_by,
                    load_id: row.id,
                    deadhead_miles: hit.deadhead_miles,
                    loaded_miles: hit.loaded_miles,
                    rate_per_mile_cents: hit.rate_per_mile_cents,
                };
                // The alert belongs to the carrier who saved the search.
                self.publish(tx, events::SEARCH_ALERT, search.org_id, search.id, &alert)
                    .await?;
            }
        }
        Ok(())
    }

    /// A new draft with the same terms (to repost a lane).
    pub async fn copy(&self, caller: &Caller, id: Uuid) -> Result<LoadView> {
        require_shipper_side(caller)?;
        let source = store::get_load(&self.db, caller.org.0, id)
            .await?
            .ok_or(LoadsError::NotFound("load"))?;
        let now = Utc::now();
        let row = self.new_row(caller, source.spec.0.clone(), now);
        let mut tx = self.db.begin().await?;
        self.insert_new(&mut tx, &row, "copy").await?;
        self.commit(tx).await?;
        Ok(LoadView::new(&row, &self.geo)?)
    }

    /// All rows become drafts in one transaction, or nothing is stored and every bad row
    /// is reported.
    pub async fn import(&self, caller: &Caller, csv: &str) -> Result<Vec<LoadView>> {
        require_shipper_side(caller)?;
        let parsed = csv_import::parse(csv).map_err(LoadsError::Import)?;
        let (specs, bad) = self
            .with_geo({
                let horizon = self.horizon();
                move |geo| validate_rows(&parsed, geo, horizon, Utc::now())
            })
            .await?;
        // A geocoder outage is not the file's fault: say "try again", not "fix every row".
        if let Some(e) = bad
            .iter()
            .flat_map(|r| r.errors.0.iter())
            .find(|e| e.unavailable)
        {
            return Err(LoadsError::GeocoderUnavailable(e.message.clone()));
        }
        if !bad.is_empty() {
            return Err(LoadsError::Import(bad));
        }
        let now = Utc::now();
        let rows: Vec<LoadRow> = specs
            .into_iter()
            .map(|s| self.new_row(caller, s, now))
            .collect();
        let mut tx = self.db.begin().await?;
        for row in &rows {
            self.insert_new(&mut tx, row, "import").await?;
        }
        self.commit(tx).await?;
        Ok(rows
            .iter()
            .map(|r| LoadView::new(r, &self.geo))
            .collect::<std::result::Result<_, _>>()?)
    }

    /// Expires every posting whose first pickup window closed before `now`; returns how
    /// many. Runs every minute in the background.
    pub async fn expire_overdue(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        for (org, id) in store::overdue_postings(&self.db, now).await? {
            let mut tx = self.db.begin().await?;
            let Some(row) = store::get_load_tx(&mut tx, org, id).await? else {
                continue;
            };
            if row.status().ok() != Some(LoadStatus::Posted) {
                continue;
            }
            let row = self
                .transition(
                    &mut tx,
                    row,
                    LoadEvent::Expire,
                    Actor::SYSTEM,
                    Some("pickup window passed"),
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

/// Every row validated: the specs of good rows, or the problems of every bad one.
fn validate_rows(
    parsed: &[csv_import::ParsedRow],
    geo: &crate::domain::Geo,
    horizon: crate::domain::Horizon,
    now: DateTime<Utc>,
) -> (Vec<LoadSpec>, Vec<csv_import::RowError>) {
    let mut specs = Vec::with_capacity(parsed.len());
    let mut bad = Vec::new();
    for (i, row) in parsed.iter().enumerate() {
        let validated = row
            .input
            .validate(geo)
            .and_then(|spec| horizon.check_load(&spec, now).map(|()| spec));
        let errors =
            csv_import::row_problems(row, validated.as_ref().err().cloned().unwrap_or_default());
        match validated {
            Ok(spec) if errors.is_empty() => specs.push(spec),
            _ => bad.push(csv_import::RowError { row: i + 1, errors }),
        }
    }
    (specs, bad)
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
