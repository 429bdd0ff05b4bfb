//! What a credential may touch: API-key scopes as a typed set.
//!
//! A scope is `<resource>:<access>` (`loads:read`), `<resource>:*` (both accesses on one
//! resource) or `*` (everything). Write does not imply read: a key that only posts loads
//! need not be able to list them. People signed in with a password hold `*` and are limited
//! by their role instead; API keys hold the scopes they were minted with, and never more
//! than their creator (see `docs/security.md`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a scope guards: one per family of routes and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// The organization, its members, invitations, API keys and audit log.
    Identity,
    /// Loads and the load board.
    Loads,
    /// Truck postings and the truck board.
    Trucks,
    /// Ranked matches and assignment runs.
    Matching,
    /// Lane rates, market tightness and the analytics quarantine.
    Analytics,
    /// The rate model: predicted rates, model versions and their monitoring.
    Rates,
    /// Reports (lane rates, KPIs, carrier scorecards), their files and their schedules.
    Reports,
    /// Rate negotiations on loads: offers, counters, acceptances.
    Negotiations,
    /// Carriers' operating authority and its checks.
    Carriers,
    /// Conversations and their messages.
    Chat,
    /// Stored files: uploads, their download links, deleting them.
    Files,
    /// Money: the ledger, invoices, payments and payouts.
    Payments,
    /// A load's paperwork: rate confirmations, bills of lading, proof of delivery, their
    /// signatures, the checklist, and the organization's document template.
    Documents,
    /// Where a booked load's truck is: positions, stop arrivals, the ETA, tracking links.
    Tracking,
    /// Outgoing webhooks: endpoints, their secrets, and the delivery log.
    Webhooks,
    /// A person's own notifications, their preferences and their mobile number.
    Notifications,
    /// Phone calls with the AI agent: the organization's lines, calls, their transcripts.
    Voice,
}

impl Resource {
    pub const ALL: [Resource; 17] = [
        Resource::Identity,
        Resource::Loads,
        Resource::Trucks,
        Resource::Matching,
        Resource::Analytics,
        Resource::Rates,
        Resource::Reports,
        Resource::Negotiations,
        Resource::Carriers,
        Resource::Chat,
        Resource::Files,
        Resource::Payments,
        Resource::Documents,
        Resource::Tracking,
        Resource::Webhooks,
        Resource::Notifications,
        Resource::Voice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Identity => "identity",
            Resource::Loads => "loads",
            Resource::Trucks => "trucks",
            Resource::Matching => "matching",
            Resource::Analytics => "analytics",
            Resource::Rates => "rates",
            Resource::Reports => "reports",
            Resource::Negotiations => "negotiations",
            Resource::Carriers => "carriers",
            Resource::Chat => "chat",
            Resource::Files => "files",
            Resource::Payments => "payments",
            Resource::Documents => "documents",
            Resource::Tracking => "tracking",
            Resource::Webhooks => "webhooks",
            Resource::Notifications => "notifications",
            Resource::Voice => "voice",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// One scope a credential holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `*`: every resource, every access.
    All,
    /// `<resource>:*`.
    AnyAccess(Resource),
    /// `<resource>:<access>`.
    Exact(Resource, Access),
}

impl Scope {
    pub const fn new(resource: Resource, access: Access) -> Self {
        Scope::Exact(resource, access)
    }

    /// Whether holding `self` lets a caller do what `other` allows.
    pub fn covers(self, other: Scope) -> bool {
        match (self, other) {
            (Scope::All, _) => true,
            (Scope::AnyAccess(r), Scope::AnyAccess(o)) => r == o,
            (Scope::AnyAccess(r), Scope::Exact(o, _)) => r == o,
            (Scope::Exact(r, a), Scope::Exact(o, b)) => r == o && a == b,
            _ => false,
        }
    }

