//! Time-limited download links, pure: `…/download?expires=<unix>&v=<kek version>&signature=<hex>`,
//! an HMAC over the object's id and expiry under a key version's link subkey. Anyone
//! holding the link may download until it expires, without a session (a driver's phone, an
//! email); changing any part of it breaks the signature.

use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::keyring::Keyring;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link has expired")]
    Expired,
    #[error("this link is not valid")]
    Invalid,
}

/// What a link carries besides the object's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub expires: i64,
    pub version: u32,
    pub signature: String,
}

fn message(id: Uuid, expires: i64) -> Vec<u8> {
    format!("download {id} until {expires}").into_bytes()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sign(keys: &Keyring, id: Uuid, expires: i64) -> anyhow::Result<Signed> {
    let version = keys.current();
    let mac = keys.mac(version, &message(id, expires))?;
    Ok(Signed {
        expires,
        version,
        signature: hex(&mac),
    })
}

/// Checks a link at `now` (unix seconds): the signature first, then the expiry, so an
/// altered expiry reads as invalid rather than as expired.
pub fn verify(keys: &Keyring, id: Uuid, link: &Signed, now: i64) -> Result<(), LinkError> {
    let mac = keys
        .mac(link.version, &message(id, link.expires))
        .map_err(|_| LinkError::Invalid)?;
    if !bool::from(hex(&mac).as_bytes().ct_eq(link.signature.as_bytes())) {
        return Err(LinkError::Invalid);
    }
    if now >= link.expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(current: u32) -> Keyring {
        Keyring::new(
            current,
            (1..=current).map(|v| (v, vec![v as u8; 32])).collect(),
        )
        .unwrap()
    }

    #[test]
    fn a_link_works_until_it_expires_and_only_for_its_object() {
        let keys = ring(1);
        let id = Uuid::now_v7();
        let link = sign(&keys, id, 1_000).unwrap();
        assert_eq!(verify(&keys, id, &link, 999), Ok(()));
        assert_eq!(verify(&keys, id, &link, 1_000), Err(LinkError::Expired));
        assert_eq!(
            verify(&keys, Uuid::now_v7(), &link, 999),
            Err(LinkError::Invalid)
        );
        let longer = Signed {
            expires: 9_999,
            ..link.clone()
        };
        assert_eq!(verify(&keys, id, &longer, 999), Err(LinkError::Invalid));
        let forged = Signed {
            signature: "00".repeat(32),
            ..link.clone()
        };
        assert_eq!(verify(&keys, id, &forged, 999), Err(LinkError::Invalid));
        let unknown = Signed { version: 7, ..link };
        assert_eq!(verify(&keys, id, &unknown, 999), Err(LinkError::Invalid));
    }

    #[test]
    fn a_link_signed_before_a_rotation_still_works() {
        let id = Uuid::now_v7();
        let link = sign(&ring(1), id, 1_000).unwrap();
        assert_eq!(verify(&ring(2), id, &link, 10), Ok(()));
    }
}
