//! The authenticated caller. Handlers take an [`Authorized<S>`] argument naming the scope
//! the route needs (`Authorized<LoadsWrite>`): the extractor authenticates, checks the scope
//! and hands over the [`Caller`], whose organization is the tenant every store function
//! requires. `Caller` itself is not an extractor, so a handler cannot skip the scope check
//! or forget tenancy; only the MFA enrolment routes take [`EnrollingCaller`].

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use lanerunner_core::{
    Access, ApiKeyId, OrgId, OrgKind, Resource, Role, Scope, Scopes, SessionId, UserId,
};
use uuid::Uuid;

use super::client_addr::ClientAddr;
use super::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    User(UserId),
    ApiKey(ApiKeyId),
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub org: OrgId,
    /// What the caller's organization is; decides which side of the market it sees.
    pub org_kind: OrgKind,
    pub principal: Principal,
    pub role: Role,
    /// API keys carry explicit scopes; a user's scopes are those of their role (`*`).
    pub scopes: Scopes,
    /// The login session (refresh-token family) a user's access token belongs to.
    pub session: Option<SessionId>,
    /// The organization requires MFA and this user has not enrolled yet: only the MFA
    /// enrolment routes (which take [`EnrollingCaller`]) accept this caller.
    pub mfa_enrollment_pending: bool,
    /// The organization's plan (`http.plans`), which sets its limits; none: the default.
    pub plan: Option<String>,
}

impl Caller {
    pub fn user_id(&self) -> Option<UserId> {
        match self.principal {
            Principal::User(u) => Some(u),
            Principal::ApiKey(_) => None,
        }
    }

    /// The id recorded as actor in audit records and events.
    pub fn actor_id(&self) -> Uuid {
        match self.principal {
            Principal::User(u) => u.as_uuid(),
            Principal::ApiKey(k) => k.as_uuid(),
        }
    }

    pub fn allows(&self, resource: Resource, access: Access) -> bool {
        self.scopes.allows(resource, access)
    }

    pub fn require_scope(&self, resource: Resource, access: Access) -> Result<(), Problem> {
        if self.allows(resource, access) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this credential lacks the scope \"{}\"",
                Scope::new(resource, access)
            )))
        }
    }

    /// Requires a signed-in person (not an API key).
    pub fn require_user(&self) -> Result<UserId, Problem> {
        self.user_id()
            .ok_or_else(|| Problem::forbidden("this action needs a signed-in user, not an API key"))
    }

    pub fn require_admin(&self) -> Result<(), Problem> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(Problem::forbidden("only owners and admins may do this"))
        }
    }
}

/// Turns a presented credential into a caller. Provided by the identity service; the HTTP
/// kit only knows it as this trait.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// `client` is the request's address (after trusted proxies): the organization's and
    /// the API key's IP allowlists are checked against it.
    async fn authenticate(&self, credential: &str, client: IpAddr) -> Result<Caller, Problem>;
}

/// Request extension through which the extractor finds the authenticator.
#[derive(Clone)]
pub struct AuthenticatorHandle(pub Arc<dyn Authenticator>);

/// The credential a request presents: `Authorization: Bearer <token>`, else `X-Api-Key`.
pub fn bearer(parts: &Parts) -> Result<&str, Problem> {
    if let Some(value) = parts.headers.get(AUTHORIZATION) {
        let text = value
            .to_str()
            .map_err(|_| Problem::unauthenticated("the Authorization header is not text"))?;
        let (scheme, token) = text
            .split_once(' ')
            .ok_or_else(|| Problem::unauthenticated("expected `Authorization: Bearer <token>`"))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Problem::unauthenticated(
                "expected `Authorization: Bearer <token>`",
            ));
        }
        return Ok(token.trim());
    }
    if let Some(value) = parts.headers.get("x-api-key") {
        return value
            .to_str()
            .map_err(|_| Problem::unauthenticated("the X-Api-Key header is not text"));
    }
    Err(Problem::unauthenticated(
        "no credentials: send `Authorization: Bearer <token>`",
    ))
}

/// A caller who may still be enrolling in MFA (see [`Caller::mfa_enrollment_pending`]).
pub struct EnrollingCaller(pub Caller);

/// The authenticated caller, refused while an MFA enrolment its organization requires is
/// pending. No scope is checked: this is for extractors that check scopes themselves (the
/// realtime feed filters each event by the read scope of what it carries); handlers take
/// [`Authorized`].
pub async fn enrolled_caller<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Caller, Problem> {
    let EnrollingCaller(caller) = EnrollingCaller::from_request_parts(parts, state).await?;
    if caller.mfa_enrollment_pending {
        return Err(Problem::new(
            axum::http::StatusCode::FORBIDDEN,
            "mfa-enrollment-required",
            "MFA enrolment required",
        )
        .detail("your organization requires multi-factor authentication: enrol at POST /v1/me/mfa/totp first"));
    }
    Ok(caller)
}

/// A scope a route requires, named by a marker type (see [`scope`]).
pub trait RequiredScope: Send + Sync + 'static {
    const RESOURCE: Resource;
    const ACCESS: Access;
}

