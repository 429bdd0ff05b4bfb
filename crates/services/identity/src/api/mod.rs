//! The identity service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Identity`].

mod auth;
pub mod dto;
mod me;
mod org;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::identity::Identity;

pub type AppState = Arc<Identity>;

pub fn routes(identity: Arc<Identity>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(auth::signup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::login_mfa))
        .routes(routes!(auth::login_mfa_sms))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::jwks))
        .routes(routes!(auth::legal))
        .routes(routes!(auth::request_password_reset))
        .routes(routes!(auth::confirm_password_reset))
        .routes(routes!(auth::verify_email))
        .routes(routes!(auth::accept_invitation))
        .routes(routes!(me::me))
        .routes(routes!(me::change_password))
        .routes(routes!(me::resend_verification))
        .routes(routes!(me::begin_totp))
        .routes(routes!(me::confirm_totp))
        .routes(routes!(me::begin_sms))
        .routes(routes!(me::confirm_sms))
        .routes(routes!(me::send_sms_code))
        .routes(routes!(me::disable_mfa))
        .routes(routes!(me::regenerate_recovery_codes))
        .routes(routes!(me::get_consents, me::record_consent))
        .routes(routes!(me::export))
        .routes(routes!(org::get_org, org::patch_org))
        .routes(routes!(org::list_users))
        .routes(routes!(org::get_user, org::patch_user))
        .routes(routes!(org::erase_user))
        .routes(routes!(org::create_invitation, org::list_invitations))
        .routes(routes!(org::revoke_invitation))
        .routes(routes!(org::create_api_key, org::list_api_keys))
        .routes(routes!(org::revoke_api_key))
        .routes(routes!(org::list_audit))
        .routes(routes!(org::verify_audit))
        .routes(routes!(org::access_report))
        .with_state(identity)
}
