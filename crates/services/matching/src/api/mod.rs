//! The matching service's HTTP API: thin handlers that parse, authorise and call one
//! function of [`Matching`].
//!
//! Scopes: matching reads and writes the loads service's data, so it asks for the same
//! scopes (`loads:read` for matches, `loads:write` to start a run).

mod matches;
mod runs;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::Matching;

pub type AppState = Arc<Matching>;

pub fn routes(matching: Arc<Matching>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(matches::load_matches))
        .routes(routes!(matches::truck_matches))
        .routes(routes!(runs::create_run))
        .routes(routes!(runs::get_run))
        .with_state(matching)
}