/// The markers handlers name in [`Authorized`]: one per resource and access.
pub mod scope {
    use super::{Access, RequiredScope, Resource};

    macro_rules! markers {
        ($($name:ident => $resource:ident, $access:ident;)*) => {$(
            #[doc = concat!("Requires `", stringify!($resource), ":", stringify!($access), "`.")]
            pub struct $name;
            impl RequiredScope for $name {
                const RESOURCE: Resource = Resource::$resource;
                const ACCESS: Access = Access::$access;
            }
        )*};
    }

    markers! {
        IdentityRead => Identity, Read;
        IdentityWrite => Identity, Write;
        LoadsRead => Loads, Read;
        LoadsWrite => Loads, Write;
        TrucksRead => Trucks, Read;
        TrucksWrite => Trucks, Write;
        MatchingRead => Matching, Read;
        MatchingWrite => Matching, Write;
        AnalyticsRead => Analytics, Read;
        RatesRead => Rates, Read;
        ReportsRead => Reports, Read;
        ReportsWrite => Reports, Write;
        NegotiationsRead => Negotiations, Read;
        NegotiationsWrite => Negotiations, Write;
        CarriersRead => Carriers, Read;
        CarriersWrite => Carriers, Write;
        ChatRead => Chat, Read;
        ChatWrite => Chat, Write;
        FilesRead => Files, Read;
        FilesWrite => Files, Write;
        PaymentsRead => Payments, Read;
        PaymentsWrite => Payments, Write;
        DocumentsRead => Documents, Read;
        DocumentsWrite => Documents, Write;
        TrackingRead => Tracking, Read;
        TrackingWrite => Tracking, Write;
        WebhooksRead => Webhooks, Read;
        WebhooksWrite => Webhooks, Write;
        NotificationsRead => Notifications, Read;
        NotificationsWrite => Notifications, Write;
        VoiceRead => Voice, Read;
        VoiceWrite => Voice, Write;
    }
}

/// An authenticated caller who holds the scope `S` (and, when the organization requires
/// MFA, has enrolled). Derefs to the [`Caller`].
pub struct Authorized<S: RequiredScope> {
    pub caller: Caller,
    scope: std::marker::PhantomData<S>,
}

impl<S: RequiredScope> std::ops::Deref for Authorized<S> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<S: RequiredScope, St: Send + Sync> FromRequestParts<St> for Authorized<S> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let caller = enrolled_caller(parts, state).await?;
        caller.require_scope(S::RESOURCE, S::ACCESS)?;
        Ok(Authorized {
            caller,
            scope: std::marker::PhantomData,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for EnrollingCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(EnrollingCaller(caller.clone()));
        }
        let auth = parts
            .extensions
            .get::<AuthenticatorHandle>()
            .cloned()
            .ok_or_else(|| {
                Problem::unavailable("authentication is not configured in this process")
            })?;
        let token = bearer(parts)?.to_owned();
        let ClientAddr(client) = match ClientAddr::from_request_parts(parts, _state).await {
            Ok(addr) => addr,
            Err(never) => match never {},
        };
        let caller = auth.0.authenticate(&token, client).await?;
        if let Some(limiter) = parts.extensions.get::<RateLimiter>().cloned() {
            limiter
                .check(&caller, parts.method.as_str(), parts.uri.path())
                .await?;
        }
        parts.extensions.insert(caller.clone());
        Ok(EnrollingCaller(caller))
    }
}

/// The API's limits, counted in the cache (Redis when configured) so every instance
/// enforces one shared count, and checked once per request when the caller is first
/// extracted: a fixed window per principal — the default `limit`, or the organization's
/// plan's — a tighter one per principal for costly routes (`routes`), and the plan's
/// daily quota per organization. A cache outage lets requests through (logged and
/// counted): the limits protect capacity, and refusing all traffic because Redis is away
/// would be the outage they are meant to prevent.
#[derive(Clone)]
pub struct RateLimiter {
    pub cache: Arc<dyn crate::cache::Cache>,
    pub limit: u32,
    pub window: std::time::Duration,
    pub plans: Arc<std::collections::BTreeMap<String, crate::config::PlanLimits>>,
    pub routes: Arc<Vec<crate::config::RouteLimit>>,
}

/// The first route limit that covers `method` and `path`, with its place in the list.
pub fn route_limit<'a>(
    routes: &'a [crate::config::RouteLimit],
    method: &str,
    path: &str,
) -> Option<(usize, &'a crate::config::RouteLimit)> {
    routes.iter().enumerate().find(|(_, r)| {
        let under = path == r.path
            || path
                .strip_prefix(r.path.as_str())
                .is_some_and(|rest| r.path.ends_with('/') || rest.starts_with('/'));
        under
            && r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    })
}

/// Seconds from `now` to the next midnight UTC: when a daily quota starts over.
pub fn until_midnight_utc(now: chrono::DateTime<chrono::Utc>) -> u64 {
    let next = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    (next - now).num_seconds().max(1) as u64
}

