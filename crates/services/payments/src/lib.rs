//! The payment service (`payments`). Its first part is the double-entry ledger, the source
//! of truth for money: every movement (invoice issued, payment received, fee, carrier
//! payable, transfer, payout, refund, dispute, adjustment) is a journal entry whose
//! postings balance in each currency, in integer cents; balances are kept per account in
//! the same transaction. Invoices, Stripe payments and carrier payouts record their entries
//! through [`ledger::Ledger`] as they arrive (issue 13 continues).
//!
//! Layout: `ledger/domain.rs` the rules (pure), `ledger/store.rs` the SQL, `api.rs` the
//! handlers, `views.rs` what clients see.

pub mod api;
pub mod error;
pub mod ledger;
pub mod views;

use std::sync::Arc;

use lanerunner_platform::db::Migrations;
use lanerunner_platform::service::{Service, ServiceContext};
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
}

impl PaymentsService {
    pub async fn start(ctx: ServiceContext) -> anyhow::Result<Self> {
        Ok(Self {
            ledger: Arc::new(ledger::Ledger::new(ctx.db.clone())),
        })
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
        api::routes(self.ledger.clone())
    }
}
