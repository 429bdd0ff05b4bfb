//! Taking an offer by text, for the notifications service: the negotiation service in
//! this process applies the acceptance as the carrier's member, on the version of the
//! negotiation the text showed, so a counter-offer that came in since is never taken.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::{OrgKind, Role, Scopes};
use lanerunner_negotiation::protocol::Move;
use lanerunner_negotiation_service::error::NegotiationError;
use lanerunner_negotiation_service::views::MoveRequest;
use lanerunner_negotiation_service::{NegotiationId, Negotiations};
use lanerunner_notifications::desk::{Accepted, Acceptor, OfferDesk};
use lanerunner_platform::http::{Caller, Principal};
use uuid::Uuid;

pub struct NegotiationDesk(pub Arc<Negotiations>);

#[async_trait]
impl OfferDesk for NegotiationDesk {
    async fn accept(
        &self,
        who: Acceptor,
        negotiation: Uuid,
        offer_seq: i64,
    ) -> anyhow::Result<Accepted> {
        if who.role == Role::Viewer {
            return Ok(Accepted::Refused(
                "your role only views negotiations; ask a dispatcher".into(),
            ));
        }
        let caller = Caller {
            org: who.org,
            org_kind: OrgKind::Carrier,
            principal: Principal::User(who.user),
            role: who.role,
            scopes: Scopes::all(),
            session: None,
            mfa_enrollment_pending: false,
            plan: None,
        };
        let id = NegotiationId(negotiation);
        let seen = match self.0.view(who.org, id).await {
            Ok(v) => v,
            Err(NegotiationError::NotFound(_)) => {
                return Ok(Accepted::Refused("the negotiation is gone".into()))
            }
            Err(e) => return Err(e.into()),
        };
        if seen.status != "open" {
            return Ok(Accepted::Refused(format!(
                "the negotiation is {}",
                seen.status
            )));
        }
        let last = seen.messages.as_ref().and_then(|m| m.last()).map(|m| m.seq);
        if last != Some(offer_seq) {
            return Ok(Accepted::Refused(
                "the offer changed since we texted it; see the latest in the app".into(),
            ));
        }
        let accept = MoveRequest {
            r#move: Some(Move::Accept),
            text: None,
        };
        match self.0.act_at(&caller, id, accept, Some(seen.version)).await {
            Ok(v) => Ok(Accepted::Booked {
                total_cents: v.agreed_cents.unwrap_or_default(),
            }),
            Err(NegotiationError::Contended) => Ok(Accepted::Refused(
                "the offer changed since we texted it; see the latest in the app".into(),
            )),
            Err(NegotiationError::Db(e)) => Err(e.into()),
            Err(e) => Ok(Accepted::Refused(e.to_string())),
        }
    }
}
