//! TLS termination for `serve` (`http.tls.*`): the certificate and key come from PEM files,
//! are checked before they are used (the key belongs to the certificate, the certificate is
//! within its validity period), and are swapped for a renewed pair without a restart: a task
//! watches the files and every handshake after a good reload presents the new certificate,
//! while a bad renewal is refused and the current certificate stays.
//!
//! The API port speaks TLS; a client that speaks plain HTTP to it (or to the optional plain
//! listener, `http.tls.plain_listen`) is redirected to `https://` (GET and HEAD, as browsers
//! follow) or refused with a problem, as `http.tls.plain_http` says. Other methods are always
//! refused: their credentials and body already crossed the network in the clear, and a client
//! that silently followed a redirect would keep doing so.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::Problem;

/// A client that opened a connection has this long to finish its handshake (or send its
/// first plain-HTTP byte) before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The first byte of a TLS record carrying a handshake (a ClientHello).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What the API port does with a request that arrives over plain HTTP.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlainHttp {
    /// GET and HEAD are sent to the same URL over `https://` (308); the rest are refused.
    #[default]
    Redirect,
    /// Every request is refused (`400 https-required`).
    Refuse,
}

/// Why a certificate and key were not put in service.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path}: unreadable certificate: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("{path}: no usable PEM private key: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the private key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("the certificate in {path} expired at {not_after}")]
    Expired {
        path: PathBuf,
        not_after: DateTime<Utc>,
    },
    #[error("the certificate in {path} is not valid before {not_before}")]
    NotYetValid {
        path: PathBuf,
        not_before: DateTime<Utc>,
    },
}

/// The certificate chain and key files a deployment names.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A checked certificate and key, ready to present.
#[derive(Debug, Clone)]
pub struct LoadedCertificate {
    pub key: Arc<CertifiedKey>,
    pub subject: String,
    pub not_after: DateTime<Utc>,
}

impl CertificateFiles {
    /// Reads and checks the pair at `now`.
    pub fn load(&self, now: DateTime<Utc>) -> Result<LoadedCertificate, CertificateError> {
        let cert_pem = read(&self.cert)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertificateError::Certificate {
                path: self.cert.clone(),
                reason: e.to_string(),
            })?;
        let leaf = chain
            .first()
            .ok_or_else(|| CertificateError::NoCertificate {
                path: self.cert.clone(),
            })?;
        let (subject, not_before, not_after) =
            validity(leaf).map_err(|reason| CertificateError::Certificate {
                path: self.cert.clone(),
                reason,
            })?;
        if now >= not_after {
            return Err(CertificateError::Expired {
                path: self.cert.clone(),
                not_after,
            });
        }
        if now < not_before {
            return Err(CertificateError::NotYetValid {
                path: self.cert.clone(),
                not_before,
            });
        }
        let key_pem = read(&self.key)?;
        let key_error = |reason: String| CertificateError::Key {
            path: self.key.clone(),
            reason,
        };
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| key_error(e.to_string()))?;
        let signing = rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| key_error(e.to_string()))?;
        let certified = CertifiedKey::new(chain, signing);
        certified
            .keys_match()
            .map_err(|_| CertificateError::Mismatch {
                cert: self.cert.clone(),
                key: self.key.clone(),
            })?;
        Ok(LoadedCertificate {
            key: Arc::new(certified),
            subject,
            not_after,
        })
    }

    /// What changes when either file is replaced (modification time and size), so the
    /// watcher reads the files again only then.
    fn stamp(&self) -> Option<[(SystemTime, u64); 2]> {
        let stamp = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        };
        Some([stamp(&self.cert)?, stamp(&self.key)?])
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CertificateError> {
    std::fs::read(path).map_err(|source| CertificateError::Read {
        path: path.to_owned(),
        source,
    })
}

fn validity(der: &CertificateDer<'_>) -> Result<(String, DateTime<Utc>, DateTime<Utc>), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| e.to_string())?;
    let at = |t: x509_parser::time::ASN1Time| {
        DateTime::<Utc>::from_timestamp(t.timestamp(), 0).ok_or("a validity date out of range")
    };
    let validity = cert.validity();
    Ok((
        cert.subject().to_string(),
        at(validity.not_before)?,
        at(validity.not_after)?,
    ))
}

/// The certificate every new handshake presents; replaced whole on a good reload.
#[derive(Debug)]
pub struct CurrentCertificate {
    files: CertificateFiles,
    current: RwLock<LoadedCertificate>,
}

