//! `/v1/org/*`: the caller's organization, its members, invitations, API keys and audit
//! trail. Every lookup is by (caller's org, id): another organization's id is a 404.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lanerunner_core::{ApiKeyId, AuditId, InvitationId, UserId};
use lanerunner_platform::http::pagination::PageQuery;
use lanerunner_platform::http::period::PeriodQuery;
use lanerunner_platform::http::scope::{IdentityRead, IdentityWrite};
use lanerunner_platform::http::{ApiJson, Authorized, ClientAddr, Page, Problem};
use uuid::Uuid;

use super::dto::*;
use super::AppState;
use crate::members::OrgChanges;

#[utoipa::path(get, path = "/v1/org", tag = "org", security(("bearer" = [])), responses((status = 200, body = OrgView)))]
pub async fn get_org(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
) -> Result<Json<OrgView>, Problem> {
    Ok(Json(id.organization(caller.org).await?.into()))
}

#[utoipa::path(patch, path = "/v1/org", tag = "org", security(("bearer" = [])), request_body = OrgPatch,
    responses((status = 200, body = OrgView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn patch_org(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(req): ApiJson<OrgPatch>,
) -> Result<Json<OrgView>, Problem> {
    let changes = OrgChanges {
        name: req.name,
        mc_number: req.mc_number,
        usdot_number: req.usdot_number,
        require_mfa: req.require_mfa,
        ip_allowlist: req.ip_allowlist,
    };
    Ok(Json(
        id.update_organization(&caller, changes, addr).await?.into(),
    ))
}

#[utoipa::path(get, path = "/v1/org/users", tag = "org", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<UserView>)))]
pub async fn list_users(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<UserView>>, Problem> {
    let cursor = q.cursor()?;
    let rows = id
        .members(caller.org, cursor.after.map(UserId), cursor.limit)
        .await?;
    let page = Page::from_rows(rows, cursor, |u| u.id.into());
    Ok(Json(Page {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/org/users/{user_id}", tag = "org", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn get_user(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
    Path(user_id): Path<Uuid>,
) -> Result<Json<UserView>, Problem> {
    Ok(Json(id.member(caller.org, UserId(user_id)).await?.into()))
}

/// Change a member's role, or deactivate (`active: false`, which ends their sessions) or
/// reactivate them.
#[utoipa::path(patch, path = "/v1/org/users/{user_id}", tag = "org", security(("bearer" = [])), request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn patch_user(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    Path(user_id): Path<Uuid>,
    ApiJson(req): ApiJson<UserPatch>,
) -> Result<Json<UserView>, Problem> {
    Ok(Json(
        id.update_member(
            &caller,
            UserId(user_id),
            req.role.as_deref(),
            req.active,
            addr,
        )
        .await?
        .into(),
    ))
}

/// Erase a deactivated member's personal data (GDPR art. 17) here and in every service:
/// the member stays as "Erased member" with a placeholder email, their id still on what
/// they did. Owners and admins (only owners erase an owner); not undoable.
#[utoipa::path(post, path = "/v1/org/users/{user_id}/erasure", tag = "org", security(("bearer" = [])),
    responses((status = 200, body = ErasureView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn erase_user(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    Path(user_id): Path<Uuid>,
) -> Result<Json<ErasureView>, Problem> {
    let (user, erased) = id.erase_member(&caller, UserId(user_id), addr).await?;
    Ok(Json(ErasureView {
        user: user.into(),
        erased,
    }))
}

#[utoipa::path(post, path = "/v1/org/invitations", tag = "org", security(("bearer" = [])), request_body = InvitationRequest,
    responses((status = 201, body = InvitationView), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create_invitation(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(req): ApiJson<InvitationRequest>,
) -> Result<impl IntoResponse, Problem> {
    let inv = id.invite(&caller, &req.email, &req.role, addr).await?;
    Ok((StatusCode::CREATED, Json(InvitationView::from(inv))))
}

#[utoipa::path(get, path = "/v1/org/invitations", tag = "org", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<InvitationView>)))]
pub async fn list_invitations(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<InvitationView>>, Problem> {
    let cursor = q.cursor()?;
    let page = Page::from_rows(
        id.invitations(caller.org, cursor.after.map(InvitationId), cursor.limit)
            .await?,
        cursor,
        |i| i.id.into(),
    );
    Ok(Json(Page {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(delete, path = "/v1/org/invitations/{invitation_id}", tag = "org", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_invitation(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    Path(invitation_id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    id.revoke_invitation(&caller, InvitationId(invitation_id), addr)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/org/api-keys", tag = "org", security(("bearer" = [])), request_body = ApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    ApiJson(req): ApiJson<ApiKeyRequest>,
) -> Result<impl IntoResponse, Problem> {
    let (key, secret) = id
        .create_api_key(
            &caller,
            &req.name,
            req.scopes,
            req.expires_at,
            &req.ip_allowlist,
            addr,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            key: key.into(),
            secret: secret.expose().to_owned(),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/org/api-keys", tag = "org", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<ApiKeyView>)))]
pub async fn list_api_keys(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<ApiKeyView>>, Problem> {
    caller.require_admin()?;
    let cursor = q.cursor()?;
    let page = Page::from_rows(
        id.api_keys(caller.org, cursor.after.map(ApiKeyId), cursor.limit)
            .await?,
        cursor,
        |k| k.id.into(),
    );
    Ok(Json(Page {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(delete, path = "/v1/org/api-keys/{key_id}", tag = "org", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_api_key(
    State(id): State<AppState>,
    ClientAddr(addr): ClientAddr,
    caller: Authorized<IdentityWrite>,
    Path(key_id): Path<Uuid>,
) -> Result<StatusCode, Problem> {
    id.revoke_api_key(&caller, ApiKeyId(key_id), addr).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/org/audit-events", tag = "org", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<AuditView>), (status = 403, body = Problem)))]
pub async fn list_audit(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AuditView>>, Problem> {
    caller.require_admin()?;
    let cursor = q.cursor()?;
    let rows =
        crate::store::list_audit(&id.db, caller.org, cursor.after.map(AuditId), cursor.limit)
            .await?;
    let page = Page::from_rows(rows, cursor, |a| a.id.into());
    Ok(Json(Page {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Walks the organization's audit chain: each record's hash, its link to the one before,
/// nothing missing or cut off the end, and every anchor of the chain's head. `intact`
/// false lists each break.
#[utoipa::path(get, path = "/v1/org/audit-events/verify", tag = "org", security(("bearer" = [])),
    responses((status = 200, body = crate::audit_trail::ChainReport), (status = 403, body = Problem)))]
pub async fn verify_audit(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
) -> Result<Json<crate::audit_trail::ChainReport>, Problem> {
    caller.require_admin()?;
    let org = caller.org.0;
    let report = id
        .verify_audit(Some(org))
        .await
        .map_err(crate::error::IdentityError::Internal)?
        .pop()
        // An organization that has audited nothing yet has no chain: nothing to break.
        .unwrap_or_else(|| crate::audit_trail::ChainReport::empty(org));
    Ok(Json(report))
}

/// The most days one access controls report covers.
const MAX_REPORT_DAYS: i64 = 366;

/// The access controls report (CSV): every change to who may do what in the organization
/// in the period (accounts, roles, deactivations, invitations, API keys, second factors,
/// passwords, the MFA rule and the allowlist, plan changes, erasures), who made it and to
/// whom, from where, and each record's place and hash in the audit chain. The chain is
/// verified first: `Audit-Chain` says `intact` or `broken` (the verify route says where).
#[utoipa::path(get, path = "/v1/org/audit-events/access-report", tag = "org", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn access_report(
    State(id): State<AppState>,
    caller: Authorized<IdentityRead>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, Problem> {
    caller.require_admin()?;
    let period = q.period(MAX_REPORT_DAYS)?;
    let report = id
        .access_report(caller.org, period.start(), period.end())
        .await?;
    let name = format!(
        "attachment; filename=\"access-{}-{}.csv\"",
        period.from, period.to
    );
    let verdict = if report.chain.intact {
        "intact"
    } else {
        "broken"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
            (HeaderName::from_static("audit-chain"), verdict.to_string()),
        ],
        report.csv,
    )
        .into_response())
}
