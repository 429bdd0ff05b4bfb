//! Saved-search alerts. A posting commits first; then the `load.posted.v1` event reaches
//! this consumer group, which checks the load against the saved searches whose origin
//! circle can reach its pickup (an index range on the searches' stored origins, so the work
//! grows with the searches near the load, not with all of them) and publishes a
//! `search.alert.v1` for each match to the carrier who saved it. The consumer runner makes
//! it exactly-once: the alerts go to the outbox in the transaction that records the event
//! as processed.

use std::sync::Weak;

use async_trait::async_trait;
use lanerunner_core::{EventEnvelope, LoadId, OrgId};
use lanerunner_loadsearch::brute_force_search;
use lanerunner_platform::bus::{EventHandler, Permanent};
use lanerunner_platform::Tx;

use crate::domain::filters::MAX_RADIUS_MILES;
use crate::domain::{indexed_load, LoadStatus, Visibility};
use crate::error::Result;
use crate::events::{self, SearchAlert};
use crate::service::{readable, Loads};
use crate::store;

/// The consumer group that raises alerts.
pub const GROUP: &str = "loads.search_alerts";

pub struct SearchAlerts(pub Weak<Loads>);

#[async_trait]
impl EventHandler for SearchAlerts {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let Some(loads) = self.0.upgrade() else {
            return Ok(());
        };
        let org = event.org_id.ok_or_else(|| {
            Permanent::new(anyhow::anyhow!("load.posted without an organization"))
        })?;
        loads
            .raise_alerts(tx, org, LoadId(event.aggregate_id))
            .await
            .map_err(|e| anyhow::anyhow!(e))
    }
}

impl Loads {
    /// `search.alert.v1` for every saved search the load matches, if it is still a posted
    /// public load (it may have been unposted or cancelled since).
    pub(crate) async fn raise_alerts(&self, tx: &mut Tx, org: OrgId, id: LoadId) -> Result<()> {
        let Some(row) = store::get_load_tx(tx, org, id).await? else {
            return Ok(());
        };
        if row.status != LoadStatus::Posted || row.spec.visibility != Visibility::Public {
            return Ok(());
        }
        let Some(posted_at) = row.posted_at else {
            return Ok(());
        };
        let indexed = indexed_load(row.id, &row.spec, posted_at, &self.geo);
        let pickup = row.spec.first_pickup().location.point();
        // Every saved search whose origin could reach the pickup at the largest radius.
        let (dlat, dlon) = lanerunner_geo::reach_box(pickup, MAX_RADIUS_MILES);
        for search in readable(store::searches_near(tx, pickup.lat, pickup.lon, dlat, dlon).await?)
        {
            let mut q = match search.params.resolve_saved(&self.geo) {
                Ok(q) => q,
                Err(why) => {
                    // Saved valid; a market or place it names has since gone away.
                    tracing::warn!(search = %search.id, problems = %why, "a saved search no longer resolves; no alert");
                    continue;
                }
            };
            q.after = None;
            q.limit = 1;
            let page = match brute_force_search(std::slice::from_ref(&indexed), &q) {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(search = %search.id, error = %e, "a saved search cannot run; no alert");
                    continue;
                }
            };
            if let Some(hit) = page.hits.first() {
                let alert = SearchAlert {
                    search_id: search.id,
                    search_name: &search.name,
                    carrier_org_id: search.org_id.0,
                    user_id: search.created_by,
                    load_id: row.id.0,
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

    /// Resolves and stores the origin of searches saved before origins were stored, so the
    /// alert consumer's index range finds them (until then it checks them every time).
    pub(crate) async fn index_saved_search_origins(&self) -> Result<usize> {
        let mut done = 0;
        for search in readable(store::searches_without_origin(&self.db).await?) {
            let params = search.params.clone();
            match self.with_geo(move |geo| params.resolve_saved(geo)).await? {
                Ok(q) => {
                    store::set_search_origin(
                        &self.db,
                        search.org_id,
                        search.id,
                        (q.origin_point.lat, q.origin_point.lon),
                    )
                    .await?;
                    done += 1;
                }
                Err(why) => {
                    tracing::warn!(search = %search.id, problems = %why, "a saved search's origin does not resolve; it stays checked for every load");
                }
            }
        }
        Ok(done)
    }
}
