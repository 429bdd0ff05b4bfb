//! `X-Twilio-Signature` (<https://www.twilio.com/docs/usage/webhooks/webhooks-security>):
//! the base64 HMAC-SHA1, keyed with the account's auth token, of the full URL Twilio
//! requested (query string included) followed by every form parameter of the POST body as
//! name then value, sorted by name, with no separators.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// The signature Twilio sends for a POST of `params` to `url`.
pub fn expected_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name, then value: a repeated name is signed in value order too.
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    B64.encode(mac.finalize().into_bytes())
}

/// Whether `given` is Twilio's signature of this request. Twilio signs the URL as it was
/// configured, and a proxy in front may add or drop the scheme's default port: both forms
/// are tried, each compared in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    url_forms(url).iter().any(|u| {
        bool::from(
            expected_signature(auth_token, u, params)
                .as_bytes()
                .ct_eq(given.as_bytes()),
        )
    })
}

/// `url` as given, and with its scheme's default port added or removed.
fn url_forms(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_owned()];
    if let Ok(parsed) = url::Url::parse(url) {
        let default = match parsed.scheme() {
            "https" => 443,
            "http" => 80,
            _ => return forms,
        };
        // `Url` hides a default port it was given; put it back by hand when missing.
        let explicit = url.split("://").nth(1).is_some_and(|rest| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            authority.ends_with(&format!(":{default}"))
        });
        if explicit {
            forms.push(parsed.to_string());
        } else if parsed.port().is_none() {
            let host = parsed.host_str().unwrap_or_default().to_owned();
            let rest = &parsed[url::Position::BeforePath..];
            forms.push(format!("{}://{host}:{default}{rest}", parsed.scheme()));
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(caller: &str) -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
            ("From", caller),
            ("To", "+18005551212"),
        ]
        .iter()
        .rev()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    #[test]
    fn reproduces_twilios_published_examples() {
        // Twilio's documentation and twilio-node's own test fixture, in any order given.
        assert_eq!(
            expected_signature("12345", URL, &params("+14158675310")),
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        );
        assert_eq!(
            expected_signature("12345", URL, &params("+14158675309")),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
    }

    #[test]
    fn refuses_anything_changed() {
        let p = params("+14158675309");
        let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(verify("12345", URL, &p, good));
        assert!(!verify("54321", URL, &p, good));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &p,
            good
        ));
        let mut tampered = p.clone();
        tampered[0].1 = "+18005551213".into();
        assert!(!verify("12345", URL, &tampered, good));
        assert!(!verify("12345", URL, &p, ""));
    }

    #[test]
    fn the_default_port_may_be_added_or_dropped_on_the_way() {
        let p = params("+14158675309");
        let with_port = expected_signature(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &p,
        );
        assert!(verify("12345", URL, &p, &with_port));
        let without = expected_signature("12345", URL, &p);
        assert!(verify(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &p,
            &without
        ));
        // Another port is another URL.
        let other = expected_signature(
            "12345",
            "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
            &p,
        );
        assert!(!verify("12345", URL, &p, &other));
    }
}