impl CurrentCertificate {
    /// Loads the pair; a pair that fails its checks stops the start with the reason.
    pub fn load(files: CertificateFiles) -> Result<Arc<Self>, CertificateError> {
        let loaded = files.load(Utc::now())?;
        record(&loaded);
        Ok(Arc::new(Self {
            files,
            current: RwLock::new(loaded),
        }))
    }

    pub fn current(&self) -> LoadedCertificate {
        self.current.read().expect("certificate lock").clone()
    }

    /// Reads the files again: a good pair replaces the current one; a bad one is refused
    /// with its reason and the current one stays in service.
    pub fn reload(&self) -> Result<LoadedCertificate, CertificateError> {
        match self.files.load(Utc::now()) {
            Ok(loaded) => {
                record(&loaded);
                metrics::counter!("lanerunner_tls_reloads_total", "outcome" => "loaded")
                    .increment(1);
                tracing::info!(subject = %loaded.subject, not_after = %loaded.not_after, "TLS certificate reloaded");
                *self.current.write().expect("certificate lock") = loaded.clone();
                Ok(loaded)
            }
            Err(e) => {
                metrics::counter!("lanerunner_tls_reloads_total", "outcome" => "refused")
                    .increment(1);
                let kept = self.current();
                tracing::error!(error = %e, kept_subject = %kept.subject, kept_not_after = %kept.not_after, "the renewed TLS certificate was refused; the current one stays in service");
                Err(e)
            }
        }
    }

    /// Watches the files every `every` until `stop`, reloading when either changes.
    pub fn watch(self: Arc<Self>, every: Duration, stop: CancellationToken) {
        tokio::spawn(async move {
            let mut seen = self.files.stamp();
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.cancelled() => return,
                }
                let stamp = self.files.stamp();
                // A renewal that writes the two files one after the other is read at each
                // change; the half-written state is refused and the next change loads.
                if stamp.is_some() && stamp != seen {
                    seen = stamp;
                    let _ = self.reload();
                }
            }
        });
    }

    /// The rustls configuration that presents the current certificate (HTTP/2 and HTTP/1.1
    /// offered by ALPN).
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, rustls::Error> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn record(loaded: &LoadedCertificate) {
    metrics::gauge!("lanerunner_tls_certificate_not_after_seconds")
        .set(loaded.not_after.timestamp() as f64);
}

#[derive(Debug)]
struct Resolver(Arc<CurrentCertificate>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current.read().ok()?.key.clone())
    }
}

/// The API listener with TLS: accepts TCP connections, completes handshakes concurrently
/// (one slow client holds up no other), answers plain HTTP on the same port with
/// `plain`, and hands finished TLS connections to the HTTP server.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` until `stop`.
    pub fn start(
        listener: TcpListener,
        config: rustls::ServerConfig,
        plain: Router,
        stop: CancellationToken,
    ) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (tx, ready) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stop.cancelled() => return,
                };
                let (tcp, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: pause rather than spin.
                        tracing::warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let (tx, acceptor, plain) = (tx.clone(), acceptor.clone(), plain.clone());
                tokio::spawn(async move {
                    let mut first = [0u8; 1];
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tcp.peek(&mut first)).await {
                        Ok(Ok(1)) => {}
                        _ => return,
                    }
                    if first[0] != TLS_HANDSHAKE_RECORD {
                        serve_plain(tcp, peer, plain).await;
                        return;
                    }
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            metrics::counter!("lanerunner_tls_handshake_failures_total", "reason" => "refused").increment(1);
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            metrics::counter!("lanerunner_tls_handshake_failures_total", "reason" => "timeout").increment(1);
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop stopped (shutdown): no more connections.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Serves one plain-HTTP connection on the TLS port with the plain-HTTP answers.
async fn serve_plain(tcp: TcpStream, peer: SocketAddr, plain: Router) {
    let service = hyper_util::service::TowerToHyperService::new(plain);
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "plain HTTP connection on the TLS port failed");
    }
}

/// The answers to plain HTTP: `https_port` is the port the redirect names (`None`: the port
/// the client asked for, when it spoke plain HTTP to the TLS port itself).
pub fn plain_http_router(policy: PlainHttp, https_port: Option<u16>) -> Router {
    Router::new()
        .fallback(move |req: Request| async move { plain_http_answer(policy, https_port, &req) })
}

