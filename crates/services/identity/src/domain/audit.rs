//! The catalogue of what the security audit trail records: every action identity audits
//! and how it ended. The snake_case names are what the `audit_events` table stores and
//! what `GET /v1/org/audit-events` and the `identity.audit_recorded` event carry; renaming
//! one is a wire and data change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::UnknownVariant;

/// Declares a string-valued enum: `as_str`, `Display`, `FromStr` and `ALL`, with one name
/// per variant written once.
macro_rules! catalogue {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        what: $what,
                        value: s.into(),
                        expected: stringify!($($text),+),
                    }),
                }
            }
        }
    };
}

catalogue! {
    /// A security-relevant action.
    AuditAction, "audit action" {
        // Accounts and sessions.
        /// An organization and its first owner were created.
        Signup => "signup",
        /// A sign-in by password (outcome `failure` carries the reason).
        Login => "login",
        /// A failed second step of a sign-in (the successful one is recorded as `login`).
        LoginMfa => "login_mfa",
        /// A session was ended by its user.
        Logout => "logout",
        /// A rotated refresh token was presented again: its session was revoked.
        RefreshTokenReuse => "refresh_token_reuse",
        /// A password reset email was sent.
        PasswordResetRequested => "password_reset_requested",
        /// A password was reset with an emailed token; every session ended.
        PasswordReset => "password_reset",
        /// A signed-in user changed their password; their other sessions ended.
        PasswordChange => "password_change",
        /// An email address was verified.
        EmailVerified => "email_verified",
        // Second factor.
        /// TOTP was enrolled and recovery codes issued.
        MfaEnabled => "mfa_enabled",
        /// TOTP was turned off.
        MfaDisabled => "mfa_disabled",
        /// New recovery codes replaced the old ones.
        MfaRecoveryCodesRegenerated => "mfa_recovery_codes_regenerated",
        // The organization and its members.
        /// The organization's MFA requirement changed.
        OrgRequireMfaChanged => "org_require_mfa_changed",
        /// The organization's IP allowlist changed.
        OrgIpAllowlistChanged => "org_ip_allowlist_changed",
        /// A member's role changed; their sessions ended.
        RoleChanged => "role_changed",
        /// A member was deactivated; their sessions and API keys ended.
        UserDeactivated => "user_deactivated",
        /// A deactivated member was let back in.
        UserReactivated => "user_reactivated",
        // Invitations.
        InvitationCreated => "invitation_created",
        InvitationRevoked => "invitation_revoked",
        InvitationAccepted => "invitation_accepted",
        // API keys.
        ApiKeyCreated => "api_key_created",
        ApiKeyRevoked => "api_key_revoked",
        /// A deactivated member's API keys were revoked with them.
        ApiKeysRevokedWithOwner => "api_keys_revoked_with_owner",
        // Personal data (GDPR).
        /// A person granted or withdrew consent to a purpose (which version of the text).
        ConsentRecorded => "consent_recorded",
        /// A person downloaded everything held about them.
        PersonalDataExported => "personal_data_exported",
        /// A member's personal data was erased (GDPR art. 17) by an owner or admin.
        MemberErased => "member_erased",
        /// An operator asked for the organization to be put on another plan (its limits
        /// and quota); a second operator decides.
        PlanChangeRequested => "plan_change_requested",
        /// A second operator approved a plan change: the organization is on the plan.
        PlanChanged => "plan_changed",
        /// An operator rejected (or its asker withdrew) a plan change.
        PlanChangeRejected => "plan_change_rejected",
        /// A LaneRunner operator was enrolled (with an authenticator of their own).
        OperatorEnrolled => "operator_enrolled",
        /// A LaneRunner operator was retired: their codes are refused from then on.
        OperatorRetired => "operator_retired",
    }
}

catalogue! {
    /// How an audited action ended.
    AuditOutcome, "audit outcome" {
        Success => "success",
        Failure => "failure",
        /// The action was refused and the session it came from was revoked.
        SessionRevoked => "session_revoked",
    }
}

impl AuditAction {
    /// Whether the action changes who may do what — an account, a member's role or
    /// standing, an invitation, an API key, a second factor, a password, the organization's
    /// MFA rule or allowlist, its plan, an erasure — and so belongs in the access controls
    /// report (SOX access reviews). Sign-ins, consents and exports do not change access.
    /// Exhaustive, so a new action must be placed.
    pub fn changes_access(self) -> bool {
        use AuditAction::*;
        match self {
            Signup
            | RefreshTokenReuse
            | PasswordReset
            | PasswordChange
            | MfaEnabled
            | MfaDisabled
            | MfaRecoveryCodesRegenerated
            | OrgRequireMfaChanged
            | OrgIpAllowlistChanged
            | RoleChanged
            | UserDeactivated
            | UserReactivated
            | InvitationCreated
            | InvitationRevoked
            | InvitationAccepted
            | ApiKeyCreated
            | ApiKeyRevoked
            | ApiKeysRevokedWithOwner
            | MemberErased
            | PlanChangeRequested
            | PlanChanged
            | PlanChangeRejected
            | OperatorEnrolled
            | OperatorRetired => true,
            Login
            | LoginMfa
            | Logout
            | PasswordResetRequested
            | EmailVerified
            | ConsentRecorded
            | PersonalDataExported => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_changes_are_the_ones_an_access_review_reads() {
        let access: Vec<&str> = AuditAction::ALL
            .iter()
            .filter(|a| a.changes_access())
            .map(|a| a.as_str())
            .collect();
        for a in [
            "role_changed",
            "api_key_created",
            "mfa_disabled",
            "org_ip_allowlist_changed",
            "plan_changed",
        ] {
            assert!(access.contains(&a), "{a}");
        }
        for a in [
            "login",
            "logout",
            "consent_recorded",
            "personal_data_exported",
        ] {
            assert!(!access.contains(&a), "{a}");
        }
    }

    #[test]
    fn every_action_and_outcome_round_trips_through_text_and_json() {
        for a in AuditAction::ALL {
            assert_eq!(a.as_str().parse::<AuditAction>().unwrap(), *a);
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        for o in AuditOutcome::ALL {
            assert_eq!(o.as_str().parse::<AuditOutcome>().unwrap(), *o);
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), AuditAction::ALL.len());
    }

    #[test]
    fn an_unknown_action_is_an_error_naming_it() {
        let err = "login_ok".parse::<AuditAction>().unwrap_err();
        assert!(err.to_string().contains("login_ok"));
    }
}
