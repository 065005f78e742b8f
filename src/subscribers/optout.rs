//! Opt-out links: `/abmelden?t=<token>`, where the token is `<subscriber id>.<tag>` and the tag is
//! HMAC-SHA256 of the id keyed with `AUSHANG_INBOX_TOKEN_SECRET` (shared by the batch side, which
//! writes links, and the inbox, which checks them), truncated to 128 bits.
//!
//! The subscriber id is random and carries no personal data; the tag makes a token unforgeable
//! without the secret, so nobody can unsubscribe others by guessing ids. Rotating the secret
//! invalidates all links already sent.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TOKEN_SECRET_ENV: &str = "AUSHANG_INBOX_TOKEN_SECRET";
const TAG_BYTES: usize = 16;

/// The key of the opt-out links from the environment: `None` when unset, an error (that says how
/// to make one) when shorter than 32 bytes.
pub fn secret_from_env() -> Result<Option<String>, String> {
    let Some(secret) = std::env::var(TOKEN_SECRET_ENV)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
    else {
        return Ok(None);
    };
    crate::inbox::check_secret(TOKEN_SECRET_ENV, &secret)?;
    Ok(Some(secret))
}

fn mac(secret: &[u8], subscriber_id: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"aushang-optout-v1:");
    mac.update(subscriber_id.as_bytes());
    mac
}

/// The token for one subscriber.
pub fn token(secret: &[u8], subscriber_id: &str) -> String {
    let tag = mac(secret, subscriber_id).finalize().into_bytes();
    format!("{subscriber_id}.{}", hex::encode(&tag[..TAG_BYTES]))
}

/// The full opt-out URL for one subscriber, under the inbox's public URL.
pub fn url(inbox_url: &str, secret: &[u8], subscriber_id: &str) -> String {
    format!(
        "{}/abmelden?t={}",
        inbox_url.trim_end_matches('/'),
        token(secret, subscriber_id)
    )
}

/// The subscriber id of a genuine token (constant-time tag check), else `None`.
pub fn verify(secret: &[u8], token: &str) -> Option<String> {
    let (id, tag) = token.trim().rsplit_once('.')?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let tag = hex::decode(tag).ok()?;
    if tag.len() != TAG_BYTES {
        return None;
    }
    mac(secret, id).verify_truncated_left(&tag).ok()?;
    Some(id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_the_secret_and_unchanged() {
        let t = token(b"secret", "s_00ff00ff00ff00ff");
        assert_eq!(verify(b"secret", &t).as_deref(), Some("s_00ff00ff00ff00ff"));
        assert_eq!(verify(b"other", &t), None);
        let forged = t.replace("s_00ff", "s_11ff");
        assert_eq!(verify(b"secret", &forged), None);
        assert_eq!(verify(b"secret", "s_1"), None);
        assert_eq!(verify(b"secret", "../x.00"), None);
        assert!(
            url("https://inbox.example/", b"secret", "s_1")
                .starts_with("https://inbox.example/abmelden?t=s_1.")
        );
    }
}