fn plain_http_answer(policy: PlainHttp, https_port: Option<u16>, req: &Request) -> Response {
    metrics::counter!("lanerunner_tls_plain_http_requests_total").increment(1);
    let refuse = |detail: String| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "https-required",
            "This server accepts HTTPS only",
        )
        .detail(detail)
        .close_connection()
        .into_response()
    };
    let target = https_url(req, https_port);
    let redirectable = matches!(*req.method(), Method::GET | Method::HEAD);
    match (policy, target) {
        (PlainHttp::Redirect, Some(url)) if redirectable => {
            match HeaderValue::from_str(&url) {
                Ok(location) => (
                    StatusCode::PERMANENT_REDIRECT,
                    [(header::LOCATION, location), (header::CONNECTION, HeaderValue::from_static("close"))],
                )
                    .into_response(),
                Err(_) => refuse("the request's host cannot be redirected; use https://".into()),
            }
        }
        (_, Some(url)) => refuse(format!(
            "send the request to {url}; it was sent over plain HTTP, so its contents crossed the network unencrypted"
        )),
        (_, None) => refuse("the request names no valid host; use https://".into()),
    }
}

/// The `https://` URL for a plain request, from its `Host` and path.
fn https_url(req: &Request, https_port: Option<u16>) -> Option<String> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    let authority: axum::http::uri::Authority = host.parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let hostname = authority.host();
    let port = match https_port {
        Some(port) => Some(port),
        None => authority.port_u16(),
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    Some(match port {
        Some(443) | None => format!("https://{hostname}{path}"),
        Some(port) => format!("https://{hostname}:{port}{path}"),
    })
}

/// The `Strict-Transport-Security` value for `max_age_secs` (0: none is sent).
pub fn strict_transport_security(
    max_age_secs: u64,
    include_subdomains: bool,
) -> Option<HeaderValue> {
    if max_age_secs == 0 {
        return None;
    }
    let value = if include_subdomains {
        format!("max-age={max_age_secs}; includeSubDomains")
    } else {
        format!("max-age={max_age_secs}")
    };
    HeaderValue::from_str(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, host: &str, path: &str) -> Request {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, host)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn get_is_redirected_to_the_same_url_over_https() {
        let res = plain_http_answer(
            PlainHttp::Redirect,
            None,
            &request(Method::GET, "tms.example.com:8443", "/v1/loads?limit=5"),
        );
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://tms.example.com:8443/v1/loads?limit=5"
        );
    }

    #[test]
    fn a_separate_plain_port_redirects_to_the_https_port() {
        let res = plain_http_answer(
            PlainHttp::Redirect,
            Some(443),
            &request(Method::HEAD, "tms.example.com:80", "/"),
        );
        assert_eq!(res.headers()[header::LOCATION], "https://tms.example.com/");
        let res = plain_http_answer(
            PlainHttp::Redirect,
            Some(8443),
            &request(Method::GET, "tms.example.com", "/console"),
        );
        assert_eq!(
            res.headers()[header::LOCATION],
            "https://tms.example.com:8443/console"
        );
    }

    #[test]
    fn writes_and_the_refuse_policy_are_refused_with_a_problem() {
        for (policy, method) in [
            (PlainHttp::Redirect, Method::POST),
            (PlainHttp::Redirect, Method::DELETE),
            (PlainHttp::Refuse, Method::GET),
        ] {
            let res = plain_http_answer(
                policy,
                None,
                &request(method, "tms.example.com", "/v1/loads"),
            );
            assert_eq!(res.status(), StatusCode::BAD_REQUEST);
            assert_eq!(
                res.headers()[header::CONTENT_TYPE],
                "application/problem+json"
            );
            assert!(res.headers().get(header::LOCATION).is_none());
        }
    }

    #[test]
    fn a_request_without_a_valid_host_is_refused() {
        for host in ["", "bad host", "user@tms.example.com"] {
            let res =
                plain_http_answer(PlainHttp::Redirect, None, &request(Method::GET, host, "/"));
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{host:?}");
        }
    }

    #[test]
    fn hsts_is_sent_only_with_a_max_age() {
        assert_eq!(strict_transport_security(0, true), None);
        assert_eq!(
            strict_transport_security(31_536_000, false).unwrap(),
            "max-age=31536000"
        );
        assert_eq!(
            strict_transport_security(600, true).unwrap(),
            "max-age=600; includeSubDomains"
        );
    }
}
