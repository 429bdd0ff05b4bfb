//! Envelope encryption, pure: every object is sealed with its own data key (AES-256-GCM,
//! a fresh 96-bit nonce), and the data key is kept only wrapped by a key-encryption key
//! (KEK) of some version (see [`crate::keyring`]). The object's id is the additional
//! authenticated data, so a stored object moved under another id does not open.
//!
//! Rotating the KEK rewraps each data key (a few dozen bytes) and never rewrites an object.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

pub const KEY_LEN: usize = 32;

/// The bytes a sealed value adds to its plaintext: the nonce in front, the tag behind.
pub const OVERHEAD: usize = NONCE_LEN + 16;

/// One object's data key. Not `Debug`, not serialized: it exists unwrapped only in memory.
pub struct DataKey(pub(crate) [u8; KEY_LEN]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Wrong key, wrong id, or bytes changed since they were sealed.
    #[error("the sealed bytes do not open with this key (altered, or another object's)")]
    Unopenable,
    #[error("the system random generator failed")]
    Random,
}

impl DataKey {
    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut k)
            .map_err(|_| CryptoError::Random)?;
        Ok(DataKey(k))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let k: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::Unopenable)?;
        Ok(DataKey(k))
    }

    /// `nonce ‖ ciphertext ‖ tag`, with `aad` bound in (the plaintext is copied once, into
    /// the sealed buffer, and encrypted there).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(&self.0, aad, plaintext)
    }

    /// The plaintext of what [`DataKey::seal`] made with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
        open_with(&self.0, aad, sealed)
    }
}

pub(crate) fn seal_with(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Unopenable)?);
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| CryptoError::Random)?;
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Unopenable)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

pub(crate) fn open_with(
    key: &[u8; KEY_LEN],
    aad: &[u8],
    mut sealed: Vec<u8>,
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < OVERHEAD {
        return Err(CryptoError::Unopenable);
    }
    let key =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::Unopenable)?);
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN])
        .map_err(|_| CryptoError::Unopenable)?;
    let len = key
        .open_within(nonce, Aad::from(aad), &mut sealed, NONCE_LEN..)
        .map_err(|_| CryptoError::Unopenable)?
        .len();
    sealed.truncate(len);
    Ok(sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_sealed_opens_with_its_key_and_id_only() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(b"object-1", b"proof of delivery").unwrap();
        assert_eq!(sealed.len(), 17 + OVERHEAD);
        assert!(
            !sealed.windows(8).any(|w| w == b"delivery"),
            "the plaintext is not in the sealed bytes"
        );
        assert_eq!(
            key.open(b"object-1", sealed.clone()).unwrap(),
            b"proof of delivery"
        );
        // Another object's id, another key, one flipped bit, or a truncation: refused.
        assert_eq!(
            key.open(b"object-2", sealed.clone()),
            Err(CryptoError::Unopenable)
        );
        let other = DataKey::generate().unwrap();
        assert_eq!(
            other.open(b"object-1", sealed.clone()),
            Err(CryptoError::Unopenable)
        );
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert_eq!(key.open(b"object-1", flipped), Err(CryptoError::Unopenable));
        assert_eq!(
            key.open(b"object-1", sealed[..10].to_vec()),
            Err(CryptoError::Unopenable)
        );
    }

    #[test]
    fn the_same_plaintext_seals_differently_each_time() {
        let key = DataKey::generate().unwrap();
        let a = key.seal(b"id", &[0; 64]).unwrap();
        let b = key.seal(b"id", &[0; 64]).unwrap();
        assert_ne!(a, b, "a fresh nonce every time");
        assert_eq!(key.open(b"id", a).unwrap(), vec![0; 64]);
        assert_eq!(key.open(b"id", vec![]), Err(CryptoError::Unopenable));
    }
}
