//! Wire types of the identity API. Requests refuse unknown fields, so a typo in a field
//! name is an error rather than a silently ignored value.

use chrono::{DateTime, Utc};
use lanerunner_core::OrgKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::identity::IssuedTokens;
use crate::store::{ApiKeyRow, AuditRow, InvitationRow, OrgRow, UserRow};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupOrg {
    pub name: String,
    #[schema(value_type = String, example = "carrier")]
    pub kind: OrgKind,
    /// Carriers only: `MC-123456` or digits.
    pub mc_number: Option<String>,
    /// Required for carriers.
    pub usdot_number: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub organization: SignupOrg,
    pub name: String,
    pub email: String,
    /// 12–128 characters, not a common password, not containing your email name.
    pub password: String,
    /// The version of the terms of service the person accepted: the one in force
    /// (`GET /v1/legal`); required unless the deployment turned `auth.terms_required` off.
    #[serde(default)]
    pub terms_version: Option<String>,
    /// The version of the privacy notice shown to them, when acknowledged.
    #[serde(default)]
    pub privacy_notice_version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResponse {
    pub organization: OrgView,
    pub user: UserView,
    pub tokens: IssuedTokens,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Either tokens, or (`mfa_required`) a challenge to complete at `/v1/auth/login/mfa`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub mfa_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_token_expires_in: Option<u64>,
    /// The second factors the account has (`totp`, `sms`), so a client can offer to text a
    /// code (`POST /v1/auth/login/mfa/sms`); a recovery code always works too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mfa_methods: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<IssuedTokens>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginMfaRequest {
    pub mfa_token: String,
    /// A 6-digit TOTP code, a code texted to the enrolled phone, or a recovery code.
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    pub token: String,
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrollmentView {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// For QR codes.
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    /// A mobile number: E.164 (`+14155550100`), or ten North American digits.
    pub phone: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneView {
    /// The number the code went to, its last four digits only.
    pub phone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaChallengeRequest {
    /// The `mfa_token` from `POST /v1/auth/login`.
    pub mfa_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableMfaRequest {
    pub password: String,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesView {
    /// Shown once. Each works once in place of a TOTP or texted code. Empty when a second
    /// factor was added beside one already enrolled: the codes given then still work.
    pub recovery_codes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<IssuedTokens>,
}

impl From<crate::mfa::Confirmed> for RecoveryCodesView {
    fn from(c: crate::mfa::Confirmed) -> Self {
        Self {
            recovery_codes: c.recovery_codes,
            tokens: c.tokens,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgView {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub mc_number: Option<String>,
    pub usdot_number: Option<String>,
    pub require_mfa: bool,
    /// CIDR blocks every request for the organization must come from (empty: any).
    pub ip_allowlist: Vec<String>,
    /// The plan its limits come from (`null`: the default limits).
    pub plan: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<OrgRow> for OrgView {
    fn from(o: OrgRow) -> Self {
        Self {
            id: o.id.into(),
            kind: o.kind.to_string(),
            name: o.name,
            mc_number: o.mc_number,
            usdot_number: o.usdot_number,
            require_mfa: o.require_mfa,
            ip_allowlist: o.ip_allowlist.0,
            plan: o.plan,
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub mc_number: Option<String>,
    pub usdot_number: Option<String>,
    pub require_mfa: Option<bool>,
    /// CIDR blocks (or addresses) every request for the organization must come from; `[]`
    /// allows any. A list that would shut out the request making the change is refused.
    pub ip_allowlist: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: bool,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    /// `totp` (an authenticator app), `sms` (codes texted to a verified phone).
    pub mfa_methods: Vec<&'static str>,
    /// The phone SMS codes go to, only its last four digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_phone: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When their personal data was erased (name and email are then placeholders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> Self {
        let (mfa_enabled, mfa_methods) = (u.mfa_enabled(), u.mfa_methods());
        Self {
            id: u.id.into(),
            org_id: u.org_id.into(),
            email: u.email,
            name: u.name,
            role: u.role.to_string(),
            active: u.active,
            email_verified: u.email_verified_at.is_some(),
            mfa_enabled,
            mfa_methods,
            mfa_phone: u
                .mfa_phone_last4
                .as_deref()
                .map(lanerunner_core::phone::masked),
            created_at: u.created_at,
            erased_at: u.erased_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    pub organization: OrgView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    pub email: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: &'static str,
}

impl From<InvitationRow> for InvitationView {
    fn from(i: InvitationRow) -> Self {
        let status = if i.accepted_at.is_some() {
            "accepted"
        } else if i.revoked_at.is_some() {
            "revoked"
        } else if i.expires_at <= Utc::now() {
            "expired"
        } else {
            "pending"
        };
        Self {
            id: i.id.into(),
            email: i.email,
            role: i.role.to_string(),
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
            status,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
    pub name: String,
    pub password: String,
    /// As at sign-up: the version of the terms accepted (required by default).
    #[serde(default)]
    pub terms_version: Option<String>,
    #[serde(default)]
    pub privacy_notice_version: Option<String>,
}

/// `GET /v1/legal`: the texts in force, for the forms that ask to accept them.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalView {
    pub terms_version: String,
    pub privacy_notice_version: String,
    /// Whether joining requires accepting the terms.
    pub terms_required: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptInvitationResponse {
    pub user: UserView,
    pub tokens: IssuedTokens,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRequest {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// CIDR blocks (or addresses) the key may be used from, within the organization's.
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    #[schema(value_type = Vec<String>)]
    pub scopes: lanerunner_core::Scopes,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// CIDR blocks the key may be used from (empty: the organization's list alone).
    pub ip_allowlist: Vec<String>,
}

impl From<ApiKeyRow> for ApiKeyView {
    fn from(k: ApiKeyRow) -> Self {
        Self {
            id: k.id.into(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.0,
            created_by: k.created_by.into(),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked: k.revoked_at.is_some(),
            ip_allowlist: k.ip_allowlist.0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub key: ApiKeyView,
    /// The key itself. Shown this once; store it now.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub outcome: String,
    pub target_id: Option<Uuid>,
    pub client_addr: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    /// Its place in the organization's hash chain, the hash it follows and its own
    /// (SHA-256, hex): `GET /v1/org/audit-events/verify` checks them. Null for the
    /// moment between the action and its record's chaining (a quarter of a second, usually).
    pub chain_seq: Option<i64>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

impl From<AuditRow> for AuditView {
    fn from(a: AuditRow) -> Self {
        Self {
            id: a.id.into(),
            actor_id: a.actor_id,
            action: a.action.to_string(),
            outcome: a.outcome.to_string(),
            target_id: a.target_id,
            client_addr: a.client_addr,
            detail: a.detail.0,
            occurred_at: a.occurred_at,
            chain_seq: a.chain_seq,
            prev_hash: a.prev_hash,
            hash: a.hash,
        }
    }
}

/// `POST /v1/org/users/{user_id}/erasure`: the member as they are now, and what went.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    pub user: UserView,
    pub erased: crate::store::Erased,
}
