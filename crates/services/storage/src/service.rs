//! The storage flows: store, read, link, download, delete, and the rewrap sweep.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use lanerunner_core::{OrgId, Role};
use lanerunner_platform::blob::Blobs;
use lanerunner_platform::http::{Caller, Violations};
use lanerunner_platform::service::ServiceContext;
use lanerunner_platform::Db;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::envelope::DataKey;
use crate::error::{Result, StorageError};
use crate::keyring::{KeyEncryptionKeys, Keyring, Wrapped};
use crate::link::{self, Signed};
use crate::store::{self, ObjectRow};
use crate::views::{FileView, LinkView};
use crate::{sniff, FileId, StorageSettings};

/// Objects moved to the current key version per sweep round.
const REWRAP_BATCH: i64 = 500;
const MAX_NAME_CHARS: usize = 200;

pub struct Storage {
    db: Db,
    blobs: Blobs,
    keys: Arc<dyn KeyEncryptionKeys>,
    settings: StorageSettings,
}

/// An object's content (authenticated by its GCM tag when it was opened).
pub struct Content {
    pub file: FileView,
    pub bytes: Vec<u8>,
}

/// An object's checksum as it is recorded: SHA-256, hex.
pub fn checksum(bytes: &[u8]) -> String {
    link::hex(&Sha256::digest(bytes))
}

impl ObjectRow {
    /// The object's data key as it is stored, wrapped.
    fn wrapped(&self) -> Result<Wrapped> {
        Ok(Wrapped {
            version: self.kek_version as u32,
            bytes: B64.decode(&self.wrapped_key).map_err(|_| {
                StorageError::Damaged(self.id.as_uuid(), "the wrapped key is not base64")
            })?,
        })
    }
}

/// The base name a file is kept under: no path, no control characters, 1–200 characters.
fn clean_name(name: Option<&str>, v: &mut Violations) -> String {
    let base = name
        .unwrap_or("file")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .trim();
    if base.is_empty() || base == "." || base == ".." {
        v.add("name", "must name a file");
    } else if base.chars().count() > MAX_NAME_CHARS {
        v.add(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        );
    } else if base.chars().any(char::is_control) {
        v.add("name", "must not hold control characters");
    }
    base.to_owned()
}

impl Storage {
    pub fn new(
        ctx: &ServiceContext,
        keys: Arc<dyn KeyEncryptionKeys>,
        settings: StorageSettings,
    ) -> Self {
        Self {
            db: ctx.db.clone(),
            blobs: ctx.blobs.clone(),
            keys,
            settings,
        }
    }

    pub fn settings(&self) -> &StorageSettings {
        &self.settings
    }

    async fn keyring(&self) -> Result<Arc<Keyring>> {
        self.keys.keyring().await.map_err(|e| {
            StorageError::Unavailable(format!("the key-encryption keys could not be read: {e:#}"))
        })
    }

    fn may_write(caller: &Caller) -> Result<()> {
        if caller.role == Role::Viewer {
            return Err(StorageError::Forbidden(
                "viewers cannot store or delete files",
            ));
        }
        Ok(())
    }

