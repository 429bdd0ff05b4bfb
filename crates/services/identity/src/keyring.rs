//! The signing keys, loaded from the store and kept in memory. The newest key signs; every
//! key verifies until its `expires_at`, which is its signing period plus the longest access
//! token lifetime, so rotation never invalidates a token that is still in date. Private
//! keys are stored sealed (`crate::sealed::SIGNING_KEY`).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use lanerunner_platform::sealing::FieldSealer;
use lanerunner_platform::Db;

use crate::domain::{AccessClaims, KeySet, SigningKey, TokenError};
use crate::store::{self, SigningKeyRow};

pub struct Keyring {
    db: Db,
    sealer: Arc<FieldSealer>,
    issuer: String,
    audience: String,
    rotation: chrono::Duration,
    access_ttl: chrono::Duration,
    keys: RwLock<Option<KeySet>>,
    /// When the set was last read from the store, to bound reloads on unknown kids.
    loaded_at: RwLock<DateTime<Utc>>,
}

/// An unknown kid may be a key another instance just made; re-read at most this often.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(5);

impl Keyring {
    pub async fn open(
        db: Db,
        sealer: Arc<FieldSealer>,
        issuer: String,
        audience: String,
        rotation_days: i64,
        access_ttl_secs: i64,
    ) -> anyhow::Result<Self> {
        let ring = Self {
            db,
            sealer,
            issuer,
            audience,
            rotation: chrono::Duration::days(rotation_days),
            access_ttl: chrono::Duration::seconds(access_ttl_secs),
            keys: RwLock::new(None),
            loaded_at: RwLock::new(DateTime::<Utc>::MIN_UTC),
        };
        ring.seal_clear_keys().await?;
        ring.reload().await?;
        ring.ensure_fresh_key(Utc::now()).await?;
        Ok(ring)
    }

    /// Seals the private keys written before keys were sealed (each once, by
    /// compare-and-set, so instances starting together agree).
    async fn seal_clear_keys(&self) -> anyhow::Result<()> {
        for row in store::load_signing_keys(&self.db).await? {
            if row.private_key.is_none() && !row.pkcs8_der.is_empty() {
                let sealed = self.seal(&row.kid, &row.pkcs8_der).await?;
                if store::seal_signing_key(&self.db, &row.kid, &sealed).await? {
                    tracing::info!(kid = %row.kid, "signing key sealed");
                }
            }
        }
        Ok(())
    }

    async fn seal(&self, kid: &str, der: &[u8]) -> anyhow::Result<String> {
        Ok(self
            .sealer
            .seal(&crate::sealed::SIGNING_KEY, kid, &B64.encode(der))
            .await?)
    }

    async fn private_key(&self, row: &SigningKeyRow) -> anyhow::Result<Vec<u8>> {
        match &row.private_key {
            Some(sealed) => {
                let b64 = self
                    .sealer
                    .open(&crate::sealed::SIGNING_KEY, &row.kid, sealed)
                    .await?;
                Ok(B64.decode(b64)?)
            }
            None => Ok(row.pkcs8_der.clone()),
        }
    }

    async fn reload(&self) -> anyhow::Result<()> {
        let rows = store::load_signing_keys(&self.db).await?;
        let now = Utc::now();
        let mut set: Option<KeySet> = None;
        // Rows come oldest first; rotating through them leaves the newest active.
        for row in rows.into_iter().filter(|r| r.expires_at > now) {
            let pkcs8_der = self.private_key(&row).await?;
            let key = SigningKey {
                kid: row.kid,
                pkcs8_der,
                public_key: row.public_key,
                created_at: row.created_at,
                expires_at: row.expires_at,
            };
            match &mut set {
                None => set = Some(KeySet::new(self.issuer.clone(), self.audience.clone(), key)),
                Some(s) => s.rotate(key),
            }
        }
        *self.keys.write().expect("keyring lock") = set;
        *self.loaded_at.write().expect("keyring lock") = now;
        Ok(())
    }

    /// Makes a new key if there is none or the active one has signed for a full period.
    pub async fn ensure_fresh_key(&self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let stale = {
            let keys = self.keys.read().expect("keyring lock");
            keys.as_ref()
                .and_then(|k| k.active_key().map(|a| now - a.created_at >= self.rotation))
                .unwrap_or(true)
        };
        if stale {
            self.rotate(now).await?;
        }
        Ok(())
    }

    /// Adds a new active key; returns its kid.
    pub async fn rotate(&self, now: DateTime<Utc>) -> anyhow::Result<String> {
        let key = SigningKey::generate(now, self.rotation + self.access_ttl)?;
        store::insert_signing_key(
            &self.db,
            &SigningKeyRow {
                kid: key.kid.clone(),
                pkcs8_der: Vec::new(),
                private_key: Some(self.seal(&key.kid, &key.pkcs8_der).await?),
                public_key: key.public_key.clone(),
                created_at: key.created_at,
                expires_at: key.expires_at,
            },
        )
        .await?;
        let kid = key.kid.clone();
        self.reload().await?;
        tracing::info!(%kid, "signing key rotated");
        Ok(kid)
    }

    pub async fn sign(&self, claims: &AccessClaims) -> anyhow::Result<String> {
        self.ensure_fresh_key(Utc::now()).await?;
        let keys = self.keys.read().expect("keyring lock");
        let set = keys
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        Ok(set.sign(claims)?)
    }

    pub async fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let now = Utc::now();
        let first = self.verify_loaded(token, now);
        if matches!(first, Err(TokenError::UnknownKey)) {
            let since = now - *self.loaded_at.read().expect("keyring lock");
            if since.to_std().unwrap_or_default() >= RELOAD_AT_MOST_EVERY
                && self.reload().await.is_ok()
            {
                return self.verify_loaded(token, now);
            }
        }
        first
    }

    fn verify_loaded(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let keys = self.keys.read().expect("keyring lock");
        keys.as_ref()
            .ok_or(TokenError::UnknownKey)?
            .verify(token, now)
    }

    pub fn jwks(&self) -> serde_json::Value {
        let keys = self.keys.read().expect("keyring lock");
        keys.as_ref()
            .map(|k| k.jwks(Utc::now()))
            .unwrap_or_else(|| serde_json::json!({ "keys": [] }))
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }
}
