//! What clients see of stored files.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::ObjectRow;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    pub id: Uuid,
    pub name: String,
    /// What the bytes are (found from them, not from the upload's headers).
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<&ObjectRow> for FileView {
    fn from(r: &ObjectRow) -> Self {
        Self {
            id: r.id.as_uuid(),
            name: r.name.clone(),
            content_type: r.content_type.clone(),
            size_bytes: r.size_bytes,
            sha256: r.sha256.clone(),
            created_by: r.created_by,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// Seconds the link works for: 60 to the configured maximum (default 900).
    pub expires_in_secs: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkView {
    /// Works without a session until `expires_at`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}
