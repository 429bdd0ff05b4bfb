//! The web console: a single-page app in plain ES modules (no build step) that calls the
//! same public API as every other client, served at `/` with its files under `/console/`.
//! The files are embedded in the binary (`assets/`), so `lanerunner serve` opens it with
//! nothing else installed; maps are drawn from bundled boundary data, with no tile server.
//!
//! Every file is revalidated (`Cache-Control: no-cache` with a content `ETag`), so a
//! repeat visit costs a round of `304`s and a new binary is picked up at once. The
//! files are gzipped for clients that accept it.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $mime:expr,)*) => {
        &[$(Asset { path: $path, mime: $mime, body: include_bytes!(concat!("../assets/", $path)) },)*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const ASSETS: &[Asset] = assets! {
    "index.html" => "text/html; charset=utf-8",
    "app.css" => "text/css; charset=utf-8",
    "js/app.js" => JS,
    "js/api.js" => JS,
    "js/dom.js" => JS,
    "js/map.js" => JS,
    "js/pages/auth.js" => JS,
    "js/pages/board.js" => JS,
    "js/pages/loads.js" => JS,
    "js/pages/negotiation.js" => JS,
    "js/pages/chat.js" => JS,
    "js/pages/settings.js" => JS,
    "js/pages/trucks.js" => JS,
    "js/pages/team.js" => JS,
    "js/pages/audit.js" => JS,
    "js/pages/account.js" => JS,
    "js/pages/rates.js" => JS,
    "js/pages/files.js" => JS,
    "js/pages/ledger.js" => JS,
    "js/pages/approvals.js" => JS,
    "js/pages/documents.js" => JS,
    "js/pages/invoices.js" => JS,
    "js/pages/payouts.js" => JS,
    "js/pages/tracking.js" => JS,
    "js/pages/webhooks.js" => JS,
    "js/pages/notifications.js" => JS,
    "js/pages/calls.js" => JS,
    "vendor/leaflet.js" => JS,
    "vendor/leaflet.css" => "text/css; charset=utf-8",
    "vendor/topojson-client.min.js" => JS,
    "vendor/us-states-10m.json" => "application/json",
    "vendor/world-countries-110m.json" => "application/json",
};

/// Where the console's maps get their background: the bundled boundaries (the default), or
/// a raster tile server's URL template and the attribution its licence asks for.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub tile_url: Option<String>,
    pub tile_attribution: Option<String>,
}

impl Settings {
    /// What the console's pages may load and connect to: only this origin (and its socket),
    /// and the tile server's origin for images when one is configured.
    fn csp(&self) -> String {
        let tiles = self
            .tile_url
            .as_deref()
            .map(tile_origin)
            .unwrap_or_default();
        format!(
            "default-src 'self'; img-src 'self' data:{tiles}; style-src 'self'; \
             connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )
    }
}

/// ` https://*.tile.example.com` for `https://{s}.tile.example.com/{z}/{x}/{y}.png`: the
/// scheme and host of the template, its `{s}` subdomain as a wildcard (the template was
/// checked by the configuration: nothing in it can end a CSP directive).
fn tile_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let host = rest.split('/').next().unwrap_or_default();
    format!(" {scheme}://{}", host.replace("{s}", "*"))
}

struct Console {
    csp: HeaderValue,
    settings: serde_json::Value,
}

/// `GET /` (the app), `GET /console/settings.json` (the map background) and
/// `GET /console/{file}`, gzipped for clients that accept it.
pub fn routes(settings: Settings) -> Router {
    let console = Arc::new(Console {
        csp: HeaderValue::from_str(&settings.csp()).expect("a checked tile URL is a header value"),
        settings: serde_json::json!({
            "tile_url": settings.tile_url,
            "tile_attribution": settings.tile_attribution,
        }),
    });
    Router::new()
        .route("/", get(index))
        .route("/console/settings.json", get(settings_json))
        .route("/console/{*path}", get(file))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(console)
}

async fn index(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    serve(&c, "index.html", &headers)
}

async fn file(
    State(c): State<Arc<Console>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&c, &path, &headers)
}

async fn settings_json(State(c): State<Arc<Console>>) -> Response {
    let mut response = axum::Json(c.settings.clone()).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn serve(console: &Console, path: &str, headers: &HeaderMap) -> Response {
    let Some((i, asset)) = ASSETS.iter().enumerate().find(|(_, a)| a.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = &etags()[i];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.mime)], asset.body).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).expect("an etag is ASCII"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, console.csp.clone());
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// One `ETag` per asset: a hash of its bytes (FNV-1a, computed once).
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = a.body.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
                });
                format!("\"{hash:016x}\"")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(settings: &Settings) -> Console {
        Console {
            csp: HeaderValue::from_str(&settings.csp()).unwrap(),
            settings: serde_json::Value::Null,
        }
    }

    #[test]
    fn every_asset_is_served_with_its_type_and_revalidates() {
        let none = HeaderMap::new();
        let c = console(&Settings::default());
        for a in ASSETS {
            let r = serve(&c, a.path, &none);
            assert_eq!(r.status(), StatusCode::OK, "{}", a.path);
            assert_eq!(r.headers()[header::CONTENT_TYPE], a.mime);
            let mut again = HeaderMap::new();
            again.insert(header::IF_NONE_MATCH, r.headers()[header::ETAG].clone());
            assert_eq!(serve(&c, a.path, &again).status(), StatusCode::NOT_MODIFIED);
        }
        assert_eq!(
            serve(&c, "../Cargo.toml", &none).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn pages_load_images_from_the_tile_server_only_when_one_is_configured() {
        let none = HeaderMap::new();
        let offline = serve(&console(&Settings::default()), "index.html", &none);
        let csp = offline.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("img-src 'self' data:;"), "{csp}");
        let tiled = Settings {
            tile_url: Some("https://{s}.tile.example.com/{z}/{x}/{y}.png".into()),
            tile_attribution: None,
        };
        let r = serve(&console(&tiled), "index.html", &none);
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("img-src 'self' data: https://*.tile.example.com;"),
            "{csp}"
        );
        assert!(csp.contains("connect-src 'self' ws: wss:;"), "{csp}");
    }
}
