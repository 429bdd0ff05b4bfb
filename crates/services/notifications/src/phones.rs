//! The phone numbers texts go to, at rest (issue 17: phone numbers are sensitive fields).
//!
//! A number that must be read back — the one a member verified, the one awaiting its code —
//! is sealed under the store's data keys (`lre1.…`, swept on rotation like every sealed
//! field). A number is also *matched*: the `From` of a text that came in finds its consent
//! (STOP), its reply codes and the texts it sent. Those are found by the number's **blind
//! index** (`bi1.…`, HMAC-SHA256 under the store's blind-index key), kept beside the sealed
//! number and alone in the tables that only ever match it. Without the key the index says
//! nothing of the number; a plain hash would, since every North American number can be
//! hashed in minutes.
//!
//! Numbers are normalized to E.164 before they are indexed, so the provider's `+14155550100`
//! and a member's `(415) 555-0100` are one number.

use std::sync::{Arc, Weak};
use std::time::Duration;

use lanerunner_core::phone;
use lanerunner_platform::sealing::value::{self, Stored};
use lanerunner_platform::sealing::{FieldSealer, IdKind, SealError, SealedField};
use lanerunner_platform::Db;
use uuid::Uuid;

use crate::service::Notifications;
use crate::store::{self, SealedPhone};

/// The number texts go to, once verified.
pub const PHONE: SealedField = SealedField {
    table: "nt_settings",
    column: "phone",
    id_column: "user_id",
    id_kind: IdKind::Uuid,
    // Shared with the pending number: a verified number is the pending one moved over.
    purpose: "notifications.phone",
};

/// The number awaiting its verification code.
pub const PENDING_PHONE: SealedField = SealedField {
    column: "pending_phone",
    ..PHONE
};

/// The columns of this service's store that hold sealed values.
pub const SEALED_FIELDS: &[SealedField] = &[PHONE, PENDING_PHONE];

/// Bound into every number's index: the same number indexed for another use differs.
const INDEX_PURPOSE: &str = "notifications.phone";

/// How many settings rows a conversion pass reads at a time.
const CONVERT_BATCH: i64 = 500;

#[derive(Clone)]
pub struct Phones(pub Arc<FieldSealer>);

impl Phones {
    /// Reads (or makes) the store's blind-index key, so indexing never touches the store
    /// afterwards (it is then safe inside a transaction).
    pub async fn ready(&self) -> Result<(), SealError> {
        self.0.ensure_index_key().await
    }

    /// The blind index of `number` (normalized to E.164 first when it is a number).
    pub async fn index(&self, number: &str) -> Result<String, SealError> {
        let e164 = phone::normalize(number).unwrap_or_else(|| number.trim().to_string());
        self.0.blind_index(INDEX_PURPOSE, &e164).await
    }

    /// `number` sealed for member `user`, with its index.
    pub async fn seal(&self, user: Uuid, number: &str) -> Result<(String, String), SealError> {
        Ok((
            self.0.seal(&PHONE, &user.to_string(), number).await?,
            self.index(number).await?,
        ))
    }

    /// The number of member `user` as stored (a number stored before sealing is returned
    /// as it is).
    pub async fn open(&self, user: Uuid, stored: &str) -> Result<String, SealError> {
        self.0.open(&PHONE, &user.to_string(), stored).await
    }

    /// [`Self::open`] of a number that may not be there.
    pub async fn open_some(
        &self,
        user: Uuid,
        stored: Option<&str>,
    ) -> Result<Option<String>, SealError> {
        match stored {
            Some(s) => self.open(user, s).await.map(Some),
            None => Ok(None),
        }
    }

    /// The index of a stored number: the one stored beside it, or — for a number a previous
    /// version stored without one, until [`convert`] reaches it — made from the number.
    pub async fn index_of(
        &self,
        user: Uuid,
        stored: &str,
        index: Option<&str>,
    ) -> Result<String, SealError> {
        match index {
            Some(i) => Ok(i.to_string()),
            None => self.index(&self.open(user, stored).await?).await,
        }
    }

    /// A stored number sealed (if it was not) and indexed.
    async fn sealed_and_indexed(
        &self,
        user: Uuid,
        stored: Option<&str>,
    ) -> Result<SealedPhone, SealError> {
        let Some(stored) = stored else {
            return Ok((None, None));
        };
        let number = self.open(user, stored).await?;
        let sealed = match value::parse(stored)? {
            Stored::Clear(_) => self.0.seal(&PHONE, &user.to_string(), &number).await?,
            Stored::Sealed { .. } => stored.to_string(),
        };
        Ok((Some(sealed), Some(self.index(&number).await?)))
    }
}

/// Seals and indexes every number a previous version stored readable: the members' numbers
/// (each by compare-and-set: a change made meanwhile wins) and, in the consent, reply code
/// and received-text tables, the number itself replaced by its index. Run as the service
/// starts (before it serves) and every few minutes after (what an instance of the previous
/// version still writes during a rolling upgrade). Returns how many numbers it converted.
pub async fn convert(db: &Db, phones: &Phones) -> anyhow::Result<u64> {
    let mut converted = 0;
    loop {
        let rows = store::settings_without_index(db, CONVERT_BATCH).await?;
        let mut progressed = false;
        for (user, phone, pending) in &rows {
            let sealed = async {
                Ok::<_, SealError>((
                    phones.sealed_and_indexed(*user, phone.as_deref()).await?,
                    phones.sealed_and_indexed(*user, pending.as_deref()).await?,
                ))
            };
            let (p, q) = match sealed.await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(user_id = %user, error = %e, "a member's number that does not open is left as it is");
                    continue;
                }
            };
            let old = (phone.as_deref(), pending.as_deref());
            if store::seal_settings_phones(db, *user, old, &p, &q).await? {
                converted += 1;
                progressed = true;
            }
        }
        if (rows.len() as i64) < CONVERT_BATCH || !progressed {
            break;
        }
    }
    loop {
        let numbers = store::unindexed_numbers(db, CONVERT_BATCH).await?;
        for number in &numbers {
            store::index_number(db, number, &phones.index(number).await?).await?;
            converted += 1;
        }
        if (numbers.len() as i64) < CONVERT_BATCH {
            break;
        }
    }
    if converted > 0 {
        tracing::info!(
            numbers = converted,
            "phone numbers stored readable were sealed and indexed"
        );
    }
    Ok(converted)
}

impl Notifications {
    /// [`convert`] now (what the service does as it starts and every five minutes).
    pub async fn seal_stored_numbers(&self) -> anyhow::Result<u64> {
        convert(&self.db, &self.phones).await
    }
}

/// [`convert`] every `every` while the service lives.
pub(crate) async fn job(notifications: Weak<Notifications>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first pass ran as the service started
    loop {
        tick.tick().await;
        let Some(n) = notifications.upgrade() else {
            return;
        };
        if let Err(e) = n.seal_stored_numbers().await {
            tracing::warn!(error = %format!("{e:#}"), "sealing numbers stored readable failed; will retry");
        }
    }
}
