//! The board search and carriers' saved searches.

use chrono::Utc;
use lanerunner_core::OrgId;
use lanerunner_platform::http::Caller;
use uuid::Uuid;

use crate::domain::text::Text;
use crate::domain::{SearchParams, Violations};
use crate::error::{LoadsError, Result};
use crate::service::{require_carrier, Loads};
use crate::store::{self, SavedSearchRow};
use crate::views::SearchPageView;

/// A saved search's name: one line, 1 to 100 characters.
const SEARCH_NAME: Text = Text::line(100).required();

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct SavedSearchView {
    pub id: Uuid,
    pub name: String,
    pub params: SearchParams,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<SavedSearchRow> for SavedSearchView {
    fn from(r: SavedSearchRow) -> Self {
        SavedSearchView {
            id: r.id,
            name: r.name,
            params: r.params,
            created_at: r.created_at,
        }
    }
}

impl Loads {
    /// Posted public loads matching `params` (a broker's own public postings included).
    /// Resolves places inline: for in-process callers (benchmarks); the API goes through
    /// [`Loads::search_async`], which keeps a remote geocoder off the async workers.
    pub fn search(&self, params: &SearchParams) -> Result<SearchPageView> {
        let q = params.resolve(&self.geo, &self.horizon())?;
        Ok(self.board.read().expect("board lock").search(&q)?)
    }

    pub async fn search_async(&self, params: SearchParams) -> Result<SearchPageView> {
        let horizon = self.horizon();
        let q = self
            .with_geo(move |geo| params.resolve(geo, &horizon))
            .await??;
        Ok(self.board.read().expect("board lock").search(&q)?)
    }

    pub async fn save_search(
        &self,
        caller: &Caller,
        name: &str,
        params: SearchParams,
    ) -> Result<SavedSearchView> {
        require_carrier(caller)?;
        let mut errs = Violations::default();
        SEARCH_NAME.check(&mut errs, "name", name);
        if params.cursor.is_some() {
            errs.add("params.cursor", "a saved search has no cursor");
        }
        let checked = params.clone();
        let horizon = self.horizon();
        let origin = match self
            .with_geo(move |geo| checked.resolve(geo, &horizon))
            .await?
        {
            Ok(q) => Some((q.origin_point.lat, q.origin_point.lon)),
            Err(v) => {
                for mut e in v.0 {
                    e.field = format!("params.{}", e.field);
                    errs.0.push(e);
                }
                None
            }
        };
        let origin = match origin {
            Some(o) if errs.is_empty() => o,
            _ => return Err(errs.into()),
        };
        let row = SavedSearchRow {
            id: Uuid::now_v7(),
            org_id: caller.org,
            created_by: caller.actor_id(),
            name: name.trim().into(),
            params,
            created_at: Utc::now(),
        };
        let mut tx = self.db.begin().await?;
        store::insert_search(&mut tx, &row, origin).await?;
        self.commit(tx).await?;
        Ok(row.into())
    }

    pub async fn saved_searches(&self, org: OrgId) -> Result<Vec<SavedSearchView>> {
        Ok(store::list_searches(&self.db, org)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub async fn delete_search(&self, caller: &Caller, id: Uuid) -> Result<()> {
        require_carrier(caller)?;
        let mut tx = self.db.begin().await?;
        if !store::delete_search(&mut tx, caller.org, id).await? {
            return Err(LoadsError::NotFound("saved search"));
        }
        self.commit(tx).await
    }
}
