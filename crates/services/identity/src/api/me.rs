//! `/v1/me/*`: the signed-in person's own account and second factor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use lanerunner_platform::http::scope::{IdentityRead, IdentityWrite};
use lanerunner_platform::http::{ApiJson, Authorized, ClientAddr, EnrollingCaller, Problem};

use super::dto::*;
use super::AppState;

#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = Problem)))]
pub async fn me(
    State(id): State<AppState>,
    EnrollingCaller(caller): EnrollingCaller,
) -> Result<Json<MeView>, Problem> {
    let user_id = caller.require_user()?;
    let user = id.member(caller.org, user_id).await?;
    let org = id.organization(caller.org).await?;
    Ok(Json(MeView {
        user: user.into(),
        organization: org.into(),
    }))
}

#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 204), (status = 422, body = Problem)))]
pub async fn change_password(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, Problem> {
    let user = caller.require_user()?;
    id.change_password(
        caller.org,
        user,
        &req.current_password,
        &req.new_password,
        caller.session,
        addr,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/me/verify-email", tag = "me", security(("bearer" = [])),
    responses((status = 202), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn resend_verification(
    State(id): State<AppState>,
    caller: Authorized<IdentityWrite>,
    ClientAddr(addr): ClientAddr,
) -> Result<StatusCode, Problem> {
    let user = caller.require_user()?;
    id.resend_verification(caller.org, user, addr).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Starts TOTP enrolment; confirm with a code from the authenticator app.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrollmentView), (status = 409, body = Problem)))]
pub async fn begin_totp(
    State(id): State<AppState>,
    EnrollingCaller(caller): EnrollingCaller,
) -> Result<Json<TotpEnrollmentView>, Problem> {
    let user = caller.require_user()?;
    let e = id.begin_totp(caller.org, user).await?;
    Ok(Json(TotpEnrollmentView {
        secret: e.secret,
        otpauth_uri: e.otpauth_uri,
    }))
}

/// Enables MFA and returns ten recovery codes, shown once.
#[utoipa::path(post, path = "/v1/me/mfa/totp/confirm", tag = "me", security(("bearer" = [])), request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn confirm_totp(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    EnrollingCaller(caller): EnrollingCaller,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodesView>, Problem> {
    let user = caller.require_user()?;
    let c = id
        .confirm_totp(caller.org, user, &req.code, caller.session, addr)
        .await?;
    Ok(Json(c.into()))
}

/// Starts enrolling a phone for text-message codes: a code is texted to it; confirm with
/// it. At most five texts per person per ten minutes.
#[utoipa::path(post, path = "/v1/me/mfa/sms", tag = "me", security(("bearer" = [])), request_body = PhoneRequest,
    responses((status = 202, body = PhoneView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn begin_sms(
    State(id): State<AppState>,
    EnrollingCaller(caller): EnrollingCaller,
    ApiJson(req): ApiJson<PhoneRequest>,
) -> Result<(StatusCode, Json<PhoneView>), Problem> {
    let user = caller.require_user()?;
    let phone = id.begin_sms(caller.org, user, &req.phone).await?;
    Ok((StatusCode::ACCEPTED, Json(PhoneView { phone })))
}

/// Enrols the phone with the code texted to it. Recovery codes come with the first second
/// factor only; adding a phone beside an authenticator app keeps the ones you have.
#[utoipa::path(post, path = "/v1/me/mfa/sms/confirm", tag = "me", security(("bearer" = [])), request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn confirm_sms(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    EnrollingCaller(caller): EnrollingCaller,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodesView>, Problem> {
    let user = caller.require_user()?;
    let c = id
        .confirm_sms(caller.org, user, &req.code, caller.session, addr)
        .await?;
    Ok(Json(c.into()))
}

/// Texts a code to the enrolled phone, for turning MFA off or new recovery codes.
#[utoipa::path(post, path = "/v1/me/mfa/sms/send", tag = "me", security(("bearer" = [])),
    responses((status = 202), (status = 409, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn send_sms_code(
    State(id): State<AppState>,
    caller: Authorized<IdentityWrite>,
) -> Result<StatusCode, Problem> {
    let user = caller.require_user()?;
    id.text_code_to_member(caller.org, user).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/me/mfa/disable", tag = "me", security(("bearer" = [])), request_body = DisableMfaRequest,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn disable_mfa(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(req): ApiJson<DisableMfaRequest>,
) -> Result<StatusCode, Problem> {
    let user = caller.require_user()?;
    id.disable_mfa(caller.org, user, &req.password, &req.code, addr)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/me/mfa/recovery-codes", tag = "me", security(("bearer" = [])), request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodesView), (status = 401, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn regenerate_recovery_codes(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodesView>, Problem> {
    let user = caller.require_user()?;
    let codes = id
        .regenerate_recovery_codes(caller.org, user, &req.code, addr)
        .await?;
    Ok(Json(RecoveryCodesView {
        recovery_codes: codes,
        tokens: None,
    }))
}

/// Your consent to each purpose (the terms, the privacy notice, marketing email): where you
/// stand, the version in force, and every record.
#[utoipa::path(get, path = "/v1/me/consents", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = crate::privacy::ConsentsView), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn get_consents(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
) -> Result<Json<crate::privacy::ConsentsView>, Problem> {
    let user = caller.require_user()?;
    Ok(Json(id.consents(caller.org, user).await?))
}

/// Gives consent to the version in force, or withdraws it (recorded with when and from
/// where, and in the audit trail).
#[utoipa::path(post, path = "/v1/me/consents", tag = "me", security(("bearer" = [])),
    request_body = crate::privacy::ConsentInput,
    responses((status = 200, body = crate::privacy::ConsentsView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn record_consent(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(input): ApiJson<crate::privacy::ConsentInput>,
) -> Result<Json<crate::privacy::ConsentsView>, Problem> {
    let user = caller.require_user()?;
    Ok(Json(
        id.record_consent(caller.org, user, addr, input).await?,
    ))
}

/// Everything LaneRunner's identity service holds about you, as one JSON document to keep
/// or take elsewhere (GDPR art. 15 and 20). No secrets are in it.
#[utoipa::path(get, path = "/v1/me/export", tag = "me", security(("bearer" = [])),
    responses((status = 200, content_type = "application/json", body = Object), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn export(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityRead>,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let user = caller.require_user()?;
    let document = id.export_personal_data(caller.org, user, addr).await?;
    let name = format!(
        "attachment; filename=\"lanerunner-personal-data-{}.json\"",
        user.as_uuid()
    );
    Ok((
        [(axum::http::header::CONTENT_DISPOSITION, name)],
        Json(document),
    )
        .into_response())
}
