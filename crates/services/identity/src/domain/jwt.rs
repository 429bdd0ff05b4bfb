//! Access tokens: short-lived JWTs signed with Ed25519 (EdDSA, RFC 8037).
//!
//! Ed25519 because signatures are small and fast, keys are 32 bytes, and there are no
//! parameters to get wrong. Verification accepts EdDSA only and picks the key by `kid`
//! from our own key set, never from the token, which shuts out the classic JWT attacks:
//! `alg: none`, and HS256 "signed" with the public key as the HMAC secret (RFC 8725
//! §2.1 and §3.1).
//!
//! Keys rotate: a new key becomes active for signing while older ones keep verifying
//! until their `expires_at`, which must be later than the `exp` of any token they signed.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use thiserror::Error;
use uuid::Uuid;

/// Clock skew tolerated on `exp` between the signer and the verifier.
pub const EXP_LEEWAY_SECONDS: i64 = 30;

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user, or the API key when a machine calls.
    pub sub: Uuid,
    /// The organization the caller acts for.
    pub org: Uuid,
    /// The caller's role in `org`, as `Role::as_str` writes it.
    pub role: String,
    /// What `org` is (`broker`, `carrier`, `shipper`): services decide what a caller may see
    /// by it without asking identity.
    pub org_kind: String,
    /// The refresh-token family (session) this token came from; `None` for API keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// Whether the session passed a second factor.
    pub mfa: bool,
    /// The organization requires MFA and this user has not enrolled: the token is good only
    /// for enrolling.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_enrollment_pending: bool,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// Unique token id, for audit logs and deny-lists.
    pub jti: Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    /// No key with the token's `kid`, or that key is past its verification cut-off.
    #[error("the token's signing key is unknown or retired")]
    UnknownKey,
    #[error("the token is not signed with EdDSA")]
    WrongAlgorithm,
    #[error("the token is for another audience or from another issuer")]
    WrongAudienceOrIssuer,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignError {
    #[error("the key set has no key with the active kid")]
    NoActiveKey,
    #[error("the token would expire after its signing key stops verifying")]
    OutlivesKey,
    #[error("signing failed: {0}")]
    Key(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Ed25519 key generation failed")]
pub struct KeyGenerationError;

/// One Ed25519 key pair. `Debug` does not print the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// base64url of the first 12 bytes of SHA-256 of `public_key`: short, derived from
    /// the key so it cannot collide with another key by mistake.
    pub kid: String,
    /// The private key as PKCS#8 v2 DER, as `ring` generates it.
    pub pkcs8_der: Vec<u8>,
    /// The raw 32-byte public key.
    pub public_key: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// After this instant tokens signed by this key no longer verify.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key, verifying until `now + lifetime`.
    pub fn generate(now: DateTime<Utc>, lifetime: Duration) -> Result<Self, KeyGenerationError> {
        let rng = SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyGenerationError)?;
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyGenerationError)?;
        let public_key = pair.public_key().as_ref().to_vec();
        Ok(Self {
            kid: kid_for(&public_key),
            pkcs8_der: pkcs8.as_ref().to_vec(),
            public_key,
            created_at: now,
            expires_at: now + lifetime,
        })
    }

    /// Whether the key still verifies at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// The key id for a raw public key.
pub fn kid_for(public_key: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(public_key)[..12])
}

/// The keys that verify our tokens, the one that signs new ones, and the issuer and
/// audience every token must name.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub issuer: String,
    pub audience: String,
    /// The kid of the key that signs new tokens.
    pub active: String,
    pub keys: Vec<SigningKey>,
}

