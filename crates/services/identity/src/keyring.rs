//! The signing keys, loaded from the store and kept in memory. The newest key signs; every
//! key verifies until its `expires_at`, which is its signing period plus the longest access
//! token lifetime, so rotation never invalidates a token that is still in date.

use std::sync::RwLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lanerunner_platform::Db;

use crate::domain::{AccessClaims, KeySet, SigningKey, TokenError};
use crate::store::{self, SigningKeyRow};

pub struct Keyring {
    db: Db,
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
        issuer: String,
        audience: String,
        rotation_days: i64,
        access_ttl_secs: i64,
    ) -> anyhow::Result<Self> {
        let ring = Self {
            db,
            issuer,
            audience,
            rotation: chrono::Duration::days(rotation_days),
            access_ttl: chrono::Duration::seconds(access_ttl_secs),
            keys: RwLock::new(None),
            loaded_at: RwLock::new(DateTime::<Utc>::MIN_UTC),
        };
        ring.reload().await?;
        ring.ensure_fresh_key(Utc::now()).await?;
        Ok(ring)
    }

    async fn reload(&self) -> anyhow::Result<()> {
        let rows = store::load_signing_keys(&self.db).await?;
        let now = Utc::now();
        let mut set: Option<KeySet> = None;
        // Rows come oldest first; rotating through them leaves the newest active.
        for row in rows.into_iter().filter(|r| r.expires_at > now) {
            let key = SigningKey {
                kid: row.kid,
                pkcs8_der: row.pkcs8_der,
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
                pkcs8_der: key.pkcs8_der.clone(),
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
