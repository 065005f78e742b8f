//! The OAuth `state` of one login: a random nonce with its expiry, HMAC-signed, handed to GitHub
//! as `state` and to the popup as an `HttpOnly; SameSite=Lax` cookie. The callback accepts only
//! a state that this server signed, that has not expired, and that equals the popup's own
//! cookie, so a callback link planted by someone else (login CSRF) is refused.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long a login may take from the authorize redirect to the callback.
pub const LIFETIME_SECONDS: i64 = 600;
/// The cookie that binds the state to the popup window's browser.
pub const COOKIE: &str = "aushang_redaktion";

/// Why a state was refused (for the log; the page says the same for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NoCookie,
    NotTheCookie,
    Forged,
    Expired,
}

impl Refusal {
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Missing => "no state parameter",
            Refusal::NoCookie => "no state cookie (another browser, or the login took too long)",
            Refusal::NotTheCookie => "state differs from the popup's cookie",
            Refusal::Forged => "state not signed by this server",
            Refusal::Expired => "state expired",
        }
    }
}

/// The signing key: derived from the OAuth App's client secret, so a restart or a second
/// instance accepts the states of the first, and no further secret is needed.
pub fn key_from_client_secret(client_secret: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()).expect("any key length");
    mac.update(b"aushang editor login state v1");
    mac.finalize().into_bytes().into()
}

fn mac(key: &[u8; 32], nonce: &str, expires: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("{nonce}|{expires}").as_bytes());
    mac
}

/// A fresh state: `<nonce>.<expiry unix seconds>.<tag>`, all URL- and cookie-safe.
pub fn issue(key: &[u8; 32], now_unix: i64) -> String {
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let expires = now_unix + LIFETIME_SECONDS;
    let tag = mac(key, &nonce, expires).finalize().into_bytes();
    format!("{nonce}.{expires}.{}", hex::encode(&tag[..16]))
}

/// Checks the `state` parameter against the popup's cookie and the signature.
pub fn verify(
    key: &[u8; 32],
    param: Option<&str>,
    cookie: Option<&str>,
    now_unix: i64,
) -> Result<(), Refusal> {
    let param = param.filter(|p| !p.is_empty()).ok_or(Refusal::Missing)?;
    let cookie = cookie.filter(|c| !c.is_empty()).ok_or(Refusal::NoCookie)?;
    if !bool::from(param.as_bytes().ct_eq(cookie.as_bytes())) {
        return Err(Refusal::NotTheCookie);
    }
    let mut parts = param.split('.');
    let (Some(nonce), Some(expires), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Forged);
    };
    let expires: i64 = expires.parse().map_err(|_| Refusal::Forged)?;
    let tag = hex::decode(tag).map_err(|_| Refusal::Forged)?;
    mac(key, nonce, expires)
        .verify_truncated_left(&tag)
        .ok()
        .filter(|_| tag.len() == 16)
        .ok_or(Refusal::Forged)?;
    if now_unix > expires {
        return Err(Refusal::Expired);
    }
    Ok(())
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// `Set-Cookie` for a new state (`secure` on an https inbox).
pub fn set_cookie(state: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={state}; Max-Age={LIFETIME_SECONDS}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` that deletes the state once the callback used it.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_signed_unexpired_state_equal_to_the_cookie_passes() {
        let key = key_from_client_secret("client-secret-of-forty-characters-000000");
        let now = 1_800_000_000;
        let s = issue(&key, now);
        assert_eq!(verify(&key, Some(&s), Some(&s), now + 599), Ok(()));
        assert_eq!(
            verify(&key, Some(&s), Some(&s), now + 601),
            Err(Refusal::Expired)
        );
        assert_eq!(verify(&key, None, Some(&s), now), Err(Refusal::Missing));
        assert_eq!(verify(&key, Some(&s), None, now), Err(Refusal::NoCookie));
        let other = issue(&key, now);
        assert_eq!(
            verify(&key, Some(&s), Some(&other), now),
            Err(Refusal::NotTheCookie)
        );
        // A later expiry written into a real state breaks its signature.
        let (nonce, rest) = s.split_once('.').unwrap();
        let tag = rest.split_once('.').unwrap().1;
        let stretched = format!("{nonce}.{}.{tag}", now + 99_999);
        assert_eq!(
            verify(&key, Some(&stretched), Some(&stretched), now),
            Err(Refusal::Forged)
        );
        let other_key = key_from_client_secret("another-secret");
        assert_eq!(
            verify(&other_key, Some(&s), Some(&s), now),
            Err(Refusal::Forged)
        );
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let h = format!("a=1; {COOKIE}=x.y.z; b=2");
        assert_eq!(cookie_value(Some(&h), COOKIE), Some("x.y.z"));
        assert_eq!(cookie_value(Some("a=1"), COOKIE), None);
        assert!(set_cookie("s", true).ends_with("SameSite=Lax; Secure"));
        assert!(!set_cookie("s", false).contains("Secure"));
    }
}
