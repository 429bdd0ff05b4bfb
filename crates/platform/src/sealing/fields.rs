//! [`FieldSealer`]: sealing a service's sensitive fields under its store's data keys.
//!
//! Each value is sealed with the store's active data key (AES-256-GCM) and bound, as
//! additional authenticated data, to what it is and whose it is (`users.totp_secret|<user
//! id>`), so a sealed value copied onto another record or field does not open. Data keys
//! are unwrapped once (through the [`KeyWrapper`]) and kept in memory; the active one is
//! re-read every `active_refresh` so a rotation made by another instance is used for new
//! writes within that time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::envelope::DataKey;
use super::kek::{KeyWrapper, WrappedKey};
use super::store::{self, DataKeyRow, RowKey};
use super::value::{self, Malformed, Stored};
use crate::Db;

/// How a sealed column's record is identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Uuid,
    Text,
}

/// A column that holds sealed values: where it is, and what its values are (the name bound
/// into every value, shared by columns whose values move between them, such as a pending
/// and a confirmed secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedField {
    pub table: &'static str,
    pub column: &'static str,
    pub id_column: &'static str,
    pub id_kind: IdKind,
    pub purpose: &'static str,
}

impl SealedField {
    fn aad(&self, row: &str) -> Vec<u8> {
        format!("{}|{row}", self.purpose).into_bytes()
    }

    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "sealed under data key version {0}, which was retired: the value can no longer be opened"
    )]
    Retired(u32),
    #[error("sealed under data key version {0}, which this store does not have")]
    UnknownKey(u32),
    #[error("the sealed {field} of {row} does not open: altered, copied from another record, or under a wrong key")]
    Unopenable { field: String, row: String },
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error("the key-encryption key: {0:#}")]
    Kek(anyhow::Error),
    #[error("the data key store: {0}")]
    Store(#[from] sqlx::Error),
    #[error("the system random generator failed")]
    Random,
}

struct Keys {
    active: Option<(u32, Arc<DataKey>)>,
    open: HashMap<u32, Arc<DataKey>>,
    retired: HashSet<u32>,
}

pub struct FieldSealer {
    db: Db,
    kek: Arc<dyn KeyWrapper>,
    keys: RwLock<Keys>,
    /// The store's blind-index key, unwrapped once (it never changes).
    index_key: tokio::sync::OnceCell<Arc<DataKey>>,
}

/// The name of a store's one blind-index key in `index_keys`.
const INDEX_KEY: &str = "blind-index";
/// What every blind index starts with (so a value that is one is told from one that is not).
pub const BLIND_INDEX_PREFIX: &str = "bi1.";

/// What one data key version still protects (`lanerunner keys`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyUse {
    pub version: u32,
    pub kek: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub replaced_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
    /// Values sealed under it, by field (`table.column`).
    pub protects: BTreeMap<String, u64>,
}

/// A store's keys and what they protect, with the values not yet sealed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyReport {
    pub keys: Vec<KeyUse>,
    pub clear: BTreeMap<String, u64>,
    /// The blind-index key, if the store has one: the key-encryption key that wraps it.
    pub index_key_kek: Option<String>,
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Values moved from an older data key to the active one.
    pub resealed: u64,
    /// Values that were in the clear and are now sealed.
    pub sealed: u64,
    /// Values that could not be opened (logged; left as they are).
    pub unopenable: u64,
    /// Data keys moved to the current key-encryption key.
    pub rewrapped: u64,
    /// Data keys retired.
    pub retired: Vec<u32>,
}

impl FieldSealer {
    /// The sealer of a store whose service seals fields: reads (or makes) the store's active
    /// data key now, so a KEK that does not unwrap it stops the start-up with the reason. A
    /// task re-reads the data keys every `active_refresh` (unwrapping any new one), so
    /// sealing and opening never touch the store themselves: they are safe inside a
    /// transaction.
    pub async fn connect(
        db: Db,
        kek: Arc<dyn KeyWrapper>,
        active_refresh: Duration,
    ) -> Result<Arc<Self>, SealError> {
        let sealer = Self::lazy(db, kek, active_refresh);
        sealer.refresh_active().await?;
        Ok(sealer)
    }

