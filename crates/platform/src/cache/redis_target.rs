//! Where the Redis server that takes writes is: the one server `cache.url` names
//! (`redis://`, `rediss://`), or the master a group of Sentinels names
//! (`redis+sentinel://[[user]:password@]host:26379,host:26379/<master>[/<db>]`, `rediss+sentinel://`
//! for TLS to the Sentinels and the servers), asked again whenever a failover may have moved
//! it ([`super::redis_conn::RedisConn`]).
//!
//! The URL's user and password are the Redis servers' (`requirepass`, the ACL user); the
//! Sentinels' own password, when they have one, is the `sentinel_password` parameter.
//! Resolution is done here rather than with the `redis` crate's Sentinel client so that the
//! Sentinels and the master are reached with the same TLS settings (a private CA included).

use std::path::Path;
use std::time::Duration;

use redis::{
    Client, ConnectionAddr, ConnectionInfo, ProtocolVersion, RedisConnectionInfo, RedisError,
    RedisResult,
};

use crate::host::{parse_host, Host};

/// Sentinel's default port, for a host listed without one.
const SENTINEL_PORT: u16 = 26379;
/// How long one Sentinel or candidate master may take to answer during a resolution.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The server `cache.url` designates.
pub enum RedisTarget {
    /// One server, always the same address.
    Server(Client),
    /// Whichever server the Sentinels name master of `master` now.
    Sentinel(Sentinels),
}

/// Addresses only: no password.
impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisTarget::Server(client) => {
                write!(f, "Server({})", client.get_connection_info().addr)
            }
            RedisTarget::Sentinel(s) => f
                .debug_struct("Sentinel")
                .field("hosts", &s.hosts)
                .field("master", &s.master)
                .finish(),
        }
    }
}

impl From<Client> for RedisTarget {
    fn from(client: Client) -> Self {
        RedisTarget::Server(client)
    }
}

/// The files TLS to Redis uses besides the URL: a private CA (`cache.tls_ca_file`), and the
/// client's certificate and key when the servers ask for one (`tls-auth-clients yes`;
/// `cache.tls_client_cert_file`, `cache.tls_client_key_file`). PEM, all of them.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsFiles<'a> {
    pub ca: Option<&'a Path>,
    pub client_cert: Option<&'a Path>,
    pub client_key: Option<&'a Path>,
}

impl<'a> TlsFiles<'a> {
    pub fn of(config: &'a crate::config::CacheConfig) -> Self {
        TlsFiles {
            ca: config.tls_ca_file.as_deref(),
            client_cert: config.tls_client_cert_file.as_deref(),
            client_key: config.tls_client_key_file.as_deref(),
        }
    }

    /// Only a private CA.
    pub fn ca(ca: &'a Path) -> Self {
        TlsFiles {
            ca: Some(ca),
            ..Default::default()
        }
    }

    /// What the files hold, read; none when no file is named.
    fn certificates(&self) -> anyhow::Result<Option<redis::TlsCertificates>> {
        let read = |path: &Path, setting: &str| {
            std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("reading cache.{setting} {}: {e}", path.display()))
        };
        let root_cert = self.ca.map(|p| read(p, "tls_ca_file")).transpose()?;
        let client_tls = match (self.client_cert, self.client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: read(cert, "tls_client_cert_file")?,
                client_key: read(key, "tls_client_key_file")?,
            }),
            _ => anyhow::bail!(
                "cache.tls_client_cert_file and cache.tls_client_key_file go together"
            ),
        };
        Ok(
            (root_cert.is_some() || client_tls.is_some()).then_some(redis::TlsCertificates {
                client_tls,
                root_cert,
            }),
        )
    }
}

pub struct Sentinels {
    /// In the URL's order: the order they are asked.
    pub hosts: Vec<Host>,
    /// The monitored master's name (`sentinel monitor <name> …`).
    pub master: String,
    /// Database, user and password on the Redis servers.
    node: RedisConnectionInfo,
    /// The password on the Sentinels, if any.
    sentinel_password: Option<String>,
    tls: bool,
    /// The private CA and the client certificate, for the servers and Sentinels alike.
    certificates: Option<redis::TlsCertificates>,
    /// How often the master is checked while a Sentinel's announcements are heard
    /// (`check_secs`): they say when a failover moved it, the check is for one missed.
    pub check_every: Duration,
}

