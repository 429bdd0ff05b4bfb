//! The load board in memory: the `LoadIndex` over posted public loads plus their public
//! views, so a search answers without touching the store.
//!
//! This process updates it right after each of its own commits (so a broker sees their
//! own change at once), and every instance also listens to `load.posted`, `load.updated`
//! and `load.status_changed` on a broadcast subscription ([`BoardListener`]) and re-reads
//! the load from the store, so boards of other instances follow within the bus's latency.
//! Re-reading the committed row (rather than trusting the event's payload) makes the order
//! and repetition of events irrelevant: the board converges on the store.
//!
//! The rebuild may read a lagging replica, and changes committed between the rebuild and
//! the listener's subscription would be missed; so once subscribed, the listener re-reads
//! from the primary every load changed since the rebuild began (less [`CATCH_UP_MARGIN`]
//! for replica lag and clock skew between instances).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use lanerunner_core::LoadId;
use lanerunner_loadsearch::{IndexedLoad, LoadIndex, SearchQuery};

use crate::domain::{indexed_load, Geo, LoadStatus, Violations, Visibility};
use crate::store::LoadRow;
use crate::view_codec::{self, ViewCodec};
use crate::views::{PublicLoadView, Rendered, SearchHit, SearchPageView};

/// How far before the rebuild the catch-up looks: covers replica lag and clock skew.
pub const CATCH_UP_MARGIN: chrono::Duration = chrono::Duration::minutes(10);

pub struct Board {
    index: LoadIndex,
    /// The public view of every load on the board, rendered as JSON and compressed with
    /// `codec` (see `view_codec.rs`).
    views: HashMap<u128, Box<[u8]>>,
    codec: ViewCodec,
}

/// What a snapshot holds of a board: its dictionary and every load with its compressed
/// view.
pub struct BoardCopy {
    pub dictionary: Vec<u8>,
    pub trained_on: usize,
    pub entries: Vec<(IndexedLoad, Box<[u8]>)>,
}

/// What the board's views take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewStats {
    pub loads: usize,
    /// The compressed views together.
    pub view_bytes: usize,
    /// The dictionary's size (0: none) and how many views it came from.
    pub dictionary_bytes: usize,
    pub trained_on: usize,
}

fn render(row: &LoadRow, geo: &Geo) -> Vec<u8> {
    serde_json::to_vec(&PublicLoadView::new(row, geo)).expect("a view serializes")
}

/// When the load went on the board, if it is on it: posted (which a stored row cannot be
/// without `posted_at`, see `store::loads`) and public.
fn on_board(row: &LoadRow) -> Option<DateTime<Utc>> {
    if row.status == LoadStatus::Posted && row.spec.visibility == Visibility::Public {
        row.posted_at
    } else {
        None
    }
}

impl Board {
    pub fn build(rows: &[LoadRow], geo: &Geo) -> anyhow::Result<Board> {
        let rows: Vec<(&LoadRow, DateTime<Utc>)> = rows
            .iter()
            .filter_map(|r| Some((r, on_board(r)?)))
            .collect();
        let loads = rows
            .iter()
            .map(|(r, posted_at)| indexed_load(r.id, &r.spec, *posted_at, geo))
            .collect();
        let index = LoadIndex::bulk_build(loads)?;
        // Trained on a sample rendered for the purpose, so that the million views are
        // never all held uncompressed at once.
        let sample: Vec<Vec<u8>> = view_codec::sample(rows.len())
            .map(|i| render(rows[i].0, geo))
            .collect();
        let codec = ViewCodec::train(&sample);
        let frames = codec.compress_all(&rows, |(r, _)| render(r, geo));
        let views = rows
            .iter()
            .zip(frames)
            .map(|((r, _), frame)| (r.id.0.as_u128(), frame))
            .collect();
        Ok(Board {
            index,
            views,
            codec,
        })
    }

    /// A board from a snapshot (see `snapshot.rs`); refuses a load twice.
    pub fn from_snapshot(copy: BoardCopy) -> anyhow::Result<Board> {
        let codec = ViewCodec::new(copy.dictionary, copy.trained_on)?;
        let (loads, views): (Vec<_>, HashMap<_, _>) = copy
            .entries
            .into_iter()
            .map(|(load, view)| (load, (load.id, view)))
            .unzip();
        Ok(Board {
            index: LoadIndex::bulk_build(loads)?,
            views,
            codec,
        })
    }

    /// Everything a snapshot writes: every load on the board as the index holds it, with
    /// its compressed view, and the dictionary. A copy, so the caller writes it without
    /// the lock.
    pub fn copy(&self) -> BoardCopy {
        let (dictionary, trained_on) = self.codec.dictionary();
        BoardCopy {
            dictionary: dictionary.to_vec(),
            trained_on,
            entries: self
                .views
                .iter()
                .filter_map(|(id, view)| Some((self.index.get(*id)?, view.clone())))
                .collect(),
        }
    }

