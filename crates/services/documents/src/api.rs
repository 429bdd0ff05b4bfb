//! The documents service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Documents`]. A load (or document) of which the caller's organization is
//! neither the broker nor the carrier is not found.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{DocumentsRead, DocumentsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, ClientAddr, Page, Problem};
use lanerunner_storage::api::{attachment, read_upload};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::Documents;
use crate::template::{TemplateInput, MAX_LOGO_BYTES};
use crate::views::{
    ChecklistView, DocumentView, GenerateRequest, LoadDocumentsView, LookupView, PaperworkSummary,
    SignRequest, TemplateView, VerifyView,
};

pub type AppState = Arc<Documents>;

/// The largest copy checked against a document's hash: generated documents are not bound
/// by the upload limit, so a copy of one may be larger than any upload.
const MAX_CHECKED_BYTES: usize = 64 << 20;

pub fn routes(documents: Arc<Documents>) -> OpenApiRouter {
    // Routes that take a file as their body read it themselves, up to the storage limit,
    // and answer a larger one with problem+json.
    let files = OpenApiRouter::new()
        .routes(routes!(for_load, upload))
        .routes(routes!(verify))
        .routes(routes!(lookup))
        .routes(routes!(get_logo, put_logo, delete_logo))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(files)
        .routes(routes!(generate))
        .routes(routes!(paperwork))
        .routes(routes!(checklist))
        .routes(routes!(get_template, put_template))
        .routes(routes!(get_document))
        .routes(routes!(content))
        .routes(routes!(sign))
        .with_state(documents)
}

/// The loads your organization has paperwork for (as broker or carrier), newest first,
/// each with what its checklist still misses.
#[utoipa::path(get, path = "/v1/documents/loads", tag = "documents", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<PaperworkSummary>), (status = 422, body = Problem)))]
pub async fn paperwork(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<PaperworkSummary>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .loads(&caller, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |r| r.load_id)))
}

/// The load's documents and its checklist (its broker or its booked carrier).
#[utoipa::path(get, path = "/v1/loads/{id}/documents", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")),
    responses((status = 200, body = LoadDocumentsView), (status = 404, body = Problem)))]
pub async fn for_load(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<LoadDocumentsView>, Problem> {
    Ok(Json(s.for_load(&caller, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// `bill_of_lading`, `proof_of_delivery`, `lumper_receipt`, `insurance_certificate` or
    /// `other`.
    pub kind: Option<String>,
    /// The file's name (a base name). Default the kind.
    pub name: Option<String>,
    /// A line about it ("signed at delivery, 2 pallets short").
    pub note: Option<String>,
}

/// Attaches a file (the raw request body) to the load: a PDF or a photo (JPEG, PNG,
/// HEIC, WebP, TIFF), checked by its content and stored encrypted. Who attached it and when
/// are recorded.
#[utoipa::path(post, path = "/v1/loads/{id}/documents", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load"), UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(s): State<AppState>,
    caller: Authorized<DocumentsWrite>,
    Path(id): Path<Uuid>,
    Query(q): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentView>), Problem> {
    let bytes = read_upload(&headers, body, s.max_upload_bytes())
        .await
        .map_err(crate::error::DocumentsError::from)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let doc = s
        .upload(
            &caller,
            id,
            q.kind.as_deref(),
            q.name.as_deref(),
            q.note.as_deref(),
            declared,
            bytes.to_vec(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

/// Generates the rate confirmation or bill of lading again (the broker, after changing
/// the template). A rate confirmation the carrier has signed is not replaced (`409`).
#[utoipa::path(post, path = "/v1/loads/{id}/documents/generate", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")), request_body = GenerateRequest,
    responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn generate(
    State(s): State<AppState>,
    caller: Authorized<DocumentsWrite>,
    Path(id): Path<Uuid>,
    ApiJson(req): ApiJson<GenerateRequest>,
) -> Result<(StatusCode, Json<DocumentView>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(s.regenerate(&caller, id, req.kind).await?),
    ))
}

/// What is still missing before the load can be invoiced.
#[utoipa::path(get, path = "/v1/loads/{id}/documents/checklist", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The load")),
    responses((status = 200, body = ChecklistView), (status = 404, body = Problem)))]
pub async fn checklist(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ChecklistView>, Problem> {
    Ok(Json(s.checklist(&caller, id).await?))
}

#[utoipa::path(get, path = "/v1/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The document")),
    responses((status = 200, body = DocumentView), (status = 404, body = Problem)))]
pub async fn get_document(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<DocumentView>, Problem> {
    Ok(Json(s.get(&caller, id).await?))
}

/// The document's file.
#[utoipa::path(get, path = "/v1/documents/{id}/content", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The document")),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem)))]
pub async fn content(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    let (d, bytes) = s.content(&caller, id).await?;
    Ok(attachment(&d.name, &d.content_type, &d.sha256, bytes))
}

/// Signs a rate confirmation for the caller's side of the load: the signer's name,
/// consent, and the SHA-256 of the document they were shown. Answers with the signed
/// version, a new document that is never changed.
#[utoipa::path(post, path = "/v1/documents/{id}/signatures", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The document")), request_body = SignRequest,
    responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn sign(
    State(s): State<AppState>,
    caller: Authorized<DocumentsWrite>,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignRequest>,
) -> Result<(StatusCode, Json<DocumentView>), Problem> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(300).collect());
    let signed = s
        .sign(&caller, id, req, addr.to_string(), user_agent)
        .await?;
    Ok((StatusCode::CREATED, Json(signed)))
}