    /// Every scope a key can be minted with, as text, for error messages and the docs.
    pub fn catalogue() -> Vec<String> {
        let mut all = vec!["*".to_owned()];
        for r in Resource::ALL {
            for s in [
                Scope::Exact(r, Access::Read),
                Scope::Exact(r, Access::Write),
                Scope::AnyAccess(r),
            ] {
                all.push(s.to_string());
            }
        }
        all
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::AnyAccess(r) => write!(f, "{}:*", r.as_str()),
            Scope::Exact(r, a) => write!(f, "{}:{}", r.as_str(), a.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "*" {
            return Ok(Scope::All);
        }
        let unknown = || UnknownScope(s.to_owned());
        let (resource, access) = s.split_once(':').ok_or_else(unknown)?;
        let resource = Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == resource)
            .ok_or_else(unknown)?;
        match access {
            "*" => Ok(Scope::AnyAccess(resource)),
            "read" => Ok(Scope::Exact(resource, Access::Read)),
            "write" => Ok(Scope::Exact(resource, Access::Write)),
            _ => Err(unknown()),
        }
    }
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown scope {text:?}; known: {}",
                Scope::catalogue().join(", ")
            ))
        })
    }
}

/// The scopes one credential holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// `*`: what a signed-in person holds (their role limits them instead).
    pub fn all() -> Self {
        Scopes([Scope::All].into_iter().collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Whether these scopes let the holder do `access` on `resource`.
    pub fn allows(&self, resource: Resource, access: Access) -> bool {
        self.covers(Scope::Exact(resource, access))
    }

    /// Whether some held scope covers `wanted`.
    pub fn covers(&self, wanted: Scope) -> bool {
        self.0.iter().any(|held| held.covers(wanted))
    }

    /// Whether every scope of `other` is covered by these: a caller may hand out only
    /// what it holds itself.
    pub fn covers_all(&self, other: &Scopes) -> bool {
        other.0.iter().all(|s| self.covers(*s))
    }

    /// The scopes of `other` these do not cover, for an error message.
    pub fn missing<'a>(&'a self, other: &'a Scopes) -> impl Iterator<Item = Scope> + 'a {
        other.iter().filter(|s| !self.covers(*s))
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Scopes(iter.into_iter().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let texts: Vec<String> = self.0.iter().map(Scope::to_string).collect();
        f.write_str(&texts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(texts: &[&str]) -> Scopes {
        texts.iter().map(|t| t.parse::<Scope>().unwrap()).collect()
    }

    #[test]
    fn every_catalogued_scope_round_trips_through_text_and_json() {
        for text in Scope::catalogue() {
            let scope: Scope = text.parse().unwrap();
            assert_eq!(scope.to_string(), text);
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
        for bad in [
            "",
            "loads",
            "loads:",
            "loads:admin",
            "billing:read",
            ":*",
            "**",
        ] {
            assert!(bad.parse::<Scope>().is_err(), "{bad:?} parsed");
        }
        let err = serde_json::from_str::<Scope>("\"loads:delete\"").unwrap_err();
        assert!(err.to_string().contains("matching:read"), "{err}");
    }

    #[test]
    fn scopes_match_exactly_or_by_resource_wildcard() {
        use Access::*;
        use Resource::*;
        assert!(scopes(&["*"]).allows(Identity, Write));
        assert!(scopes(&["identity:*"]).allows(Identity, Write));
        assert!(scopes(&["identity:read"]).allows(Identity, Read));
        assert!(!scopes(&["identity:read"]).allows(Identity, Write));
        assert!(!scopes(&["identity:write"]).allows(Identity, Read));
        assert!(!scopes(&["loads:*"]).allows(Identity, Read));
        assert!(!scopes(&["loads:*"]).allows(Trucks, Read));
        assert!(!Scopes::default().allows(Identity, Read));
    }

    #[test]
    fn a_holder_covers_only_scopes_at_or_below_its_own() {
        let holder = scopes(&["identity:read", "identity:write"]);
        assert!(holder.covers_all(&scopes(&["identity:read"])));
        assert!(
            !holder.covers_all(&scopes(&["identity:*"])),
            "read+write is not the wildcard"
        );
        assert!(!holder.covers_all(&scopes(&["loads:read"])));
        assert!(!holder.covers_all(&scopes(&["*"])));
        assert!(scopes(&["loads:*"]).covers_all(&scopes(&[
            "loads:read",
            "loads:write",
            "loads:*"
        ])));
        assert!(!scopes(&["loads:*"]).covers_all(&scopes(&["*"])));
        assert!(Scopes::all().covers_all(&scopes(&["*", "trucks:write"])));
        let missing: Vec<String> = holder
            .missing(&scopes(&["identity:read", "loads:write"]))
            .map(|s| s.to_string())
            .collect();
        assert_eq!(missing, ["loads:write"]);
    }
}