    /// The public view of a load on the board, as JSON.
    pub fn view(&self, id: u128) -> Option<Rendered> {
        let frame = self.views.get(&id)?;
        match self.codec.view(frame) {
            Ok(view) => Some(Rendered(view)),
            Err(e) => {
                // Memory the board wrote itself; never expected.
                tracing::error!(load = %uuid::Uuid::from_u128(id), error = %e, "a view on the board cannot be read");
                None
            }
        }
    }

    /// Up to `n` loads spread over the board, with their views (`None`: unreadable), for
    /// checking a snapshot against the store.
    pub fn sample(&self, n: usize) -> Vec<(u128, Option<Rendered>)> {
        let step = (self.views.len() / n.max(1)).max(1);
        self.views
            .keys()
            .step_by(step)
            .take(n)
            .map(|id| (*id, self.view(*id)))
            .collect()
    }

    /// Recompresses every view with a dictionary trained on the board as it is now (see
    /// [`ViewCodec::stale`]: only while the board is small).
    fn retrain(&mut self) {
        let views: Vec<(u128, Vec<u8>)> = self
            .views
            .iter()
            .filter_map(|(id, frame)| Some((*id, self.codec.decompress(frame).ok()?)))
            .collect();
        let sample: Vec<&[u8]> = view_codec::sample(views.len())
            .map(|i| views[i].1.as_slice())
            .collect();
        let codec = ViewCodec::train(&sample);
        self.views = views
            .iter()
            .map(|(id, v)| (*id, codec.compress(v)))
            .collect();
        self.codec = codec;
        tracing::info!(
            loads = self.views.len(),
            "the board's view dictionary retrained"
        );
    }

    pub fn view_stats(&self) -> ViewStats {
        let (dictionary, trained_on) = self.codec.dictionary();
        ViewStats {
            loads: self.views.len(),
            view_bytes: self.views.values().map(|v| v.len()).sum(),
            dictionary_bytes: dictionary.len(),
            trained_on,
        }
    }

    pub fn contains(&self, id: LoadId) -> bool {
        self.views.contains_key(&id.0.as_u128())
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Puts the load on the board or takes it off, as its committed state says.
    pub fn apply(&mut self, row: &LoadRow, geo: &Geo) {
        let id = row.id.0.as_u128();
        if let Some(posted_at) = on_board(row) {
            let l = indexed_load(row.id, &row.spec, posted_at, geo);
            match self.index.upsert(l) {
                Ok(()) => {
                    self.views
                        .insert(id, self.codec.compress(&render(row, geo)));
                    if self.codec.stale(self.views.len()) {
                        self.retrain();
                    }
                }
                Err(e) => {
                    tracing::error!(load = %row.id, error = %e, "load refused by the search index")
                }
            }
        } else {
            self.remove(row.id);
        }
    }

    /// Takes a load off the board.
    pub fn remove(&mut self, id: LoadId) {
        let id = id.0.as_u128();
        self.index.remove(id);
        self.views.remove(&id);
    }

    pub fn search(&self, q: &SearchQuery) -> Result<SearchPageView, Violations> {
        let page = self.index.search(q).map_err(|e| {
            let mut v = Violations::default();
            let field = if matches!(e, lanerunner_loadsearch::SearchError::Invalid(_)) {
                "query"
            } else {
                "cursor"
            };
            v.add(field, e.to_string());
            v
        })?;
        let items = page
            .hits
            .iter()
            .filter_map(|h| {
                Some(SearchHit {
                    load: self.view(h.id)?,
                    load_id: uuid::Uuid::from_u128(h.id),
                    deadhead_miles: h.deadhead_miles,
                    loaded_miles: f64::from(h.loaded_miles),
                    // The index keeps the rate as an f32 (finite: it is a rate over at
                    // least one mile); a load without a posted rate has 0.
                    rate_per_mile_cents: lanerunner_core::Cents::round_from(f64::from(
                        h.rate_per_mile_cents,
                    ))
                    .unwrap_or(lanerunner_core::Cents::ZERO),
                })
            })
            .collect();
        Ok(SearchPageView {
            items,
            total_matches: page.total_matches,
            next_cursor: page.next_cursor.map(|c| c.to_string()),
        })
    }
}

/// Keeps this instance's board current with changes committed by any instance.
pub struct BoardListener(pub std::sync::Weak<crate::service::Loads>);

#[async_trait::async_trait]
impl lanerunner_platform::service::EventListener for BoardListener {
    async fn on_event(&self, event: &lanerunner_core::EventEnvelope) -> anyhow::Result<()> {
        let Some(loads) = self.0.upgrade() else {
            return Ok(());
        };
        let Some(org) = event.org_id else {
            return Ok(());
        };
        loads.refresh_board(org, LoadId(event.aggregate_id)).await
    }

    async fn on_subscribed(&self) -> anyhow::Result<()> {
        let Some(loads) = self.0.upgrade() else {
            return Ok(());
        };
        loads.catch_up_board().await
    }
}
