//! The negotiation flows: open one on a load, make a move (structured or in words), read
//! them, and keep the loads they are about current from the loads service's events.
//!
//! Every move reads the negotiation, applies the move to its protocol state (pure), and
//! stores the result by compare-and-set on its version, with its message and its events,
//! in one transaction. An agreement also closes every other open negotiation on the load,
//! and the unique index on agreed negotiations makes a second agreement on the same load
//! fail whole: of two carriers accepting at the same instant, one wins, the other is told.

use chrono::{DateTime, Utc};
use lanerunner_core::tenancy::OrgKind;
use lanerunner_core::{EventEnvelope, EventType, OrgId};
use lanerunner_negotiation::parse::{self, Amount, Intent};
use lanerunner_negotiation::protocol::{Accessorial, Event, Move, Negotiation, Status, Terms};
use lanerunner_negotiation::Side;
use lanerunner_platform::http::Caller;
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use std::sync::Arc;

use crate::error::{NegotiationError, Result, Violations};
use crate::events::{self, Agreed, Posted, StatusChanged, Updated};
use crate::language::LanguageModel;
use crate::market::MarketSource;
use crate::store::{self, LoadRow, NegotiationRow, NewMessage};
use crate::vetting::Clearance;
use crate::views::{MoveRequest, NegotiationView, OpenRequest};
use crate::NegotiationId;

/// Offers each side may make (DAT allows five bids and five counters).
pub const OFFERS_PER_SIDE: u32 = 5;
/// How often a move is retried when another move on the same negotiation won the race.
const CAS_ATTEMPTS: usize = 3;

pub struct Negotiations {
    pub(crate) db: Db,
    reader: Db,
    outbox: OutboxSignal,
    pub(crate) market: Arc<dyn MarketSource>,
    language: Option<Arc<dyn LanguageModel>>,
}

fn status_name(s: Status) -> String {
    s.as_str().to_string()
}

impl Negotiations {
    pub fn new(
        ctx: &ServiceContext,
        market: Arc<dyn MarketSource>,
        language: Option<Arc<dyn LanguageModel>>,
    ) -> Self {
        Negotiations {
            db: ctx.db.clone(),
            reader: ctx.read_db.clone(),
            outbox: ctx.outbox.clone(),
            market,
            language,
        }
    }

    /// A carrier opens a negotiation on a posted load with its first move (an offer, or
    /// Book Now at the posted rate).
    pub async fn open(&self, caller: &Caller, mut req: OpenRequest) -> Result<NegotiationView> {
        req.body = req.body.with_cards_masked();
        if caller.org_kind != OrgKind::Carrier {
            return Err(NegotiationError::NotACarrier);
        }
        let now = Utc::now();
        let load = store::load(&self.db, req.load_id)
            .await?
            .ok_or(NegotiationError::NotFound("load"))?;
        let first = self.read_move(&req.body, &load).await?;
        let mut tx = self.db.begin().await?;
        // Read again in the transaction: what decides the write is read where it is made.
        let load = store::load_in(&mut tx, req.load_id)
            .await?
            .ok_or(NegotiationError::NotFound("load"))?;
        // Cleared first: a private load outside the carrier's reach is not found, whatever
        // its status.
        Clearance(store::clearance_in(&mut tx, load.broker_org_id, caller.org).await?)
            .check(load.is_private())?;
        if load.status != "posted" {
            return Err(NegotiationError::LoadNotOpen(load.status));
        }
        if let Some(existing) = store::open_for_carrier(&mut tx, load.load_id, caller.org).await? {
            return Err(NegotiationError::AlreadyOpen(existing.0));
        }
        let mut state = Negotiation::open(
            Terms {
                deadline: load.pickup_at,
                max_offers_per_side: OFFERS_PER_SIDE,
                posted_rate_cents: load.posted_rate_cents,
            },
            now,
        )?;
        let happened = state.apply(Side::Carrier, first, now)?;
        let row = NegotiationRow {
            id: NegotiationId::new(),
            load_id: load.load_id,
            broker_org_id: load.broker_org_id,
            carrier_org_id: caller.org,
            status: status_name(state.status),
            state: Json(state),
            version: 1,
            closed_reason: None,
            created_at: now,
            updated_at: now,
        };
        let agreed = row.status == Status::Agreed.as_str();
        if let Err(e) = store::insert(&mut tx, &row).await {
            if agreed && store::is_second_agreement(&e) {
                return Err(NegotiationError::LoadTaken);
            }
            if store::is_second_open(&e) {
                // The same carrier opened one at this instant: name it (read afresh, as
                // this transaction is spent).
                drop(tx);
                let mut read = self.db.begin().await?;
                let existing = store::open_for_carrier(&mut read, row.load_id, caller.org).await?;
                return Err(match existing {
                    Some(id) => NegotiationError::AlreadyOpen(id.0),
                    None => NegotiationError::Contended,
                });
            }
            return Err(e.into());
        }
        self.record(
            &mut tx,
            &row,
            Side::Carrier,
            caller,
            &happened,
            req.body.text.as_deref(),
            now,
        )
        .await?;
        if agreed {
            self.close_others(&mut tx, &row, now).await?;
        }
        self.commit(tx).await?;
        self.view(caller.org, row.id).await
    }

