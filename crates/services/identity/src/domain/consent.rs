//! Consent (GDPR art. 7): what a person agreed to, to which version of the text, and its
//! withdrawal. Pure rules; the records are kept by `privacy.rs`.

use serde::{Deserialize, Serialize};

/// What a person can consent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The terms of service.
    Terms,
    /// The privacy notice (how LaneRunner processes personal data).
    PrivacyNotice,
    /// Product news by email (optional; withdrawing it changes nothing else).
    MarketingEmail,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [
        Purpose::Terms,
        Purpose::PrivacyNotice,
        Purpose::MarketingEmail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Terms => "terms",
            Purpose::PrivacyNotice => "privacy_notice",
            Purpose::MarketingEmail => "marketing_email",
        }
    }
}

/// The texts in force (`auth.terms_version`, `auth.privacy_notice_version`); marketing
/// consent is given under the privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub terms: String,
    pub privacy_notice: String,
}

impl Versions {
    pub fn current(&self, purpose: Purpose) -> &str {
        match purpose {
            Purpose::Terms => &self.terms,
            Purpose::PrivacyNotice | Purpose::MarketingEmail => &self.privacy_notice,
        }
    }
}

/// The version a record names: consent is given to the text in force (an older one cannot
/// be agreed to now); a withdrawal applies to whatever was given, so its version defaults
/// to the current one and any named version is kept as said.
pub fn version_to_record(
    purpose: Purpose,
    granted: bool,
    asked: Option<&str>,
    versions: &Versions,
) -> Result<String, String> {
    let current = versions.current(purpose);
    match (granted, asked.map(str::trim)) {
        (true, Some(v)) if v == current => Ok(v.to_string()),
        (true, Some(v)) => Err(format!(
            "consent is given to the version in force ({current}), not {v}"
        )),
        (true, None) => Err(format!("name the version agreed to ({current})")),
        (false, Some(v)) if !v.is_empty() && v.len() <= 40 && !v.chars().any(char::is_control) => {
            Ok(v.to_string())
        }
        (false, Some(_)) => Err("must be 1 to 40 characters".into()),
        (false, None) => Ok(current.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions() -> Versions {
        Versions {
            terms: "2026-11-01".into(),
            privacy_notice: "2026-10-15".into(),
        }
    }

    #[test]
    fn consent_is_given_to_the_text_in_force_only() {
        let v = versions();
        assert_eq!(
            version_to_record(Purpose::Terms, true, Some("2026-11-01"), &v).unwrap(),
            "2026-11-01"
        );
        assert!(
            version_to_record(Purpose::Terms, true, Some("2025-01-01"), &v)
                .unwrap_err()
                .contains("2026-11-01")
        );
        assert!(version_to_record(Purpose::Terms, true, None, &v).is_err());
        assert_eq!(
            version_to_record(Purpose::MarketingEmail, true, Some("2026-10-15"), &v).unwrap(),
            "2026-10-15"
        );
    }

    #[test]
    fn a_withdrawal_keeps_the_version_it_names_or_the_current_one() {
        let v = versions();
        assert_eq!(
            version_to_record(Purpose::MarketingEmail, false, None, &v).unwrap(),
            "2026-10-15"
        );
        assert_eq!(
            version_to_record(Purpose::Terms, false, Some("2025-01-01"), &v).unwrap(),
            "2025-01-01"
        );
        assert!(version_to_record(Purpose::Terms, false, Some(""), &v).is_err());
    }

    #[test]
    fn stored_names_are_the_wire_names() {
        for p in Purpose::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert!(serde_json::from_value::<Purpose>(serde_json::json!("cookies")).is_err());
    }
}
