//! The rate model service's state and flows: the served model (swapped whole when another
//! version becomes active), the recent market it reads features from, pricing, the model
//! registry, and the watch on its error.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lanerunner_core::market::{BookingRecord, RateKind};
use lanerunner_core::EventEnvelope;
use lanerunner_geo::{Gazetteer, Geocoder, Markets, OfflineGeocoder};
use lanerunner_laneindex::Gate;
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use lanerunner_ratemodel::features::{self, Quote};
use lanerunner_ratemodel::{decode, population_stability, RateModel};

use crate::error::{MlError, Result};
use crate::events::{self, Record};
use crate::market::{lane_key, Market, RECENT_DAYS};
use crate::quote::{Places, QuoteParams, Resolved};
use crate::store::{self, Outcome};
use crate::views::*;

/// The most quotes one batch may carry.
pub const MAX_BATCH: usize = 500;
/// Outcomes a monitoring verdict needs.
const MIN_OUTCOMES: usize = 50;

/// The rate model service's settings (`ml.*`, and the analytics gate for comparables).
#[derive(Debug, Clone, Copy)]
pub struct MlSettings {
    pub gate: Gate,
    pub reload_every: StdDuration,
}

impl Default for MlSettings {
    fn default() -> Self {
        MlSettings {
            gate: Gate::default(),
            reload_every: StdDuration::from_secs(5),
        }
    }
}

/// A model version being served.
pub struct Served {
    pub version: String,
    pub model: RateModel,
}

pub struct Rates {
    db: Db,
    reader: Db,
    places: Places,
    gate: Gate,
    market: RwLock<Market>,
    served: RwLock<Option<Arc<Served>>>,
}

impl Rates {
    pub async fn open(
        ctx: &ServiceContext,
        settings: MlSettings,
        geocoder: Option<Arc<dyn Geocoder>>,
    ) -> anyhow::Result<Self> {
        let gazetteer = Arc::new(Gazetteer::embedded());
        let markets = Arc::new(Markets::key_market_areas(&gazetteer));
        let geocoder =
            geocoder.unwrap_or_else(|| Arc::new(OfflineGeocoder::new(gazetteer.clone())));
        let rates = Rates {
            db: ctx.db.clone(),
            reader: ctx.read_db.clone(),
            places: Places {
                geocoder,
                gazetteer,
                markets,
            },
            gate: settings.gate,
            market: RwLock::new(Market::default()),
            served: RwLock::new(None),
        };
        rates.rebuild().await?;
        if let Err(e) = rates.reload().await {
            // A bad active version must not keep the service down: it answers 503 until
            // an operator activates a good one.
            tracing::error!(error = %e, "the active rate model could not be loaded");
        }
        Ok(rates)
    }

    /// Folds the stored recent market into the in-memory one (start-up, and once
    /// subscribed: records another instance stored meanwhile).
    pub async fn rebuild(&self) -> anyhow::Result<()> {
        let now = Utc::now();
        let bookings =
            store::bookings_since(&self.db, now - Duration::days(RECENT_DAYS + 1)).await?;
        let postings = store::postings_since(&self.db, now - Duration::hours(25)).await?;
        let mut m = self.market.write().expect("market lock");
        for b in &bookings {
            m.fold_booking(b);
        }
        for p in &postings {
            m.fold_posting(p);
        }
        Ok(())
    }

    /// The consumer's half: keep the record (the training history and the rebuild source).
    pub async fn ingest(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        match events::read(event)? {
            Some(Record::Booking(b)) => store::insert_booking(tx, &b).await?,
            Some(Record::Posting(p)) => store::insert_posting(tx, &p).await?,
            None => {}
        }
        Ok(())
    }

