//! What makes a carrier fit to book, decided without I/O: a carrier's declaration checked
//! for shape, and a registry's record judged into a standing with its reasons in words.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use lanerunner_platform::http::Violations;

/// USDOT numbers are at most eight digits; MC dockets at most eight.
const MAX_NUMBER: u64 = 99_999_999;

/// What a carrier says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub usdot_number: u64,
    pub mc_number: Option<u64>,
    /// When its insurance certificate expires.
    pub insurance_expires_on: NaiveDate,
}

impl Declaration {
    /// Checks every field at once; a certificate already expired is refused here, since
    /// it cannot make the carrier bookable.
    pub fn new(
        usdot_number: Option<u64>,
        mc_number: Option<u64>,
        insurance_expires_on: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, lanerunner_platform::http::Invalid> {
        let mut v = Violations::default();
        match usdot_number {
            None => v.add("usdot_number", "is required"),
            Some(n) if !(1..=MAX_NUMBER).contains(&n) => {
                v.add("usdot_number", "must be a USDOT number of 1 to 8 digits")
            }
            Some(_) => {}
        }
        if mc_number.is_some_and(|n| !(1..=MAX_NUMBER).contains(&n)) {
            v.add("mc_number", "must be an MC docket number of 1 to 8 digits");
        }
        match insurance_expires_on {
            None => v.add(
                "insurance_expires_on",
                "is required (the certificate's expiry)",
            ),
            Some(d) if d < today => v.add("insurance_expires_on", "has passed"),
            Some(_) => {}
        }
        v.into_result(())?;
        Ok(Declaration {
            usdot_number: usdot_number.unwrap_or_default(),
            mc_number,
            insurance_expires_on: insurance_expires_on.unwrap_or(today),
        })
    }
}

/// Where a standing came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Checked with FMCSA.
    Fmcsa,
    /// The carrier's word only (the embedded default, where no registry is configured).
    SelfDeclared,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Fmcsa => "fmcsa",
            Source::SelfDeclared => "self_declared",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "fmcsa" => Some(Source::Fmcsa),
            "self_declared" => Some(Source::SelfDeclared),
            _ => None,
        }
    }
}

/// Whether a carrier may book: brokers decide whether `Unverified` may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// The registry confirms authority, no out-of-service order, insurance on file.
    Verified,
    /// Nothing contradicts the carrier's word, but no registry confirmed it.
    Unverified,
    /// The registry or the calendar says it must not haul: see the reasons.
    Failed,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Verified => "verified",
            Standing::Unverified => "unverified",
            Standing::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "verified" => Some(Standing::Verified),
            "unverified" => Some(Standing::Unverified),
            "failed" => Some(Standing::Failed),
            _ => None,
        }
    }
}

/// What a registry says about a carrier, in its own terms made plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityRecord {
    pub usdot_number: u64,
    pub legal_name: Option<String>,
    pub allowed_to_operate: bool,
    /// Common or contract authority active.
    pub authority_active: bool,
    pub out_of_service_since: Option<NaiveDate>,
    pub insurance_on_file_dollars: u64,
    pub insurance_required_dollars: u64,
}

/// What the registry answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// No registry to ask: the carrier's word stands, unverified.
    NotChecked,
    /// The registry knows no carrier by this USDOT number (or MC docket).
    NotFound,
    Found(AuthorityRecord),
}

/// A standing with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub source: Source,
    pub standing: Standing,
    pub reasons: Vec<String>,
}