    /// The sealer of a store whose service seals nothing (yet): it reads no data key, and
    /// makes none, until it is first used; its refresh task stays idle until then.
    pub fn lazy(db: Db, kek: Arc<dyn KeyWrapper>, active_refresh: Duration) -> Arc<Self> {
        let sealer = Arc::new(Self {
            db,
            kek,
            keys: RwLock::new(Keys {
                active: None,
                open: HashMap::new(),
                retired: HashSet::new(),
            }),
            index_key: tokio::sync::OnceCell::new(),
        });
        let weak = Arc::downgrade(&sealer);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(active_refresh).await;
                let Some(sealer) = weak.upgrade() else { return };
                if sealer.keys.read().expect("sealer lock").active.is_none() {
                    continue;
                }
                if let Err(e) = sealer.refresh_active().await {
                    tracing::warn!(error = %e, "re-reading the data keys failed; the last ones read stay in use");
                }
            }
        });
        sealer
    }

    /// `plaintext` sealed for `field` of record `row`.
    pub async fn seal(
        &self,
        field: &SealedField,
        row: &str,
        plaintext: &str,
    ) -> Result<String, SealError> {
        let (version, key) = self.active().await?;
        let sealed = key
            .seal(&field.aad(row), plaintext.as_bytes())
            .map_err(|_| SealError::Random)?;
        Ok(value::format(version, &sealed))
    }

    /// The plaintext of `stored` (a value written before sealing existed is returned as is).
    pub async fn open(
        &self,
        field: &SealedField,
        row: &str,
        stored: &str,
    ) -> Result<String, SealError> {
        match value::parse(stored)? {
            Stored::Clear(s) => Ok(s.to_string()),
            Stored::Sealed { version, bytes } => {
                let key = self.key(version).await?;
                let unopenable = || SealError::Unopenable {
                    field: field.name(),
                    row: row.to_string(),
                };
                let plain = key.open(&field.aad(row), bytes).map_err(|_| unopenable())?;
                String::from_utf8(plain).map_err(|_| unopenable())
            }
        }
    }

    /// The blind index of `value` for `purpose`: HMAC-SHA256 under the store's blind-index
    /// key, so equal values have equal indexes (a lookup by equality, a unique key) while the
    /// index reveals nothing of the value without the key — unlike a plain hash, which a
    /// list of every North American phone number (a few billion) would invert in minutes.
    /// The purpose is part of the message: one number's index differs between two uses.
    /// The key is made on first use and read once; call this outside a transaction the
    /// first time (or after [`Self::ensure_index_key`]).
    pub async fn blind_index(&self, purpose: &str, value: &str) -> Result<String, SealError> {
        use hmac::Mac as _;
        let key = self.index_key().await?;
        let mut mac =
            <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&key.0).expect("any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        Ok(format!(
            "{BLIND_INDEX_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
        ))
    }

    /// Reads (or makes) the blind-index key now, so later indexes need no store access.
    pub async fn ensure_index_key(&self) -> Result<(), SealError> {
        self.index_key().await.map(|_| ())
    }

    async fn index_key(&self) -> Result<Arc<DataKey>, SealError> {
        self.index_key
            .get_or_try_init(|| async {
                if store::index_key(&self.db, INDEX_KEY).await?.is_none() {
                    let key = DataKey::generate().map_err(|_| SealError::Random)?;
                    let wrapped = self.kek.wrap(&key).await.map_err(SealError::Kek)?;
                    store::insert_index_key(
                        &self.db,
                        INDEX_KEY,
                        &wrapped.kek,
                        &B64.encode(&wrapped.bytes),
                        Utc::now(),
                    )
                    .await?;
                }
                // Read back: another instance's key may have been stored first.
                let (kek, wrapped) = store::index_key(&self.db, INDEX_KEY)
                    .await?
                    .ok_or(SealError::UnknownKey(0))?;
                Ok(Arc::new(
                    self.unwrap_stored(&kek, &wrapped, "the blind-index key")
                        .await?,
                ))
            })
            .await
            .cloned()
    }

    async fn unwrap_stored(
        &self,
        kek: &str,
        wrapped: &str,
        what: &str,
    ) -> Result<DataKey, SealError> {
        let bytes = B64
            .decode(wrapped)
            .map_err(|e| SealError::Kek(anyhow::anyhow!("{what} is not base64: {e}")))?;
        self.kek
            .unwrap(&WrappedKey {
                kek: kek.to_string(),
                bytes,
            })
            .await
            .map_err(SealError::Kek)
    }

    async fn active(&self) -> Result<(u32, Arc<DataKey>), SealError> {
        if let Some(active) = &self.keys.read().expect("sealer lock").active {
            return Ok(active.clone());
        }
        self.refresh_active().await
    }

    /// Re-reads the data keys (unwrapping any not yet in memory, so opening a value under a
    /// key made by another instance needs no store read); makes the first one if the store
    /// has none.
    async fn refresh_active(&self) -> Result<(u32, Arc<DataKey>), SealError> {
        let rows = store::load(&self.db).await?;
        let active = match rows.iter().find(|r| r.state == "active") {
            Some(row) => row.clone(),
            None => {
                // A first start: one data key. Another instance may make it at the same
                // instant; then its key is the one, and this one is read back.
                match self.create_active().await {
                    Ok(_) => {}
                    Err(SealError::Store(e)) if crate::db::is_unique_violation(&e) => {}
                    Err(e) => return Err(e),
                }
                store::load(&self.db)
                    .await?
                    .into_iter()
                    .find(|r| r.state == "active")
                    .ok_or(SealError::UnknownKey(0))?
            }
        };
        let key = self.unwrap_row(&active).await?;
        for row in rows.iter().filter(|r| r.state == "draining") {
            if let Err(e) = self.unwrap_row(row).await {
                tracing::warn!(version = row.version, error = %e, "a replaced data key does not unwrap");
            }
        }
        let mut keys = self.keys.write().expect("sealer lock");
        for r in rows.iter().filter(|r| r.state == "retired") {
            keys.retired.insert(r.version);
            keys.open.remove(&r.version);
        }
        keys.active = Some((active.version, key.clone()));
        Ok((active.version, key))
    }

    async fn create_active(&self) -> Result<u32, SealError> {
        let dek = DataKey::generate().map_err(|_| SealError::Random)?;
        let wrapped = self.kek.wrap(&dek).await.map_err(SealError::Kek)?;
        let version = store::insert_active(
            &self.db,
            &wrapped.kek,
            &B64.encode(&wrapped.bytes),
            Utc::now(),
        )
        .await?;
        let mut keys = self.keys.write().expect("sealer lock");
        let dek = Arc::new(dek);
        keys.open.insert(version, dek.clone());
        keys.active = Some((version, dek));
        Ok(version)
    }

    async fn unwrap_row(&self, row: &DataKeyRow) -> Result<Arc<DataKey>, SealError> {
        if row.state == "retired" {
            return Err(SealError::Retired(row.version));
        }
        if let Some(k) = self
            .keys
            .read()
            .expect("sealer lock")
            .open
            .get(&row.version)
        {
            return Ok(k.clone());
        }
        let what = format!("data key {}", row.version);
        let dek = Arc::new(self.unwrap_stored(&row.kek, &row.wrapped, &what).await?);
        self.keys
            .write()
            .expect("sealer lock")
            .open
            .insert(row.version, dek.clone());
        Ok(dek)
    }

    async fn key(&self, version: u32) -> Result<Arc<DataKey>, SealError> {
        {
            let keys = self.keys.read().expect("sealer lock");
            if let Some(k) = keys.open.get(&version) {
                return Ok(k.clone());
            }
            if keys.retired.contains(&version) {
                return Err(SealError::Retired(version));
            }
        }
        let rows = store::load(&self.db).await?;
        let row = rows
            .iter()
            .find(|r| r.version == version)
            .ok_or(SealError::UnknownKey(version))?;
        if row.state == "retired" {
            self.keys
                .write()
                .expect("sealer lock")
                .retired
                .insert(version);
        }
        self.unwrap_row(row).await
    }

    /// A new data key, active for this instance's writes at once (and every other
    /// instance's within `active_refresh`); returns its version. The sweep then re-seals
    /// what the old one protects.
    pub async fn rotate(&self) -> Result<u32, SealError> {
        let version = self.create_active().await?;
        tracing::info!(version, "data key rotated");
        Ok(version)
    }

    /// Re-seals every value of `fields` not under the active data key (older keys, and
    /// values still in the clear), `batch` at a time, each by compare-and-set; moves data
    /// keys to the current key-encryption key; retires replaced keys nothing uses any more
    /// once they were replaced at least `retire_after` ago.
    pub async fn sweep(
        &self,
        fields: &[SealedField],
        batch: u32,
        retire_after: Duration,
    ) -> Result<SweepReport, SealError> {
        let mut report = SweepReport::default();
        self.rewrap_keys(&mut report).await?;
        let (active, _) = self.refresh_active().await?;
        for field in fields {
            let mut after: Option<RowKey> = None;
            loop {
                let rows = store::not_under(&self.db, field, active, after.as_ref(), batch).await?;
                let Some((last, _)) = rows.last() else { break };
                after = Some(last.clone());
                // Sealed before the batch's transaction opens; each write is a
                // compare-and-set on the value read.
                let (mut clear, mut changes) = (Vec::new(), Vec::new());
                for (id, old) in &rows {
                    let row = id.to_string();
                    let plain = match self.open(field, &row, old).await {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(field = %field.name(), %row, error = %e, "a sealed value that cannot be opened is left as it is");
                            report.unopenable += 1;
                            continue;
                        }
                    };
                    let new = self.seal(field, &row, &plain).await?;
                    let target = if matches!(value::parse(old), Ok(Stored::Clear(_))) {
                        &mut clear
                    } else {
                        &mut changes
                    };
                    target.push((id.clone(), old.clone(), new));
                }
                report.sealed += store::replace_all(&self.db, field, &clear).await?;
                report.resealed += store::replace_all(&self.db, field, &changes).await?;
                if rows.len() < batch as usize {
                    break;
                }
            }
        }
        self.retire_unused(fields, retire_after, &mut report)
            .await?;
        Ok(report)
    }

    async fn rewrap_keys(&self, report: &mut SweepReport) -> Result<(), SealError> {
        let current = self.kek.current().await.map_err(SealError::Kek)?;
        for row in store::load(&self.db).await? {
            if row.state == "retired" || row.kek == current {
                continue;
            }
            let dek = self.unwrap_row(&row).await?;
            let wrapped = self.kek.wrap(&dek).await.map_err(SealError::Kek)?;
            if store::rewrap(
                &self.db,
                row.version,
                &row.kek,
                &wrapped.kek,
                &B64.encode(&wrapped.bytes),
            )
            .await?
            {
                tracing::info!(version = row.version, from = %row.kek, to = %wrapped.kek, "data key rewrapped");
                report.rewrapped += 1;
            }
        }
        // The blind-index key too: it outlives any key-encryption key version.
        for (name, kek, wrapped) in store::index_keys(&self.db).await? {
            if kek == current {
                continue;
            }
            let key = self
                .unwrap_stored(&kek, &wrapped, "the blind-index key")
                .await?;
            let new = self.kek.wrap(&key).await.map_err(SealError::Kek)?;
            if store::rewrap_index_key(&self.db, &name, &kek, &new.kek, &B64.encode(&new.bytes))
                .await?
            {
                tracing::info!(from = %kek, to = %new.kek, "blind-index key rewrapped");
                report.rewrapped += 1;
            }
        }
        Ok(())
    }

    async fn retire_unused(
        &self,
        fields: &[SealedField],
        retire_after: Duration,
        report: &mut SweepReport,
    ) -> Result<(), SealError> {
        let now = Utc::now();
        let grace = chrono::Duration::from_std(retire_after).unwrap_or(chrono::Duration::MAX);
        for row in store::load(&self.db).await? {
            let replaced_long_ago = row.replaced_at.is_some_and(|at| now - at >= grace);
            if row.state != "draining" || !replaced_long_ago {
                continue;
            }
            let mut used = 0;
            for field in fields {
                used +=
                    store::count(&self.db, field, Some(&value::like_version(row.version))).await?;
            }
            if used == 0 && store::retire(&self.db, row.version, now).await? {
                tracing::info!(version = row.version, "data key retired: nothing uses it");
                let mut keys = self.keys.write().expect("sealer lock");
                keys.open.remove(&row.version);
                keys.retired.insert(row.version);
                report.retired.push(row.version);
            }
        }
        Ok(())
    }

    /// Every data key of this store and what it still protects, by field.
    pub async fn report(&self, fields: &[SealedField]) -> Result<KeyReport, SealError> {
        let mut keys = Vec::new();
        for row in store::load(&self.db).await? {
            let mut protects = BTreeMap::new();
            for field in fields {
                let n =
                    store::count(&self.db, field, Some(&value::like_version(row.version))).await?;
                protects.insert(field.name(), n);
            }
            keys.push(KeyUse {
                version: row.version,
                kek: row.kek,
                state: row.state,
                created_at: row.created_at,
                replaced_at: row.replaced_at,
                retired_at: row.retired_at,
                protects,
            });
        }
        let mut clear = BTreeMap::new();
        for field in fields {
            clear.insert(field.name(), store::count(&self.db, field, None).await?);
        }
        let index_key_kek = store::index_keys(&self.db)
            .await?
            .into_iter()
            .find(|(name, _, _)| name == INDEX_KEY)
            .map(|(_, kek, _)| kek);
        Ok(KeyReport {
            keys,
            clear,
            index_key_kek,
        })
    }
}
