//! `lanerunner backup`: consistent online backups of every service's store, the stored
//! files and the key material — encrypted (age, to public keys), checksummed, kept for
//! `backup.keep` — and a restore that touches nothing until every part has been fetched,
//! checksummed, decrypted, matched to its manifest and checked.
//!
//! A backup is a folder `<id>/` at the backup location (a directory, or S3): one encrypted
//! object per part and `manifest.json`, written last.

pub mod manifest;
mod seal;
mod stores;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Utc;
use lanerunner_platform::blob::{self, Blobs};
use lanerunner_platform::config::KekBackend;
use lanerunner_platform::Config;
use serde::Serialize;

use crate::registry::SERVICES;
use manifest::{Manifest, Part, PartHeader, PartKind, Refusal, StoreKind};

pub use seal::new_identity;

/// Stored files per blobs part, at most (before encryption).
const BLOBS_PER_PART_BYTES: usize = 64 << 20;

const KEYRING_PART: &str = "keys/storage-keyring.json";

fn destination(config: &Config) -> anyhow::Result<Blobs> {
    blob::open(&config.backup.store(&config.data_dir), &config.data_dir)
        .context("opening the backup location (backup.url)")
}

fn service_names() -> Vec<&'static str> {
    SERVICES.iter().map(|s| s.name).collect()
}

#[derive(Debug, Default)]
pub struct CreateOptions {
    /// Back up without the key material (when the keyring is kept elsewhere).
    pub without_keys: bool,
}

/// Takes a backup, then prunes old ones. Returns its manifest.
pub async fn create(config: &Config, options: &CreateOptions) -> anyhow::Result<Manifest> {
    let recipients = seal::recipients(&config.backup.recipients, "backup.recipients")?;
    anyhow::ensure!(
        !recipients.is_empty(),
        "backup.recipients is not set: name the age public keys backups are encrypted to \
         (`lanerunner backup keygen` makes a pair; keep the identity offline)"
    );
    let keyring = crate::storage_keys::path_of(config);
    let keys_to = if options.without_keys || !keyring.exists() {
        Vec::new()
    } else {
        let to = seal::recipients(&config.backup.keys_recipients, "backup.keys_recipients")?;
        anyhow::ensure!(
            !to.is_empty(),
            "backup.keys_recipients is not set: the keyring {} must be backed up, encrypted \
             to its own recipients (or pass --without-keys if it is backed up elsewhere)",
            keyring.display()
        );
        to
    };

    let dest = destination(config)?;
    let started = Utc::now();
    let id = manifest::backup_id(started, rand::random());
    let scratch = scratch_dir(config, &id)?;
    let sealer = Sealer {
        dest: dest.clone(),
        id: id.clone(),
        deployment: config.backup.deployment.clone(),
        scratch: scratch.0.clone(),
    };
    let mut parts = Vec::new();

    let (entries, copies) = stores::copy(config, &service_names(), &scratch.0).await?;
    for copy in copies {
        parts.push(
            sealer
                .put(copy.part, PartKind::Store, &copy.file, &recipients, None)
                .await?,
        );
        let _ = std::fs::remove_file(&copy.file);
    }

    // Stored files, packed up to BLOBS_PER_PART_BYTES a part (one part in memory at most).
    let files = blob::open(&config.blob, &config.data_dir)?;
    let mut batch: Vec<(String, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0;
    let keys = files.list("").await?;
    let last = keys.len();
    for (i, key) in keys.into_iter().enumerate() {
        let bytes = files.get(&key).await?;
        batch_bytes += bytes.len();
        batch.push((key, bytes));
        if batch_bytes >= BLOBS_PER_PART_BYTES || i + 1 == last {
            let name = format!(
                "blobs/{:04}",
                parts
                    .iter()
                    .filter(|p: &&Part| p.kind == PartKind::Blobs)
                    .count()
            );
            let objects = Some(batch.len() as u64);
            let packed = scratch.0.join("blobs.pack");
            std::fs::write(&packed, manifest::pack(&std::mem::take(&mut batch)))?;
            parts.push(
                sealer
                    .put(name, PartKind::Blobs, &packed, &recipients, objects)
                    .await?,
            );
            batch_bytes = 0;
        }
    }

    if !keys_to.is_empty() {
        parts.push(
            sealer
                .put(
                    KEYRING_PART.into(),
                    PartKind::Keys,
                    &keyring,
                    &keys_to,
                    None,
                )
                .await?,
        );
    }

    let manifest = Manifest {
        format: manifest::FORMAT,
        id: id.clone(),
        deployment: config.backup.deployment.clone(),
        created_at: started,
        finished_at: Utc::now(),
        lanerunner_version: env!("CARGO_PKG_VERSION").to_string(),
        store: stores::kind_of(config),
        stores: entries,
        parts,
        kms_key_id: (config.keys.kek == KekBackend::AwsKms)
            .then(|| config.keys.kms_key_id.clone())
            .flatten(),
    };
    dest.put(
        &format!("{id}/{}", manifest::MANIFEST),
        serde_json::to_vec_pretty(&manifest)?,
    )
    .await?;
    tracing::info!(backup = %id, parts = manifest.parts.len(), bytes = manifest.bytes(), "backup written");
    prune(config).await?;
    Ok(manifest)
}

/// Encrypts parts into the scratch directory and uploads them, streamed.
struct Sealer {
    dest: Blobs,
    id: String,
    deployment: String,
    scratch: PathBuf,
}

impl Sealer {
    async fn put(
        &self,
        name: String,
        kind: PartKind,
        plain: &Path,
        to: &[age::x25519::Recipient],
        objects: Option<u64>,
    ) -> anyhow::Result<Part> {
        let header = manifest::header_line(&PartHeader {
            backup: self.id.clone(),
            deployment: self.deployment.clone(),
            part: name.clone(),
        });
        let sealed = self.scratch.join("part.age");
        let (src, dst, to) = (plain.to_path_buf(), sealed.clone(), to.to_vec());
        let (sha256, bytes) =
            tokio::task::spawn_blocking(move || seal::encrypt_file(&header, &src, &dst, &to))
                .await??;
        let part = Part {
            sha256,
            bytes,
            name,
            kind,
            objects,
        };
        self.dest
            .put_file(&part.object_key(&self.id), &sealed)
            .await?;
        std::fs::remove_file(&sealed)?;
        Ok(part)
    }
}

/// A scratch directory under the data directory (same disk as the stores), removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir(config: &Config, id: &str) -> anyhow::Result<Scratch> {
    let dir = config.data_dir.join(format!(".backup-{id}"));
    std::fs::create_dir_all(&dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(Scratch(dir))
}

/// One line of `backup list`.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub id: String,
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
}

