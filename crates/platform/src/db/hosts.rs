//! libpq's multi-host connection URLs, which sqlx does not parse:
//! `postgres://user:pw@10.0.0.1:5432,10.0.0.2:5432/lanerunner?target_session_attrs=read-write`.
//! The hosts are tried in order and the first that accepts writes is used; sqlx is then given
//! an ordinary single-host URL for it.

pub use crate::host::Host;
use crate::host::{parse_host, HostError};

/// A `database.url` naming more than one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostList {
    /// In the order the URL lists them: the order they are tried.
    pub hosts: Vec<Host>,
    /// `postgres://user:pw@`: what comes before the hosts.
    prefix: String,
    /// `/database?params` without `target_session_attrs` (which sqlx does not know).
    suffix: String,
}

impl HostList {
    /// The URL of host `index` alone, with the list's credentials, database and parameters.
    pub fn url_of(&self, index: usize) -> String {
        format!("{}{}{}", self.prefix, self.hosts[index], self.suffix)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostListError {
    #[error("host {0:?} in the host list is empty or malformed")]
    BadHost(String),
    #[error("port {0:?} in the host list is not a port number")]
    BadPort(String),
    /// Only the sessions the write pool can use: libpq's `read-write` and `primary` (the
    /// default with several hosts, since `database.url` is where writes go).
    #[error("target_session_attrs={0:?} is not supported: database.url needs a primary (read-write or primary)")]
    SessionAttrs(String),
}

impl From<HostError> for HostListError {
    fn from(e: HostError) -> Self {
        match e {
            HostError::BadHost(h) => HostListError::BadHost(h),
            HostError::BadPort(p) => HostListError::BadPort(p),
        }
    }
}

const DEFAULT_PORT: u16 = 5432;

/// The host list of `url`, or `None` for a URL with one host, which is left to sqlx exactly
/// as before.
pub fn parse(url: &str) -> Result<Option<HostList>, HostListError> {
    let Some(scheme_end) = url.find("://") else {
        return Ok(None);
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, list) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if !list.contains(',') {
        return Ok(None);
    }
    let hosts = list
        .split(',')
        .map(|spec| parse_host(spec, DEFAULT_PORT))
        .collect::<Result<Vec<_>, _>>()?;
    let (path, query) = match tail.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (tail, None),
    };
    let mut kept = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("target_session_attrs", value)) => {
                if !matches!(value, "read-write" | "primary") {
                    return Err(HostListError::SessionAttrs(value.to_string()));
                }
            }
            _ => kept.push(pair),
        }
    }
    let mut prefix = format!("{}://", &url[..scheme_end]);
    if let Some(userinfo) = userinfo {
        prefix.push_str(userinfo);
        prefix.push('@');
    }
    let mut suffix = path.to_string();
    if !kept.is_empty() {
        suffix.push('?');
        suffix.push_str(&kept.join("&"));
    }
    Ok(Some(HostList {
        hosts,
        prefix,
        suffix,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, port: u16) -> Host {
        Host {
            name: name.into(),
            port,
        }
    }

    #[test]
    fn one_host_is_left_to_sqlx() {
        for url in [
            "postgres://u:p@db:5432/lr",
            "postgres://db/lr?sslmode=require",
            "postgresql://127.0.0.1:5440/postgres?target_session_attrs=read-write",
        ] {
            assert_eq!(parse(url), Ok(None), "{url}");
        }
    }

    #[test]
    fn hosts_keep_their_order_and_the_url_its_credentials_and_parameters() {
        let list = parse(
            "postgres://lr:s%40cret@10.0.0.1:5442,db-b,[::1]:5443/lanerunner?sslmode=prefer&target_session_attrs=read-write&application_name=x",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            list.hosts,
            vec![
                host("10.0.0.1", 5442),
                host("db-b", 5432),
                host("::1", 5443)
            ]
        );
        assert_eq!(
            list.url_of(0),
            "postgres://lr:s%40cret@10.0.0.1:5442/lanerunner?sslmode=prefer&application_name=x"
        );
        assert_eq!(
            list.url_of(2),
            "postgres://lr:s%40cret@[::1]:5443/lanerunner?sslmode=prefer&application_name=x"
        );
    }

    #[test]
    fn without_path_or_credentials() {
        let list = parse("postgres://a:1,b:2").unwrap().unwrap();
        assert_eq!(list.hosts, vec![host("a", 1), host("b", 2)]);
        assert_eq!(list.url_of(1), "postgres://b:2");
    }

    #[test]
    fn malformed_lists_and_standby_sessions_are_refused() {
        assert_eq!(
            parse("postgres://a,,b/lr"),
            Err(HostListError::BadHost(String::new()))
        );
        assert_eq!(
            parse("postgres://a:5432,b:x/lr"),
            Err(HostListError::BadPort("x".into()))
        );
        assert_eq!(
            parse("postgres://a,b:0/lr"),
            Err(HostListError::BadPort("0".into()))
        );
        assert_eq!(
            parse("postgres://a,b/lr?target_session_attrs=standby"),
            Err(HostListError::SessionAttrs("standby".into()))
        );
        assert_eq!(
            parse("postgres://a,[::1/lr"),
            Err(HostListError::BadHost("[::1".into()))
        );
    }
}
