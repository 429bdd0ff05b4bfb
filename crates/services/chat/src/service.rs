//! The flows: start a conversation, write in it, page its history, mark it read; and the
//! consumer that keeps the loads it may talk about and shows negotiation moves in the
//! load's conversation. Every write publishes what participants' sockets hear, in its
//! transaction.

use chrono::{DateTime, Utc};
use lanerunner_core::tenancy::{OrgKind, Role};
use lanerunner_core::{EventEnvelope, OrgId, UserId};
use lanerunner_platform::http::Caller;
use lanerunner_platform::outbox::{self, OutboxSignal};
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::{Db, Tx};
use serde::Serialize;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::{ChatError, Result, Violations};
use crate::events::{self, MessageAdded, NegotiationUpdated, Posted, ReadReceipt};
use crate::store::{self, ConversationRow, LoadRow, MessageRow, ReadRow};
use crate::views::{
    ConversationView, MessagePage, MessageView, NewConversation, NewMessage, ReadMark, ReceiptView,
};
use crate::ConversationId;

pub const MAX_TEXT_CHARS: usize = 4_000;
pub const MAX_MEMBERS: usize = 50;
const MAX_TITLE_CHARS: usize = 120;

pub struct Chat {
    pub(crate) db: Db,
    outbox: OutboxSignal,
}

impl Chat {
    pub fn new(ctx: &ServiceContext) -> Self {
        Chat {
            db: ctx.db.clone(),
            outbox: ctx.outbox.clone(),
        }
    }

    /// Starts a conversation, or returns the one that exists (`false`: not created now).
    pub async fn start(
        &self,
        caller: &Caller,
        req: NewConversation,
    ) -> Result<(ConversationView, bool)> {
        Self::may_write(caller)?;
        let now = Utc::now();
        match (req.load_id, &req.member_ids) {
            (Some(load), None) => {
                self.start_about_load(caller, load, req.carrier_org_id, now)
                    .await
            }
            (None, Some(members)) => {
                self.start_direct(caller, members, req.title.as_deref(), now)
                    .await
            }
            _ => {
                Err(invalid("load_id", "give a load_id (a conversation about a load) or member_ids (a direct conversation), not both"))
            }
        }
    }

