//! The HTTP kit every service's API uses: problem+json errors, a JSON extractor whose
//! rejections are problems, the authenticated caller, client address, pagination, and the
//! operational endpoints and middleware the binary wraps around all routes.

pub mod caller;
pub mod client_addr;
pub mod docs;
pub mod gateway;
pub mod json;
pub mod middleware;
pub mod ops;
pub mod pagination;
pub mod period;
pub mod problem;
pub mod signed_urls;
pub mod tls;

pub use caller::{
    enrolled_caller, scope, Authenticator, AuthenticatorHandle, Authorized, Caller,
    EnrollingCaller, Principal, RateLimiter, RequiredScope,
};
pub use client_addr::{ClientAddr, TrustedProxies};
pub use json::{ApiJson, MaskedJson};
pub use pagination::{Cursor, Page};
pub use problem::{FieldError, Invalid, Problem, Violations};
pub use signed_urls::signed_urls;
