//! The delivery providers that broadcast and inbox stand on: one folder per provider (whatsapp,
//! email, telegram, mastodon, outbox) with its settings, its rendering and its client,
//! classifying every answer into the error classes the sender knows (retry, permanent for one
//! recipient, fatal for the run, uncertain), behind the one interface of [`deliverer`].
//! Nothing here reads the environment: secrets ([`secrets::Secrets`]) are passed in by the
//! command's edge. Nothing here imports `broadcast` or `inbox` (`tests/layers.rs`).

pub mod deliverer;
pub mod email;
pub mod mastodon;
pub mod outbox;
pub mod secrets;
pub mod select;
pub mod telegram;
pub mod whatsapp;

/// Whether `url` may be used for an API: `https://`, or `http://` only to this machine (tests,
/// a local relay) — the same rule `config::security` applies to the WhatsApp and inbox URLs.
/// Returns the reason when not.
pub fn check_api_url(text: &str) -> Result<(), String> {
    let Some(url) = url::Url::parse(text.trim())
        .ok()
        .filter(|u| u.host_str().is_some())
    else {
        return Err(format!("`{text}` ist keine vollständige Adresse"));
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if url.host_str().is_some_and(crate::config::is_loopback_host) => Ok(()),
        "http" => Err(format!(
            "`{text}` ist unverschlüsseltes http zu einem anderen Rechner: das Token würde unverschlüsselt \
             übertragen (nur 127.0.0.1, localhost oder [::1] dürfen http:// verwenden, für Tests)"
        )),
        scheme => Err(format!("`{text}` verwendet {scheme}:// statt https://")),
    }
}

/// `s` safe inside HTML text and double-quoted attributes.
pub fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A failure that pauses the whole run: `wait` as the provider asked (Telegram's `retry_after`,
/// Mastodon's `X-RateLimit-Reset`; the sender adds up to 25 % jitter, never less), else three
/// more tries at 5 s, 30 s, 2 min.
pub(crate) fn run_wide_retry(
    code: Option<i64>,
    detail: String,
    wait: Option<std::time::Duration>,
) -> crate::delivery::outcome::Outcome {
    use crate::delivery::errors::{Backoff, ErrorClass, Scope};
    let backoff = match wait {
        Some(w) => Backoff::Exponential { base: w, cap: w },
        None => Backoff::Limited { max_tries: 3 },
    };
    crate::delivery::outcome::Outcome::Failed {
        code,
        class: ErrorClass::Retry {
            scope: Scope::RunWide,
            backoff,
        },
        detail,
    }
}

/// For an update on a public channel (`channel`, journaled under the stand-in reader
/// `audience`): the id of the notice's own post as the journal recorded it when it was sent, so
/// the update can answer it. `None` for a notice, or when the original was not (surely) sent.
pub(crate) fn original_post(
    journal_dir: &std::path::Path,
    message: &crate::delivery::message::Message,
    channel: &str,
    audience: &str,
) -> Option<String> {
    if !message.is_update() {
        return None;
    }
    let journal = crate::delivery::journal::Journal::open(journal_dir).ok()?;
    let key = format!("{}#notice", message.notice_path);
    let log = journal.deliveries(&key, channel).ok()?;
    let line = log.last.get(audience)?;
    matches!(line.state, crate::delivery::journal::DeliveryState::Sent)
        .then(|| line.id.clone())
        .flatten()
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
        assert!(check_api_url("http://user@127.0.0.1.evil.example/").is_err());
        assert!(check_api_url("social.example").is_err());
    }

    #[test]
    fn digests_are_stable_and_separate_their_parts() {
        assert_eq!(stable_digest(&["a", "b"]), stable_digest(&["a", "b"]));
        assert_ne!(stable_digest(&["ab", ""]), stable_digest(&["a", "b"]));
        assert_eq!(stable_digest(&["a"]).len(), 32);
    }
}
