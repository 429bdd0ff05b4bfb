//! The client's network address, for login throttling, rate limits and audit records.
//!
//! The peer address of the connection, unless that peer is one of the deployment's trusted
//! proxies (`http.trusted_proxies`, CIDRs): then `X-Forwarded-For` is read from the right,
//! past every hop that is itself a trusted proxy, and the first address that is not is the
//! client. Anything to its left was written by the client and is not believed, so a client
//! cannot choose its own throttling bucket or the address in the audit trail; from an
//! untrusted peer the header is ignored altogether. A hop that is not an address ends the
//! walk at the last one read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed (a request extension, set when any
/// are configured).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// Parses `http.trusted_proxies` entries: CIDRs (`10.0.0.0/8`) or single addresses.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let nets = entries
            .iter()
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{e}` is not an address or a CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies(Arc::new(nets)))
    }

    fn trusts(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|n| n.contains(&addr))
    }

    /// The client behind `peer`, as the forwarded headers say when `peer` is trusted.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        // Several headers count as one list, in order.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            let Ok(addr) = hop.parse::<IpAddr>() else {
                break;
            };
            client = canonical(addr);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// An IPv4 address carried as IPv6 (`::ffff:192.0.2.1`, as a dual-stack listener reports
/// it) is the IPv4 address.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(addr),
        v4 => v4,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddr(match parts.extensions.get::<TrustedProxies>() {
            Some(proxies) => proxies.client(peer, &parts.headers),
            None => canonical(peer),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed_and_only_from_the_right() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.10".into()]).unwrap();
        // From an untrusted peer the header is ignored.
        assert_eq!(
            proxies.client(ip("203.0.113.5"), &headers(&["198.51.100.1"])),
            ip("203.0.113.5")
        );
        // From the proxy: the rightmost address that is not a proxy.
        let h = headers(&["1.2.3.4, 198.51.100.7, 10.1.2.3"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("198.51.100.7"));
        // Several headers are one list.
        let h = headers(&["1.2.3.4", "198.51.100.8", "192.0.2.10"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("198.51.100.8"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.1"), &HeaderMap::new()),
            ip("10.0.0.1")
        );
        // Garbage ends the walk at the last address read.
        let h = headers(&["198.51.100.9, not-an-ip, 10.2.2.2"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.2.2.2"));
        // Every hop a proxy: the leftmost.
        let h = headers(&["10.9.9.9, 10.8.8.8"]);
        assert_eq!(proxies.client(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        // A mapped IPv4 peer is its IPv4 address.
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.1"), &headers(&["198.51.100.1"])),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn bad_entries_are_named() {
        let e = TrustedProxies::parse(&["10.0.0.0/8".into(), "proxy.internal".into()]).unwrap_err();
        assert!(e.contains("proxy.internal"), "{e}");
        assert!(TrustedProxies::parse(&["::1".into(), "fd00::/8".into()]).is_ok());
    }
}
