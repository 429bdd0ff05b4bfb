//! The identity service: who you are (auth: credentials, sessions, MFA, API keys, signing
//! keys) and where you belong (user: organizations, members, roles, invitations).
//!
//! Auth and user are one crate and one store because their state changes together in
//! single transactions: signup creates an organization, its owner and their credentials;
//! deactivating a member revokes their sessions. Splitting them would turn each of those
//! into a saga for no gain in independence.

mod access_report;
pub mod api;
mod api_keys;
pub mod audit_trail;
#[cfg(feature = "bench")]
pub mod bench;
pub use error::IdentityError;
pub use store::{Anchor, ChainPass, OrgRow, PlanChangeRow};
mod authn;
pub mod domain;
pub mod erasure_register;
pub mod error;
pub mod events;
mod fields;
mod identity;
mod keyring;
mod login;
mod members;
mod mfa;
mod one_time_tokens;
mod operators;
mod password;
pub mod phone_codes;
mod plan_changes;
pub mod privacy;
pub mod sealed;
mod second_factor;
mod sessions;
mod signup;
mod sms_factor;
mod store;
mod verification;

pub use identity::{Identity, IdentitySettings, IssuedTokens};
pub use mfa::Enrollment;
pub use operators::OperatorView;
pub use sealed::SEALED_FIELDS;

use std::sync::Arc;

use lanerunner_platform::db::Migrations;
use lanerunner_platform::http::Authenticator;
use lanerunner_platform::service::{Service, ServiceContext};
use utoipa_axum::router::OpenApiRouter;

pub const SERVICE: &str = "identity";

/// How long start-up waits for the erasure register's reconciliation.
const START_RECONCILE_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

pub fn migrations() -> Migrations {
    Migrations::new(
        sqlx::migrate!("./migrations/sqlite"),
        sqlx::migrate!("./migrations/postgres"),
    )
}

pub struct IdentityService {
    identity: Arc<Identity>,
}

