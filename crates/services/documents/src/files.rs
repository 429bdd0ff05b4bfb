//! Where a document's bytes live: the storage service, which encrypts them at rest, checks
//! their type by content and records their SHA-256. A trait, so the documents service names
//! no backend; [`InProcessStorage`] is the call when storage runs in the same process.

use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_core::OrgId;
use lanerunner_storage::error::StorageError;
use lanerunner_storage::{FileId, Storage};
use uuid::Uuid;

/// A stored file, as the documents service records it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: Uuid,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
}

#[async_trait]
pub trait FileStore: Send + Sync {
    /// Stores `bytes` as `org`'s file; the type is checked against `declared`.
    async fn put(
        &self,
        org: OrgId,
        created_by: Uuid,
        name: &str,
        declared: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<StoredFile, StorageError>;

    async fn get(&self, org: OrgId, id: Uuid) -> Result<Vec<u8>, StorageError>;

    /// Removes a file stored for a document that was then not recorded.
    async fn delete(&self, org: OrgId, id: Uuid) -> Result<(), StorageError>;

    /// The largest file accepted, in bytes.
    fn max_bytes(&self) -> usize;
}

pub struct InProcessStorage(pub Arc<Storage>);

#[async_trait]
impl FileStore for InProcessStorage {
    async fn put(
        &self,
        org: OrgId,
        created_by: Uuid,
        name: &str,
        declared: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<StoredFile, StorageError> {
        let f = self
            .0
            .store_for(org, created_by, Some(name), declared, bytes)
            .await?;
        Ok(StoredFile {
            id: f.id,
            name: f.name,
            content_type: f.content_type,
            size_bytes: f.size_bytes,
            sha256: f.sha256,
        })
    }

    async fn get(&self, org: OrgId, id: Uuid) -> Result<Vec<u8>, StorageError> {
        Ok(self.0.content_of(org, FileId(id)).await?.bytes)
    }

    async fn delete(&self, org: OrgId, id: Uuid) -> Result<(), StorageError> {
        self.0.delete_of(org, FileId(id)).await
    }

    fn max_bytes(&self) -> usize {
        self.0.settings().max_bytes
    }
}
