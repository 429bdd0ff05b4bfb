//! The market signal an agent negotiates against: the rate model's prediction and its
//! 80 % interval for the load's lane, through a typed client. With the ml service in the
//! same process it is a direct call ([`InProcessRates`]); without it, or when the model
//! cannot price the lane, the agent negotiates on its policy alone.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_ml::quote::QuoteParams;
use lanerunner_ml::Rates;
use lanerunner_negotiation::agent::Market;

use crate::store::LoadRow;

#[async_trait]
pub trait MarketSource: Send + Sync + 'static {
    /// The market for `load`'s lane, if one can be had.
    async fn market(&self, load: &LoadRow) -> Option<Market>;
}

/// No market: the agent works from its policy.
pub struct NoMarket;

#[async_trait]
impl MarketSource for NoMarket {
    async fn market(&self, _load: &LoadRow) -> Option<Market> {
        None
    }
}

/// The rate model served by the ml service running in this process.
pub struct InProcessRates(pub Arc<Rates>);

#[async_trait]
impl MarketSource for InProcessRates {
    async fn market(&self, load: &LoadRow) -> Option<Market> {
        let quote = QuoteParams {
            origin: load.origin.clone(),
            destination: load.destination.clone(),
            equipment: load.equipment.clone(),
            pickup: Some(load.pickup_at.date_naive()),
            weight_lbs: u32::try_from(load.weight_lbs).ok(),
            kind: None,
        };
        match self.0.predict(quote).await {
            Ok(p) => Some(Market {
                estimate_cents: p.rate_cents,
                low_cents: p.interval.low_cents,
                high_cents: p.interval.high_cents,
            }),
            Err(e) => {
                tracing::debug!(load_id = %load.load_id, error = %e, "no market signal for the agent");
                None
            }
        }
    }
}