/// Every backup at the location, oldest first; those without a manifest are incomplete
/// (still being written, or a run that died).
pub async fn list(config: &Config) -> anyhow::Result<Vec<Listed>> {
    let dest = destination(config)?;
    let mut ids: Vec<String> = dest
        .list("")
        .await?
        .iter()
        .filter_map(|k| k.split_once('/').map(|(id, _)| id.to_string()))
        .filter(|id| manifest::is_backup_id(id))
        .collect();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let manifest = match dest.get(&format!("{id}/{}", manifest::MANIFEST)).await {
            Ok(bytes) => serde_json::from_slice::<Manifest>(&bytes).ok(),
            Err(_) => None,
        };
        out.push(Listed {
            complete: manifest.is_some(),
            id,
            manifest,
        });
    }
    Ok(out)
}

/// Deletes what `backup.keep` no longer keeps. Returns the ids deleted.
pub async fn prune(config: &Config) -> anyhow::Result<Vec<String>> {
    let listed = list(config).await?;
    let ids: Vec<(String, bool)> = listed.iter().map(|l| (l.id.clone(), l.complete)).collect();
    let doomed = manifest::to_prune(&ids, config.backup.keep);
    let dest = destination(config)?;
    for id in &doomed {
        // The manifest first: a half-deleted backup is then incomplete, never "complete"
        // with parts missing.
        dest.delete(&format!("{id}/{}", manifest::MANIFEST)).await?;
        for key in dest.list(id).await? {
            dest.delete(&key).await?;
        }
        tracing::info!(backup = %id, "backup pruned");
    }
    Ok(doomed)
}

async fn load_manifest(dest: &Blobs, config: &Config, which: &str) -> anyhow::Result<Manifest> {
    let id = if which == "latest" {
        list(config)
            .await?
            .into_iter()
            .rev()
            .find(|l| l.complete)
            .map(|l| l.id)
            .context("there is no complete backup at the backup location")?
    } else {
        anyhow::ensure!(
            manifest::is_backup_id(which),
            "{which:?} is not a backup id (see `lanerunner backup list`)"
        );
        which.to_string()
    };
    let bytes = dest
        .get(&format!("{id}/{}", manifest::MANIFEST))
        .await
        .map_err(|_| {
            anyhow::anyhow!("backup {id} has no manifest: it does not exist or is incomplete")
        })?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| Refusal::UnreadableManifest(e.to_string()))?;
    if manifest.id != id {
        return Err(Refusal::UnreadableManifest(format!(
            "the manifest in {id}/ names backup {}",
            manifest.id
        ))
        .into());
    }
    if manifest.format > manifest::FORMAT {
        return Err(Refusal::NewerFormat {
            found: manifest.format,
        }
        .into());
    }
    Ok(manifest)
}

