//! The key-encryption keys, pure: numbered versions of 256-bit keys, one of them current.
//! New data keys are wrapped with the current version; any version present unwraps. Keeping
//! old versions until the rewrap sweep has moved every object off them is what lets objects
//! stay readable throughout a rotation. The keys also sign download links (a subkey of each
//! version, so a link outlives a rotation until it expires).
//!
//! Where the keyring lives is an adapter's business ([`KeyEncryptionKeys`]): a file the
//! binary keeps embedded, a secret mounted by Kubernetes, or a file a KMS decrypts.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::envelope::{open_with, seal_with, CryptoError, DataKey, KEY_LEN};

/// A data key wrapped by a KEK version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    pub version: u32,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("the keyring has no key version {0}")]
    MissingVersion(u32),
    #[error("key version {0} is not {KEY_LEN} bytes")]
    BadKey(u32),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

pub struct Keyring {
    current: u32,
    keys: BTreeMap<u32, [u8; KEY_LEN]>,
}

impl Keyring {
    /// `keys` by version; `current` must be one of them.
    pub fn new(current: u32, keys: BTreeMap<u32, Vec<u8>>) -> Result<Self, KeyringError> {
        let mut out = BTreeMap::new();
        for (v, k) in keys {
            let k: [u8; KEY_LEN] = k
                .as_slice()
                .try_into()
                .map_err(|_| KeyringError::BadKey(v))?;
            out.insert(v, k);
        }
        if !out.contains_key(&current) {
            return Err(KeyringError::MissingVersion(current));
        }
        Ok(Self { current, keys: out })
    }

    pub fn current(&self) -> u32 {
        self.current
    }

    pub fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    fn key(&self, version: u32) -> Result<&[u8; KEY_LEN], KeyringError> {
        self.keys
            .get(&version)
            .ok_or(KeyringError::MissingVersion(version))
    }

    /// The data key wrapped with the current version (bound to that version).
    pub fn wrap(&self, dek: &DataKey) -> Result<Wrapped, KeyringError> {
        let bytes = seal_with(self.key(self.current)?, &aad(self.current), &dek.0)?;
        Ok(Wrapped {
            version: self.current,
            bytes,
        })
    }

    pub fn unwrap(&self, w: &Wrapped) -> Result<DataKey, KeyringError> {
        let bytes = open_with(self.key(w.version)?, &aad(w.version), w.bytes.clone())?;
        Ok(DataKey::from_bytes(&bytes)?)
    }

    /// HMAC-SHA256 of `message` under version `version`'s link-signing subkey.
    pub fn mac(&self, version: u32, message: &[u8]) -> Result<[u8; 32], KeyringError> {
        let mut sub =
            <Hmac<Sha256> as Mac>::new_from_slice(self.key(version)?).expect("any key length");
        sub.update(b"lanerunner storage link signing");
        let subkey = sub.finalize().into_bytes();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&subkey).expect("any key length");
        mac.update(message);
        Ok(mac.finalize().into_bytes().into())
    }
}

fn aad(version: u32) -> Vec<u8> {
    format!("lanerunner data key, kek v{version}").into_bytes()
}

/// Where the service gets its keyring: read again when the operator rotates it.
#[async_trait]
pub trait KeyEncryptionKeys: Send + Sync + 'static {
    async fn keyring(&self) -> anyhow::Result<Arc<Keyring>>;
}

/// A fixed keyring (tests, benchmarks).
pub struct FixedKeys(pub Arc<Keyring>);

#[async_trait]
impl KeyEncryptionKeys for FixedKeys {
    async fn keyring(&self) -> anyhow::Result<Arc<Keyring>> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(current: u32, versions: &[u32]) -> Keyring {
        Keyring::new(
            current,
            versions.iter().map(|v| (*v, vec![*v as u8; 32])).collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_data_key_wrapped_by_an_old_version_unwraps_after_a_rotation() {
        let dek = DataKey::generate().unwrap();
        let v1 = ring(1, &[1]);
        let wrapped = v1.wrap(&dek).unwrap();
        assert_eq!(wrapped.version, 1);
        assert_eq!(wrapped.bytes.len(), 32 + crate::sealing::envelope::OVERHEAD);
        assert!(
            !wrapped.bytes.windows(32).any(|w| w == dek.0),
            "the data key is not in the clear"
        );
        let rotated = ring(2, &[1, 2]);
        let again = rotated.unwrap(&wrapped).unwrap();
        assert_eq!(again.0, dek.0);
        // Rewrapping moves it to the current version; the old version is then not needed.
        let rewrapped = rotated.wrap(&again).unwrap();
        assert_eq!(rewrapped.version, 2);
        assert_eq!(ring(2, &[2]).unwrap(&rewrapped).unwrap().0, dek.0);
        assert_eq!(
            ring(2, &[2]).unwrap(&wrapped).err(),
            Some(KeyringError::MissingVersion(1))
        );
    }

    #[test]
    fn a_wrapped_key_claiming_another_version_does_not_unwrap() {
        let r = ring(2, &[1, 2]);
        let w = r.wrap(&DataKey::generate().unwrap()).unwrap();
        let lying = Wrapped {
            version: 1,
            bytes: w.bytes,
        };
        assert!(matches!(r.unwrap(&lying), Err(KeyringError::Crypto(_))));
    }

    #[test]
    fn a_keyring_needs_its_current_version_and_whole_keys() {
        assert_eq!(
            Keyring::new(3, [(1, vec![0; 32])].into()).err(),
            Some(KeyringError::MissingVersion(3))
        );
        assert_eq!(
            Keyring::new(1, [(1, vec![0; 16])].into()).err(),
            Some(KeyringError::BadKey(1))
        );
    }

    #[test]
    fn link_macs_differ_by_version_and_message() {
        let r = ring(2, &[1, 2]);
        assert_ne!(r.mac(1, b"a").unwrap(), r.mac(2, b"a").unwrap());
        assert_ne!(r.mac(2, b"a").unwrap(), r.mac(2, b"b").unwrap());
        assert_eq!(r.mac(2, b"a").unwrap(), r.mac(2, b"a").unwrap());
        assert!(r.mac(9, b"a").is_err());
    }
}
