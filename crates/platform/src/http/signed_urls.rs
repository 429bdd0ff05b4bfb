//! The URLs a provider may have signed a webhook over (Twilio signs the full URL it
//! posted to): as configured (`public_url` and the request's path and query) and as the
//! request reached us (its `Host`, or behind a proxy `X-Forwarded-Host` and
//! `X-Forwarded-Proto`). A signature over either is accepted; the check itself is the
//! provider's scheme.

use axum::http::{HeaderMap, Uri};

pub fn signed_urls(public_url: &str, headers: &HeaderMap, uri: &Uri) -> Vec<String> {
    let tail = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let public = public_url.trim_end_matches('/');
    let mut urls = vec![format!("{public}{tail}")];
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(host) = header("x-forwarded-host").or(header("host")) {
        let scheme = header("x-forwarded-proto").unwrap_or(if public.starts_with("https") {
            "https"
        } else {
            "http"
        });
        urls.push(format!("{scheme}://{host}{tail}"));
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_configured_and_as_reached() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "10.0.0.5:8080".parse().unwrap());
        let uri: Uri = "/v1/voice/twilio/inbound?a=1".parse().unwrap();
        assert_eq!(
            signed_urls("https://lr.example.com/", &headers, &uri),
            [
                "https://lr.example.com/v1/voice/twilio/inbound?a=1",
                "https://10.0.0.5:8080/v1/voice/twilio/inbound?a=1"
            ]
        );
        headers.insert("x-forwarded-host", "edge.example.com".parse().unwrap());
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(
            signed_urls("http://127.0.0.1:8080", &headers, &uri)[1],
            "https://edge.example.com/v1/voice/twilio/inbound?a=1"
        );
    }
}
