//! Where a report's figures come from: the analytics service, through a typed client.
//! Reporting keeps no market or KPI data of its own; with analytics in the same process
//! the client is a direct call ([`InProcessAnalytics`]).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use lanerunner_analytics::error::AnalyticsError;
use lanerunner_analytics::kpis::BrokerKpis;
use lanerunner_analytics::views::{CarrierScorecard, LaneHistoryView, LaneView};
use lanerunner_analytics::{Analytics, LaneQuestion};
use lanerunner_core::OrgId;
use lanerunner_platform::http::FieldError;

use crate::request::LaneSpec;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The question itself is wrong (an unknown market, equipment, a bad period).
    #[error("invalid question")]
    Invalid(Vec<FieldError>),
    #[error("the analytics service is unavailable: {0}")]
    Unavailable(String),
}

impl From<AnalyticsError> for SourceError {
    fn from(e: AnalyticsError) -> Self {
        match e {
            AnalyticsError::Invalid(fields) => SourceError::Invalid(fields),
            other => SourceError::Unavailable(other.to_string()),
        }
    }
}

/// A lane's rates now and its 13 months.
pub struct LaneFigures {
    pub rates: LaneView,
    pub history: LaneHistoryView,
}

#[async_trait]
pub trait ReportSource: Send + Sync + 'static {
    async fn lane(&self, lane: &LaneSpec) -> Result<LaneFigures, SourceError>;
    /// The KPIs over `[from, to)` and over each of `parts` within it.
    async fn broker_kpis(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        parts: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<(BrokerKpis, Vec<BrokerKpis>), SourceError>;
    async fn carrier_scorecard(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<CarrierScorecard, SourceError>;
}

/// The analytics service running in this process.
pub struct InProcessAnalytics(pub Arc<Analytics>);

#[async_trait]
impl ReportSource for InProcessAnalytics {
    async fn lane(&self, lane: &LaneSpec) -> Result<LaneFigures, SourceError> {
        let q = LaneQuestion {
            origin: lane.origin.clone(),
            destination: lane.destination.clone(),
            equipment: lane.equipment.clone(),
            kind: lane.kind.clone(),
            as_of: None,
        };
        Ok(LaneFigures {
            rates: self.0.lane(q.clone())?,
            history: self.0.history(q)?,
        })
    }

    async fn broker_kpis(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        parts: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<(BrokerKpis, Vec<BrokerKpis>), SourceError> {
        Ok(self.0.broker_kpis_by_part(org, from, to, parts).await?)
    }

    async fn carrier_scorecard(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<CarrierScorecard, SourceError> {
        Ok(self.0.carrier_scorecard(org, Some(from), Some(to)).await?)
    }
}
