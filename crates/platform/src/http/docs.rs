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

/// The media type every error is served as (RFC 9457).
pub const PROBLEM_MEDIA_TYPE: &str = "application/problem+json";

/// Declares, once for every operation, the errors the HTTP kit itself can answer, so the
/// document is true without each handler repeating them: 500 and 503 everywhere; 401, 403
/// and 429 where a credential is required; 400, 413, 415 and 422 where there is a body;
/// 400 and 404 where the path has parameters; 400 and 422 where there is a query. Error
/// bodies a handler declared as `application/json` are served as problems and declared so.
pub fn declare_error_surface(doc: &mut OpenApi) {
    use utoipa::openapi::path::{Operation, ParameterIn};
    use utoipa::openapi::{Content, Ref, RefOr, Response};

    let problem = || Content::new(Some(Ref::from_schema_name("Problem")));
    let add = |op: &mut Operation, status: u16, why: &str| {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| {
                let mut r = Response::new(why);
                r.content.insert(PROBLEM_MEDIA_TYPE.into(), problem());
                RefOr::T(r)
            });
    };
    for item in doc.paths.paths.values_mut() {
        let shared_params = item.parameters.clone().unwrap_or_default();
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            for (status, response) in op.responses.responses.iter_mut() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if let (true, RefOr::T(r)) = (is_error, response) {
                    if let Some(c) = r.content.shift_remove("application/json") {
                        r.content.insert(PROBLEM_MEDIA_TYPE.into(), c);
                    }
                }
            }
            let params: Vec<_> = shared_params
                .iter()
                .chain(op.parameters.iter().flatten())
                .map(|p| p.parameter_in.clone())
                .collect();
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            add(
                op,
                500,
                "Internal error (problem+json; the request id identifies it in the logs)",
            );
            add(op, 503, "Briefly unavailable or too slow; retry later");
            if secured {
                add(
                    op,
                    401,
                    "No credential, or one that is invalid, expired or revoked",
                );
                add(op, 403, "The credential lacks the scope or role this needs");
                add(op, 429, "Rate limited; `Retry-After` says when to retry");
            }
            if op.request_body.is_some() {
                add(op, 400, "The body is not well-formed");
                add(op, 413, "The body is larger than the configured limit");
                add(op, 415, "The body is not of a type this operation takes");
                add(
                    op,
                    422,
                    "The body is well-formed but invalid; every invalid field is listed",
                );
            }
            if params.iter().any(|p| matches!(p, ParameterIn::Path)) {
                add(
                    op,
                    400,
                    "A path parameter is malformed (named in `parameter`)",
                );
                add(op, 404, "No such resource in the caller's organization");
            }
            if params.iter().any(|p| matches!(p, ParameterIn::Query)) {
                add(
                    op,
                    400,
                    "A query parameter is malformed or unknown (named in `parameter`)",
                );
                add(op, 422, "A query parameter is well-formed but invalid");
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{
        HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
    };
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{ContentBuilder, OpenApiBuilder, PathsBuilder, Ref, ResponseBuilder};

    #[test]
    fn every_operation_declares_the_errors_the_kit_answers_as_problems() {
        let op = OperationBuilder::new()
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path),
            )
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .response(
                "409",
                ResponseBuilder::new().description("conflict").content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                ),
            )
            .build();
        let mut doc = OpenApiBuilder::new()
            .paths(PathsBuilder::new().path("/v1/things/{id}", PathItem::new(HttpMethod::Get, op)))
            .build();
        declare_error_surface(&mut doc);
        let json = serde_json::to_value(&doc).unwrap();
        let responses = &json["paths"]["/v1/things/{id}"]["get"]["responses"];
        for status in ["400", "401", "403", "404", "409", "429", "500", "503"] {
            assert!(
                responses[status]["content"][PROBLEM_MEDIA_TYPE].is_object(),
                "{status}: {responses}"
            );
        }
        assert!(responses["409"]["content"]["application/json"].is_null());
        assert!(responses["413"].is_null(), "no body, no 413");
    }
}