/// Fetches a part into `file`, streamed, and checks its checksum.
async fn fetch(dest: &Blobs, manifest: &Manifest, part: &Part, file: &Path) -> Result<(), Refusal> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    let size = dest
        .get_to_file(&part.object_key(&manifest.id), file, &mut |chunk| {
            hasher.update(chunk)
        })
        .await
        .map_err(|_| Refusal::Missing {
            part: part.name.clone(),
        })?;
    let sum = seal::hex(&hasher.finalize());
    if sum != part.sha256 || size != part.bytes {
        let _ = std::fs::remove_file(file);
        return Err(Refusal::Corrupt {
            part: part.name.clone(),
            why: format!(
                "checksum {sum} ({size} bytes), the manifest says {} ({} bytes)",
                part.sha256, part.bytes
            ),
        });
    }
    Ok(())
}

#[derive(Debug, Default)]
pub struct OpenOptions {
    /// The identity file that opens the data parts.
    pub identity: Option<PathBuf>,
    /// The identity file that opens the key material part.
    pub keys_identity: Option<PathBuf>,
}

/// A part decrypted, checked and staged.
struct Staged {
    part: Part,
    file: PathBuf,
}

/// Every part fetched and checksummed; with identities, decrypted, matched to the manifest
/// by its sealed header and checked (SQLite integrity check, the dump's table of contents,
/// the files' packing) into `scratch`.
async fn stage_all(
    dest: &Blobs,
    manifest: &Manifest,
    options: &OpenOptions,
    scratch: &Path,
) -> anyhow::Result<(Vec<Staged>, VerifyReport)> {
    let data_ids = options
        .identity
        .as_deref()
        .map(seal::read_identities)
        .transpose()?;
    let keys_ids = options
        .keys_identity
        .as_deref()
        .map(seal::read_identities)
        .transpose()?;
    let mut staged = Vec::new();
    let mut report = VerifyReport {
        backup: manifest.id.clone(),
        deployment: manifest.deployment.clone(),
        parts: manifest.parts.len(),
        checksums: true,
        decrypted: 0,
        objects: 0,
    };
    for part in &manifest.parts {
        let sealed = scratch.join("fetched.age");
        fetch(dest, manifest, part, &sealed).await?;
        let ids = match part.kind {
            PartKind::Keys => keys_ids.clone(),
            _ => data_ids.clone(),
        };
        let Some(ids) = ids else {
            std::fs::remove_file(&sealed)?;
            continue;
        };
        let file = scratch.join(part.name.replace('/', "_"));
        let (src, dst) = (sealed.clone(), file.clone());
        let header = tokio::task::spawn_blocking(move || seal::decrypt_file(&src, &dst, &ids))
            .await?
            .map_err(|why| Refusal::Corrupt {
                part: part.name.clone(),
                why,
            })?;
        std::fs::remove_file(&sealed)?;
        manifest::check_header(manifest, part, &header)?;
        match part.kind {
            PartKind::Store => stores::check_copy(manifest.store, &file)
                .await
                .map_err(|e| Refusal::Corrupt {
                    part: part.name.clone(),
                    why: e.to_string(),
                })?,
            PartKind::Blobs => {
                let files =
                    manifest::unpack(&std::fs::read(&file)?).map_err(|why| Refusal::Corrupt {
                        part: part.name.clone(),
                        why,
                    })?;
                report.objects += files.len() as u64;
            }
            PartKind::Keys => {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(&file)?).map_err(
                    |e| Refusal::Corrupt {
                        part: part.name.clone(),
                        why: format!("the keyring is not JSON: {e}"),
                    },
                )?;
            }
        }
        report.decrypted += 1;
        staged.push(Staged {
            part: part.clone(),
            file,
        });
    }
    Ok((staged, report))
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub backup: String,
    pub deployment: String,
    pub parts: usize,
    /// Every part is present with the manifest's checksum.
    pub checksums: bool,
    /// Parts decrypted and checked (those an identity was given for).
    pub decrypted: usize,
    /// Stored files found in the decrypted blobs parts.
    pub objects: u64,
}

/// Proves a backup whole: always its checksums; with identities, every part it can open.
pub async fn verify(
    config: &Config,
    which: &str,
    options: &OpenOptions,
) -> anyhow::Result<VerifyReport> {
    let dest = destination(config)?;
    let manifest = load_manifest(&dest, config, which).await?;
    let scratch = scratch_dir(config, &format!("verify-{}", manifest.id))?;
    let (_, report) = stage_all(&dest, &manifest, options, &scratch.0).await?;
    Ok(report)
}