    /// Every instance's half: a new booking is first priced by the served model (as it
    /// would have been quoted) and the outcome kept, then folded into the market.
    pub async fn apply(&self, event: &EventEnvelope) -> anyhow::Result<()> {
        let record = match events::read(event) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::warn!(event_id = %event.id, error = %e, "unreadable market record");
                return Ok(());
            }
        };
        let outcome = {
            let mut m = self.market.write().expect("market lock");
            match &record {
                Record::Posting(p) => {
                    m.fold_posting(p);
                    None
                }
                Record::Booking(b) => {
                    let outcome = m
                        .is_new_booking(b.load_id)
                        .then(|| self.outcome(&m, b))
                        .flatten();
                    m.fold_booking(b);
                    outcome
                }
            }
        };
        if let Some(o) = outcome {
            let ape = (o.predicted_cents - o.actual_cents).abs() as f64 / o.actual_cents as f64;
            metrics::histogram!("lanerunner_rate_model_abs_pct_error").record(ape);
            let inside = (o.low_cents..=o.high_cents).contains(&o.actual_cents);
            metrics::counter!("lanerunner_rate_model_outcomes_total", "inside_interval" => inside.to_string())
                .increment(1);
            store::insert_outcome(&self.db, &o).await?;
        }
        Ok(())
    }

    fn outcome(&self, m: &Market, b: &BookingRecord) -> Option<Outcome> {
        let served = self.served()?;
        if b.miles <= 0.0 || b.rate_cents <= 0 {
            return None;
        }
        let mut quote = Quote::of_booking(b);
        if b.diesel_cents_per_gallon == 0 {
            quote.diesel_cents = m.diesel_cents().unwrap_or(served.model.diesel_median_cents);
        }
        let row = features::row(&quote, &served.model.vocab, &m.state);
        let e = served.model.estimate(&row);
        Some(Outcome {
            load_id: b.load_id,
            model_version: served.version.clone(),
            booked_at: b.booked_at,
            log_rpm: (b.rate_cents as f64 / b.miles).ln(),
            actual_cents: b.rate_cents,
            predicted_cents: e.rate_cents.round() as i64,
            low_cents: e.low_cents.floor() as i64,
            high_cents: e.high_cents.ceil() as i64,
        })
    }

    /// Every booking and posting kept, for training from the store.
    pub async fn history(
        &self,
    ) -> Result<(
        Vec<BookingRecord>,
        Vec<lanerunner_core::market::PostingRecord>,
    )> {
        Ok(store::history(&self.reader).await?)
    }

    pub fn served(&self) -> Option<Arc<Served>> {
        self.served.read().expect("model lock").clone()
    }

    /// Loads the active version when it is not the one served. A version that cannot be
    /// decoded is refused and the previous one kept.
    pub async fn reload(&self) -> Result<Option<String>> {
        let Some((active, _)) = store::activations(&self.reader, 1)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        if self.served().is_some_and(|s| s.version == active) {
            return Ok(Some(active));
        }
        let bytes = store::artifact(&self.reader, &active)
            .await?
            .ok_or_else(|| MlError::UnknownVersion(active.clone()))?;
        let model = tokio::task::spawn_blocking(move || decode(&bytes))
            .await
            .map_err(|e| MlError::Internal(e.to_string()))??;
        tracing::info!(version = %active, trees = model.booster.trees(), "rate model loaded");
        *self.served.write().expect("model lock") = Some(Arc::new(Served {
            version: active.clone(),
            model,
        }));
        Ok(Some(active))
    }

    /// Stores a model file after checking it; `activate` makes it the active version.
    pub async fn publish(&self, artifact: Vec<u8>, activate: bool) -> Result<String> {
        let (model, artifact) =
            tokio::task::spawn_blocking(move || decode(&artifact).map(|m| (m, artifact)))
                .await
                .map_err(|e| MlError::Internal(e.to_string()))??;
        let version = model.provenance.version.clone();
        let provenance = serde_json::to_value(&model.provenance).expect("provenance serializes");
        store::insert_model(&self.db, &version, &provenance, &artifact).await?;
        if activate {
            self.activate(&version).await?;
        }
        Ok(version)
    }

    /// Makes a published version the active one (a rollback names an older version); this
    /// instance switches at once, the others at their next reload.
    pub async fn activate(&self, version: &str) -> Result<()> {
        let bytes = store::artifact(&self.db, version)
            .await?
            .ok_or_else(|| MlError::UnknownVersion(version.to_owned()))?;
        let model = decode(&bytes)?;
        store::activate(&self.db, version).await?;
        *self.served.write().expect("model lock") = Some(Arc::new(Served {
            version: version.to_owned(),
            model,
        }));
        Ok(())
    }

    /// Activates the version active before the current one.
    pub async fn rollback(&self) -> Result<String> {
        let history = store::activations(&self.db, 1000).await?;
        let current = history.first().map(|(v, _)| v.clone());
        let previous = history
            .iter()
            .map(|(v, _)| v)
            .find(|v| Some(*v) != current.as_ref())
            .cloned()
            .ok_or(MlError::NothingToRollBack)?;
        self.activate(&previous).await?;
        Ok(previous)
    }

    pub async fn models(&self) -> Result<ModelsView> {
        let activations = store::activations(&self.reader, 20).await?;
        let active = activations.first().map(|(v, _)| v.clone());
        let models = store::models(&self.reader)
            .await?
            .into_iter()
            .map(|m| ModelView {
                active: Some(&m.version) == active.as_ref(),
                version: m.version,
                published_at: m.published_at,
                provenance: m.provenance.0,
            })
            .collect();
        Ok(ModelsView {
            active,
            serving: self.served().map(|s| s.version.clone()),
            models,
            activations: activations
                .into_iter()
                .map(|(version, activated_at)| ActivationView {
                    version,
                    activated_at,
                })
                .collect(),
        })
    }

    async fn resolve(
        &self,
        quotes: Vec<QuoteParams>,
    ) -> Result<Vec<std::result::Result<Resolved, Vec<lanerunner_platform::http::FieldError>>>>
    {
        let places = self.places.clone();
        let work = move || quotes.iter().map(|q| places.resolve(q)).collect::<Vec<_>>();
        if self.places.geocoder.is_remote() {
            tokio::task::spawn_blocking(work)
                .await
                .map_err(|e| MlError::Internal(e.to_string()))
        } else {
            Ok(work())
        }
    }

    /// Bad input is answered as such whether or not a model is active.
    pub async fn predict(&self, q: QuoteParams) -> Result<Prediction> {
        let resolved = self
            .resolve(vec![q])
            .await?
            .pop()
            .expect("one answer a quote")
            .map_err(MlError::Invalid)?;
        let served = self.served().ok_or(MlError::NoModel)?;
        Ok(self.price(&served, &resolved, Utc::now()))
    }

    pub async fn predict_batch(&self, quotes: Vec<QuoteParams>) -> Result<BatchView> {
        if quotes.is_empty() || quotes.len() > MAX_BATCH {
            let mut v = crate::error::Violations::default();
            v.add(
                "quotes",
                format!("must hold between 1 and {MAX_BATCH} quotes"),
            );
            return Ok(v.into_result(BatchView { results: vec![] })?);
        }
        let resolved = self.resolve(quotes).await?;
        let served = self.served();
        if served.is_none() && resolved.iter().any(|r| r.is_ok()) {
            return Err(MlError::NoModel);
        }
        let now = Utc::now();
        let results = resolved
            .into_iter()
            .map(|r| match r {
                Ok(resolved) => BatchItem {
                    prediction: served.as_ref().map(|m| self.price(m, &resolved, now)),
                    errors: vec![],
                },
                Err(errors) => BatchItem {
                    prediction: None,
                    errors,
                },
            })
            .collect();
        Ok(BatchView { results })
    }

    fn price(&self, served: &Served, r: &Resolved, now: DateTime<Utc>) -> Prediction {
        let model = &served.model;
        let m = self.market.read().expect("market lock");
        let (o, d) = (&r.origin, &r.destination);
        let quote = Quote {
            origin_lat: o.found.point.lat,
            origin_lon: o.found.point.lon,
            origin_market: &o.market,
            dest_lat: d.found.point.lat,
            dest_lon: d.found.point.lon,
            dest_market: &d.market,
            equipment: &r.equipment,
            miles: r.miles,
            weight_lbs: r.weight_lbs,
            contract: r.kind == RateKind::Contract,
            pickup_date: r.pickup,
            at: now,
            diesel_cents: m.diesel_cents().unwrap_or(model.diesel_median_cents),
        };
        let e = model.estimate(&features::row(&quote, &model.vocab, &m.state));
        let recent = m.recent(&lane_key(&o.market, &d.market, &r.equipment, r.kind), now);
        let companies = recent
            .iter()
            .map(|b| b.broker_org_id)
            .collect::<HashSet<_>>()
            .len() as u32;
        let reports = recent.len() as u32;
        let shown = reports >= self.gate.min_reports && companies >= self.gate.min_companies;
        let comparables = ComparablesView {
            reports,
            companies,
            bookings: if shown {
                recent
                    .iter()
                    .take(10)
                    .map(|b| Comparable {
                        booked_on: b.booked_at.date_naive(),
                        pickup_date: b.pickup_date,
                        origin: format!("{}, {}", b.origin_city, b.origin_state),
                        destination: format!("{}, {}", b.dest_city, b.dest_state),
                        miles: b.miles.round(),
                        rate_cents: b.rate_cents,
                        rate_per_mile_cents: (b.rate_cents as f64 / b.miles).round() as i64,
                    })
                    .collect()
            } else {
                vec![]
            },
            withheld: (!shown).then(|| {
                format!(
                    "fewer than {} bookings from {} companies on this lane in the last {RECENT_DAYS} days",
                    self.gate.min_reports, self.gate.min_companies
                )
            }),
        };
        let note = match e.support {
            "unseen" => Some(format!("no load has booked on {} → {} ({}) in {RECENT_DAYS} days: the estimate leans on similar lanes and its interval is wider", o.market, d.market, r.equipment)),
            "thin" => Some("few recent bookings on this lane: the interval is wider than on a busy lane".to_owned()),
            _ => None,
        };
        let place = |p: &crate::quote::Place| PlaceView {
            label: p.found.label.clone(),
            market: p.market.clone(),
            lat: p.found.point.lat,
            lon: p.found.point.lon,
        };
        Prediction {
            model_version: served.version.clone(),
            origin: place(o),
            destination: place(d),
            equipment: r.equipment.clone(),
            kind: r.kind.as_str().to_owned(),
            pickup: r.pickup,
            weight_lbs: r.weight_lbs,
            miles: r.miles.round(),
            rate_cents: e.rate_cents.round() as i64,
            rate_per_mile_cents: (e.rate_cents / r.miles).round() as i64,
            interval: IntervalView {
                low_cents: e.low_cents.floor() as i64,
                high_cents: e.high_cents.ceil() as i64,
                coverage: model.intervals.coverage,
            },
            support: SupportView {
                lane_reports_30d: e.lane_reports as u32,
                level: e.support.to_owned(),
                note,
            },
            comparables,
        }
    }

    /// The served model's error on loads booked in the last `days` days, by day, and the
    /// drift of booked rates against its training.
    pub async fn monitoring(&self, days: u32) -> Result<MonitoringView> {
        let served = self.served();
        let since = Utc::now() - Duration::days(i64::from(days));
        let outcomes: Vec<Outcome> = store::outcomes_since(&self.reader, since)
            .await?
            .into_iter()
            .filter(|o| {
                served
                    .as_ref()
                    .is_some_and(|s| s.version == o.model_version)
            })
            .collect();
        let ape =
            |o: &Outcome| (o.predicted_cents - o.actual_cents).abs() as f64 / o.actual_cents as f64;
        let inside = |o: &Outcome| (o.low_cents..=o.high_cents).contains(&o.actual_cents);
        let mut by_day: BTreeMap<chrono::NaiveDate, (u32, f64, u32)> = BTreeMap::new();
        for o in &outcomes {
            let d = by_day.entry(o.booked_at.date_naive()).or_default();
            *d = (d.0 + 1, d.1 + ape(o), d.2 + u32::from(inside(o)));
        }
        let n = outcomes.len();
        let mape = (n > 0).then(|| outcomes.iter().map(ape).sum::<f64>() / n as f64);
        let coverage =
            (n > 0).then(|| outcomes.iter().filter(|o| inside(o)).count() as f64 / n as f64);
        let expected = served.as_ref().map(|s| s.model.provenance.calibration.mape);
        let error_ratio = mape.zip(expected).map(|(m, e)| m / e);
        let drift_psi = served.as_ref().and_then(|s| {
            let values: Vec<f64> = outcomes.iter().map(|o| o.log_rpm).collect();
            population_stability(&s.model.log_rpm_deciles, &values)
        });
        if let Some(psi) = drift_psi {
            metrics::gauge!("lanerunner_rate_model_drift_psi").set(psi);
        }
        let status = match (n >= MIN_OUTCOMES, drift_psi, error_ratio) {
            (false, _, _) | (_, None, _) | (_, _, None) => "insufficient-data",
            (true, Some(p), Some(r)) if p > 0.25 || r > 1.5 => "drifting",
            (true, Some(p), Some(r)) if p > 0.1 || r > 1.2 => "watch",
            _ => "stable",
        };
        Ok(MonitoringView {
            model_version: served.map(|s| s.version.clone()),
            days,
            loads: n as u32,
            mape,
            coverage,
            expected_mape: expected,
            error_ratio,
            drift_psi,
            status: status.to_owned(),
            daily: by_day
                .into_iter()
                .map(|(date, (loads, apes, inside))| DayView {
                    date,
                    loads,
                    mape: apes / f64::from(loads),
                    coverage: f64::from(inside) / f64::from(loads),
                })
                .collect(),
        })
    }
}
