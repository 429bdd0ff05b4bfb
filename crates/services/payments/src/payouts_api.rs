//! Carrier payouts' HTTP API (owners, admins and accountants of either side): a broker's
//! terms, a carrier's account with the processor, the payouts with their offers.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::Json;
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::scope::{PaymentsRead, PaymentsWrite};
use lanerunner_platform::http::{ApiJson, Authorized, Page, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::approvals::Approvals;
use crate::approvals_api::respond;
use crate::payouts::domain::Terms;
use crate::payouts::{ChoiceInput, OnboardingInput, PaidByHand, Payouts};
use crate::processor::OnboardingLink;
use crate::views::{ApprovalView, PayeeAccountView, PayoutView};
use axum::response::Response;

/// The payouts, and dual control in front of the actions on money a person takes by hand.
#[derive(Clone)]
pub struct AppState {
    payouts: Arc<Payouts>,
    approvals: Arc<Approvals>,
}

impl std::ops::Deref for AppState {
    type Target = Payouts;
    fn deref(&self) -> &Payouts {
        &self.payouts
    }
}

pub fn routes(payouts: Arc<Payouts>, approvals: Arc<Approvals>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_terms, put_terms))
        .routes(routes!(get_payee_account))
        .routes(routes!(start_onboarding))
        .routes(routes!(list_payouts))
        .routes(routes!(get_payout))
        .routes(routes!(choose))
        .routes(routes!(record_paid))
        .with_state(AppState { payouts, approvals })
}

/// The terms your organization offers its carriers (the configured defaults until set).
#[utoipa::path(get, path = "/v1/payments/payout-terms", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Terms), (status = 403, body = Problem)))]
pub async fn get_terms(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
) -> Result<Json<Terms>, Problem> {
    Ok(Json(s.terms(&caller).await?))
}

/// Sets the terms offered on loads completed from now on: standard days, and quick pay's
/// fee in basis points (absent: no quick pay). Offers already made stay as made. Under
/// dual control, `202` with the request a second person approves.
#[utoipa::path(put, path = "/v1/payments/payout-terms", tag = "payments", security(("bearer" = [])),
    request_body = Terms,
    responses((status = 200, body = Terms), (status = 202, body = ApprovalView, description = "Under dual control: the request a second person approves"),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_terms(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    ApiJson(t): ApiJson<Terms>,
) -> Result<Response, Problem> {
    Ok(respond(s.approvals.payout_terms(&caller, t).await?))
}

/// Your organization's account with the payment processor, where carrier payouts go.
#[utoipa::path(get, path = "/v1/payments/payout-account", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PayeeAccountView), (status = 403, body = Problem)))]
pub async fn get_payee_account(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
) -> Result<Json<PayeeAccountView>, Problem> {
    Ok(Json(s.payee_account(&caller).await?))
}

/// Opens your payout account with the processor (once) and answers with a single-use link
/// to its onboarding, where bank details are given to the processor, never to LaneRunner.
/// `409 no-processor` when brokers pay carriers by hand.
#[utoipa::path(post, path = "/v1/payments/payout-account/onboarding", tag = "payments", security(("bearer" = [])),
    request_body = OnboardingInput,
    responses((status = 200, body = OnboardingLink), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn start_onboarding(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    ApiJson(input): ApiJson<OnboardingInput>,
) -> Result<Json<OnboardingLink>, Problem> {
    Ok(Json(s.onboarding(&caller, input).await?))
}

/// Payouts your organization makes (as broker) or receives (as carrier), newest first.
#[utoipa::path(get, path = "/v1/payments/payouts", tag = "payments", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<PayoutView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_payouts(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<PayoutView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = s
        .list(&caller, cursor.after, i64::from(cursor.limit) + 1)
        .await?;
    Ok(Json(Page::from_rows(rows, cursor, |p| p.id)))
}

#[utoipa::path(get, path = "/v1/payments/payouts/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The payout")),
    responses((status = 200, body = PayoutView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_payout(
    State(s): State<AppState>,
    caller: Authorized<PaymentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<PayoutView>, Problem> {
    Ok(Json(s.get(&caller, id).await?))
}

/// The carrier takes one of the payout's offers: `standard` or `quick_pay` (sent at the
/// next sweep, less its fee). Once: `409 payout-chosen` after; `409 quick-pay-not-offered`
/// when it is not among the offers.
#[utoipa::path(post, path = "/v1/payments/payouts/{id}/choice", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The payout")), request_body = ChoiceInput,
    responses((status = 200, body = PayoutView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn choose(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<ChoiceInput>,
) -> Result<Json<PayoutView>, Problem> {
    Ok(Json(s.choose(&caller, id, input.option).await?))
}

/// The broker records a payout made outside the processor (a check, a wire). Once; `409
/// payout-in-progress` when the processor is already sending it. Under dual control,
/// `202` with the request a second person approves.
#[utoipa::path(post, path = "/v1/payments/payouts/{id}/paid", tag = "payments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The payout")), request_body = PaidByHand,
    responses((status = 200, body = PayoutView), (status = 202, body = ApprovalView, description = "Under dual control: the request a second person approves"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_paid(
    State(s): State<AppState>,
    caller: Authorized<PaymentsWrite>,
    Path(id): Path<Uuid>,
    ApiJson(input): ApiJson<PaidByHand>,
) -> Result<Response, Problem> {
    Ok(respond(
        s.approvals
            .payout_paid_by_hand(&caller, id, &input.reference)
            .await?,
    ))
}
