//! How loads come to be: created through the API (idempotently), copied from another, or
//! imported from CSV. Each is a draft, with its `create` history record and its
//! `load.created.v1` event in the same transaction.

use chrono::{DateTime, Utc};
use lanerunner_core::LoadId;
use lanerunner_platform::http::Caller;
use lanerunner_platform::Tx;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::text::Text;
use crate::domain::{csv_import, Geo, Horizon, LoadInput, LoadSpec, LoadStatus, Violations};
use crate::error::{LoadsError, Result};
use crate::events::{self, LoadCreated};
use crate::service::{require_shipper_side, Loads};
use crate::store::{self, CorruptRow, HistoryRow, LoadRow, StoredResponse};
use crate::views::LoadView;

/// The `Idempotency-Key` header's rules: one line of at most 200 characters. A token, not
/// typed text: a random key can look like a card number (see `Text::token`).
const IDEMPOTENCY_KEY: Text = Text::token(200).required();

/// The one response a create gives, and replays for a repeated Idempotency-Key: `201
/// Created` with the load (its version is the `ETag`).
pub struct Created {
    pub version: i64,
    pub body: serde_json::Value,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What an Idempotency-Key is held to: a create's body.
fn request_hash(input: &LoadInput) -> Result<String> {
    let bytes = serde_json::to_vec(input).map_err(|e| LoadsError::Internal(e.into()))?;
    Ok(sha256_hex(&bytes))
}

/// What a create or an import whose key another request claimed answers: that request's
/// response body, or "still in flight"; a different body under the same key is refused.
fn replay(stored: Option<StoredResponse>, hash: &str, key: &str) -> Result<serde_json::Value> {
    let corrupt = |problem: &str| CorruptRow::new("idempotency_keys", key, "response", problem);
    match stored {
        // The claim lost to a row that then vanished: the key table is never deleted from.
        None => Err(corrupt("the key was claimed but cannot be found").into()),
        Some(StoredResponse::InFlight { request_hash }) if request_hash == hash => {
            Err(LoadsError::IdempotencyInFlight)
        }
        Some(StoredResponse::Done {
            request_hash,
            status,
            body,
        }) if request_hash == hash => {
            if status != 201 {
                return Err(corrupt(&format!("status {status} is not a create's")).into());
            }
            Ok(body)
        }
        Some(_) => Err(LoadsError::IdempotencyMismatch),
    }
}

/// A create's replayed response: the stored load, whose version is the `ETag`.
fn replayed_create(body: serde_json::Value, key: &str) -> Result<Created> {
    let version = body["version"].as_i64().ok_or_else(|| {
        CorruptRow::new(
            "idempotency_keys",
            key,
            "response",
            "the stored load has no version",
        )
    })?;
    Ok(Created { version, body })
}

/// A checked `Idempotency-Key` (one line of at most 200 characters), or none.
fn checked_key(key: Option<&str>) -> Result<Option<&str>> {
    if let Some(key) = key {
        let mut v = Violations::default();
        if !IDEMPOTENCY_KEY.check(&mut v, "Idempotency-Key", key) {
            return Err(v.into());
        }
    }
    Ok(key)
}

impl Loads {
    fn new_row(&self, caller: &Caller, spec: LoadSpec, now: DateTime<Utc>) -> LoadRow {
        LoadRow {
            id: LoadId::new(),
            org_id: caller.org,
            status: LoadStatus::Draft,
            version: 1,
            spec,
            created_by: caller.actor_id(),
            created_at: now,
            updated_at: now,
            posted_at: None,
            booking: None,
        }
    }

    async fn insert_new(&self, tx: &mut Tx, row: &LoadRow, via: &str) -> Result<()> {
        store::insert_load(tx, row).await?;
        store::insert_history(
            tx,
            &HistoryRow {
                id: Uuid::now_v7(),
                load_id: row.id,
                org_id: row.org_id,
                event: store::CREATE_EVENT.into(),
                from_status: None,
                to_status: row.status.as_str().into(),
                actor_id: row.created_by,
                reason: None,
                occurred_at: row.created_at,
            },
        )
        .await?;
        let payload = LoadCreated {
            load_id: row.id.0,
            reference: &row.spec.reference,
            created_by: row.created_by,
            via,
        };
        self.publish(tx, events::LOAD_CREATED, row.org_id, row.id.0, &payload)
            .await
    }

    /// Creates a draft. With an Idempotency-Key, a repeat of the same request returns the
    /// first response and a different request under the same key is refused; concurrent
    /// repeats wait for the first (see `store::idempotency`).
    pub async fn create(
        &self,
        caller: &Caller,
        input: LoadInput,
        key: Option<&str>,
    ) -> Result<Created> {
        require_shipper_side(caller)?;
        let key = checked_key(key)?;
        let hash = request_hash(&input)?;
        let horizon = self.horizon();
        let spec = self
            .with_geo(move |geo| input.validate(geo, &horizon))
            .await??;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        if let Some(key) = key {
            if !store::claim_idempotency(&mut tx, caller.org, key, &hash, now).await? {
                // Read in this transaction: after the conflict it sees the winner's commit.
                let stored = store::get_idempotency(&mut tx, caller.org, key).await?;
                return replayed_create(replay(stored, &hash, key)?, key);
            }
        }
        let row = self.new_row(caller, spec, now);
        self.insert_new(&mut tx, &row, "api").await?;
        let body = serde_json::to_value(LoadView::new(&row, &self.geo))
            .map_err(|e| LoadsError::Internal(e.into()))?;
        if let Some(key) = key {
            store::complete_idempotency(&mut tx, caller.org, key, 201, &body).await?;
        }
        self.commit(tx).await?;
        Ok(Created {
            version: row.version,
            body,
        })
    }