    /// Checks the file by its content and size, seals it under a new data key (sealing
    /// copies `bytes` once, into the sealed buffer), stores the
    /// sealed bytes, then records the object. A failure before the record leaves at most
    /// an unreadable blob (its data key was never kept), never a record without its bytes.
    pub async fn store<B: AsRef<[u8]> + Send + 'static>(
        &self,
        caller: &Caller,
        name: Option<&str>,
        declared: Option<&str>,
        body: B,
    ) -> Result<FileView> {
        Self::may_write(caller)?;
        let size = body.as_ref().len();
        if size > self.settings.max_bytes {
            return Err(StorageError::TooLarge {
                size,
                max: self.settings.max_bytes,
            });
        }
        self.store_for(caller.org, caller.actor_id(), name, declared, body)
            .await
    }

    /// [`Storage::store`] for a co-located service that has already decided who may write
    /// and how large a file may be (the documents service, storing a generated PDF or an
    /// upload it read within `storage.max_upload_bytes`): the object belongs to `org` and
    /// was made by `created_by`.
    pub async fn store_for<B: AsRef<[u8]> + Send + 'static>(
        &self,
        org: OrgId,
        created_by: Uuid,
        name: Option<&str>,
        declared: Option<&str>,
        body: B,
    ) -> Result<FileView> {
        let bytes = body.as_ref();
        let mut v = Violations::default();
        let name = clean_name(name, &mut v);
        v.into_result(())?;
        let content_type = sniff::check(declared, bytes)?;
        let id = FileId::new();
        let size = bytes.len();
        let keys = self.keyring().await?;
        // Hashing and sealing a file of megabytes is CPU work: off the async workers.
        let (sealed, wrapped, sha256) =
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let sha256 = checksum(body.as_ref());
                let dek = DataKey::generate()?;
                let sealed = dek.seal(id.as_uuid().as_bytes(), body.as_ref())?;
                Ok((sealed, keys.wrap(&dek)?, sha256))
            })
            .await
            .map_err(|e| StorageError::Unavailable(e.to_string()))?
            .map_err(|e| StorageError::Unavailable(format!("{e:#}")))?;
        let row = ObjectRow {
            id,
            org_id: org,
            name,
            content_type: content_type.to_owned(),
            size_bytes: size as i64,
            sha256,
            blob_key: format!("files/{}/{}", org.as_uuid(), id.as_uuid()),
            kek_version: wrapped.version as i32,
            wrapped_key: B64.encode(&wrapped.bytes),
            created_by,
            created_at: Utc::now(),
        };
        self.blobs.put(&row.blob_key, sealed).await.map_err(|e| {
            StorageError::Unavailable(format!("the blob store refused the file: {e:#}"))
        })?;
        store::insert(&self.db, &row).await?;
        metrics::counter!("storage_objects_stored_total").increment(1);
        Ok(FileView::from(&row))
    }

    pub async fn get(&self, caller: &Caller, id: FileId) -> Result<FileView> {
        let row = store::get(&self.db, caller.org, id)
            .await?
            .ok_or(StorageError::NotFound("file"))?;
        Ok(FileView::from(&row))
    }

    /// Up to `limit` of the caller's files, newest first, older than `before`.
    pub async fn list(
        &self,
        caller: &Caller,
        before: Option<FileId>,
        limit: i64,
    ) -> Result<Vec<FileView>> {
        let rows = store::list(&self.db, caller.org, before, limit).await?;
        Ok(rows.iter().map(FileView::from).collect())
    }

    /// The caller's object, opened and checked.
    pub async fn content(&self, caller: &Caller, id: FileId) -> Result<Content> {
        self.content_of(caller.org, id).await
    }

    /// `org`'s object, opened and checked (for a co-located service).
    pub async fn content_of(&self, org: OrgId, id: FileId) -> Result<Content> {
        let row = store::get(&self.db, org, id)
            .await?
            .ok_or(StorageError::NotFound("file"))?;
        self.open(row).await
    }

    async fn open(&self, row: ObjectRow) -> Result<Content> {
        let sealed = self.blobs.get(&row.blob_key).await.map_err(|e| {
            StorageError::Unavailable(format!("the blob store could not be read: {e:#}"))
        })?;
        let keys = self.keyring().await?;
        let wrapped = row.wrapped()?;
        let id = row.id;
        let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
            let dek = keys.unwrap(&wrapped).map_err(|_| {
                StorageError::Damaged(
                    id.as_uuid(),
                    "its data key does not unwrap (a key version is missing?)",
                )
            })?;
            dek.open(id.as_uuid().as_bytes(), sealed)
                .map_err(|_| StorageError::Damaged(id.as_uuid(), "the sealed bytes do not open"))
        })
        .await
        .map_err(|e| StorageError::Unavailable(e.to_string()))??;
        // No second hash on the way out: the GCM tag has just proven these are exactly the
        // bytes sealed under this object's own key and id, and `sha256` was computed from
        // those bytes when they were stored (hashing again would halve download speed).
        if bytes.len() as i64 != row.size_bytes {
            return Err(StorageError::Damaged(
                row.id.as_uuid(),
                "the content is not the size recorded",
            ));
        }
        Ok(Content {
            file: FileView::from(&row),
            bytes,
        })
    }

    /// A link anyone may download the caller's object with until it expires.
    pub async fn link(
        &self,
        caller: &Caller,
        id: FileId,
        expires_in_secs: Option<i64>,
    ) -> Result<LinkView> {
        let max = self.settings.link_max_secs;
        let secs = expires_in_secs.unwrap_or(900);
        if !(60..=max).contains(&secs) {
            let mut v = Violations::default();
            v.add(
                "expires_in_secs",
                format!("must be between 60 and {max} seconds"),
            );
            v.into_result(())?;
        }
        store::get(&self.db, caller.org, id)
            .await?
            .ok_or(StorageError::NotFound("file"))?;
        let expires_at = Utc::now() + chrono::Duration::seconds(secs);
        let keys = self.keyring().await?;
        let signed = link::sign(&keys, id.as_uuid(), expires_at.timestamp())
            .map_err(|e| StorageError::Unavailable(format!("{e:#}")))?;
        Ok(LinkView {
            url: format!(
                "{}/v1/files/{}/download?expires={}&v={}&signature={}",
                self.settings.public_url.trim_end_matches('/'),
                id.as_uuid(),
                signed.expires,
                signed.version,
                signed.signature
            ),
            expires_at: DateTime::from_timestamp(signed.expires, 0).unwrap_or(expires_at),
        })
    }

    /// The object a signed link names, if the link holds.
    pub async fn download(&self, id: FileId, signed: &Signed) -> Result<Content> {
        let keys = self.keyring().await?;
        link::verify(&keys, id.as_uuid(), signed, Utc::now().timestamp())?;
        let row = store::get_linked(&self.db, id)
            .await?
            .ok_or(StorageError::NotFound("file"))?;
        self.open(row).await
    }

    /// Deletes the record (its data key with it: the bytes can no longer be opened), then
    /// the bytes. A blob store failure after the record is gone leaves only unreadable bytes,
    /// which deleting again (404) does not reach; the operator's lifecycle rule on `files/`
    /// orphans covers them.
    pub async fn delete(&self, caller: &Caller, id: FileId) -> Result<()> {
        Self::may_write(caller)?;
        self.delete_of(caller.org, id).await
    }

    /// Deletes `org`'s object (for a co-located service).
    pub async fn delete_of(&self, org: OrgId, id: FileId) -> Result<()> {
        let key = store::delete(&self.db, org, id)
            .await?
            .ok_or(StorageError::NotFound("file"))?;
        if let Err(e) = self.blobs.delete(&key).await {
            tracing::warn!(object_id = %id.as_uuid(), error = %format!("{e:#}"), "a deleted file's sealed bytes could not be removed; they cannot be opened without their key");
        }
        metrics::counter!("storage_objects_deleted_total").increment(1);
        Ok(())
    }

    /// Moves objects whose data key is wrapped by an older key version to the current one,
    /// a batch at a time, each by compare-and-set; returns how many moved. Objects stay
    /// readable throughout: a key is replaced only by its rewrapped self.
    pub async fn rewrap(&self) -> Result<usize> {
        let keys = self.keyring().await?;
        let current = keys.current() as i32;
        let mut moved = 0;
        loop {
            let rows = store::under_other_versions(&self.db, current, REWRAP_BATCH).await?;
            if rows.is_empty() {
                return Ok(moved);
            }
            let mut progressed = false;
            for row in rows {
                // A damaged object is logged and left where it is, not allowed to stop the
                // sweep for every other one.
                let rewrapped = row.wrapped().and_then(|old| {
                    keys.unwrap(&old)
                        .and_then(|dek| keys.wrap(&dek))
                        .map_err(|_| {
                            StorageError::Damaged(row.id.as_uuid(), "its data key does not unwrap")
                        })
                });
                let new = match rewrapped {
                    Ok(new) => new,
                    Err(e) => {
                        tracing::error!(object_id = %row.id.as_uuid(), error = %e, "a data key could not be rewrapped");
                        continue;
                    }
                };
                if store::rewrap(
                    &self.db,
                    row.id,
                    row.kek_version,
                    current,
                    &B64.encode(&new.bytes),
                )
                .await?
                {
                    moved += 1;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(moved);
            }
        }
    }

    /// Objects per key version.
    pub async fn versions_in_use(&self) -> Result<Vec<(i32, i64)>> {
        Ok(store::count_by_version(&self.db).await?)
    }
}
