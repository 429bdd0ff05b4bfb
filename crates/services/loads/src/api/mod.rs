//! The loads service's HTTP API: thin handlers that parse, authorise and call one function
//! of [`Loads`].

mod loads;
mod places;
mod searches;
mod trucks;

use std::sync::Arc;

use axum::http::header::{ETAG, IF_MATCH};
use axum::http::{HeaderMap, HeaderValue};
use lanerunner_platform::http::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::Loads;

pub type AppState = Arc<Loads>;

pub fn routes(loads: Arc<Loads>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(loads::create_load, loads::list_loads))
        .routes(routes!(loads::import_loads))
        .routes(routes!(searches::search_loads))
        .routes(routes!(places::complete_places))
        .routes(routes!(loads::get_load, loads::update_load))
        .routes(routes!(loads::post_load))
        .routes(routes!(loads::unpost_load))
        .routes(routes!(loads::cancel_load))
        .routes(routes!(loads::change_status))
        .routes(routes!(loads::copy_load))
        .routes(routes!(loads::load_history))
        .routes(routes!(trucks::create_truck, trucks::list_trucks))
        .routes(routes!(trucks::search_trucks))
        .routes(routes!(
            trucks::get_truck,
            trucks::update_truck,
            trucks::delete_truck
        ))
        .routes(routes!(searches::save_search, searches::list_searches))
        .routes(routes!(searches::delete_search))
        .with_state(loads)
}

/// The version in an `If-Match` header (`"3"`, `W/"3"` or `3`); `Err` for a value that
/// names no version (it cannot match).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    Ok(Some(text.parse().unwrap_or(-1)))
}

pub(crate) fn etag(version: i64) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        h.insert(ETAG, v);
    }
    h
}
