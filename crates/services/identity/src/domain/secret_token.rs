//! Opaque bearer secrets: refresh tokens, API keys, invitations, password resets and
//! email verifications.
//!
//! Text form: `lr_<kind>_<43 chars>`, the 43 characters being base64url (no padding)
//! of 32 random bytes. The `lr_<kind>_` prefix lets secret scanners (GitHub's, for one)
//! recognise a leaked LaneRunner secret, and lets us refuse a token of one kind where
//! another is expected. Only a SHA-256 of the full text is stored: 256 random bits
//! cannot be guessed, so a slow hash would add cost and no safety.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use thiserror::Error;

use super::digest::{constant_time_eq, sha256_hex};

/// Random bytes per token: 256 bits.
pub const TOKEN_BYTES: usize = 32;
/// Length of the base64url body: ceil(32 * 4 / 3).
pub const TOKEN_BODY_CHARS: usize = 43;
/// Characters of an API key's body shown in listings so people can tell keys apart.
pub const API_KEY_DISPLAY_CHARS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Refresh,
    ApiKey,
    Invitation,
    PasswordReset,
    EmailVerification,
}

impl TokenKind {
    pub const ALL: [TokenKind; 5] = [
        TokenKind::Refresh,
        TokenKind::ApiKey,
        TokenKind::Invitation,
        TokenKind::PasswordReset,
        TokenKind::EmailVerification,
    ];

    /// The text before the random body, e.g. `lr_rt_`.
    pub const fn prefix(self) -> &'static str {
        match self {
            TokenKind::Refresh => "lr_rt_",
            TokenKind::ApiKey => "lr_ak_",
            TokenKind::Invitation => "lr_inv_",
            TokenKind::PasswordReset => "lr_pr_",
            TokenKind::EmailVerification => "lr_ev_",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SecretTokenError {
    #[error("the token is not of the expected kind")]
    WrongKind,
    #[error("the token is malformed")]
    Malformed,
}

/// A bearer secret in its text form. `Debug` hides the body; use [`SecretToken::expose`]
/// only to hand the token to its owner.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken {
    kind: TokenKind,
    text: String,
}

impl std::fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretToken({}..)", self.kind.prefix())
    }
}

impl SecretToken {
    /// A fresh token of `kind` from 32 bytes of operating-system randomness.
    pub fn generate(kind: TokenKind) -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self {
            kind,
            text: format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(bytes)),
        }
    }

    /// Accepts `text` only if it is a well-formed token of `kind`. Surrounding
    /// whitespace (from copy and paste) is ignored.
    pub fn parse(kind: TokenKind, text: &str) -> Result<Self, SecretTokenError> {
        let text = text.trim();
        let Some(body) = text.strip_prefix(kind.prefix()) else {
            let other_kind = TokenKind::ALL.iter().any(|k| text.starts_with(k.prefix()));
            return Err(if other_kind {
                SecretTokenError::WrongKind
            } else {
                SecretTokenError::Malformed
            });
        };
        // The decoder refuses non-canonical trailing bits, so each 32 bytes have
        // exactly one text form and one hash.
        match URL_SAFE_NO_PAD.decode(body) {
            Ok(bytes) if body.len() == TOKEN_BODY_CHARS && bytes.len() == TOKEN_BYTES => Ok(Self {
                kind,
                text: text.to_owned(),
            }),
            _ => Err(SecretTokenError::Malformed),
        }
    }

    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The full secret text, to give to its owner once.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// SHA-256 hex of the full text: the value to store and look up by.
    pub fn hash(&self) -> String {
        sha256_hex(self.text.as_bytes())
    }

    /// Whether this token hashes to `stored_hash`, compared in constant time.
    pub fn matches_hash(&self, stored_hash: &str) -> bool {
        constant_time_eq(self.hash().as_bytes(), stored_hash.as_bytes())
    }

    /// For API keys, the first 8 characters of the body, stored in clear and shown in
    /// listings (`lr_ak_Xy3k9QaB…`). 48 of 256 bits revealed leaves 208 secret ones.
    /// `None` for other kinds, which are never listed.
    pub fn prefix(&self) -> Option<&str> {
        (self.kind == TokenKind::ApiKey).then(|| {
            let start = self.kind.prefix().len();
            &self.text[start..start + API_KEY_DISPLAY_CHARS]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_token_has_kind_prefix_and_43_char_body() {
        for kind in TokenKind::ALL {
            let t = SecretToken::generate(kind);
            let body = t.expose().strip_prefix(kind.prefix()).unwrap();
            assert_eq!(body.len(), 43);
            assert!(body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
        assert!(SecretToken::generate(TokenKind::Refresh)
            .expose()
            .starts_with("lr_rt_"));
    }

    #[test]
    fn generated_token_parses_back_as_its_kind() {
        for kind in TokenKind::ALL {
            let t = SecretToken::generate(kind);
            assert_eq!(SecretToken::parse(kind, t.expose()), Ok(t));
        }
    }

    #[test]
    fn token_of_another_kind_is_refused() {
        let refresh = SecretToken::generate(TokenKind::Refresh);
        assert_eq!(
            SecretToken::parse(TokenKind::ApiKey, refresh.expose()),
            Err(SecretTokenError::WrongKind)
        );
    }

    #[test]
    fn truncated_or_padded_or_garbage_token_is_malformed() {
        let t = SecretToken::generate(TokenKind::ApiKey);
        let text = t.expose();
        for bad in [
            &text[..text.len() - 1],
            &format!("{text}A"),
            &format!("{text}="),
            "lr_ak_",
            "",
            "Bearer whatever",
            &text.replace('_', "/"),
        ] {
            assert_eq!(
                SecretToken::parse(TokenKind::ApiKey, bad),
                Err(SecretTokenError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn hash_is_stable_and_distinguishes_tokens() {
        let a = SecretToken::generate(TokenKind::Refresh);
        let b = SecretToken::generate(TokenKind::Refresh);
        assert_eq!(a.hash(), a.hash());
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), b.hash());
        assert!(a.matches_hash(&a.hash()));
        assert!(!a.matches_hash(&b.hash()));
    }

    #[test]
    fn api_key_shows_eight_char_prefix_and_other_kinds_none() {
        let key = SecretToken::generate(TokenKind::ApiKey);
        let shown = key.prefix().unwrap();
        assert_eq!(shown.len(), 8);
        assert!(key.expose().starts_with(&format!("lr_ak_{shown}")));
        assert_eq!(SecretToken::generate(TokenKind::Invitation).prefix(), None);
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let t = SecretToken::generate(TokenKind::PasswordReset);
        let debug = format!("{t:?}");
        assert_eq!(debug, "SecretToken(lr_pr_..)");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_canonical_tokens(s in "lr_ak_[A-Za-z0-9_=-]{0,50}") {
            if let Ok(t) = SecretToken::parse(TokenKind::ApiKey, &s) {
                prop_assert_eq!(t.expose().len(), 6 + 43);
            }
        }
    }
}