#[derive(Debug, Default)]
pub struct RestoreOptions {
    pub open: OpenOptions,
    /// Replace stores that hold data.
    pub force: bool,
    /// Accept a backup of the deployment with this name (moving data between deployments).
    pub from_deployment: Option<String>,
    /// Restore without the key material even though the target has no keyring.
    pub without_keys: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub backup: String,
    pub stores: Vec<String>,
    pub objects: u64,
    pub keys_restored: bool,
}

/// Restores a backup. Refuses — before touching anything — a backup of another deployment
/// or kind, one a newer release wrote, a missing or corrupt part, a part of another backup,
/// and a target that holds data unless `force`. The services must be stopped.
pub async fn restore(
    config: &Config,
    which: &str,
    options: &RestoreOptions,
) -> anyhow::Result<RestoreReport> {
    anyhow::ensure!(
        options.open.identity.is_some(),
        "--identity is required: the identity file whose public key is in backup.recipients"
    );
    let dest = destination(config)?;
    let manifest = load_manifest(&dest, config, which).await?;
    manifest::check_restorable(
        &manifest,
        &config.backup.deployment,
        options.from_deployment.as_deref(),
        stores::kind_of(config),
        |service| {
            SERVICES.iter().find(|s| s.name == service).map(|s| {
                let backend = match stores::kind_of(config) {
                    StoreKind::Sqlite => lanerunner_platform::db::Backend::Sqlite,
                    StoreKind::Postgres => lanerunner_platform::db::Backend::Postgres,
                };
                (s.migrations)()
                    .latest_version(backend)
                    .max(lanerunner_platform::db::Migrations::platform().latest_version(backend))
            })
        },
    )?;
    let keyring = crate::storage_keys::path_of(config);
    let has_keys_part = manifest.part(PartKind::Keys).next().is_some();
    if has_keys_part
        && options.open.keys_identity.is_none()
        && !keyring.exists()
        && !options.without_keys
    {
        anyhow::bail!(
            "this backup's sealed data needs its keyring and {} does not exist: pass \
             --keys-identity (the identity of backup.keys_recipients), or --without-keys if \
             the keyring is restored another way",
            keyring.display()
        );
    }

    let scratch = scratch_dir(config, &format!("restore-{}", manifest.id))?;
    let (staged, report) = stage_all(&dest, &manifest, &options.open, &scratch.0).await?;

    // Everything checked; now whether the target may be replaced.
    let services: Vec<&str> = manifest.stores.iter().map(|s| s.service.as_str()).collect();
    let mut occupied = stores::occupied(config, &services).await?;
    let files = blob::open(&config.blob, &config.data_dir)?;
    let existing_files = files.list("").await?.len();
    if existing_files > 0 {
        occupied.push(format!("the file store holds {existing_files} files"));
    }
    let restoring_keys = staged.iter().any(|s| s.part.kind == PartKind::Keys);
    if restoring_keys && keyring.exists() {
        let staged_ring = staged
            .iter()
            .find(|s| s.part.kind == PartKind::Keys)
            .map(|s| std::fs::read(&s.file))
            .transpose()?;
        if staged_ring.as_deref() != Some(std::fs::read(&keyring)?.as_slice()) {
            occupied.push(format!(
                "the keyring {} differs from the backup's",
                keyring.display()
            ));
        }
    }
    if !occupied.is_empty() && !options.force {
        return Err(Refusal::NotEmpty(occupied.join("; ")).into());
    }

    let store_files: Vec<(String, PathBuf)> = staged
        .iter()
        .filter(|s| s.part.kind == PartKind::Store)
        .map(|s| (s.part.name.clone(), s.file.clone()))
        .collect();
    let names: Vec<String> = manifest.stores.iter().map(|s| s.service.clone()).collect();
    stores::put_back(config, manifest.store, &names, &store_files).await?;
    let mut objects = 0;
    for s in staged.iter().filter(|s| s.part.kind == PartKind::Blobs) {
        let packed = std::fs::read(&s.file)?;
        for (key, bytes) in manifest::unpack(&packed).map_err(|why| Refusal::Corrupt {
            part: s.part.name.clone(),
            why,
        })? {
            files.put(&key, bytes).await?;
            objects += 1;
        }
    }
    if let Some(ring) = staged.iter().find(|s| s.part.kind == PartKind::Keys) {
        crate::storage_keys::install(&keyring, &std::fs::read(&ring.file)?)?;
    }
    debug_assert_eq!(objects, report.objects);
    tracing::info!(backup = %manifest.id, stores = names.len(), objects, keys = restoring_keys, "backup restored");
    Ok(RestoreReport {
        backup: manifest.id,
        stores: names,
        objects,
        keys_restored: restoring_keys,
    })
}