    /// A party's move in negotiation `id`.
    pub async fn act(
        &self,
        caller: &Caller,
        id: NegotiationId,
        req: MoveRequest,
    ) -> Result<NegotiationView> {
        self.act_at(caller, id, req, None).await
    }

    /// A move made on what the party saw: when `seen_version` is given and the negotiation
    /// has changed since (a counter-offer came in), nothing is applied and the answer is
    /// [`NegotiationError::Contended`]. An acceptance by text uses it, so "YES" never takes
    /// an offer other than the one the text showed.
    pub async fn act_at(
        &self,
        caller: &Caller,
        id: NegotiationId,
        req: MoveRequest,
        seen_version: Option<i64>,
    ) -> Result<NegotiationView> {
        let req = req.with_cards_masked();
        // Who moves, on what load, and what the move is: read once, so a retry after a
        // lost compare-and-set does not ask a language model again.
        let first = store::negotiation(&self.db, caller.org, id)
            .await?
            .ok_or(NegotiationError::NotFound("negotiation"))?;
        let side = if caller.org == first.carrier_org_id {
            Side::Carrier
        } else {
            Side::Broker
        };
        let load = store::load(&self.db, first.load_id)
            .await?
            .ok_or(NegotiationError::NotFound("load"))?;
        let mv = self.read_move(&req, &load).await?;
        // A carrier that may no longer deal (blocked, or its authority lapsed) can still
        // decline or walk away; it cannot offer or agree. An agreement checks again below,
        // in the transaction that books.
        let leaving = matches!(mv, Move::Reject | Move::Withdraw);
        if !leaving {
            Clearance(store::clearance(&self.db, first.broker_org_id, first.carrier_org_id).await?)
                .check(load.is_private())?;
        }
        let mut current = Some(first);
        for _ in 0..CAS_ATTEMPTS {
            let now = Utc::now();
            let mut row = match current.take() {
                Some(row) => row,
                None => store::negotiation(&self.db, caller.org, id)
                    .await?
                    .ok_or(NegotiationError::NotFound("negotiation"))?,
            };
            let read_version = row.version;
            if seen_version.is_some_and(|v| v != read_version) {
                return Err(NegotiationError::Contended);
            }
            let mut state = row.state.0.clone();
            // A deadline that has passed is recorded as such, whatever the move was.
            if let Some(expired) = state.expire_if_due(now) {
                row.status = status_name(state.status);
                row.state = Json(state);
                row.version += 1;
                row.updated_at = now;
                let mut tx = self.db.begin().await?;
                if store::update(&mut tx, &row, read_version).await? {
                    self.record(&mut tx, &row, side, caller, &[expired], None, now)
                        .await?;
                    self.commit(tx).await?;
                }
                return Err(lanerunner_negotiation::protocol::ProtocolError::PastDeadline.into());
            }
            let happened = state.apply(side, mv.clone(), now)?;
            let agreed = state.status == Status::Agreed;
            row.status = status_name(state.status);
            row.state = Json(state);
            row.version += 1;
            row.updated_at = now;
            let mut tx = self.db.begin().await?;
            if agreed {
                let current = store::load_in(&mut tx, row.load_id).await?;
                if let Some(l) = current.filter(|l| l.status != "posted") {
                    return Err(NegotiationError::LoadNotOpen(l.status));
                }
                Clearance(
                    store::clearance_in(&mut tx, row.broker_org_id, row.carrier_org_id).await?,
                )
                .check(load.is_private())?;
            }
            match store::update(&mut tx, &row, read_version).await {
                Ok(true) => {}
                Ok(false) => continue, // another move came first: read it and try again
                Err(e) if agreed && store::is_second_agreement(&e) => {
                    return Err(NegotiationError::LoadTaken)
                }
                Err(e) => return Err(e.into()),
            }
            self.record(
                &mut tx,
                &row,
                side,
                caller,
                &happened,
                req.text.as_deref(),
                now,
            )
            .await?;
            if agreed {
                self.close_others(&mut tx, &row, now).await?;
            }
            self.commit(tx).await?;
            return self.view(caller.org, id).await;
        }
        Err(NegotiationError::Contended)
    }

