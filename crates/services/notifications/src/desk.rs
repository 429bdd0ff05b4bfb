//! Taking an offer by text: the seam to the negotiation service, which applies the
//! acceptance with its own rules (turn, deadline, the carrier's standing, the load still
//! open). The binary wires it to the negotiation service running in the same process.

use async_trait::async_trait;
use lanerunner_core::{OrgId, Role, UserId};
use uuid::Uuid;

/// The person accepting: a member of the carrier organization the offer was made to.
#[derive(Debug, Clone, Copy)]
pub struct Acceptor {
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
}

/// What became of an acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Agreed: the load is booked at `total_cents`.
    Booked { total_cents: i64 },
    /// Not taken, and why, in words for the carrier (the offer changed, the load went to
    /// another carrier, the negotiation expired…).
    Refused(String),
}

#[async_trait]
pub trait OfferDesk: Send + Sync + 'static {
    /// Accepts the offer that was message `offer_seq` of `negotiation`, only if it is still
    /// the standing offer.
    async fn accept(
        &self,
        who: Acceptor,
        negotiation: Uuid,
        offer_seq: i64,
    ) -> anyhow::Result<Accepted>;
}