/// Judges a declaration and what the registry said about it, on `today`.
pub fn assess(d: &Declaration, checked: &Checked, today: NaiveDate) -> Assessment {
    let mut reasons = Vec::new();
    if d.insurance_expires_on < today {
        reasons.push(format!(
            "the insurance certificate expired on {}",
            d.insurance_expires_on
        ));
    }
    let (source, confirmed) = match checked {
        Checked::NotChecked => (Source::SelfDeclared, false),
        Checked::NotFound => {
            reasons.push(format!(
                "FMCSA knows no carrier with USDOT {}{}",
                d.usdot_number,
                d.mc_number
                    .map(|mc| format!(" and MC {mc}"))
                    .unwrap_or_default()
            ));
            (Source::Fmcsa, false)
        }
        Checked::Found(r) => {
            if r.usdot_number != d.usdot_number {
                reasons.push(format!(
                    "MC {} belongs to USDOT {}, not {}",
                    d.mc_number.unwrap_or_default(),
                    r.usdot_number,
                    d.usdot_number
                ));
            }
            if !r.allowed_to_operate {
                reasons.push("FMCSA does not allow it to operate".into());
            }
            if !r.authority_active {
                reasons.push("no active operating authority (common or contract)".into());
            }
            if let Some(since) = r.out_of_service_since {
                if since <= today {
                    reasons.push(format!("out of service since {since}"));
                }
            }
            if r.insurance_on_file_dollars == 0 {
                reasons.push("no liability insurance on file with FMCSA".into());
            } else if r.insurance_on_file_dollars < r.insurance_required_dollars {
                reasons.push(format!(
                    "liability insurance on file ${} is below the ${} required",
                    r.insurance_on_file_dollars, r.insurance_required_dollars
                ));
            }
            (Source::Fmcsa, true)
        }
    };
    let standing = if !reasons.is_empty() {
        Standing::Failed
    } else if confirmed {
        Standing::Verified
    } else {
        reasons.push("self-declared: not checked with FMCSA".into());
        Standing::Unverified
    };
    Assessment {
        source,
        standing,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn good() -> AuthorityRecord {
        AuthorityRecord {
            usdot_number: 2_751_903,
            legal_name: Some("PRAIRIE WIND TRANSPORT INC".into()),
            allowed_to_operate: true,
            authority_active: true,
            out_of_service_since: None,
            insurance_on_file_dollars: 1_000_000,
            insurance_required_dollars: 750_000,
        }
    }

    fn declared() -> Declaration {
        Declaration::new(
            Some(2_751_903),
            Some(938_251),
            Some(day("2027-06-30")),
            day("2026-12-04"),
        )
        .unwrap()
    }

    #[test]
    fn a_clean_record_verifies_and_a_self_declaration_does_not() {
        let today = day("2026-12-04");
        let a = assess(&declared(), &Checked::Found(good()), today);
        assert_eq!((a.standing, a.source), (Standing::Verified, Source::Fmcsa));
        assert!(a.reasons.is_empty());
        let a = assess(&declared(), &Checked::NotChecked, today);
        assert_eq!(
            (a.standing, a.source),
            (Standing::Unverified, Source::SelfDeclared)
        );
    }

    #[test]
    fn every_fault_is_named() {
        let today = day("2026-12-04");
        let bad = AuthorityRecord {
            allowed_to_operate: false,
            authority_active: false,
            out_of_service_since: Some(day("2026-11-01")),
            insurance_on_file_dollars: 500_000,
            ..good()
        };
        let a = assess(&declared(), &Checked::Found(bad), today);
        assert_eq!(a.standing, Standing::Failed);
        assert_eq!(a.reasons.len(), 4, "{:?}", a.reasons);
        assert!(a
            .reasons
            .iter()
            .any(|r| r.contains("out of service since 2026-11-01")));
        assert!(a.reasons.iter().any(|r| r.contains("below the $750000")));
        let a = assess(&declared(), &Checked::NotFound, today);
        assert_eq!(a.standing, Standing::Failed);
        // An order dated later has not taken effect yet.
        let later = AuthorityRecord {
            out_of_service_since: Some(day("2026-12-10")),
            ..good()
        };
        assert_eq!(
            assess(&declared(), &Checked::Found(later), today).standing,
            Standing::Verified
        );
    }

    #[test]
    fn insurance_lapses_on_the_calendar_even_when_fmcsa_is_clean() {
        let d = declared();
        let a = assess(&d, &Checked::Found(good()), day("2027-07-01"));
        assert_eq!(a.standing, Standing::Failed);
        assert!(a.reasons[0].contains("expired on 2027-06-30"));
        let a = assess(&d, &Checked::NotChecked, day("2027-07-01"));
        assert_eq!(a.standing, Standing::Failed);
    }

    #[test]
    fn declarations_name_every_bad_field() {
        let e = Declaration::new(
            Some(0),
            Some(1_000_000_000),
            Some(day("2026-01-01")),
            day("2026-12-04"),
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 3);
        let e = Declaration::new(None, None, None, day("2026-12-04")).unwrap_err();
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn a_docket_of_another_carrier_fails() {
        let other = AuthorityRecord {
            usdot_number: 1_111_111,
            ..good()
        };
        let a = assess(&declared(), &Checked::Found(other), day("2026-12-04"));
        assert_eq!(a.standing, Standing::Failed);
        assert!(a.reasons[0].contains("belongs to USDOT 1111111"));
    }
}