    pub async fn view(&self, org: OrgId, id: NegotiationId) -> Result<NegotiationView> {
        let row = store::negotiation(&self.db, org, id)
            .await?
            .ok_or(NegotiationError::NotFound("negotiation"))?;
        let messages = store::messages(&self.db, id).await?;
        Ok(NegotiationView::new(row, Some(messages), org))
    }

    pub async fn list(
        &self,
        org: OrgId,
        load: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<NegotiationView>> {
        let mut v = Violations::default();
        if !(1..=200).contains(&limit) {
            v.add("limit", "must be 1–200");
        }
        v.into_result(())?;
        Ok(store::negotiations(&self.reader, org, load, limit)
            .await?
            .into_iter()
            .map(|r| NegotiationView::new(r, None, org))
            .collect())
    }

    /// The move a request names, structured or in words. Words that do not say a rate, a
    /// yes or a no are asked back, never guessed.
    async fn read_move(&self, req: &MoveRequest, load: &LoadRow) -> Result<Move> {
        let mut v = Violations::default();
        match (&req.r#move, &req.text) {
            (Some(_), Some(_)) => v.add("text", "give a move or a text, not both"),
            (None, None) => v.add("move", "give a move, or a text to read it from"),
            (_, Some(t)) if t.trim().is_empty() || t.chars().count() > 2000 => {
                v.add("text", "must be 1–2000 characters")
            }
            _ => {}
        }
        v.into_result(())?;
        if let Some(mv) = &req.r#move {
            return Ok(mv.clone());
        }
        // A card number in the words was masked on arrival; its last four digits are no
        // figure of the offer.
        let readable =
            lanerunner_core::pan::without_masked(req.text.as_deref().unwrap_or_default());
        let text = readable.as_ref();
        let intent = match parse::parse(text) {
            Intent::Unclear { question } => self
                .second_reading(text)
                .await
                .unwrap_or(Intent::Unclear { question }),
            read => read,
        };
        Ok(match intent {
            Intent::Accept => Move::Accept,
            Intent::Reject => Move::Reject,
            Intent::Unclear { question } => return Err(NegotiationError::Unclear(question)),
            Intent::Offer {
                amount,
                plus_fuel,
                fuel_cents,
            } => {
                if plus_fuel && fuel_cents.is_none() {
                    return Err(NegotiationError::Unclear(
                        "How much fuel surcharge on top? Give the amount, or an all-in rate."
                            .into(),
                    ));
                }
                let rate_cents = match amount {
                    Amount::Total(c) => c,
                    // A rate a mile times the load's miles, to the dollar.
                    Amount::PerMile(c) => {
                        ((c as f64 * load.loaded_miles) / 100.0).round() as i64 * 100
                    }
                };
                Move::Offer {
                    rate_cents,
                    accessorials: fuel_cents
                        .map(|f| vec![(Accessorial::FuelSurcharge, f)])
                        .unwrap_or_default(),
                    expires_at: None,
                }
            }
        })
    }