    /// A new draft with the same terms (to repost a lane). The terms are copied as they
    /// were validated; new dates come with the update that reposts it.
    pub async fn copy(&self, caller: &Caller, id: LoadId) -> Result<LoadView> {
        require_shipper_side(caller)?;
        let source = store::get_load(&self.db, caller.org, id)
            .await?
            .ok_or(LoadsError::NotFound("load"))?;
        let now = Utc::now();
        let row = self.new_row(caller, source.spec, now);
        let mut tx = self.db.begin().await?;
        self.insert_new(&mut tx, &row, "copy").await?;
        self.commit(tx).await?;
        Ok(LoadView::new(&row, &self.geo))
    }

    /// All rows become drafts in one transaction, or nothing is stored and every bad row
    /// is reported. With an Idempotency-Key, sending the same file again (a double click,
    /// a retry after a timeout) answers with the first import's loads and stores nothing.
    pub async fn import(
        &self,
        caller: &Caller,
        csv: &str,
        key: Option<&str>,
    ) -> Result<serde_json::Value> {
        require_shipper_side(caller)?;
        let key = checked_key(key)?;
        // Prefixed, so a key reused between a create and an import never matches.
        let hash = sha256_hex(format!("import\n{csv}").as_bytes());
        let parsed = csv_import::parse(csv).map_err(LoadsError::Import)?;
        let horizon = self.horizon();
        let (specs, bad) = self
            .with_geo(move |geo| validate_rows(&parsed, geo, &horizon))
            .await?;
        // A geocoder outage is not the file's fault: say "try again", not "fix every row".
        if let Some(e) = bad
            .iter()
            .flat_map(|r| r.errors.0.iter())
            .find(|e| e.unavailable)
        {
            return Err(LoadsError::GeocoderUnavailable(e.message.clone()));
        }
        if !bad.is_empty() {
            return Err(LoadsError::Import(bad));
        }
        let now = Utc::now();
        let rows: Vec<LoadRow> = specs
            .into_iter()
            .map(|s| self.new_row(caller, s, now))
            .collect();
        let mut tx = self.db.begin().await?;
        if let Some(key) = key {
            if !store::claim_idempotency(&mut tx, caller.org, key, &hash, now).await? {
                let stored = store::get_idempotency(&mut tx, caller.org, key).await?;
                return replay(stored, &hash, key);
            }
        }
        for row in &rows {
            self.insert_new(&mut tx, row, "import").await?;
        }
        let views: Vec<LoadView> = rows.iter().map(|r| LoadView::new(r, &self.geo)).collect();
        let body = serde_json::to_value(views).map_err(|e| LoadsError::Internal(e.into()))?;
        if let Some(key) = key {
            store::complete_idempotency(&mut tx, caller.org, key, 201, &body).await?;
        }
        self.commit(tx).await?;
        Ok(body)
    }
}

/// Every row validated: the specs of good rows, or the problems of every bad one.
fn validate_rows(
    parsed: &[csv_import::ParsedRow],
    geo: &Geo,
    horizon: &Horizon,
) -> (Vec<LoadSpec>, Vec<csv_import::RowError>) {
    let mut specs = Vec::with_capacity(parsed.len());
    let mut bad = Vec::new();
    for (i, row) in parsed.iter().enumerate() {
        let validated = row.input.validate(geo, horizon);
        let errors =
            csv_import::row_problems(row, validated.as_ref().err().cloned().unwrap_or_default());
        match validated {
            Ok(spec) if errors.is_empty() => specs.push(spec),
            _ => bad.push(csv_import::RowError { row: i + 1, errors }),
        }
    }
    (specs, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(hash: &str, status: i32, body: serde_json::Value) -> Option<StoredResponse> {
        Some(StoredResponse::Done {
            request_hash: hash.into(),
            status,
            body,
        })
    }

    #[test]
    fn a_replay_is_the_stored_response_or_a_typed_refusal() {
        let body = serde_json::json!({"id": "x", "version": 1});
        let replayed = replay(done("h", 201, body.clone()), "h", "k").unwrap();
        let created = replayed_create(replayed, "k").unwrap();
        assert_eq!((created.version, created.body), (1, body.clone()));
        assert!(matches!(
            replay(done("other", 201, body.clone()), "h", "k"),
            Err(LoadsError::IdempotencyMismatch)
        ));
        let in_flight = Some(StoredResponse::InFlight {
            request_hash: "h".into(),
        });
        assert!(matches!(
            replay(in_flight, "h", "k"),
            Err(LoadsError::IdempotencyInFlight)
        ));
        // What no create ever stores is an error, not a default 201 or version 1.
        for stored in [done("h", 500, body), None] {
            assert!(matches!(
                replay(stored, "h", "k"),
                Err(LoadsError::Corrupt(_))
            ));
        }
        assert!(matches!(
            replayed_create(serde_json::json!({"id": "x"}), "k"),
            Err(LoadsError::Corrupt(_))
        ));
    }
}