impl IdentityService {
    /// Builds the service on its (already migrated) store.
    /// `phone_codes` texts and checks the one-time codes of the SMS second factor.
    pub async fn start(
        ctx: ServiceContext,
        settings: IdentitySettings,
        phone_codes: Arc<dyn phone_codes::PhoneCodes>,
    ) -> anyhow::Result<Self> {
        let every = settings.auth.audit_anchor_every_mins;
        let identity = Arc::new(Identity::open(ctx, settings, phone_codes).await?);
        // Its first pass chains whatever was left waiting (and records from before the
        // chains), without holding up start-up.
        audit_trail::chainer(&identity, audit_trail::CHAIN_EVERY);
        // Before the first request: a store restored to a point before an erasure must
        // not serve the erased person. Bounded, since the blob store's client retries for
        // minutes when it is away; the reconciler tries again every 10 minutes.
        let reconciled = tokio::time::timeout(START_RECONCILE_LIMIT, identity.reconcile_erasures())
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "no answer within {START_RECONCILE_LIMIT:?}"
                ))
            });
        match reconciled {
            Ok(done) => tracing::info!(
                entries = done.entries,
                reapplied = done.reapplied.len(),
                recorded = done.recorded,
                absent = done.absent,
                unreadable = done.unreadable.len(),
                "erasure register reconciled"
            ),
            Err(e) => {
                tracing::error!(error = %e, "the erasure register could not be reconciled at start-up")
            }
        }
        tokio::spawn(erasure_register::reconciler(
            Arc::downgrade(&identity),
            erasure_register::RECONCILE_EVERY,
        ));
        if every > 0 {
            tokio::spawn(audit_trail::anchorer(
                Arc::downgrade(&identity),
                std::time::Duration::from_secs(every * 60),
            ));
        }
        if identity.settings().auth.audit_address_retention_days > 0 {
            tokio::spawn(audit_trail::retention(
                Arc::downgrade(&identity),
                std::time::Duration::from_secs(3600),
            ));
        }
        Ok(Self { identity })
    }

    /// Erases the client addresses of audit records past their retention now (a job does
    /// it hourly); how many.
    pub async fn erase_expired_audit_addresses(&self) -> anyhow::Result<u64> {
        self.identity.erase_expired_audit_addresses().await
    }

    /// Checks the erasure register against the store now (start-up and a job do it): members
    /// erased before the store's recovery point are erased again.
    pub async fn reconcile_erasures(&self) -> anyhow::Result<erasure_register::Reconciled> {
        self.identity.reconcile_erasures().await
    }

    /// Walks the audit chains (every one, or `only` an organization's) and reports what
    /// is broken.
    pub async fn verify_audit(
        &self,
        only: Option<uuid::Uuid>,
    ) -> anyhow::Result<Vec<audit_trail::ChainReport>> {
        self.identity.verify_audit(only).await
    }

    /// Chains the audit records waiting for their places now (the service's chainer does
    /// it as they are appended): how many, and when the oldest occurred.
    pub async fn chain_audit(&self) -> anyhow::Result<ChainPass> {
        self.identity.chain_audit().await
    }

    /// Writes down the heads of the chains that moved since their last anchor.
    pub async fn anchor_audit(&self) -> anyhow::Result<Vec<Anchor>> {
        self.identity.anchor_audit().await
    }

    /// `by` (an enrolled operator, with their authenticator's current `code`) asks for the
    /// organization to be put on a gateway plan (none: the default limits), for `reason`;
    /// a second operator decides. The caller checks the plan is configured.
    pub async fn request_plan_change(
        &self,
        org: lanerunner_core::OrgId,
        plan: Option<&str>,
        by: &str,
        code: &str,
        reason: &str,
    ) -> Result<PlanChangeRow, IdentityError> {
        self.identity
            .request_plan_change(org, plan, by, code, reason)
            .await
    }

    /// `by`, who did not ask, approves a plan change with their current `code`: the
    /// organization is on its plan, if `configured` still knows it.
    pub async fn approve_plan_change(
        &self,
        id: lanerunner_core::PlanChangeId,
        by: &str,
        code: &str,
        configured: &dyn Fn(&str) -> bool,
    ) -> Result<(PlanChangeRow, store::OrgRow), IdentityError> {
        self.identity
            .approve_plan_change(id, by, code, configured)
            .await
    }

    /// `by` rejects a plan change (or withdraws their own) with their current `code`, for
    /// `reason`.
    pub async fn reject_plan_change(
        &self,
        id: lanerunner_core::PlanChangeId,
        by: &str,
        code: &str,
        reason: &str,
    ) -> Result<PlanChangeRow, IdentityError> {
        self.identity.reject_plan_change(id, by, code, reason).await
    }

    /// Enrols an operator (the first alone; later ones `vouched` for by an enrolled
    /// operator's name and current code): their authenticator's secret, shown once.
    pub async fn enroll_operator(
        &self,
        name: &str,
        vouched: Option<(&str, &str)>,
    ) -> Result<Enrollment, IdentityError> {
        self.identity.enroll_operator(name, vouched).await
    }

    /// Retires an operator, vouched for by `by`'s current code.
    pub async fn retire_operator(
        &self,
        name: &str,
        by: &str,
        code: &str,
    ) -> Result<(), IdentityError> {
        self.identity.retire_operator(name, by, code).await
    }

    /// Every operator, serving or retired.
    pub async fn operators(&self) -> Result<Vec<OperatorView>, IdentityError> {
        self.identity.operators().await
    }

    /// Plan changes, newest first: one organization's or everyone's, waiting or all.
    pub async fn plan_changes(
        &self,
        org: Option<lanerunner_core::OrgId>,
        pending_only: bool,
    ) -> Result<Vec<PlanChangeRow>, IdentityError> {
        self.identity.plan_changes(org, pending_only).await
    }

    /// Makes a new signing key active; older keys keep verifying until they expire.
    /// Returns the new key id.
    pub async fn rotate_signing_key(&self) -> anyhow::Result<String> {
        self.identity.keyring.rotate(chrono::Utc::now()).await
    }
}

impl Service for IdentityService {
    fn name(&self) -> &'static str {
        SERVICE
    }

    fn routes(&self) -> OpenApiRouter {
        api::routes(self.identity.clone())
    }

    fn authenticator(&self) -> Option<Arc<dyn Authenticator>> {
        Some(Arc::new(authn::IdentityAuthenticator(
            self.identity.clone(),
        )))
    }
}
