//! WhatsApp webhooks: the verification handshake, the `X-Hub-Signature-256` check over the raw
//! body bytes, keywords and replies. Turning a payload into events is `inbox::payload`.
//!
//! The signature is checked on the bytes exactly as received, before any parsing: Meta signs a
//! body whose non-ASCII text is escaped as `\u00fc`, and re-serialising would change the bytes.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::events::KeywordAction;
pub use super::payload::{Parsed, PayloadError, parse};

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` keyed with `app_secret`.
/// The comparison is constant-time (`verify_slice`).
pub fn signature_valid(app_secret: &[u8], header: Option<&str>, body: &[u8]) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether `header` has the shape of a signature (`sha256=` and 64 hex digits): checked before
/// the body is read, so a request that can never be valid costs no buffering.
pub fn signature_well_formed(header: &str) -> bool {
    header
        .trim()
        .strip_prefix("sha256=")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `X-Hub-Signature-256` value Meta would send for `body` (tests, benchmarks, tools).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Constant-time equality for secrets of possibly different length.
pub fn secret_eq(given: &str, expected: &str) -> bool {
    // Only the length of the expected secret leaks, never its content.
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The GET handshake: `Some(challenge)` to echo with 200, `None` for 403.
pub fn handshake(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    verify_token: &str,
) -> Option<String> {
    let ok = mode == Some("subscribe") && token.is_some_and(|t| secret_eq(t, verify_token));
    ok.then(|| challenge.unwrap_or_default().to_string())
}

/// Which inbound words mean what (from `inbox.stop_words` / `inbox.start_words`).
#[derive(Debug, Clone)]
pub struct Keywords {
    pub stop: Vec<String>,
    pub start: Vec<String>,
}

impl Keywords {
    /// Trimmed, case-folded, trailing `!`/`.` ignored: "Stopp!" is STOPP.
    pub fn classify(&self, text: &str) -> Option<KeywordAction> {
        let word = text.trim().trim_end_matches(['!', '.', ' ']).to_lowercase();
        if self.stop.iter().any(|w| w.to_lowercase() == word) {
            Some(KeywordAction::Stop)
        } else if self.start.iter().any(|w| w.to_lowercase() == word) {
            Some(KeywordAction::Start)
        } else {
            None
        }
    }
}

/// A free-form answer the server sends inside the service window the inbound message opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyKind {
    Stopped,
    Started,
    /// Any other message: the service text (rate-limited per sender by the caller).
    Service,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    /// E.164 with `+`.
    pub to: String,
    pub kind: ReplyKind,
    /// The event this answers, so a duplicate webhook does not answer twice.
    pub event_id: String,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("to", &crate::subscribers::mask(&self.to))
            .field("kind", &self.kind)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords() -> Keywords {
        Keywords {
            stop: vec!["stop".into(), "stopp".into()],
            start: vec!["start".into(), "ja".into()],
        }
    }

    #[test]
    fn signature_over_raw_bytes_and_only_those() {
        let body = br#"{"name":"J\u00fcrgen"}"#;
        let sig = sign(b"secret", body);
        assert!(signature_valid(b"secret", Some(&sig), body));
        assert!(!signature_valid(b"other", Some(&sig), body));
        assert!(!signature_valid(
            b"secret",
            Some(&sig),
            r#"{"name":"Jürgen"}"#.as_bytes()
        ));
        assert!(!signature_valid(b"secret", None, body));
        assert!(!signature_valid(b"secret", Some("sha256=zz"), body));
        assert!(!signature_valid(
            b"secret",
            Some(sig.trim_start_matches("sha256=")),
            body
        ));
    }

    #[test]
    fn handshake_needs_mode_and_token() {
        assert_eq!(
            handshake(Some("subscribe"), Some("tok"), Some("42"), "tok").as_deref(),
            Some("42")
        );
        assert_eq!(
            handshake(Some("subscribe"), Some("tok2"), Some("42"), "tok"),
            None
        );
        assert_eq!(
            handshake(Some("unsubscribe"), Some("tok"), Some("42"), "tok"),
            None
        );
        assert_eq!(handshake(None, None, Some("42"), "tok"), None);
    }

    #[test]
    fn words_are_folded() {
        let k = keywords();
        assert_eq!(k.classify("  Stopp! "), Some(KeywordAction::Stop));
        assert_eq!(k.classify("JA"), Some(KeywordAction::Start));
        assert_eq!(k.classify("stop it"), None);
    }
}