/// Checks a copy of the document (the raw request body) against the SHA-256 LaneRunner
/// recorded: `intact` is false for a copy altered in any way.
#[utoipa::path(post, path = "/v1/documents/{id}/verify", tag = "documents", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The document")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = VerifyView), (status = 404, body = Problem), (status = 413, body = Problem)))]
pub async fn verify(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<VerifyView>, Problem> {
    let bytes = read_upload(&headers, body, MAX_CHECKED_BYTES)
        .await
        .map_err(crate::error::DocumentsError::from)?;
    Ok(Json(s.verify(&caller, id, &bytes).await?))
}

/// Finds the documents on your loads whose content is exactly the file sent: an empty
/// list for a file LaneRunner never issued or that was altered.
#[utoipa::path(post, path = "/v1/documents/lookup", tag = "documents", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = LookupView), (status = 413, body = Problem)))]
pub async fn lookup(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<LookupView>, Problem> {
    let bytes = read_upload(&headers, body, MAX_CHECKED_BYTES)
        .await
        .map_err(crate::error::DocumentsError::from)?;
    Ok(Json(s.lookup(&caller, &bytes).await?))
}

/// Your organization's letterhead and standing terms.
#[utoipa::path(get, path = "/v1/documents/template", tag = "documents", security(("bearer" = [])),
    responses((status = 200, body = TemplateView)))]
pub async fn get_template(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
) -> Result<Json<TemplateView>, Problem> {
    Ok(Json(s.template(&caller).await?))
}

/// Sets the letterhead and terms (owners and admins); absent fields are cleared. The logo
/// is set on its own route and kept.
#[utoipa::path(put, path = "/v1/documents/template", tag = "documents", security(("bearer" = [])),
    request_body = TemplateInput,
    responses((status = 200, body = TemplateView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_template(
    State(s): State<AppState>,
    caller: Authorized<DocumentsWrite>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> Result<Json<TemplateView>, Problem> {
    Ok(Json(s.put_template(&caller, input).await?))
}

#[utoipa::path(get, path = "/v1/documents/template/logo", tag = "documents", security(("bearer" = [])),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem)))]
pub async fn get_logo(
    State(s): State<AppState>,
    caller: Authorized<DocumentsRead>,
) -> Result<Response, Problem> {
    let logo = s.logo(&caller).await?;
    let content_type = if logo.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let sha = crate::service::sha256_hex(&logo);
    Ok(attachment("logo", content_type, &sha, logo))
}

/// Sets the letterhead's logo (the raw body): a PNG or JPEG of at most 256 KiB and 2048
/// pixels a side.
#[utoipa::path(put, path = "/v1/documents/template/logo", tag = "documents", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = TemplateView), (status = 403, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_logo(
    State(s): State<AppState>,
    caller: Authorized<DocumentsWrite>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<TemplateView>, Problem> {
    let bytes = read_upload(&headers, body, MAX_LOGO_BYTES)
        .await
        .map_err(crate::error::DocumentsError::from)?;
    Ok(Json(s.set_logo(&caller, Some(&bytes)).await?))
}

#[utoipa::path(delete, path = "/v1/documents/template/logo", tag = "documents", security(("bearer" = [])),
    responses((status = 200, body = TemplateView), (status = 403, body = Problem)))]
pub async fn delete_logo(
    State(s): State<AppState>,
    caller: Authorized<DocumentsWrite>,
) -> Result<Json<TemplateView>, Problem> {
    Ok(Json(s.set_logo(&caller, None).await?))
}
