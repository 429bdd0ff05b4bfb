//! The OpenAPI document and the interactive docs page. Swagger UI is vendored (see
//! `assets/swagger-ui/`), so `/docs` works on a machine with no internet.

use std::sync::Arc;

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::OpenApi;

const BUNDLE_JS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const UI_CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>LaneRunner API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: "/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
  </script>
</body>
</html>"##;

pub fn routes(doc: OpenApi) -> Router {
    let doc = Arc::new(doc);
    Router::new()
        .route(
            "/v1/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .route("/docs", get(|| async { Html(PAGE) }))
        .route(
            "/docs/swagger-ui-bundle.js",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    BUNDLE_JS,
                )
                    .into_response()
            }),
        )
        .route(
            "/docs/swagger-ui.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    UI_CSS,
                )
                    .into_response()
            }),
        )
}
