//! The storage service's key-encryption keys, kept in a JSON file
//! (`{"current": 2, "keys": {"1": "<base64>", "2": "<base64>"}}`): created with one key
//! on first start (embedded default, `<data_dir>/keys/storage-keyring.json`, readable by
//! its owner only), mounted from a secret at scale. The file is read again whenever it
//! changes, so `lanerunner keys rotate-storage` (or a new secret) takes effect without a
//! restart, and the rewrap sweep then moves every object to the new version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::Context as _;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use lanerunner_storage::keyring::{KeyEncryptionKeys, Keyring};
use rand::RngCore;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct KeyringJson {
    current: u32,
    keys: BTreeMap<u32, String>,
}

pub struct KeyringFile {
    path: PathBuf,
    loaded: Mutex<Option<(SystemTime, Arc<Keyring>)>>,
}

/// The keyring file `config` names (or the embedded default under the data directory).
pub fn path_of(config: &lanerunner_platform::config::Config) -> PathBuf {
    config
        .storage
        .keyring_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("keys").join("storage-keyring.json"))
}

fn new_key() -> String {
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    B64.encode(k)
}

fn read(path: &Path) -> anyhow::Result<KeyringJson> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the storage keyring {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "the storage keyring {} is not valid JSON of the expected shape",
            path.display()
        )
    })
}

/// Writes the file whole (temporary file, then rename), readable by its owner only from
/// its first byte.
fn write(path: &Path, ring: &KeyringJson) -> anyhow::Result<()> {
    write_bytes(path, &serde_json::to_vec_pretty(ring)?)
}

fn write_bytes(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Puts a keyring back from a backup, after checking it is one.
pub fn install(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let json: KeyringJson =
        serde_json::from_slice(bytes).context("the backed-up keyring is not a keyring")?;
    parse(json)?;
    write_bytes(path, bytes)
}

fn parse(json: KeyringJson) -> anyhow::Result<Keyring> {
    let mut keys = BTreeMap::new();
    for (v, k) in json.keys {
        keys.insert(
            v,
            B64.decode(k.trim())
                .with_context(|| format!("key version {v} is not base64"))?,
        );
    }
    Ok(Keyring::new(json.current, keys)?)
}

impl KeyringFile {
    /// Opens the keyring at `path`, creating it with one new key when it does not exist.
    pub fn open_or_create(path: PathBuf) -> anyhow::Result<Self> {
        if !path.exists() {
            write(
                &path,
                &KeyringJson {
                    current: 1,
                    keys: [(1, new_key())].into(),
                },
            )?;
            tracing::info!(path = %path.display(), "created the storage keyring with one key-encryption key");
        }
        parse(read(&path)?)?;
        Ok(Self {
            path,
            loaded: Mutex::new(None),
        })
    }
}

/// Adds a key version and makes it current; returns it. Old versions stay, so every object
/// stays readable while the sweep rewraps it.
pub fn rotate(path: &Path) -> anyhow::Result<u32> {
    let mut ring = read(path)?;
    let next = ring.keys.keys().max().copied().unwrap_or(0) + 1;
    ring.keys.insert(next, new_key());
    ring.current = next;
    parse(KeyringJson {
        current: ring.current,
        keys: ring.keys.clone(),
    })?;
    write(path, &ring)?;
    Ok(next)
}

#[async_trait]
impl KeyEncryptionKeys for KeyringFile {
    async fn keyring(&self) -> anyhow::Result<Arc<Keyring>> {
        let modified = std::fs::metadata(&self.path)?.modified()?;
        let mut loaded = self
            .loaded
            .lock()
            .expect("the keyring lock is never poisoned");
        if let Some((at, ring)) = loaded.as_ref() {
            if *at == modified {
                return Ok(ring.clone());
            }
        }
        let ring = Arc::new(parse(read(&self.path)?)?);
        *loaded = Some((modified, ring.clone()));
        Ok(ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_keyring_is_created_private_and_a_rotation_is_picked_up() {
        let dir = std::env::temp_dir().join(format!("lanerunner-keys-{}", uuid::Uuid::new_v4()));
        let path = dir.join("keys/storage-keyring.json");
        let file = KeyringFile::open_or_create(path.clone()).unwrap();
        assert_eq!(file.keyring().await.unwrap().current(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // A file system's clock may not tick between two writes in the same instant.
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(rotate(&path).unwrap(), 2);
        let ring = file.keyring().await.unwrap();
        assert_eq!(ring.current(), 2);
        assert_eq!(ring.versions().collect::<Vec<_>>(), [1, 2]);
        std::fs::write(&path, "{\"current\": 3, \"keys\": {}}").unwrap();
        assert!(
            KeyringFile::open_or_create(path.clone()).is_err(),
            "a keyring without its current key is refused"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
