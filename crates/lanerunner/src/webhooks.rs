//! The webhooks service's HTTP client: reqwest, without redirects (a redirect is not an
//! acknowledgement), and with a resolver that refuses loopback, private and link-local
//! addresses unless the operator allows them. The check is made on the addresses the
//! connection will use, after resolution, so a name that resolves somewhere else at
//! delivery time than it did when the endpoint was saved still cannot reach inside.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use lanerunner_webhooks::sender::{excerpt, Answer, Outgoing, SendError, Sender};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub struct HttpSender {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpSender {
    /// `proxy`: an egress proxy every delivery goes through (`http://host:port`); it then
    /// resolves the endpoints' names, so refusing internal addresses is its job. Without
    /// one, no proxy from the environment is used either.
    pub fn new(allow_private: bool, proxy: Option<&str>) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("LaneRunner-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .no_proxy();
        if let Some(proxy) = proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy)?);
        }
        let client = builder.build()?;
        Ok(Self {
            client,
            allow_private,
        })
    }
}

/// Whether deliveries may never go to `ip`: this host, its private networks, link-local
/// and other special-purpose ranges.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                // Carrier-grade NAT (100.64.0.0/10) and benchmarking (198.18.0.0/15).
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
        }
    }
}

#[derive(Debug)]
struct InternalAddress(IpAddr);

impl std::fmt::Display for InternalAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is a loopback, private or reserved address", self.0)
    }
}

impl std::error::Error for InternalAddress {}

struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if !allow_private {
                if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
                    return Err(Box::new(InternalAddress(bad.ip())) as Box<_>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn refused(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        if let Some(i) = s.downcast_ref::<InternalAddress>() {
            return Some(i.to_string());
        }
        source = s.source();
    }
    None
}

/// The largest part of an answer read, for the log's excerpt.
const MAX_ANSWER_BYTES: usize = 4096;

#[async_trait]
impl Sender for HttpSender {
    async fn post(&self, request: Outgoing) -> Result<Answer, SendError> {
        // An address written in the URL is not resolved, so it is checked here.
        let url = reqwest::Url::parse(&request.url).map_err(|e| SendError::Other(e.to_string()))?;
        if !self.allow_private {
            let literal = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(ip) = literal.filter(|ip| is_internal(*ip)) {
                return Err(SendError::Refused(InternalAddress(ip).to_string()));
            }
        }
        let mut builder = self
            .client
            .post(url)
            .timeout(request.timeout)
            .body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| classify(&e, request.timeout))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                // The status is the answer; a body cut short does not change it.
                Ok(None) | Err(_) => break,
            }
        }
        body.truncate(MAX_ANSWER_BYTES);
        Ok(Answer {
            status,
            excerpt: excerpt(&String::from_utf8_lossy(&body)),
        })
    }
}

fn classify(e: &reqwest::Error, timeout: std::time::Duration) -> SendError {
    if let Some(why) = refused(e) {
        SendError::Refused(why)
    } else if e.is_timeout() {
        SendError::Timeout(timeout)
    } else if e.is_connect() {
        SendError::Connect(format!("{e:#}"))
    } else {
        SendError::Other(format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "34.120.1.1", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
