//! The payment service (`payments`). Its first part is the double-entry ledger, the source
//! of truth for money: every movement (invoice issued, payment received, fee, carrier
//! payable, transfer, payout, refund, dispute, adjustment) is a journal entry whose
//! postings balance in each currency, in integer cents; balances are kept per account in
//! the same transaction. Invoices, Stripe payments and carrier payouts record their entries
//! through [`ledger::Ledger`] as they arrive (issue 13 continues).
//!
//! Invoices (`invoices/`) bill the shipper for a load whose paperwork is complete and are
//! paid through the payment processor seam (`processor.rs`: Stripe, adapted in the binary,
//! or settled by hand); the processor's webhooks are verified first and applied once.
//! Payouts (`payouts/`) pay the carrier on the terms it chose (standard or quick pay),
//! through the processor's connected accounts or by hand.
//!
//! Dual control (`approvals/`) puts a second person in front of every action on money a
//! person takes by hand, when the organization turns it on (SOX separation of duties).
//!
//! Layout: `ledger/`, `invoices/`, `payouts/` and `approvals/` each hold their rules (`domain.rs`, pure)
//! and SQL (`store.rs`); `api.rs`, `invoices_api.rs` and `payouts_api.rs` the handlers,
//! `views.rs` what clients see.

pub mod api;
pub mod approvals;
mod approvals_api;
pub mod error;
pub mod events;
pub mod invoices;
mod invoices_api;
pub mod ledger;
pub mod payouts;
mod payouts_api;
pub mod processor;
pub mod reconcile;
pub mod views;

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::bus::EventHandler;
use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{ConsumerSource, ConsumerSpec, Service, ServiceContext};
use lanerunner_platform::Tx;
use utoipa_axum::router::OpenApiRouter;

pub const SERVICE: &str = "payments";

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct PaymentsService {
    ledger: Arc<ledger::Ledger>,
    invoices: Arc<invoices::Invoices>,
    payouts: Arc<payouts::Payouts>,
    approvals: Arc<approvals::Approvals>,
}

/// How carriers are paid: the terms a broker offers until it sets its own, and how often
/// due payouts are sent.
#[derive(Debug, Clone, Copy)]
pub struct PayoutSettings {
    pub defaults: payouts::domain::Terms,
    pub poll: std::time::Duration,
}

impl PaymentsService {
    /// `processor`: who collects invoices online and pays carriers (Stripe), or
    /// [`processor::Manual`].
    pub async fn start(
        ctx: ServiceContext,
        processor: Arc<dyn processor::PaymentProcessor>,
        settings: PayoutSettings,
    ) -> anyhow::Result<Self> {
        let invoices = Arc::new(invoices::Invoices::new(
            ctx.db.clone(),
            processor.clone(),
            ctx.outbox.clone(),
        ));
        let payouts = Arc::new(payouts::Payouts::new(
            ctx.db.clone(),
            processor,
            settings.defaults,
        ));
        // The payout sweep: what is due is sent (each payout claimed by one instance).
        let weak = Arc::downgrade(&payouts);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(settings.poll);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(p) = weak.upgrade() else { break };
                if let Err(e) = p.sweep(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "the payout sweep failed; will retry");
                }
            }
        });
        // The daily reconciliation: each hour, yesterday if it is not reconciled yet (one
        // run a day whichever instance gets there; a second run only replaces the report).
        let weak = Arc::downgrade(&invoices);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                let Some(i) = weak.upgrade() else { break };
                if let Err(e) = i.reconcile_yesterday().await {
                    tracing::warn!(error = %e, "the daily reconciliation failed; will retry");
                }
            }
        });
        Ok(Self {
            ledger: Arc::new(ledger::Ledger::new(ctx.db.clone())),
            invoices,
            approvals: Arc::new(approvals::Approvals::new(ctx.db.clone(), payouts.clone())),
            payouts,
        })
    }

    pub fn invoices(&self) -> &Arc<invoices::Invoices> {
        &self.invoices
    }

    pub fn payouts(&self) -> &Arc<payouts::Payouts> {
        &self.payouts
    }

    pub fn ledger(&self) -> &Arc<ledger::Ledger> {
        &self.ledger
    }
}

impl Service for PaymentsService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.ledger.clone(), self.approvals.clone())
            .merge(invoices_api::routes(self.invoices.clone()))
            .merge(payouts_api::routes(
                self.payouts.clone(),
                self.approvals.clone(),
            ))
            .merge(approvals_api::routes(self.approvals.clone()))
    }

    fn consumers(&self) -> Vec<ConsumerSpec> {
        vec![ConsumerSpec {
            group: "payments.loads".into(),
            patterns: events::consumed_topics(),
            handler: Arc::new(CompletedLoads {
                invoices: Arc::downgrade(&self.invoices),
                payouts: Arc::downgrade(&self.payouts),
            }),
            source: ConsumerSource::Bus,
        }]
    }
}

/// `payments.loads`: loads whose paperwork is complete become invoiceable, their carriers'
/// payables are recorded, and their carriers are offered the broker's payout terms.
struct CompletedLoads {
    invoices: Weak<invoices::Invoices>,
    payouts: Weak<payouts::Payouts>,
}

#[async_trait]
impl EventHandler for CompletedLoads {
    async fn handle(&self, event: &EventEnvelope, tx: &mut Tx) -> anyhow::Result<()> {
        let (Some(i), Some(p)) = (self.invoices.upgrade(), self.payouts.upgrade()) else {
            anyhow::bail!("the payment service is shutting down");
        };
        if let Some(load) = i.on_checklist_completed(tx, event).await? {
            p.offer(tx, &load).await?;
        }
        Ok(())
    }
}
