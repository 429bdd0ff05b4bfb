//! The payment service's HTTP API. The ledger is the organization's finance people's:
//! owners, admins and accountants.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{PaymentsRead, PaymentsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Caller, Page, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::approvals::{Approvals, Outcome};
use crate::error::PaymentsError;
use crate::ledger::{Ledger, NewEntry};
use crate::views::{ApprovalView, BalanceView, EntryView};
use axum::response::{IntoResponse, Response};

/// The ledger, and dual control in front of entries by hand.
#[derive(Clone)]
pub struct AppState {
    ledger: Arc<Ledger>,
    approvals: Arc<Approvals>,
}

impl std::ops::Deref for AppState {
    type Target = Ledger;
    fn deref(&self) -> &Ledger {
        &self.ledger
    }
}

pub fn routes(ledger: Arc<Ledger>, approvals: Arc<Approvals>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(balances))
        .routes(routes!(record_entry, list_entries))
        .routes(routes!(get_entry))
        .with_state(AppState { ledger, approvals })
}

fn finance(caller: &Caller) -> Result<(), PaymentsError> {
    crate::error::finance_only(caller, "the ledger is for owners, admins and accountants")
}

/// Every account's balance (debits minus credits, in cents), by account and currency.
#[utoipa::path(get, path = "/v1/payments/ledger/balances", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Vec<BalanceView>), (status = 403, body = Problem)))]
pub async fn balances(
    State(l): State<AppState>,
    caller: Authorized<PaymentsRead>,
) -> Result<Json<Vec<BalanceView>>, Problem> {
    finance(&caller)?;
    Ok(Json(
        l.balances(caller.org)
            .await?
            .into_iter()
            .map(BalanceView::from)
            .collect(),
    ))
}

/// Records a journal entry by hand (an adjustment an accountant makes): its postings must
/// balance in each currency. The same `reference` with the same postings answers with the
/// first entry (200); with other postings, 409. Under dual control, `202` with the request
/// a second person approves.
#[utoipa::path(post, path = "/v1/payments/ledger/entries", tag = "payments", security(("bearer" = [])),
    request_body = NewEntry,
    responses((status = 201, body = EntryView), (status = 200, body = EntryView),
        (status = 202, body = ApprovalView, description = "Under dual control: the request a second person approves"),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_entry(
    State(l): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    ApiJson(entry): ApiJson<NewEntry>,
) -> Result<Response, Problem> {
    finance(&caller)?;
    let (id, new) = match l.approvals.ledger_entry(&caller, &l.ledger, entry).await? {
        Outcome::Done(recorded) => recorded,
        Outcome::Pending(request) => {
            return Ok((StatusCode::ACCEPTED, Json(request)).into_response())
        }
    };
    let (row, postings) = l.entry(caller.org, id).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(EntryView::new(row, postings))).into_response())
}

/// The journal, newest first, each entry with its postings (`next_cursor` pages on to
/// older entries).
#[utoipa::path(get, path = "/v1/payments/ledger/entries", tag = "payments", security(("bearer" = [])),
    params(PageQuery), responses((status = 200, body = Page<EntryView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_entries(
    State(l): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<EntryView>>, Problem> {
    finance(&caller)?;
    let cursor = q.cursor()?;
    let rows = l
        .entries(caller.org, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    let views = rows
        .into_iter()
        .map(|(e, p)| EntryView::new(e, p))
        .collect();
    Ok(Json(Page::from_rows(views, cursor, |e: &EntryView| e.id)))
}

#[utoipa::path(get, path = "/v1/payments/ledger/entries/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The entry")),
    responses((status = 200, body = EntryView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_entry(
    State(l): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<EntryView>, Problem> {
    finance(&caller)?;
    let (row, postings) = l.entry(caller.org, id).await?;
    Ok(Json(EntryView::new(row, postings)))
}
