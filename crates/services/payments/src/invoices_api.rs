//! The invoices' HTTP API (owners, admins and accountants) and the processor's webhook
//! (no session: its signature is its authority, checked before anything is read).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{PaymentsRead, PaymentsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::invoices::domain::InvoiceInput;
use crate::invoices::{Invoices, ManualPayment, WebhookOutcome};
use crate::views::InvoiceView;

pub type AppState = Arc<Invoices>;

pub fn routes(invoices: Arc<Invoices>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create_invoice, list_invoices))
        .routes(routes!(get_invoice))
        .routes(routes!(open_payment))
        .routes(routes!(record_payment))
        .routes(routes!(webhook))
        .with_state(invoices)
}

/// Issues an invoice to the shipper for a load whose document checklist is complete
/// (`409 paperwork-incomplete` otherwise), records it in the ledger and opens its payment
/// with the processor. Send an `Idempotency-Key`: the same request again answers with the
/// first invoice (`200`); another request under the key is `409`. A load is invoiced once.
#[utoipa::path(post, path = "/v1/payments/invoices", tag = "payments", security(("bearer" = [])),
    request_body = InvoiceInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = InvoiceView), (status = 200, body = InvoiceView), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_invoice(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<InvoiceInput>,
) -> Result<(StatusCode, Json<InvoiceView>), Problem> {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}"));
    let (invoice, created) = s.create(&caller, input, key).await?;
    Ok((
        if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(invoice),
    ))
}

/// Your organization's invoices, newest first.
#[utoipa::path(get, path = "/v1/payments/invoices", tag = "payments", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<InvoiceView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_invoices(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<InvoiceView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .list(&caller, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |i| i.id)))
}

#[utoipa::path(get, path = "/v1/payments/invoices/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice")),
    responses((status = 200, body = InvoiceView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_invoice(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<InvoiceView>, Problem> {
    Ok(Json(s.get(&caller, id).await?))
}

/// Opens the invoice's payment with the processor if it has none yet (the processor was
/// unreachable when the invoice was issued).
#[utoipa::path(post, path = "/v1/payments/invoices/{id}/payment", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice")),
    responses((status = 200, body = InvoiceView), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn open_payment(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    Path(id): Path<Uuid>,
) -> Result<Json<InvoiceView>, Problem> {
    Ok(Json(s.retry_payment(&caller, id).await?))
}

/// Records money received outside the processor (a check, a wire), once per bank
/// reference; more than is outstanding is `409 overpayment`, a paid invoice `409
/// invoice-paid`.
#[utoipa::path(post, path = "/v1/payments/invoices/{id}/payments", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The invoice")), request_body = ManualPayment,
    responses((status = 200, body = InvoiceView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn record_payment(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    Path(id): Path<Uuid>,
    ApiJson(p): ApiJson<ManualPayment>,
) -> Result<Json<InvoiceView>, Problem> {
    Ok(Json(s.record_payment(&caller, id, p).await?))
}

/// The payment processor's webhook (Stripe: `Stripe-Signature`, checked with a timestamp
/// tolerance before the body is read). Each event is applied once; `400 webhook-rejected`
/// for a bad or stale signature, with nothing applied.
#[utoipa::path(post, path = "/v1/payments/webhooks", tag = "payments",
    request_body(content = Vec<u8>, content_type = "application/json"),
    responses((status = 200, body = WebhookOutcome), (status = 400, body = Problem)))]
pub async fn webhook(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookOutcome>, Problem> {
    Ok(Json(s.webhook(&headers, &body).await?))
}
