//! `/v1/auth/*` and the JWKS: the routes used before one has a token.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use lanerunner_platform::http::scope::IdentityWrite;
use lanerunner_platform::http::{ApiJson, Authorized, ClientAddr, Problem};

use super::dto::*;
use super::AppState;
use crate::domain::consent::Accepted;
use crate::identity::IssuedTokens;
use crate::login::LoginOutcome;
use crate::members::actor;
use crate::signup::SignupInput;

#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = SignupResponse), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn signup(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<SignupRequest>,
) -> Result<impl IntoResponse, Problem> {
    let input = SignupInput {
        org_name: req.organization.name,
        org_kind: req.organization.kind,
        mc_number: req.organization.mc_number,
        usdot_number: req.organization.usdot_number,
        name: req.name,
        email: req.email,
        password: req.password,
        accepted: Accepted {
            terms_version: req.terms_version,
            privacy_notice_version: req.privacy_notice_version,
        },
    };
    let (org, user, tokens) = id.signup(input, addr).await?;
    Ok((
        StatusCode::CREATED,
        Json(SignupResponse {
            organization: org.into(),
            user: user.into(),
            tokens,
        }),
    ))
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<LoginResponse>, Problem> {
    Ok(Json(
        match id.login(&req.email, &req.password, addr).await? {
            LoginOutcome::Tokens(t) => LoginResponse {
                mfa_required: false,
                mfa_token: None,
                mfa_token_expires_in: None,
                mfa_methods: Vec::new(),
                tokens: Some(t),
            },
            LoginOutcome::MfaRequired {
                mfa_token,
                expires_in,
                methods,
            } => LoginResponse {
                mfa_required: true,
                mfa_token: Some(mfa_token),
                mfa_token_expires_in: Some(expires_in),
                mfa_methods: methods,
                tokens: None,
            },
        },
    ))
}

#[utoipa::path(post, path = "/v1/auth/login/mfa", tag = "auth", request_body = LoginMfaRequest,
    responses((status = 200, body = IssuedTokens), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login_mfa(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginMfaRequest>,
) -> Result<Json<IssuedTokens>, Problem> {
    Ok(Json(id.login_mfa(&req.mfa_token, &req.code, addr).await?))
}

/// Texts a code for a sign-in challenge to the user's enrolled phone; send it to
/// `POST /v1/auth/login/mfa` like an app's code.
#[utoipa::path(post, path = "/v1/auth/login/mfa/sms", tag = "auth", request_body = MfaChallengeRequest,
    responses((status = 202), (status = 401, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem), (status = 503, body = Problem)))]
pub async fn login_mfa_sms(
    State(id): State<AppState>,
    ApiJson(req): ApiJson<MfaChallengeRequest>,
) -> Result<StatusCode, Problem> {
    id.text_login_code(&req.mfa_token).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = IssuedTokens), (status = 401, body = Problem)))]
pub async fn refresh(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<IssuedTokens>, Problem> {
    Ok(Json(id.refresh(&req.refresh_token, addr).await?))
}

/// Ends the caller's session: its refresh tokens stop working at once, its access tokens
/// are refused from now on.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn logout(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
) -> Result<StatusCode, Problem> {
    let session = caller.session.ok_or_else(|| {
        Problem::forbidden("API keys have no session to end; revoke the key instead")
    })?;
    id.logout(caller.org, session, actor(&caller, addr)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys that verify access tokens (RFC 7517), for other services and clients.
#[utoipa::path(get, path = "/v1/.well-known/jwks.json", tag = "auth", responses((status = 200, body = Object)))]
pub async fn jwks(State(id): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(id.keyring.jwks()),
    )
}

/// Always 202, whether or not the email has an account.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest, responses((status = 202), (status = 429, body = Problem)))]
pub async fn request_password_reset(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> Result<StatusCode, Problem> {
    id.request_password_reset(&req.email, addr).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirm,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn confirm_password_reset(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<PasswordResetConfirm>,
) -> Result<StatusCode, Problem> {
    id.confirm_password_reset(&req.token, &req.new_password, addr)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", request_body = TokenRequest,
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn verify_email(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<StatusCode, Problem> {
    id.verify_email(&req.token, addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/auth/accept-invitation", tag = "auth", request_body = AcceptInvitationRequest,
    responses((status = 201, body = AcceptInvitationResponse), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn accept_invitation(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<AcceptInvitationRequest>,
) -> Result<impl IntoResponse, Problem> {
    let (user, tokens) = id
        .accept_invitation(
            &req.token,
            &req.name,
            &req.password,
            &Accepted {
                terms_version: req.terms_version,
                privacy_notice_version: req.privacy_notice_version,
            },
            addr,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AcceptInvitationResponse {
            user: user.into(),
            tokens,
        }),
    ))
}

/// The versions of the terms of service and the privacy notice in force (public: the
/// sign-up and invitation forms show them before anyone has an account).
#[utoipa::path(get, path = "/v1/legal", tag = "auth", responses((status = 200, body = LegalView)))]
pub async fn legal(State(id): State<AppState>) -> Json<LegalView> {
    let v = id.versions();
    Json(LegalView {
        terms_version: v.terms,
        privacy_notice_version: v.privacy_notice,
        terms_required: id.settings().auth.terms_required,
    })
}
