//! The identity store's sealed columns (see `lanerunner_platform::sealing`). A pending and
//! a confirmed value share a purpose, so enrolment moves a sealed value between them as is.

use lanerunner_platform::sealing::{IdKind, SealedField};

const fn users(column: &'static str, purpose: &'static str) -> SealedField {
    SealedField {
        table: "users",
        column,
        id_column: "id",
        id_kind: IdKind::Uuid,
        purpose,
    }
}

pub const TOTP_SECRET: SealedField = users("mfa_secret", "users.totp_secret");
pub const PENDING_TOTP_SECRET: SealedField = users("mfa_pending_secret", "users.totp_secret");
pub const PHONE: SealedField = users("mfa_phone", "users.mfa_phone");
pub const PENDING_PHONE: SealedField = users("mfa_pending_phone", "users.mfa_phone");
pub const SIGNING_KEY: SealedField = SealedField {
    table: "signing_keys",
    column: "private_key",
    id_column: "kid",
    id_kind: IdKind::Text,
    purpose: "signing_keys.private_key",
};

/// A LaneRunner operator's authenticator secret, bound to the operator's name key.
pub const OPERATOR_TOTP_SECRET: SealedField = SealedField {
    table: "operators",
    column: "totp_secret",
    id_column: "name_key",
    id_kind: IdKind::Text,
    purpose: "operators.totp_secret",
};

/// Every sealed column of the identity store.
pub const SEALED_FIELDS: &[SealedField] = &[
    TOTP_SECRET,
    PENDING_TOTP_SECRET,
    PHONE,
    PENDING_PHONE,
    SIGNING_KEY,
    OPERATOR_TOTP_SECRET,
];
