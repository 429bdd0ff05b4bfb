//! libpq's multi-host connection URLs, which sqlx does not parse:
//! `postgres://user:pw@10.0.0.1:5432,10.0.0.2:5432/lanerunner?target_session_attrs=read-write`.
//! In `database.url` the hosts are tried in order and the first that accepts writes is used;
//! in `database.read_url` a standby is (`target_session_attrs=prefer-standby` by default).
//! sqlx is then given an ordinary single-host URL for it.

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
    /// Which of the hosts will do.
    pub wants: Wants,
}

/// Which servers of a list a pool may use: libpq's `target_session_attrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wants {
    /// `read-write` or `primary`: the server that accepts writes (`database.url`).
    Primary,
    /// `standby`: a server in recovery, nothing else.
    Standby,
    /// `prefer-standby`: a standby, else any server that answers (`database.read_url`'s
    /// default: lag-tolerant reads go on, on the primary, when no standby answers).
    PreferStandby,
    /// `any`: the first server that answers.
    Any,
}

/// What the URL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `database.url`: writes.
    Writer,
    /// `database.read_url`: reads that tolerate replication lag.
    Reader,
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
    /// Only the sessions the read pool is for: `standby`, `prefer-standby` (the default), `any`.
    #[error("target_session_attrs={0:?} is not supported in database.read_url: standby, prefer-standby or any")]
    ReaderSessionAttrs(String),
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
pub fn parse(url: &str, role: Role) -> Result<Option<HostList>, HostListError> {
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
    let mut wants = match role {
        Role::Writer => Wants::Primary,
        Role::Reader => Wants::PreferStandby,
    };
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("target_session_attrs", value)) => {
                wants = match (role, value) {
                    (Role::Writer, "read-write" | "primary") => Wants::Primary,
                    (Role::Writer, _) => {
                        return Err(HostListError::SessionAttrs(value.to_string()))
                    }
                    (Role::Reader, "standby") => Wants::Standby,
                    (Role::Reader, "prefer-standby") => Wants::PreferStandby,
                    (Role::Reader, "any") => Wants::Any,
                    (Role::Reader, _) => {
                        return Err(HostListError::ReaderSessionAttrs(value.to_string()))
                    }
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
        wants,
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
            assert_eq!(parse(url, Role::Writer), Ok(None), "{url}");
        }
    }

    #[test]
    fn hosts_keep_their_order_and_the_url_its_credentials_and_parameters() {
        let list = parse(
            "postgres://lr:s%40cret@10.0.0.1:5442,db-b,[::1]:5443/lanerunner?sslmode=prefer&target_session_attrs=read-write&application_name=x",
            Role::Writer,
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
        let list = parse("postgres://a:1,b:2", Role::Writer).unwrap().unwrap();
        assert_eq!(list.hosts, vec![host("a", 1), host("b", 2)]);
        assert_eq!(list.url_of(1), "postgres://b:2");
    }

    #[test]
    fn a_read_list_wants_a_standby_unless_it_says_otherwise() {
        let wants = |url: &str| parse(url, Role::Reader).map(|l| l.unwrap().wants);
        assert_eq!(wants("postgres://r1,r2/lr"), Ok(Wants::PreferStandby));
        for (attrs, wanted) in [
            ("standby", Wants::Standby),
            ("prefer-standby", Wants::PreferStandby),
            ("any", Wants::Any),
        ] {
            let url = format!("postgres://r1,r2/lr?target_session_attrs={attrs}");
            assert_eq!(wants(&url), Ok(wanted), "{url}");
        }
        assert_eq!(
            wants("postgres://r1,r2/lr?target_session_attrs=read-write"),
            Err(HostListError::ReaderSessionAttrs("read-write".into()))
        );
        assert_eq!(
            parse("postgres://a,b/lr", Role::Writer)
                .unwrap()
                .unwrap()
                .wants,
            Wants::Primary
        );
    }

    #[test]
    fn malformed_lists_and_standby_sessions_are_refused() {
        assert_eq!(
            parse("postgres://a,,b/lr", Role::Writer),
            Err(HostListError::BadHost(String::new()))
        );
        assert_eq!(
            parse("postgres://a:5432,b:x/lr", Role::Writer),
            Err(HostListError::BadPort("x".into()))
        );
        assert_eq!(
            parse("postgres://a,b:0/lr", Role::Writer),
            Err(HostListError::BadPort("0".into()))
        );
        assert_eq!(
            parse(
                "postgres://a,b/lr?target_session_attrs=standby",
                Role::Writer
            ),
            Err(HostListError::SessionAttrs("standby".into()))
        );
        assert_eq!(
            parse("postgres://a,[::1/lr", Role::Writer),
            Err(HostListError::BadHost("[::1".into()))
        );
    }
}