    /// The language model's reading of what the parser could not read, when one is
    /// configured and its reading names only amounts the text states.
    async fn second_reading(&self, text: &str) -> Option<Intent> {
        let model = self.language.as_ref()?;
        match model.read(text).await {
            Ok(Intent::Unclear { .. }) => None,
            Ok(intent) if parse::grounded(text, &intent) => Some(intent),
            Ok(intent) => {
                tracing::info!(
                    ?intent,
                    "the language model named an amount the message does not state; asked back"
                );
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "the language model could not read a message; asked back");
                None
            }
        }
    }

    /// The messages and events of what a person did in `row`.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        tx: &mut Tx,
        row: &NegotiationRow,
        side: Side,
        caller: &Caller,
        happened: &[Event],
        text: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let said = Said {
            side,
            author: caller.user_id(),
            text,
            agent_reason: None,
        };
        self.record_said(tx, row, &said, happened, now).await
    }

    /// The messages and events of what a party's agent did in `row`, with its reason.
    pub(crate) async fn record_as_agent(
        &self,
        tx: &mut Tx,
        row: &NegotiationRow,
        side: Side,
        happened: &[Event],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let said = Said {
            side,
            author: None,
            text: None,
            agent_reason: Some(reason),
        };
        self.record_said(tx, row, &said, happened, now).await
    }

    async fn record_said(
        &self,
        tx: &mut Tx,
        row: &NegotiationRow,
        said: &Said<'_>,
        happened: &[Event],
        now: DateTime<Utc>,
    ) -> Result<()> {
        for e in happened {
            let mut event = serde_json::to_value(e).expect("protocol events serialize");
            if let Some(reason) = said.agent_reason {
                event["agent_reason"] = reason.into();
            }
            self.say(
                tx,
                row,
                &NewMessage {
                    negotiation: row.id,
                    side: said.side.as_str(),
                    author: said.author,
                    event,
                    text: said.text,
                    at: now,
                },
            )
            .await?;
            if let Event::Agreed {
                rate_cents,
                total_cents,
                book_now,
                ..
            } = e
            {
                let agreed = Agreed {
                    negotiation_id: row.id.0,
                    load_id: row.load_id,
                    broker_org_id: row.broker_org_id.0,
                    carrier_org_id: row.carrier_org_id.0,
                    rate_cents: *rate_cents,
                    total_cents: *total_cents,
                    book_now: *book_now,
                    agreed_at: now,
                };
                publish(
                    tx,
                    events::NEGOTIATION_AGREED,
                    row.broker_org_id,
                    row.id.0,
                    &agreed,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Stores a message in `row` and tells both parties (`negotiation.updated.v1`, with
    /// the message: the chat service shows it in the load's conversation).
    pub(crate) async fn say(
        &self,
        tx: &mut Tx,
        row: &NegotiationRow,
        m: &NewMessage<'_>,
    ) -> Result<()> {
        let seq = store::insert_message(tx, m).await?;
        let update = Updated {
            negotiation_id: row.id.0,
            load_id: row.load_id,
            broker_org_id: row.broker_org_id.0,
            carrier_org_id: row.carrier_org_id.0,
            status: row.status.clone(),
            event: m.event.clone(),
            seq,
            side: m.side.to_owned(),
            author_id: m.author.map(|u| u.0),
            text: m.text.map(str::to_owned),
            at: m.at,
        };
        // Both parties' feeds hear it.
        for org in [row.broker_org_id, row.carrier_org_id] {
            publish(tx, events::NEGOTIATION_UPDATED, org, row.id.0, &update).await?;
        }
        Ok(())
    }

    /// Closes every other open negotiation on the load `winner` agreed: the broker
    /// withdraws from them, with the reason.
    pub(crate) async fn close_others(
        &self,
        tx: &mut Tx,
        winner: &NegotiationRow,
        now: DateTime<Utc>,
    ) -> Result<()> {
        for other in store::open_on_load(tx, winner.load_id, Some(winner.id)).await? {
            self.close(tx, other, "the load was booked with another carrier", now)
                .await?;
        }
        Ok(())
    }

    async fn close(
        &self,
        tx: &mut Tx,
        mut row: NegotiationRow,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let read_version = row.version;
        let mut state = row.state.0.clone();
        let happened = match state.expire_if_due(now) {
            Some(e) => vec![e],
            None => state.apply(Side::Broker, Move::Withdraw, now)?,
        };
        row.status = status_name(state.status);
        row.state = Json(state);
        row.version += 1;
        row.closed_reason = Some(reason.to_string());
        row.updated_at = now;
        if !store::update(tx, &row, read_version).await? {
            // A move on it is committing at this instant; that transaction will find the
            // load taken (or this one will), so nothing is lost by failing this one.
            return Err(NegotiationError::Contended);
        }
        for e in &happened {
            let event = serde_json::to_value(e).expect("protocol events serialize");
            self.say(
                tx,
                &row,
                &NewMessage {
                    negotiation: row.id,
                    side: Side::Broker.as_str(),
                    author: None,
                    event: serde_json::json!({"event": "closed", "reason": reason, "protocol": event}),
                    text: None,
                    at: now,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Commits and wakes the outbox relay.
    pub(crate) async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }

    /// Expires every open negotiation whose deadline has come (each by compare-and-set,
    /// with its message and events); returns how many. Runs every minute on every
    /// instance; a negotiation another instance or a move changed meanwhile is skipped.
    pub async fn expire_due(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut expired = 0;
        for mut row in store::due(&self.db, now, 100).await? {
            let read_version = row.version;
            let mut state = row.state.0.clone();
            let Some(event) = state.expire_if_due(now) else {
                continue;
            };
            row.status = status_name(state.status);
            row.state = Json(state);
            row.version += 1;
            row.updated_at = now;
            let mut tx = self.db.begin().await?;
            if !store::update(&mut tx, &row, read_version).await? {
                continue;
            }
            let said = Said {
                side: Side::Broker,
                author: None,
                text: None,
                agent_reason: None,
            };
            self.record_said(&mut tx, &row, &said, &[event], now)
                .await?;
            self.commit(tx).await?;
            expired += 1;
        }
        Ok(expired)
    }

    /// Keeps the loads projection current (consumer group `negotiation.loads`), and closes
    /// open negotiations on a load that left the board.
    pub async fn project(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        if event.is(events::LOAD_POSTED) {
            let p: Posted = serde_json::from_value(event.payload.clone())?;
            let (Some(pickup), Some(delivery)) = (
                p.stops.iter().find(|s| s.kind == "pickup"),
                p.stops.iter().rev().find(|s| s.kind == "delivery"),
            ) else {
                anyhow::bail!("load.posted without a pickup and a delivery");
            };
            store::upsert_posted(
                tx,
                &LoadRow {
                    load_id: p.id,
                    broker_org_id: OrgId(p.broker_org_id),
                    posted_rate_cents: p.all_in_rate_cents,
                    loaded_miles: p.loaded_miles,
                    pickup_at: pickup.window.start,
                    origin: pickup.location.label.clone(),
                    destination: delivery.location.label.clone(),
                    equipment: p.equipment.clone(),
                    weight_lbs: i64::from(p.weight_lbs),
                    status: "posted".into(),
                    visibility: p.visibility.clone(),
                },
            )
            .await?;
        } else if event.is(events::CARRIER_STANDING) {
            let c: events::CarrierStanding = serde_json::from_value(event.payload.clone())?;
            store::put_standing(
                tx,
                OrgId(c.carrier_org_id),
                &c.standing,
                &c.reasons,
                c.checked_at,
            )
            .await?;
        } else if event.is(events::LOAD_STATUS_CHANGED) {
            let s: StatusChanged = serde_json::from_value(event.payload.clone())?;
            let moved = store::set_load_status(tx, s.load_id, &s.to, s.version).await?;
            if moved && s.to != "posted" {
                let now = Utc::now();
                for open in store::open_on_load(tx, s.load_id, None).await? {
                    self.close(tx, open, &format!("the load is {}", s.to), now)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                }
            }
        }
        Ok(())
    }
}

/// Who said what happened: a person (with their words, if any) or the broker's agent.
struct Said<'a> {
    side: Side,
    author: Option<lanerunner_core::UserId>,
    text: Option<&'a str>,
    agent_reason: Option<&'a str>,
}

async fn publish<P: Serialize>(
    tx: &mut Tx,
    kind: EventType,
    org: OrgId,
    aggregate: Uuid,
    payload: &P,
) -> Result<()> {
    let event = EventEnvelope::new(kind, Some(org), aggregate, payload)
        .expect("negotiation events serialize");
    outbox::enqueue(tx, &event).await?;
    Ok(())
}