impl RateLimiter {
    /// Counts one request in `key`'s window; `Some(seconds to reset)` when it is past `max`.
    async fn over(&self, key: &str, window: std::time::Duration, max: u64) -> Option<u64> {
        match self.cache.incr_in_window(key, window).await {
            Ok((count, reset)) if count > max => Some(reset.as_secs().max(1)),
            Ok(_) => None,
            Err(e) => {
                metrics::counter!("http_rate_limit_unavailable_total").increment(1);
                tracing::warn!(error = %e, "rate limit not checked: the cache is unavailable");
                None
            }
        }
    }

    pub async fn check(&self, caller: &Caller, method: &str, path: &str) -> Result<(), Problem> {
        let who = match caller.principal {
            Principal::User(u) => format!("user:{}", u.0),
            Principal::ApiKey(k) => format!("key:{k}"),
        };
        let plan = caller
            .plan
            .as_deref()
            .and_then(|p| self.plans.get(p).map(|l| (p, l)));
        let per_minute = plan.map_or(self.limit, |(_, l)| l.per_minute);
        if let Some(reset) = self
            .over(
                &format!("ratelimit:{who}"),
                self.window,
                u64::from(per_minute),
            )
            .await
        {
            metrics::counter!("http_rate_limited_total", "limit" => "principal").increment(1);
            return Err(Problem::too_many_requests(reset)
                .with("limit", per_minute)
                .with("window_seconds", self.window.as_secs())
                .with("plan", plan.map_or("default", |(p, _)| p)));
        }
        if let Some((i, route)) = route_limit(&self.routes, method, path) {
            if let Some(reset) = self
                .over(
                    &format!("ratelimit:{who}:route{i}"),
                    self.window,
                    u64::from(route.per_minute),
                )
                .await
            {
                metrics::counter!("http_rate_limited_total", "limit" => "route").increment(1);
                return Err(Problem::too_many_requests(reset)
                    .with("limit", route.per_minute)
                    .with("window_seconds", self.window.as_secs())
                    .with("route", route.path.clone()));
            }
        }
        if let Some((name, limits)) = plan.filter(|(_, l)| l.daily_quota > 0) {
            let now = chrono::Utc::now();
            let day = now.date_naive();
            let ttl = std::time::Duration::from_secs(until_midnight_utc(now));
            let key = format!("quota:{}:{day}", caller.org.as_uuid());
            if let Some(reset) = self.over(&key, ttl, limits.daily_quota).await {
                metrics::counter!("http_rate_limited_total", "limit" => "quota").increment(1);
                return Err(Problem::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "quota-exceeded",
                    "Daily quota reached",
                )
                .detail(format!(
                    "your organization's plan ({name}) allows {} requests a day (UTC); it starts over in {reset} seconds",
                    limits.daily_quota
                ))
                .retry_after(reset)
                .with("quota", limits.daily_quota)
                .with("plan", name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(scopes: &[&str]) -> Caller {
        Caller {
            org: OrgId::new(),
            org_kind: OrgKind::Broker,
            principal: Principal::ApiKey(ApiKeyId::new()),
            role: Role::Viewer,
            scopes: scopes.iter().map(|s| s.parse::<Scope>().unwrap()).collect(),
            session: None,
            mfa_enrollment_pending: false,
            plan: None,
        }
    }

    #[test]
    fn a_missing_scope_is_a_forbidden_problem_naming_it() {
        let c = caller(&["identity:read"]);
        assert!(c.require_scope(Resource::Identity, Access::Read).is_ok());
        let err = c.require_scope(Resource::Loads, Access::Write).unwrap_err();
        assert_eq!(err.status, 403);
        assert!(format!("{err:?}").contains("loads:write"));
    }

    #[test]
    fn a_route_limit_covers_its_path_and_what_is_under_it() {
        use crate::config::RouteLimit;
        let routes = vec![
            RouteLimit {
                method: Some("POST".into()),
                path: "/v1/loads".into(),
                per_minute: 5,
            },
            RouteLimit {
                method: None,
                path: "/v1/loads/search".into(),
                per_minute: 9,
            },
        ];
        let at = |m: &str, p: &str| route_limit(&routes, m, p).map(|(i, _)| i);
        assert_eq!(at("post", "/v1/loads"), Some(0));
        assert_eq!(at("POST", "/v1/loads/123/status"), Some(0));
        assert_eq!(at("GET", "/v1/loads/search"), Some(1));
        assert_eq!(at("GET", "/v1/loads"), None, "another method");
        assert_eq!(
            at("GET", "/v1/loadsx"),
            None,
            "a longer name is not under it"
        );
        assert_eq!(at("POST", "/v1/loadsx"), None);
    }

    #[test]
    fn a_daily_quota_starts_over_at_midnight_utc() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        assert_eq!(until_midnight_utc(at("2026-12-05T23:59:30Z")), 30);
        assert_eq!(until_midnight_utc(at("2026-12-05T00:00:00Z")), 86_400);
        assert_eq!(until_midnight_utc(at("2026-12-31T12:00:00Z")), 43_200);
    }
}