impl KeySet {
    /// A set with one key, active.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, key: SigningKey) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            active: key.kid.clone(),
            keys: vec![key],
        }
    }

    /// Makes `key` the signing key; the others keep verifying until they expire.
    pub fn rotate(&mut self, key: SigningKey) {
        self.active = key.kid.clone();
        self.keys.push(key);
    }

    /// Drops keys that no longer verify, except the active one.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let active = self.active.clone();
        self.keys.retain(|k| k.kid == active || k.is_live(now));
    }

    pub fn active_key(&self) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == self.active)
    }

    /// Signs `claims` with the active key; the header names the key's kid.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, SignError> {
        let key = self.active_key().ok_or(SignError::NoActiveKey)?;
        if claims.exp > key.expires_at.timestamp() {
            return Err(SignError::OutlivesKey);
        }
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&key.pkcs8_der))
            .map_err(|e| SignError::Key(e.to_string()))
    }

    /// Verifies `token` at `now`: EdDSA only, a known and live kid, a good signature,
    /// our issuer and audience, and `exp` not passed by more than the leeway.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, TokenError> {
        let header = read_header(token)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::WrongAlgorithm);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid && k.is_live(now))
            .ok_or(TokenError::UnknownKey)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        // Time, issuer and audience are checked below against the caller's `now`.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::new();
        let decoded = jsonwebtoken::decode::<AccessClaims>(
            token,
            &DecodingKey::from_ed_der(&key.public_key),
            &validation,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => TokenError::BadSignature,
            ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm,
            _ => TokenError::Malformed,
        })?;
        let claims = decoded.claims;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(TokenError::WrongAudienceOrIssuer);
        }
        if now.timestamp() > claims.exp + EXP_LEEWAY_SECONDS {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The public keys still live at `now`, as a JWK Set (RFC 7517, OKP keys per
    /// RFC 8037), for `/.well-known/jwks.json`.
    pub fn jwks(&self, now: DateTime<Utc>) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .filter(|k| k.is_live(now))
            .map(|k| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(&k.public_key),
                    "kid": k.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

/// Reads the header ourselves, so an algorithm the JWT library has no name for
/// (`none`) is reported as the wrong algorithm rather than as garbage.
fn read_header(token: &str) -> Result<RawHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ISS: &str = "https://id.lanerunner.test";
    const AUD: &str = "lanerunner-api";

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn key_at(now: DateTime<Utc>) -> SigningKey {
        SigningKey::generate(now, Duration::hours(2)).unwrap()
    }

    fn claims(now: DateTime<Utc>, ttl_minutes: i64) -> AccessClaims {
        AccessClaims {
            sub: Uuid::now_v7(),
            org: Uuid::now_v7(),
            role: "dispatcher".into(),
            org_kind: "carrier".into(),
            sid: Some(Uuid::now_v7()),
            mfa: true,
            mfa_enrollment_pending: false,
            iat: now.timestamp(),
            exp: (now + Duration::minutes(ttl_minutes)).timestamp(),
            iss: ISS.into(),
            aud: AUD.into(),
            jti: Uuid::now_v7(),
        }
    }

    fn set() -> KeySet {
        KeySet::new(ISS, AUD, key_at(t0()))
    }

    fn b64(value: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    #[test]
    fn signed_token_verifies_and_round_trips_the_claims() {
        let ks = set();
        let c = claims(t0(), 15);
        let token = ks.sign(&c).unwrap();
        assert_eq!(ks.verify(&token, t0() + Duration::minutes(1)), Ok(c));
    }

    #[test]
    fn header_names_eddsa_and_the_active_kid() {
        let ks = set();
        let token = ks.sign(&claims(t0(), 15)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(ks.active.as_str()));
    }

    #[test]
    fn kid_is_16_chars_derived_from_the_public_key() {
        let k = key_at(t0());
        assert_eq!(k.public_key.len(), 32);
        assert_eq!(k.kid.len(), 16);
        assert_eq!(k.kid, kid_for(&k.public_key));
    }

    #[test]
    fn expired_token_is_refused_after_the_leeway() {
        let ks = set();
        let c = claims(t0(), 15);
        let token = ks.sign(&c).unwrap();
        let exp = t0() + Duration::minutes(15);
        assert!(ks.verify(&token, exp + Duration::seconds(30)).is_ok());
        assert_eq!(
            ks.verify(&token, exp + Duration::seconds(31)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampered_payload_fails_the_signature() {
        let ks = set();
        let token = ks.sign(&claims(t0(), 15)).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        payload["role"] = json!("owner");
        let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
        assert_eq!(ks.verify(&forged, t0()), Err(TokenError::BadSignature));
    }

    #[test]
    fn token_from_another_key_with_the_same_kid_fails_the_signature() {
        let ks = set();
        let mut impostor = key_at(t0());
        impostor.kid = ks.active.clone();
        let forged = KeySet::new(ISS, AUD, impostor)
            .sign(&claims(t0(), 15))
            .unwrap();
        assert_eq!(ks.verify(&forged, t0()), Err(TokenError::BadSignature));
    }

    #[test]
    fn unsigned_alg_none_token_is_refused() {
        let ks = set();
        let header = json!({"alg": "none", "typ": "JWT", "kid": ks.active});
        let payload = serde_json::to_value(claims(t0(), 15)).unwrap();
        let token = format!("{}.{}.", b64(&header), b64(&payload));
        assert_eq!(ks.verify(&token, t0()), Err(TokenError::WrongAlgorithm));
    }

    #[test]
    fn hs256_token_keyed_with_the_public_key_is_refused() {
        let ks = set();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(ks.active.clone());
        let public = &ks.active_key().unwrap().public_key;
        let token = jsonwebtoken::encode(
            &header,
            &claims(t0(), 15),
            &EncodingKey::from_secret(public),
        )
        .unwrap();
        assert_eq!(ks.verify(&token, t0()), Err(TokenError::WrongAlgorithm));
    }

    #[test]
    fn rs256_token_is_refused() {
        let ks = set();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": ks.active});
        let payload = serde_json::to_value(claims(t0(), 15)).unwrap();
        let token = format!("{}.{}.c2lnbmF0dXJl", b64(&header), b64(&payload));
        assert_eq!(ks.verify(&token, t0()), Err(TokenError::WrongAlgorithm));
    }

    #[test]
    fn unknown_kid_and_missing_kid_are_refused() {
        let ks = set();
        let other = KeySet::new(ISS, AUD, key_at(t0()));
        let token = other.sign(&claims(t0(), 15)).unwrap();
        assert_eq!(ks.verify(&token, t0()), Err(TokenError::UnknownKey));

        let header = json!({"alg": "EdDSA", "typ": "JWT"});
        let payload = serde_json::to_value(claims(t0(), 15)).unwrap();
        let token = format!("{}.{}.c2ln", b64(&header), b64(&payload));
        assert_eq!(ks.verify(&token, t0()), Err(TokenError::UnknownKey));
    }

    #[test]
    fn wrong_audience_or_issuer_is_refused() {
        let ks = set();
        let mut c = claims(t0(), 15);
        c.aud = "someone-else".into();
        let token = ks.sign(&c).unwrap();
        assert_eq!(
            ks.verify(&token, t0()),
            Err(TokenError::WrongAudienceOrIssuer)
        );

        let mut c = claims(t0(), 15);
        c.iss = "https://evil.test".into();
        let token = ks.sign(&c).unwrap();
        assert_eq!(
            ks.verify(&token, t0()),
            Err(TokenError::WrongAudienceOrIssuer)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let ks = set();
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!!.e30.sig"] {
            assert_eq!(ks.verify(bad, t0()), Err(TokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn old_key_verifies_after_rotation_until_its_expiry() {
        let mut ks = set();
        let old_token = ks.sign(&claims(t0(), 120)).unwrap();
        let t1 = t0() + Duration::minutes(30);
        ks.rotate(key_at(t1));
        let new_token = ks.sign(&claims(t1, 15)).unwrap();
        assert_ne!(
            jsonwebtoken::decode_header(&old_token).unwrap().kid,
            jsonwebtoken::decode_header(&new_token).unwrap().kid
        );
        assert!(ks.verify(&old_token, t1 + Duration::minutes(1)).is_ok());
        assert!(ks.verify(&new_token, t1 + Duration::minutes(1)).is_ok());

        // Retire the old key early, as after a suspected leak: its tokens stop verifying
        // even though they have not expired.
        ks.keys[0].expires_at = t1 + Duration::minutes(10);
        assert_eq!(
            ks.verify(&old_token, t1 + Duration::minutes(10)),
            Err(TokenError::UnknownKey)
        );
        assert!(ks.verify(&new_token, t1 + Duration::minutes(10)).is_ok());
    }

    #[test]
    fn token_outliving_its_key_is_not_signed() {
        let ks = set();
        assert_eq!(ks.sign(&claims(t0(), 121)), Err(SignError::OutlivesKey));
    }

    #[test]
    fn jwks_lists_only_live_keys_as_okp_ed25519() {
        let mut ks = set();
        let t1 = t0() + Duration::hours(1);
        ks.rotate(key_at(t1));
        let jwks = ks.jwks(t1);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        let first = &jwks["keys"][0];
        assert_eq!(first["kty"], "OKP");
        assert_eq!(first["crv"], "Ed25519");
        assert_eq!(first["alg"], "EdDSA");
        assert_eq!(first["use"], "sig");
        assert_eq!(first["kid"], ks.keys[0].kid.as_str());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(first["x"].as_str().unwrap())
                .unwrap(),
            ks.keys[0].public_key
        );

        let later = t0() + Duration::hours(2);
        let keys = ks.jwks(later)["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kid"], ks.active.as_str());
    }

    #[test]
    fn jwks_key_verifies_our_tokens_through_the_jwk_path() {
        let ks = set();
        let token = ks.sign(&claims(t0(), 15)).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(ks.jwks(t0())["keys"][0].clone()).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUD]);
        validation.validate_exp = false;
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        assert!(jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation).is_ok());
    }

    #[test]
    fn prune_drops_expired_keys_but_keeps_the_active_one() {
        let mut ks = set();
        ks.rotate(key_at(t0() + Duration::hours(1)));
        ks.prune(t0() + Duration::hours(5));
        assert_eq!(ks.keys.len(), 1);
        assert_eq!(ks.keys[0].kid, ks.active);
    }

    #[test]
    fn debug_does_not_print_the_private_key() {
        let k = key_at(t0());
        assert!(!format!("{k:?}").contains("pkcs8"));
    }
}
