//! The storage service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Storage`]. Another organization's file is not found.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{FilesRead, FilesWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::StorageError;
use crate::link::Signed;
use crate::service::{Content, Storage};
use crate::views::{FileView, LinkRequest, LinkView};
use crate::FileId;

pub type AppState = Arc<Storage>;

pub fn routes(storage: Arc<Storage>) -> OpenApiRouter {
    // Uploads read their body themselves, up to `storage.max_upload_bytes`, and answer a
    // larger one with problem+json; the API's general body limit does not apply to them.
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload, list))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(get_file, delete_file))
        .routes(routes!(content))
        .routes(routes!(create_link))
        .routes(routes!(download))
        .with_state(storage)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name (a base name; any path is dropped). Default `file`.
    pub name: Option<String>,
}

/// Stores a file sent as the raw request body. Its type is found from its bytes: PDF,
/// JPEG, PNG, HEIC, WebP or TIFF; a `Content-Type` other than `application/octet-stream`
/// must agree with it. Encrypted at rest under its own data key.
#[utoipa::path(post, path = "/v1/files", tag = "files", security(("bearer" = [])), params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileView), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn upload(
    State(s): State<AppState>,
    caller: Authorized<FilesWrite>,
    Query(q): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileView>), Problem> {
    let bytes = read_upload(&headers, body, s.settings().max_bytes).await?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let file = s.store(&caller, q.name.as_deref(), declared, bytes).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

/// An upload's body, up to `max` bytes: a larger one (by its `Content-Length`, or as it
/// arrives) is `StorageError::TooLarge`. For every route that takes a file as its body.
pub async fn read_upload(
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<axum::body::Bytes, StorageError> {
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared_len.filter(|len| *len > max) {
        return Err(StorageError::TooLarge { size: len, max });
    }
    // One byte over the limit is enough to know it is too large.
    axum::body::to_bytes(body, max + 1)
        .await
        .map_err(|_| StorageError::TooLarge { size: max + 1, max })
}

/// Your organization's files, newest first (`next_cursor` pages on to older ones).
#[utoipa::path(get, path = "/v1/files", tag = "files", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<FileView>), (status = 422, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    caller: Authorized<FilesRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<FileView>>, Problem> {
    let cursor = q.cursor()?;
    let files = s
        .list(
            &caller,
            cursor.after.map(FileId),
            i64::from(cursor.limit) + 1,
        )
        .await?;
    Ok(Json(Page::from_rows(files, cursor, |f| f.id)))
}

#[utoipa::path(get, path = "/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The file")),
    responses((status = 200, body = FileView), (status = 404, body = Problem)))]
pub async fn get_file(
    State(s): State<AppState>,
    caller: Authorized<FilesRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<FileView>, Problem> {
    Ok(Json(s.get(&caller, FileId(id)).await?))
}

/// Deletes the file: its data key at once (what is left of its bytes cannot be opened),
/// then its bytes.
#[utoipa::path(delete, path = "/v1/files/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The file")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_file(
    State(s): State<AppState>,
    caller: Authorized<FilesWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    s.delete(&caller, FileId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The file's content (checked against its SHA-256 before it is sent).
#[utoipa::path(get, path = "/v1/files/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The file")),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem)))]
pub async fn content(
    State(s): State<AppState>,
    caller: Authorized<FilesRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    Ok(send(s.content(&caller, FileId(id)).await?))
}

/// A link that downloads the file without a session until it expires (default 15
/// minutes): for a phone, an email, a partner.
#[utoipa::path(post, path = "/v1/files/{id}/links", tag = "files", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The file")), request_body = LinkRequest,
    responses((status = 201, body = LinkView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_link(
    State(s): State<AppState>,
    caller: Authorized<FilesRead>,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<(StatusCode, Json<LinkView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(s.link(&caller, FileId(id), req.expires_in_secs).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    pub expires: i64,
    pub v: u32,
    pub signature: String,
}

/// A signed link's download (no session): `404` for a link that is not valid, `410` for
/// one that has expired.
#[utoipa::path(get, path = "/v1/files/{id}/download", tag = "files", params(("id" = Uuid, Path, description = "The file"), DownloadParams),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem), (status = 410, body = Problem)))]
pub async fn download(
    State(s): State<AppState>,
    Path(id): Path<Uuid>,
    Query(q): Query<DownloadParams>,
) -> Result<Response, Problem> {
    let signed = Signed {
        expires: q.expires,
        version: q.v,
        signature: q.signature,
    };
    Ok(send(s.download(FileId(id), &signed).await?))
}

fn send(c: Content) -> Response {
    attachment(&c.file.name, &c.file.content_type, &c.file.sha256, c.bytes)
}

/// A file's bytes as an attachment, never rendered by the browser as something else.
pub fn attachment(name: &str, content_type: &str, sha256: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_graphic() && ch != '"' && ch != '\\' || ch == ' ' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        h.insert(header::ETAG, v);
    }
    r
}
