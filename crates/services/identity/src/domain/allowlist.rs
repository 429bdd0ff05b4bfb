//! IP allowlists (pure): the networks an organization's, or one API key's, requests may come
//! from. Empty allows every address. Entries are CIDR blocks (`203.0.113.0/24`) or single
//! addresses; host bits are cleared, duplicates dropped, so what is stored is canonical.

use std::net::IpAddr;

use ipnet::IpNet;

/// Most entries one list may hold (a list is checked on every request).
pub const MAX_ENTRIES: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist(Vec<IpNet>);

impl IpAllowlist {
    /// Parses what a client sent; the error names the first bad entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        if entries.len() > MAX_ENTRIES {
            return Err(format!("at most {MAX_ENTRIES} entries"));
        }
        let mut nets = Vec::with_capacity(entries.len());
        for entry in entries {
            let text = entry.trim();
            let net = match text.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "{text:?} is not an IP address or CIDR block (like 203.0.113.0/24)"
                        ))
                    }
                },
            };
            if net.prefix_len() == 0 {
                return Err(format!(
                    "{text:?} allows every address; leave the list empty for that"
                ));
            }
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok(Self(nets))
    }

    /// A list as stored (written by [`Self::parse`]); an entry that no longer parses is
    /// skipped rather than opening the list to everyone.
    pub fn stored(entries: &[String]) -> Self {
        let nets: Vec<IpNet> = entries.iter().filter_map(|e| e.parse().ok()).collect();
        if nets.is_empty() && !entries.is_empty() {
            // Every entry damaged: allow nothing but loopback (an operator on the host).
            return Self(vec!["127.0.0.1/32".parse().expect("a CIDR literal")]);
        }
        Self(nets)
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = lanerunner_platform::http::client_addr::canonical(ip);
        self.0.is_empty() || self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|n| n.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Result<IpAllowlist, String> {
        IpAllowlist::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn blocks_and_addresses_are_canonical_and_match_what_they_cover() {
        let l = list(&[
            "203.0.113.77/24",
            " 198.51.100.7 ",
            "2001:db8::1/32",
            "203.0.113.0/24",
        ])
        .unwrap();
        assert_eq!(
            l.to_strings(),
            ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"]
        );
        for ok in [
            "203.0.113.1",
            "198.51.100.7",
            "2001:db8:5::9",
            "::ffff:203.0.113.9",
        ] {
            assert!(l.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["203.0.114.1", "198.51.100.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!l.allows(no.parse().unwrap()), "{no}");
        }
        assert!(IpAllowlist::default().allows("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_named_and_everything_is_refused() {
        assert!(list(&["10.0.0.0/33"]).unwrap_err().contains("10.0.0.0/33"));
        assert!(list(&["example.com"]).unwrap_err().contains("example.com"));
        assert!(list(&["0.0.0.0/0"]).unwrap_err().contains("every address"));
        let many: Vec<String> = (0..=MAX_ENTRIES)
            .map(|i| format!("10.0.{i}.0/24"))
            .collect();
        assert!(IpAllowlist::parse(&many).is_err());
    }

    #[test]
    fn a_damaged_stored_list_does_not_open_up() {
        let l = IpAllowlist::stored(&["garbage".into()]);
        assert!(!l.allows("203.0.113.1".parse().unwrap()));
        assert!(IpAllowlist::stored(&[]).allows("203.0.113.1".parse().unwrap()));
    }
}