/// [`Sentinels::check_every`] unless the URL says otherwise.
pub const CHECK_EVERY: Duration = Duration::from_secs(30);

/// A Sentinel's announcements that the master moved (`+switch-master`), for one master.
pub struct Switches {
    messages: std::pin::Pin<Box<dyn futures::Stream<Item = redis::Msg> + Send>>,
    master: String,
}

impl Switches {
    /// Waits for the next switch of the master; `None` when the Sentinel went away.
    pub async fn next(&mut self) -> Option<()> {
        use futures::StreamExt as _;
        loop {
            let msg = self.messages.next().await?;
            // `<master name> <old ip> <old port> <new ip> <new port>`
            let payload: String = msg.get_payload().unwrap_or_default();
            if payload.split(' ').next() == Some(self.master.as_str()) {
                return Some(());
            }
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SentinelUrlError {
    #[error("a Sentinel URL names at least one Sentinel host")]
    NoHosts,
    #[error("Sentinel host {0:?} is malformed")]
    BadHost(String),
    #[error("a Sentinel URL names the master after the hosts: redis+sentinel://host:26379/<master>[/<db>]")]
    NoMaster,
    #[error("database {0:?} is not a number")]
    BadDatabase(String),
    #[error("parameter {0:?} is not known (only sentinel_password and check_secs)")]
    UnknownParameter(String),
    #[error("check_secs {0:?} is not a whole number of seconds above 0")]
    BadCheck(String),
}

impl RedisTarget {
    /// The target of `url`: a Sentinel URL, or a server URL as the `redis` crate reads it;
    /// TLS with the `tls` files when it names any.
    pub fn of(url: &str, tls: TlsFiles<'_>) -> anyhow::Result<Self> {
        let certificates = tls.certificates()?;
        if is_sentinel_url(url) {
            return Ok(RedisTarget::Sentinel(Sentinels::parse(url, certificates)?));
        }
        let client = match certificates {
            None => Client::open(url)?,
            Some(certificates) => Client::build_with_tls(url, certificates)?,
        };
        Ok(RedisTarget::Server(client))
    }

    /// A client for the server that takes writes now (for a Sentinel target, asks them).
    pub async fn client(&self) -> RedisResult<Client> {
        match self {
            RedisTarget::Server(client) => Ok(client.clone()),
            RedisTarget::Sentinel(sentinels) => sentinels.master_client().await,
        }
    }

    /// Whether the server may move (a Sentinel target), so a failed command is a reason to
    /// ask where it is now.
    pub fn follows_failovers(&self) -> bool {
        matches!(self, RedisTarget::Sentinel(_))
    }

    /// The Sentinels of a Sentinel target.
    pub fn sentinels(&self) -> Option<&Sentinels> {
        match self {
            RedisTarget::Server(_) => None,
            RedisTarget::Sentinel(s) => Some(s),
        }
    }
}

/// `redis+sentinel://` or `rediss+sentinel://`.
pub fn is_sentinel_url(url: &str) -> bool {
    url.starts_with("redis+sentinel://") || url.starts_with("rediss+sentinel://")
}

fn percent_decoded(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

impl Sentinels {
    fn parse(
        url: &str,
        certificates: Option<redis::TlsCertificates>,
    ) -> Result<Self, SentinelUrlError> {
        let (tls, rest) = match url.strip_prefix("rediss+sentinel://") {
            Some(rest) => (true, rest),
            None => (false, url.strip_prefix("redis+sentinel://").unwrap_or(url)),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, query),
            None => (rest, ""),
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, list) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        if list.is_empty() {
            return Err(SentinelUrlError::NoHosts);
        }
        let hosts = list
            .split(',')
            .map(|spec| {
                parse_host(spec, SENTINEL_PORT).map_err(|_| SentinelUrlError::BadHost(spec.into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut segments = path.split('/');
        let master = segments
            .next()
            .filter(|m| !m.is_empty())
            .ok_or(SentinelUrlError::NoMaster)?;
        let db = match segments.next().filter(|d| !d.is_empty()) {
            None => 0,
            Some(d) => d
                .parse()
                .map_err(|_| SentinelUrlError::BadDatabase(d.into()))?,
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (
                    Some(user).filter(|u| !u.is_empty()).map(percent_decoded),
                    Some(percent_decoded(password)),
                ),
                None => (Some(percent_decoded(info)), None),
            },
        };
        let (mut sentinel_password, mut check_every) = (None, CHECK_EVERY);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sentinel_password", value)) => {
                    sentinel_password = Some(percent_decoded(value))
                }
                Some(("check_secs", value)) => {
                    check_every = value
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .map(Duration::from_secs)
                        .ok_or_else(|| SentinelUrlError::BadCheck(value.into()))?
                }
                _ => {
                    return Err(SentinelUrlError::UnknownParameter(
                        pair.split('=').next().unwrap_or(pair).into(),
                    ))
                }
            }
        }
        Ok(Sentinels {
            hosts,
            master: percent_decoded(master),
            node: RedisConnectionInfo {
                db,
                username,
                password,
                protocol: ProtocolVersion::RESP2,
            },
            sentinel_password,
            tls,
            certificates,
            check_every,
        })
    }

    /// A subscription to the master's switches on the first Sentinel that takes it.
    pub async fn switches(&self) -> RedisResult<Switches> {
        let mut last = None;
        for sentinel in &self.hosts {
            let client = self.sentinel_client(sentinel)?;
            let subscribed = within(async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe("+switch-master").await?;
                Ok(pubsub)
            })
            .await;
            match subscribed {
                Ok(pubsub) => {
                    return Ok(Switches {
                        messages: Box::pin(pubsub.into_on_message()),
                        master: self.master.clone(),
                    })
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| failed("no Sentinel listed".into())))
    }

    fn sentinel_client(&self, sentinel: &Host) -> RedisResult<Client> {
        let auth = RedisConnectionInfo {
            password: self.sentinel_password.clone(),
            ..RedisConnectionInfo::default()
        };
        self.client_for(&sentinel.name, sentinel.port, auth)
    }

    fn client_for(&self, host: &str, port: u16, redis: RedisConnectionInfo) -> RedisResult<Client> {
        let addr = if self.tls {
            ConnectionAddr::TcpTls {
                host: host.to_string(),
                port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host.to_string(), port)
        };
        let info = ConnectionInfo { addr, redis };
        match &self.certificates {
            None => Client::open(info),
            Some(certificates) => Client::build_with_tls(info, certificates.clone()),
        }
    }

    /// The master's address as the first Sentinel that knows it says, checked with the
    /// master itself (`ROLE`): a Sentinel cut off from the others may still name the old
    /// one. Sentinels that do not answer or do not know the master are passed over.
    pub async fn master_client(&self) -> RedisResult<Client> {
        let mut last: Option<RedisError> = None;
        for sentinel in &self.hosts {
            let named = match self.ask(sentinel).await {
                Ok(Some(named)) => named,
                Ok(None) => {
                    last = Some(failed(format!(
                        "Sentinel {sentinel} does not monitor a master named {:?}",
                        self.master
                    )));
                    continue;
                }
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let client = self.client_for(&named.0, named.1, self.node.clone())?;
            match role(&client).await {
                Ok(role) if role == "master" => return Ok(client),
                Ok(role) => {
                    last = Some(failed(format!(
                        "Sentinel {sentinel} names {}:{} master of {:?}, but it is a {role}",
                        named.0, named.1, self.master
                    )))
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| failed("no Sentinel listed".into())))
    }

    async fn ask(&self, sentinel: &Host) -> RedisResult<Option<(String, u16)>> {
        let client = self.sentinel_client(sentinel)?;
        within(async {
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(&self.master)
                .query_async(&mut conn)
                .await
        })
        .await
    }
}

/// The first word of `ROLE`: `master`, `slave` or `sentinel`.
async fn role(client: &Client) -> RedisResult<String> {
    within(async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        let reply: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
        match reply.first() {
            Some(first) => redis::from_redis_value(first),
            None => Err(failed("empty ROLE reply".into())),
        }
    })
    .await
}

async fn within<T>(work: impl std::future::Future<Output = RedisResult<T>>) -> RedisResult<T> {
    tokio::time::timeout(ASK_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(RedisError::from(std::io::Error::from(
                std::io::ErrorKind::TimedOut,
            )))
        })
}

fn failed(detail: String) -> RedisError {
    RedisError::from((
        redis::ErrorKind::MasterNameNotFoundBySentinel,
        "Sentinel",
        detail,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Sentinels, SentinelUrlError> {
        Sentinels::parse(url, None)
    }

    #[test]
    fn reads_hosts_master_database_and_credentials() {
        let s = parse("redis+sentinel://app:p%40ss@10.0.0.1:26380,cache-b,[::1]:26381/main/3?sentinel_password=s3").unwrap();
        assert_eq!(
            s.hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            ["10.0.0.1:26380", "cache-b:26379", "[::1]:26381"]
        );
        assert_eq!(s.master, "main");
        assert_eq!(s.node.db, 3);
        assert_eq!(s.node.username.as_deref(), Some("app"));
        assert_eq!(s.node.password.as_deref(), Some("p@ss"));
        assert_eq!(s.sentinel_password.as_deref(), Some("s3"));
        assert!(!s.tls);
        assert_eq!(s.check_every, CHECK_EVERY);
        let s = parse("redis+sentinel://s1/main?check_secs=120").unwrap();
        assert_eq!(s.check_every, Duration::from_secs(120));

        let s = parse("rediss+sentinel://:pw@s1/main").unwrap();
        assert!(s.tls);
        assert_eq!(s.node.db, 0);
        assert_eq!(s.node.username, None);
        assert_eq!(s.node.password.as_deref(), Some("pw"));
        assert_eq!(s.sentinel_password, None);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert_eq!(
            parse("redis+sentinel:///main").err(),
            Some(SentinelUrlError::NoHosts)
        );
        assert_eq!(
            parse("redis+sentinel://s1:26379").err(),
            Some(SentinelUrlError::NoMaster)
        );
        assert_eq!(
            parse("redis+sentinel://s1:26379/").err(),
            Some(SentinelUrlError::NoMaster)
        );
        assert_eq!(
            parse("redis+sentinel://s1:notaport/main").err(),
            Some(SentinelUrlError::BadHost("s1:notaport".into()))
        );
        assert_eq!(
            parse("redis+sentinel://s1,,s2/main").err(),
            Some(SentinelUrlError::BadHost("".into()))
        );
        assert_eq!(
            parse("redis+sentinel://s1/main/zero").err(),
            Some(SentinelUrlError::BadDatabase("zero".into()))
        );
        assert_eq!(
            parse("redis+sentinel://s1/main?timeout=5").err(),
            Some(SentinelUrlError::UnknownParameter("timeout".into()))
        );
        for bad in ["0", "soon", "-5", ""] {
            assert_eq!(
                parse(&format!("redis+sentinel://s1/main?check_secs={bad}")).err(),
                Some(SentinelUrlError::BadCheck(bad.into()))
            );
        }
    }

    #[test]
    fn a_server_url_is_one_server_and_a_sentinel_url_follows() {
        assert!(
            !RedisTarget::of("redis://127.0.0.1:6379/0", TlsFiles::default())
                .unwrap()
                .follows_failovers()
        );
        assert!(
            RedisTarget::of("redis+sentinel://127.0.0.1/main", TlsFiles::default())
                .unwrap()
                .follows_failovers()
        );
        assert!(RedisTarget::of("redis+sentinel://127.0.0.1", TlsFiles::default()).is_err());
    }
}
