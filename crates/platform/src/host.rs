//! A `host[:port]` in a list of servers (libpq's host lists, a group of Redis Sentinels).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// A name or address; an IPv6 address without its brackets.
    pub name: String,
    pub port: u16,
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name.contains(':') {
            write!(f, "[{}]:{}", self.name, self.port)
        } else {
            write!(f, "{}:{}", self.name, self.port)
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostError {
    #[error("host {0:?} is empty or malformed")]
    BadHost(String),
    #[error("port {0:?} is not a port number")]
    BadPort(String),
}

/// `name`, `name:port`, `[v6]` or `[v6]:port`; `default_port` when none is given.
pub fn parse_host(spec: &str, default_port: u16) -> Result<Host, HostError> {
    let bad = || HostError::BadHost(spec.to_string());
    let (name, port) = if let Some(bracketed) = spec.strip_prefix('[') {
        let (name, after) = bracketed.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (name, None),
            _ => (name, Some(after.strip_prefix(':').ok_or_else(bad)?)),
        }
    } else {
        match spec.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (spec, None),
        }
    };
    if name.is_empty() || name.contains(['/', '@', '?']) {
        return Err(bad());
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| HostError::BadPort(p.to_string()))?,
    };
    Ok(Host {
        name: name.to_string(),
        port,
    })
}
