//! The delivery providers that broadcast (and later inbox) stand on: one folder per provider
//! with its settings, its rendering and its client, classifying every answer into the error
//! classes the sender knows (retry, permanent for one recipient, fatal for the run, uncertain).
//!
//! WhatsApp and the outbox still live under `broadcast::channels`; moving them here is the
//! planned next step (issue 14). Nothing here reads the environment: secrets are passed in by the
//! command's edge.

pub mod email;
pub mod mastodon;
pub mod telegram;

/// Whether `url` may be used for an API: `https://`, or `http://` only to this machine (tests,
/// a local relay). Returns the reason when not.
pub fn check_api_url(url: &str) -> Result<(), String> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let name = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.split(':').next().unwrap_or(""),
        };
        if is_loopback(name) {
            return Ok(());
        }
        return Err(format!(
            "`{url}` is plain http to another machine: the token would travel unencrypted"
        ));
    }
    Err(format!("`{url}` is not an https:// URL"))
}

/// `localhost`, `127.x.x.x` or `::1`.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A short stable hex digest of `parts` (joined by a separator no part holds), for ids that must
/// be the same on every run: Message-IDs, idempotency keys.
pub fn stable_digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_must_be_https_except_to_this_machine() {
        assert!(check_api_url("https://api.telegram.org").is_ok());
        assert!(check_api_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_api_url("http://localhost/").is_ok());
        assert!(check_api_url("http://[::1]:9/").is_ok());
        assert!(check_api_url("http://api.telegram.org").is_err());
        assert!(check_api_url("http://127.0.0.1.evil.example/").is_err());
        assert!(check_api_url("ftp://x").is_err());
    }

    #[test]
    fn digests_are_stable_and_separate_their_parts() {
        assert_eq!(stable_digest(&["a", "b"]), stable_digest(&["a", "b"]));
        assert_ne!(stable_digest(&["ab", ""]), stable_digest(&["a", "b"]));
        assert_eq!(stable_digest(&["a"]).len(), 32);
    }
}
