//! Encryption of backup parts: age (age-encryption.org/v1) to X25519 recipients, so the
//! instance that writes a backup holds only public keys and cannot read one back, and an
//! operator can open any part with the standard `age` or `rage` tools. Checksums are over
//! the encrypted object, so `backup verify` can prove a backup whole without its keys.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::str::FromStr as _;

use age::x25519::{Identity, Recipient};
use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

/// Parses the configured recipients (`setting` names them in errors).
pub fn recipients(list: &[String], setting: &str) -> anyhow::Result<Vec<Recipient>> {
    list.iter()
        .map(|r| {
            Recipient::from_str(r.trim()).map_err(|e| {
                anyhow::anyhow!("{setting}: {r:?} is not an age recipient (age1…): {e}")
            })
        })
        .collect()
}

/// Reads an age identity file (`AGE-SECRET-KEY-1…` lines; `#` comments and blank lines
/// ignored), as `age-keygen` and `lanerunner backup keygen` write it.
pub fn read_identities(path: &Path) -> anyhow::Result<Vec<Identity>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the identity file {}", path.display()))?;
    let ids: Vec<Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            Identity::from_str(l).map_err(|e| {
                anyhow::anyhow!("{}: a line is not an age identity: {e}", path.display())
            })
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!ids.is_empty(), "{} holds no age identity", path.display());
    Ok(ids)
}

pub fn encrypt(plaintext: &[u8], to: &[Recipient]) -> anyhow::Result<Vec<u8>> {
    anyhow::ensure!(!to.is_empty(), "no recipients to encrypt to");
    let encryptor = age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(out)
}

/// Decrypts and authenticates: a flipped bit anywhere fails, it is never returned.
pub fn decrypt(ciphertext: &[u8], with: &[Identity]) -> Result<Vec<u8>, String> {
    let decryptor = age::Decryptor::new(ciphertext).map_err(|e| e.to_string())?;
    let mut reader = decryptor
        .decrypt(with.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => {
                "none of the given identities can open it (a key of another deployment?)"
                    .to_string()
            }
            other => other.to_string(),
        })?;
    let mut out = Vec::with_capacity(ciphertext.len());
    reader.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A new identity file's text (with its public key as a comment, as `age-keygen` writes).
pub fn new_identity() -> (String, String) {
    use age::secrecy::ExposeSecret as _;
    let identity = Identity::generate();
    let public = identity.to_public().to_string();
    let text = format!(
        "# created: {}\n# public key: {public}\n{}\n",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        identity.to_string().expose_secret()
    );
    (text, public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_opens_only_with_a_matching_identity_and_unaltered() {
        let (text, public) = new_identity();
        let dir = std::env::temp_dir().join(format!("lr-seal-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("id.txt");
        std::fs::write(&file, text).unwrap();
        let ids = read_identities(&file).unwrap();
        let to = recipients(&[public], "backup.recipients").unwrap();

        let sealed = encrypt(b"the ledger", &to).unwrap();
        assert_eq!(decrypt(&sealed, &ids).unwrap(), b"the ledger");

        let mut flipped = sealed.clone();
        let last = flipped.len() - 5;
        flipped[last] ^= 1;
        assert!(decrypt(&flipped, &ids).is_err(), "tampering is detected");

        let (other, _) = new_identity();
        std::fs::write(&file, other).unwrap();
        let wrong = read_identities(&file).unwrap();
        assert!(decrypt(&sealed, &wrong)
            .unwrap_err()
            .contains("none of the given identities"));

        assert!(recipients(&["age1nope".into()], "backup.recipients").is_err());
        std::fs::write(&file, "# only a comment\n").unwrap();
        assert!(read_identities(&file).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
