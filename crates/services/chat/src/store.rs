//! The chat service's SQL, one text for both backends. A conversation is read together
//! with who is asking (organization, and user for direct ones), so one that is not theirs
//! is not found rather than forbidden.

use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, UserId};
use lanerunner_platform::{on_db, on_tx, Db, Tx};
use sqlx::types::Json;
use uuid::Uuid;

use crate::ConversationId;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoadRow {
    pub load_id: Uuid,
    pub broker_org_id: OrgId,
    pub visibility: String,
    pub lane: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: ConversationId,
    pub kind: String,
    pub org_id: OrgId,
    pub load_id: Option<Uuid>,
    pub carrier_org_id: Option<OrgId>,
    pub title: String,
    pub last_seq: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub conversation_id: ConversationId,
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub author_org_id: OrgId,
    pub author_user_id: Option<UserId>,
    pub body: Option<String>,
    pub data: Option<Json<serde_json::Value>>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReadRow {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub last_read_seq: i64,
    pub read_at: DateTime<Utc>,
}

/// The placeholder title of a conversation a negotiation started before the load's posting
/// reached this service; the posting names it.
pub const UNNAMED: &str = "Load";

pub async fn upsert_load(tx: &mut Tx, l: &LoadRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE conversations SET title = $2 WHERE kind = 'load' AND load_id = $1 AND title = $3"
    )
    .bind(l.load_id)
    .bind(&l.lane)
    .bind(UNNAMED)
    .execute(c)
    .await
    .map(|_| ()))?;
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO chat_loads (load_id, broker_org_id, visibility, lane) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (load_id) DO UPDATE SET visibility = excluded.visibility, lane = excluded.lane"
    )
    .bind(l.load_id)
    .bind(l.broker_org_id)
    .bind(&l.visibility)
    .bind(&l.lane)
    .execute(c)
    .await
    .map(|_| ())
    })
}

const LOAD: &str =
    "SELECT load_id, broker_org_id, visibility, lane FROM chat_loads WHERE load_id = $1";

pub async fn load(db: &Db, load: Uuid) -> sqlx::Result<Option<LoadRow>> {
    on_db!(db, |c| sqlx::query_as(LOAD)
        .bind(load)
        .fetch_optional(c)
        .await)
}

pub async fn load_in(tx: &mut Tx, load: Uuid) -> sqlx::Result<Option<LoadRow>> {
    on_tx!(tx, |c| sqlx::query_as(LOAD)
        .bind(load)
        .fetch_optional(c)
        .await)
}

const COLUMNS: &str = "id, kind, org_id, load_id, carrier_org_id, title, last_seq, last_message_at, created_by, created_at";

/// Who may see a conversation: either organization of a load conversation, the members of
/// a direct one (in its organization). `$1` the organization, `$2` the user (or null).
const VISIBLE: &str = "((kind = 'load' AND (org_id = $1 OR carrier_org_id = $1)) OR \
    (kind = 'direct' AND org_id = $1 AND EXISTS (SELECT 1 FROM conversation_members m \
    WHERE m.conversation_id = conversations.id AND m.user_id = $2)))";

pub async fn conversation(
    db: &Db,
    org: OrgId,
    user: Option<UserId>,
    id: ConversationId,
) -> sqlx::Result<Option<ConversationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM conversations WHERE {VISIBLE} AND id = $3");
    on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .bind(id)
        .fetch_optional(c)
        .await)
}

/// The caller's conversations, most recently active first, each with its unread count.
pub async fn conversations(
    db: &Db,
    org: OrgId,
    user: Option<UserId>,
    load: Option<Uuid>,
    id: Option<ConversationId>,
    limit: i64,
) -> sqlx::Result<Vec<(ConversationRow, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Listed {
        #[sqlx(flatten)]
        row: ConversationRow,
        unread: i64,
    }
    let sql = format!(
        "SELECT {COLUMNS}, (SELECT COUNT(*) FROM chat_messages m WHERE m.conversation_id = conversations.id \
         AND m.seq > COALESCE((SELECT r.last_read_seq FROM chat_reads r WHERE r.conversation_id = conversations.id \
         AND r.user_id = $2), 0) AND (m.author_user_id IS NULL OR $2 IS NULL OR m.author_user_id <> $2)) AS unread \
         FROM conversations WHERE {VISIBLE} AND ($3 IS NULL OR load_id = $3) AND ($5 IS NULL OR id = $5) \
         ORDER BY COALESCE(last_message_at, created_at) DESC LIMIT $4"
    );
    let rows: Vec<Listed> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(org)
        .bind(user)
        .bind(load)
        .bind(limit)
        .bind(id)
        .fetch_all(c)
        .await)?;
    Ok(rows.into_iter().map(|l| (l.row, l.unread)).collect())
}

pub async fn load_conversation_in(
    tx: &mut Tx,
    load: Uuid,
    carrier: OrgId,
) -> sqlx::Result<Option<ConversationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM conversations WHERE kind = 'load' AND load_id = $1 AND carrier_org_id = $2"
    );
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(load)
        .bind(carrier)
        .fetch_optional(c)
        .await)
}

