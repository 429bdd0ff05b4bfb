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

/// What a newcomer accepts on joining (signing up, or accepting an invitation): the
/// versions of the terms and of the privacy notice they were shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    pub terms_version: Option<String>,
    pub privacy_notice_version: Option<String>,
}

/// The consents to record for a newcomer: the terms are required when `required` (the
/// default: nobody joins without agreeing to them), the privacy notice's acknowledgment
/// is optional; a version named must be the one in force. Each problem names its field.
pub fn accepted_on_joining(
    a: &Accepted,
    required: bool,
    versions: &Versions,
) -> Result<Vec<(Purpose, String)>, Vec<(&'static str, String)>> {
    let mut record = Vec::new();
    let mut problems = Vec::new();
    for (field, purpose, given) in [
        ("terms_version", Purpose::Terms, a.terms_version.as_deref()),
        (
            "privacy_notice_version",
            Purpose::PrivacyNotice,
            a.privacy_notice_version.as_deref(),
        ),
    ] {
        let current = versions.current(purpose);
        match given.map(str::trim) {
            Some(v) if v == current => record.push((purpose, current.to_owned())),
            Some(v) => problems.push((
                field,
                format!("the version in force is {current}, not {v}: show that one and send it"),
            )),
            None if required && purpose == Purpose::Terms => problems.push((
                field,
                format!("accept the terms of service in force (version {current}) to join"),
            )),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(record)
    } else {
        Err(problems)
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

    #[test]
    fn a_newcomer_accepts_the_terms_in_force() {
        let v = versions();
        let given = |t: Option<&str>, p: Option<&str>| Accepted {
            terms_version: t.map(str::to_owned),
            privacy_notice_version: p.map(str::to_owned),
        };
        assert_eq!(
            accepted_on_joining(&given(Some("2026-11-01"), Some("2026-10-15")), true, &v).unwrap(),
            [
                (Purpose::Terms, "2026-11-01".to_owned()),
                (Purpose::PrivacyNotice, "2026-10-15".to_owned())
            ]
        );
        assert_eq!(
            accepted_on_joining(&given(Some("2026-11-01"), None), true, &v)
                .unwrap()
                .len(),
            1
        );
        let fields = |r: Result<_, Vec<(&'static str, String)>>| {
            r.unwrap_err()
                .into_iter()
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(accepted_on_joining(&given(None, None), true, &v)),
            ["terms_version"]
        );
        assert_eq!(
            fields(accepted_on_joining(
                &given(Some("2020-01-01"), Some("x")),
                true,
                &v
            )),
            ["terms_version", "privacy_notice_version"]
        );
        // Not required: nothing given records nothing; a stale version is still refused.
        assert!(accepted_on_joining(&given(None, None), false, &v)
            .unwrap()
            .is_empty());
        assert!(accepted_on_joining(&given(Some("2020-01-01"), None), false, &v).is_err());
    }
}
