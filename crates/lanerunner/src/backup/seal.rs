//! Encryption of backup parts: age (age-encryption.org/v1) to X25519 recipients, so the
//! instance that writes a backup holds only public keys and cannot read one back, and an
//! operator can open any part with the standard `age` or `rage` tools. Checksums are over
//! the encrypted object, so `backup verify` can prove a backup whole without its keys.

use std::io::Write as _;
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

pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypts `header` then the file at `src` into a new file at `dst`, streamed (a store
/// copy is gigabytes); the SHA-256 and size of what was written.
pub fn encrypt_file(
    header: &[u8],
    src: &Path,
    dst: &Path,
    to: &[Recipient],
) -> anyhow::Result<(String, u64)> {
    anyhow::ensure!(!to.is_empty(), "no recipients to encrypt to");
    let encryptor = age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))?;
    let out = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dst)?),
        hasher: Sha256::new(),
        len: 0,
    };
    let mut writer = encryptor.wrap_output(out)?;
    writer.write_all(header)?;
    std::io::copy(
        &mut std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(src)?),
        &mut writer,
    )?;
    let mut out = writer.finish()?;
    out.flush()?;
    out.inner
        .into_inner()
        .map_err(|e| e.into_error())?
        .sync_all()?;
    Ok((hex(&out.hasher.finalize()), out.len))
}

/// Decrypts the file at `src` (authenticating every chunk) into `dst`, streamed; returns
/// the header line that precedes the payload, which is what goes to `dst`.
pub fn decrypt_file(src: &Path, dst: &Path, with: &[Identity]) -> Result<Vec<u8>, String> {
    use std::io::BufRead as _;
    let file = std::fs::File::open(src).map_err(|e| e.to_string())?;
    let decryptor = age::Decryptor::new_buffered(std::io::BufReader::with_capacity(1 << 20, file))
        .map_err(|e| e.to_string())?;
    let reader = decryptor
        .decrypt(with.iter().map(|i| i as &dyn age::Identity))
        .map_err(no_key)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let mut header = Vec::new();
    reader
        .read_until(b'\n', &mut header)
        .map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(dst).map_err(|e| e.to_string())?,
    );
    std::io::copy(&mut reader, &mut out).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(header)
}

fn no_key(e: age::DecryptError) -> String {
    match e {
        age::DecryptError::NoMatchingKeys => {
            "none of the given identities can open it (a key of another deployment?)".to_string()
        }
        other => other.to_string(),
    }
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

    fn sha256_hex(bytes: &[u8]) -> String {
        hex(&Sha256::digest(bytes))
    }

    #[test]
    fn a_part_opens_only_with_a_matching_identity_and_unaltered() {
        let (text, public) = new_identity();
        let dir = std::env::temp_dir().join(format!("lr-seal-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let (id_file, plain, sealed, opened) = (
            dir.join("id.txt"),
            dir.join("plain"),
            dir.join("sealed"),
            dir.join("opened"),
        );
        std::fs::write(&id_file, text).unwrap();
        let ids = read_identities(&id_file).unwrap();
        let to = recipients(&[public], "backup.recipients").unwrap();
        // More than one 64 KiB age chunk, so the stream is exercised.
        let payload: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        std::fs::write(&plain, &payload).unwrap();

        let (sum, len) = encrypt_file(b"{\"part\":1}\n", &plain, &sealed, &to).unwrap();
        let bytes = std::fs::read(&sealed).unwrap();
        assert_eq!((sum, len), (sha256_hex(&bytes), bytes.len() as u64));
        assert_eq!(
            decrypt_file(&sealed, &opened, &ids).unwrap(),
            b"{\"part\":1}\n"
        );
        assert_eq!(std::fs::read(&opened).unwrap(), payload);

        let mut flipped = bytes.clone();
        let at = flipped.len() / 2;
        flipped[at] ^= 1;
        std::fs::write(&sealed, &flipped).unwrap();
        assert!(
            decrypt_file(&sealed, &opened, &ids).is_err(),
            "tampering is detected"
        );

        std::fs::write(&sealed, &bytes).unwrap();
        let (other, _) = new_identity();
        std::fs::write(&id_file, other).unwrap();
        let wrong = read_identities(&id_file).unwrap();
        assert!(decrypt_file(&sealed, &opened, &wrong)
            .unwrap_err()
            .contains("none of the given identities"));

        assert!(recipients(&["age1nope".into()], "backup.recipients").is_err());
        std::fs::write(&id_file, "# only a comment\n").unwrap();
        assert!(read_identities(&id_file).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