    async fn start_about_load(
        &self,
        caller: &Caller,
        load_id: Uuid,
        carrier: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<(ConversationView, bool)> {
        let load = store::load(&self.db, load_id)
            .await?
            .ok_or(ChatError::NotFound("load"))?;
        let carrier = match caller.org_kind {
            OrgKind::Carrier => {
                if carrier.is_some_and(|c| c != caller.org.0) {
                    return Err(ChatError::Forbidden("a carrier talks for itself"));
                }
                caller.org
            }
            _ if load.broker_org_id == caller.org => {
                let Some(c) = carrier else {
                    return Err(invalid(
                        "carrier_org_id",
                        "is required: the carrier to talk to",
                    ));
                };
                if c == caller.org.0 {
                    return Err(invalid("carrier_org_id", "is your own organization"));
                }
                OrgId(c)
            }
            // Another broker's load: as if it did not exist.
            _ => return Err(ChatError::NotFound("load")),
        };
        let mut tx = self.db.begin().await?;
        if let Some(existing) = store::load_conversation_in(&mut tx, load_id, carrier).await? {
            drop(tx);
            return Ok((self.get(caller, existing.id).await?, false));
        }
        // A carrier may start talking about a public load; a private one only once the
        // broker (or a negotiation the broker's network opened) has started the talk.
        if caller.org_kind == OrgKind::Carrier && load.visibility != "public" {
            return Err(ChatError::NotFound("load"));
        }
        let row = self
            .ensure_load_conversation(&mut tx, &load, carrier, caller.user_id(), now)
            .await?;
        self.commit(tx).await?;
        Ok((self.view(row, 0, true).await?, true))
    }

    /// The conversation about `load` with `carrier`, made if missing (a concurrent maker's
    /// row is read back).
    async fn ensure_load_conversation(
        &self,
        tx: &mut Tx,
        load: &LoadRow,
        carrier: OrgId,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<ConversationRow> {
        if let Some(existing) = store::load_conversation_in(tx, load.load_id, carrier).await? {
            return Ok(existing);
        }
        let row = ConversationRow {
            id: ConversationId::new(),
            kind: "load".into(),
            org_id: load.broker_org_id,
            load_id: Some(load.load_id),
            carrier_org_id: Some(carrier),
            title: load.lane.clone(),
            last_seq: 0,
            last_message_at: None,
            created_by: by,
            created_at: now,
        };
        if store::insert_conversation(tx, &row).await? {
            return Ok(row);
        }
        store::load_conversation_in(tx, load.load_id, carrier)
            .await?
            .ok_or(ChatError::NotFound("conversation"))
    }

    async fn start_direct(
        &self,
        caller: &Caller,
        members: &[Uuid],
        title: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(ConversationView, bool)> {
        let me = caller.user_id().ok_or(ChatError::Forbidden(
            "direct conversations are between people, not API keys",
        ))?;
        let mut v = Violations::default();
        let mut people: Vec<Uuid> = members.iter().copied().filter(|m| *m != me.0).collect();
        people.sort();
        people.dedup();
        if people.is_empty() {
            v.add(
                "member_ids",
                "name at least one other member of your organization",
            );
        } else if people.len() > MAX_MEMBERS {
            v.add("member_ids", format!("at most {MAX_MEMBERS} members"));
        }
        let title = title.map(str::trim).unwrap_or("");
        if title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            v.add(
                "title",
                format!("at most {MAX_TITLE_CHARS} characters, no control characters"),
            );
        }
        v.into_result(())?;
        let row = ConversationRow {
            id: ConversationId::new(),
            kind: "direct".into(),
            org_id: caller.org,
            load_id: None,
            carrier_org_id: None,
            title: if title.is_empty() {
                "Direct conversation".into()
            } else {
                title.into()
            },
            last_seq: 0,
            last_message_at: None,
            created_by: Some(me),
            created_at: now,
        };
        let mut tx = self.db.begin().await?;
        store::insert_conversation(&mut tx, &row).await?;
        for m in people.iter().copied().map(UserId).chain([me]) {
            store::add_member(&mut tx, row.id, m).await?;
        }
        self.commit(tx).await?;
        Ok((self.view(row, 0, true).await?, true))
    }

    pub async fn list(
        &self,
        caller: &Caller,
        load: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<ConversationView>> {
        let limit = checked_limit(limit)?;
        let mut out = Vec::new();
        for (row, unread) in
            store::conversations(&self.db, caller.org, caller.user_id(), load, None, limit).await?
        {
            out.push(self.view(row, unread, false).await?);
        }
        Ok(out)
    }

    pub async fn get(&self, caller: &Caller, id: ConversationId) -> Result<ConversationView> {
        let (row, unread) =
            store::conversations(&self.db, caller.org, caller.user_id(), None, Some(id), 1)
                .await?
                .pop()
                .ok_or(ChatError::NotFound("conversation"))?;
        self.view(row, unread, true).await
    }

    async fn visible(&self, caller: &Caller, id: ConversationId) -> Result<ConversationRow> {
        store::conversation(&self.db, caller.org, caller.user_id(), id)
            .await?
            .ok_or(ChatError::NotFound("conversation"))
    }

    fn may_write(caller: &Caller) -> Result<()> {
        if caller.role == Role::Viewer {
            return Err(ChatError::Forbidden(
                "a viewer reads conversations but does not write in them",
            ));
        }
        Ok(())
    }

    /// Writes `text` in conversation `id`.
    pub async fn post(
        &self,
        caller: &Caller,
        id: ConversationId,
        req: NewMessage,
    ) -> Result<MessageView> {
        Self::may_write(caller)?;
        let text = checked_text(req.text.as_deref())?;
        let row = self.visible(caller, id).await?;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let message = MessageRow {
            conversation_id: row.id,
            seq: store::next_seq(&mut tx, row.id, now).await?,
            id: Uuid::now_v7(),
            kind: "text".into(),
            author_org_id: caller.org,
            author_user_id: caller.user_id(),
            body: Some(text),
            data: None,
            at: now,
        };
        store::insert_message(&mut tx, &message, None).await?;
        let view = message_view(message);
        self.announce(&mut tx, &row, &view).await?;
        self.commit(tx).await?;
        Ok(view)
    }

    /// A page of history, newest first, before message `before`.
    pub async fn messages(
        &self,
        caller: &Caller,
        id: ConversationId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<MessagePage> {
        let limit = checked_limit(limit)?;
        if before.is_some_and(|b| b < 1) {
            return Err(invalid("before", "must be a message number (1 or more)"));
        }
        let row = self.visible(caller, id).await?;
        let rows = store::messages(&self.db, row.id, before, limit).await?;
        let next_before = match rows.last() {
            Some(last) if rows.len() as i64 == limit && last.seq > 1 => Some(last.seq),
            _ => None,
        };
        Ok(MessagePage {
            messages: rows.into_iter().map(message_view).collect(),
            next_before,
        })
    }

    /// Marks conversation `id` read up to message `seq` (never backwards), and tells the
    /// participants (a read receipt).
    pub async fn read(
        &self,
        caller: &Caller,
        id: ConversationId,
        req: ReadMark,
    ) -> Result<ReceiptView> {
        let me = caller.user_id().ok_or(ChatError::Forbidden(
            "read marks belong to people, not API keys",
        ))?;
        let row = self.visible(caller, id).await?;
        let mut v = Violations::default();
        match req.seq {
            None => v.add("seq", "is required"),
            Some(s) if s < 1 || s > row.last_seq => v.add(
                "seq",
                format!("must be a message in the conversation (1–{})", row.last_seq),
            ),
            Some(_) => {}
        }
        v.into_result(())?;
        let mut tx = self.db.begin().await?;
        let mark = store::mark_read(
            &mut tx,
            row.id,
            me,
            caller.org,
            req.seq.unwrap_or(1),
            Utc::now(),
        )
        .await?;
        let receipt = receipt_view(mark);
        let members = self.members_of(&mut tx, &row).await?;
        let payload = ReadReceipt {
            conversation_id: row.id.0,
            receipt: &receipt,
            to_users: members.as_deref(),
        };
        for org in participants(&row) {
            publish(&mut tx, events::CHAT_READ, org, row.id.0, &payload).await?;
        }
        self.commit(tx).await?;
        Ok(receipt)
    }

    /// Publishes a new message to every participant's sockets.
    async fn announce(&self, tx: &mut Tx, row: &ConversationRow, m: &MessageView) -> Result<()> {
        let members = self.members_of(tx, row).await?;
        let payload = MessageAdded {
            conversation_id: row.id.0,
            message: m,
            to_users: members.as_deref(),
        };
        for org in participants(row) {
            publish(tx, events::CHAT_MESSAGE, org, row.id.0, &payload).await?;
        }
        Ok(())
    }

    async fn members_of(&self, tx: &mut Tx, row: &ConversationRow) -> Result<Option<Vec<Uuid>>> {
        Ok(if row.kind == "direct" {
            Some(
                store::members_in(tx, row.id)
                    .await?
                    .into_iter()
                    .map(|u| u.0)
                    .collect(),
            )
        } else {
            None
        })
    }

    async fn view(
        &self,
        row: ConversationRow,
        unread: i64,
        full: bool,
    ) -> Result<ConversationView> {
        // Members and receipts on one conversation; a list stays one query.
        let member_ids = if full && row.kind == "direct" {
            Some(
                store::members(&self.db, row.id)
                    .await?
                    .into_iter()
                    .map(|u| u.0)
                    .collect(),
            )
        } else {
            None
        };
        let receipts = if full {
            Some(
                store::receipts(&self.db, row.id)
                    .await?
                    .into_iter()
                    .map(receipt_view)
                    .collect(),
            )
        } else {
            None
        };
        let is_load = row.kind == "load";
        Ok(ConversationView {
            id: row.id.0,
            kind: row.kind,
            title: row.title,
            load_id: row.load_id,
            broker_org_id: is_load.then_some(row.org_id.0),
            carrier_org_id: row.carrier_org_id.map(|c| c.0),
            member_ids,
            last_seq: row.last_seq,
            last_message_at: row.last_message_at,
            unread,
            receipts,
            created_at: row.created_at,
        })
    }

    /// Consumer `chat.projection`: the loads conversations may be about, and negotiation
    /// moves shown in the load's conversation (once, whichever copy of the event comes).
    pub async fn project(&self, tx: &mut Tx, event: &EventEnvelope) -> anyhow::Result<()> {
        if event.is(events::LOAD_POSTED) {
            let p: Posted = serde_json::from_value(event.payload.clone())?;
            let place = |kind: &str, last: bool| {
                let mut stops = p.stops.iter().filter(|s| s.kind == kind);
                let s = if last {
                    stops.next_back()
                } else {
                    stops.next()
                };
                s.map(|s| s.location.label.clone()).unwrap_or_default()
            };
            store::upsert_load(
                tx,
                &LoadRow {
                    load_id: p.id,
                    broker_org_id: OrgId(p.broker_org_id),
                    visibility: p.visibility.clone(),
                    lane: format!("{} → {}", place("pickup", false), place("delivery", true)),
                },
            )
            .await?;
        } else if event.is(events::NEGOTIATION_UPDATED) {
            let u: NegotiationUpdated = serde_json::from_value(event.payload.clone())?;
            let load = store::load_in(tx, u.load_id).await?.unwrap_or(LoadRow {
                load_id: u.load_id,
                broker_org_id: OrgId(u.broker_org_id),
                visibility: "public".into(),
                lane: store::UNNAMED.into(),
            });
            let row = self
                .ensure_load_conversation(tx, &load, OrgId(u.carrier_org_id), None, u.at)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let source = format!("{}:{}", u.negotiation_id, u.seq);
            if store::has_source(tx, row.id, &source).await? {
                return Ok(());
            }
            let author_org = if u.side == "carrier" {
                u.carrier_org_id
            } else {
                u.broker_org_id
            };
            let message = MessageRow {
                conversation_id: row.id,
                seq: store::next_seq(tx, row.id, u.at).await?,
                id: Uuid::now_v7(),
                kind: "negotiation".into(),
                author_org_id: OrgId(author_org),
                author_user_id: u.author_id.map(UserId),
                body: u.text.clone(),
                data: Some(Json(serde_json::json!({
                    "negotiation_id": u.negotiation_id,
                    "status": u.status,
                    "side": u.side,
                    "event": u.event,
                }))),
                at: u.at,
            };
            store::insert_message(tx, &message, Some(&source)).await?;
            self.announce(tx, &row, &message_view(message))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(())
    }

    async fn commit(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.outbox.committed();
        Ok(())
    }
}

fn participants(row: &ConversationRow) -> Vec<OrgId> {
    std::iter::once(row.org_id)
        .chain(row.carrier_org_id)
        .collect()
}

/// One field wrong.
fn invalid(field: &str, message: &str) -> ChatError {
    let mut v = Violations::default();
    v.add(field, message);
    ChatError::Invalid(v.0)
}

fn checked_text(text: Option<&str>) -> Result<String> {
    let mut v = Violations::default();
    let t = text.map(str::trim).unwrap_or("");
    if t.is_empty() {
        v.add("text", "is required");
    } else if t.chars().count() > MAX_TEXT_CHARS {
        v.add("text", format!("at most {MAX_TEXT_CHARS} characters"));
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        v.add("text", "must not contain control characters");
    }
    v.into_result(())?;
    // A card number pasted into a message is never stored, shown or sent on (PCI): only
    // its last four digits remain.
    Ok(lanerunner_core::pan::mask(t).into_owned())
}

fn checked_limit(limit: i64) -> Result<i64> {
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "must be between 1 and 200"));
    }
    Ok(limit)
}

fn message_view(m: MessageRow) -> MessageView {
    MessageView {
        id: m.id,
        conversation_id: m.conversation_id.0,
        seq: m.seq,
        kind: m.kind,
        author_org_id: m.author_org_id.0,
        author_user_id: m.author_user_id.map(|u| u.0),
        text: m.body,
        negotiation: m.data.map(|d| d.0),
        at: m.at,
    }
}

fn receipt_view(r: ReadRow) -> ReceiptView {
    ReceiptView {
        user_id: r.user_id.0,
        org_id: r.org_id.0,
        last_read_seq: r.last_read_seq,
        read_at: r.read_at,
    }
}

async fn publish<P: Serialize>(
    tx: &mut Tx,
    kind: lanerunner_core::EventType,
    org: OrgId,
    aggregate: Uuid,
    payload: &P,
) -> Result<()> {
    let event =
        EventEnvelope::new(kind, Some(org), aggregate, payload).expect("chat events serialize");
    outbox::enqueue(tx, &event).await?;
    Ok(())
}