/// Inserts a conversation; `false` when a load conversation for the same load and carrier
/// exists already (made at this instant by another request or event).
pub async fn insert_conversation(tx: &mut Tx, c: &ConversationRow) -> sqlx::Result<bool> {
    let sql = format!(
        "INSERT INTO conversations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 0, NULL, $7, $8) \
         ON CONFLICT DO NOTHING"
    );
    on_tx!(tx, |conn| sqlx::query(&sql)
        .bind(c.id)
        .bind(&c.kind)
        .bind(c.org_id)
        .bind(c.load_id)
        .bind(c.carrier_org_id)
        .bind(&c.title)
        .bind(c.created_by)
        .bind(c.created_at)
        .execute(conn)
        .await
        .map(|d| d.rows_affected() == 1))
}

pub async fn add_member(tx: &mut Tx, id: ConversationId, user: UserId) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    )
    .bind(id)
    .bind(user)
    .execute(c)
    .await
    .map(|_| ())
    })
}

const MEMBERS: &str =
    "SELECT user_id FROM conversation_members WHERE conversation_id = $1 ORDER BY user_id";

pub async fn members(db: &Db, id: ConversationId) -> sqlx::Result<Vec<UserId>> {
    on_db!(db, |c| sqlx::query_scalar(MEMBERS)
        .bind(id)
        .fetch_all(c)
        .await)
}

pub async fn members_in(tx: &mut Tx, id: ConversationId) -> sqlx::Result<Vec<UserId>> {
    on_tx!(tx, |c| sqlx::query_scalar(MEMBERS)
        .bind(id)
        .fetch_all(c)
        .await)
}

/// Takes the conversation's next message number (the row update serializes writers).
pub async fn next_seq(tx: &mut Tx, id: ConversationId, at: DateTime<Utc>) -> sqlx::Result<i64> {
    on_tx!(tx, |c| {
        sqlx::query_scalar(
        "UPDATE conversations SET last_seq = last_seq + 1, last_message_at = $2 WHERE id = $1 RETURNING last_seq"
    )
    .bind(id)
    .bind(at)
    .fetch_one(c)
    .await
    })
}

pub async fn insert_message(
    tx: &mut Tx,
    m: &MessageRow,
    source_key: Option<&str>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO chat_messages (conversation_id, seq, id, kind, author_org_id, author_user_id, body, data, source_key, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(m.conversation_id)
    .bind(m.seq)
    .bind(m.id)
    .bind(&m.kind)
    .bind(m.author_org_id)
    .bind(m.author_user_id)
    .bind(&m.body)
    .bind(&m.data)
    .bind(source_key)
    .bind(m.at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn has_source(tx: &mut Tx, id: ConversationId, source_key: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT seq FROM chat_messages WHERE conversation_id = $1 AND source_key = $2"
    )
    .bind(id)
    .bind(source_key)
    .fetch_optional(c)
    .await)?;
    Ok(found.is_some())
}

/// Messages before `before` (all when `None`), newest first.
pub async fn messages(
    db: &Db,
    id: ConversationId,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<MessageRow>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT conversation_id, seq, id, kind, author_org_id, author_user_id, body, data, at FROM chat_messages \
         WHERE conversation_id = $1 AND ($2 IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3"
    )
    .bind(id)
    .bind(before)
    .bind(limit)
    .fetch_all(c)
    .await
    })
}

/// Moves the reader's mark forward to `seq` (never back); the mark as it stands.
pub async fn mark_read(
    tx: &mut Tx,
    id: ConversationId,
    user: UserId,
    org: OrgId,
    seq: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<ReadRow> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO chat_reads (conversation_id, user_id, org_id, last_read_seq, read_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_read_seq = excluded.last_read_seq, read_at = excluded.read_at \
         WHERE chat_reads.last_read_seq < excluded.last_read_seq"
    )
    .bind(id)
    .bind(user)
    .bind(org)
    .bind(seq)
    .bind(at)
    .execute(c)
    .await
    .map(|_| ())
    })?;
    read_of(tx, id, user).await
}

async fn read_of(tx: &mut Tx, id: ConversationId, user: UserId) -> sqlx::Result<ReadRow> {
    on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT user_id, org_id, last_read_seq, read_at FROM chat_reads WHERE conversation_id = $1 AND user_id = $2"
    )
    .bind(id)
    .bind(user)
    .fetch_one(c)
    .await
    })
}

pub async fn receipts(db: &Db, id: ConversationId) -> sqlx::Result<Vec<ReadRow>> {
    on_db!(db, |c| {
        sqlx::query_as(
        "SELECT user_id, org_id, last_read_seq, read_at FROM chat_reads WHERE conversation_id = $1 ORDER BY read_at"
    )
    .bind(id)
    .fetch_all(c)
    .await
    })
}

/// A message the person wrote, for their export.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct WrittenMessage {
    pub conversation_id: uuid::Uuid,
    pub conversation: String,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub body: Option<String>,
}

/// Every message `user` of `org` wrote, oldest first.
pub async fn written_by(
    db: &Db,
    org: uuid::Uuid,
    user: uuid::Uuid,
) -> sqlx::Result<Vec<WrittenMessage>> {
    let sql = "SELECT m.conversation_id, c.title AS conversation, m.seq, m.at, m.body \
               FROM chat_messages m JOIN conversations c ON c.id = m.conversation_id \
               WHERE m.author_org_id = $1 AND m.author_user_id = $2 AND m.kind = 'text' ORDER BY m.at, m.seq";
    on_db!(db, |c| sqlx::query_as(sql)
        .bind(org)
        .bind(user)
        .fetch_all(c)
        .await)
}
