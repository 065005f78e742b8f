//! Opt-out links: `/abmelden?t=<token>`, where the token is `<subscriber id>.<tag>` and the tag is
//! HMAC-SHA256 of the id keyed with `AUSHANG_INBOX_TOKEN_SECRET` (shared by the batch side, which
//! writes links, and the inbox, which checks them), truncated to 128 bits.
//!
//! The subscriber id is random and carries no personal data; the tag makes a token unforgeable
//! without the secret, so nobody can unsubscribe others by guessing ids. Rotating the secret
//! invalidates all links already sent.
//!
//! The token is a property of the subscription, so it lives below both sides: broadcast (and the
//! providers) write it into messages through [`OptOut`], the inbox checks it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Config;

pub const TOKEN_SECRET_ENV: &str = "AUSHANG_INBOX_TOKEN_SECRET";
const TAG_BYTES: usize = 16;

/// The least length of an HMAC key (the app secret, the opt-out link secret): 32 bytes, as many
/// as the hash gives; a shorter key can be guessed offline from one signed request or link.
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses an HMAC key shorter than [`MIN_SECRET_BYTES`], saying how to make a good one. The
/// message never holds the value.
pub fn check_secret(name: &str, value: &str) -> Result<(), String> {
    if value.len() >= MIN_SECRET_BYTES {
        return Ok(());
    }
    Err(format!(
        "{name} ist zu kurz: mindestens {MIN_SECRET_BYTES} zufällige Bytes nötig\n  Hinweis: eines mit `head -c 32 /dev/urandom | base64` (oder `openssl rand -hex 32`) erzeugen und überall setzen, wo {name} verwendet wird"
    ))
}

/// The key of the opt-out links as the command's edge read it (trimmed, `None` when unset or
/// empty): an error (that says how to make one) when shorter than 32 bytes.
pub fn checked_secret(secret: Option<&str>) -> Result<Option<&str>, String> {
    let Some(secret) = secret.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    check_secret(TOKEN_SECRET_ENV, secret)?;
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

/// Shown in previews where each subscriber's own opt-out token will stand.
pub const OPTOUT_TOKEN_PLACEHOLDER: &str = "<persönlicher-Code>";
/// The opt-out button's suffix without the secret: the inbox answers it with a page that asks
/// the person to write STOP (a template button cannot be left out).
pub const OPTOUT_FALLBACK_TOKEN: &str = "STOP";
/// The opt-out button's label in previews.
pub const OPTOUT_BUTTON_LABEL: &str = "Abmelden";
/// The opt-out line of channels that cannot show a link, and the fallback without the secret.
pub const OPTOUT_BY_REPLY: &str = "Abmelden: STOP antworten";

/// How an outgoing message tells its subscriber how to leave, when an inbox is configured:
/// `Abmelden: <inbox.url>abmelden?t=<token>` with the same HMAC token as `aushang inbox link`.
#[derive(Clone)]
pub struct OptOut {
    inbox_url: String,
    /// `AUSHANG_INBOX_TOKEN_SECRET`; without it messages fall back to [`OPTOUT_BY_REPLY`].
    secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for OptOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptOut")
            .field("inbox_url", &self.inbox_url)
            .field("secret", &self.secret.as_ref().map(|_| "set"))
            .finish()
    }
}

impl OptOut {
    pub fn new(inbox_url: &str, secret: Option<&[u8]>) -> OptOut {
        OptOut {
            inbox_url: inbox_url.to_string(),
            secret: secret.filter(|s| !s.is_empty()).map(<[u8]>::to_vec),
        }
    }

    /// `None` without an inbox; `secret` is `AUSHANG_INBOX_TOKEN_SECRET` as the command's edge
    /// read it.
    pub fn for_site(config: &Config, secret: Option<&str>) -> Option<OptOut> {
        let inbox = config.inbox.as_ref()?;
        let secret = secret.map(str::trim).filter(|s| !s.is_empty());
        Some(OptOut::new(&inbox.url, secret.map(str::as_bytes)))
    }

    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// Why messages carry no link, when they carry none.
    pub fn warning(&self) -> Option<String> {
        (!self.has_secret()).then(|| {
            format!(
                "ein Posteingang ist eingestellt, aber {} ist nicht gesetzt: Nachrichten sagen „{OPTOUT_BY_REPLY}“ \
                 statt eines persönlichen Abmelde-Links",
                TOKEN_SECRET_ENV
            )
        })
    }

    /// The subscriber's own opt-out URL, when the secret is known.
    pub fn url(&self, subscriber_id: &str) -> Option<String> {
        let secret = self.secret.as_ref()?;
        Some(url(&self.inbox_url, secret, subscriber_id))
    }

    /// The last line of a message to one subscriber.
    pub fn line(&self, subscriber_id: &str) -> String {
        match self.url(subscriber_id) {
            Some(url) => format!("Abmelden: {url}"),
            None => OPTOUT_BY_REPLY.to_string(),
        }
    }

    /// The link as previews show it, with a placeholder for the personal token.
    pub fn preview_url(&self) -> String {
        format!(
            "{}/abmelden?t={OPTOUT_TOKEN_PLACEHOLDER}",
            self.inbox_url.trim_end_matches('/')
        )
    }

    /// The line as previews show it.
    pub fn preview_line(&self) -> String {
        format!("Abmelden: {}", self.preview_url())
    }

    /// The opt-out URL button of a WhatsApp template, as previews show it.
    pub fn preview_button(&self) -> String {
        format!("[ {OPTOUT_BUTTON_LABEL} ] → {}", self.preview_url())
    }

    /// The suffix of the opt-out URL button for one subscriber: their token, or without the
    /// secret [`OPTOUT_FALLBACK_TOKEN`].
    pub fn button_token(&self, subscriber_id: &str) -> String {
        match &self.secret {
            Some(secret) => token(secret, subscriber_id),
            None => OPTOUT_FALLBACK_TOKEN.to_string(),
        }
    }

    /// Why the opt-out button carries no personal link, when it carries none.
    pub fn button_warning(&self) -> Option<String> {
        (!self.has_secret()).then(|| {
            format!(
                "{} ist nicht gesetzt: der Abmelde-Knopf öffnet eine Seite, die bittet, STOP zu schreiben, \
                 statt sofort abzumelden",
                TOKEN_SECRET_ENV
            )
        })
    }

    /// `text` for one subscriber: the preview line (or a preview's button link) replaced by
    /// theirs, or their line appended (unless the text already says exactly that, as a template
    /// with "STOP antworten" does).
    pub fn personalise(&self, text: &str, subscriber_id: &str) -> String {
        let line = self.line(subscriber_id);
        let preview = self.preview_line();
        if text.contains(&preview) {
            text.replace(&preview, &line)
        } else if text.contains(&self.preview_url()) {
            let url = format!(
                "{}/abmelden?t={}",
                self.inbox_url.trim_end_matches('/'),
                self.button_token(subscriber_id)
            );
            text.replace(&self.preview_url(), &url)
        } else if text.contains(&line) {
            text.to_string()
        } else {
            format!("{}\n{line}", text.trim_end())
        }
    }
}

#[cfg(test)]
mod optout_tests {
    use super::*;

    #[test]
    fn the_line_carries_the_same_token_as_inbox_link_or_falls_back_to_stop() {
        let with = OptOut::new("https://inbox.example/", Some(b"secret-0123456789"));
        let token = token(b"secret-0123456789", "s_00ff");
        assert_eq!(
            with.line("s_00ff"),
            format!("Abmelden: https://inbox.example/abmelden?t={token}")
        );
        assert_eq!(
            verify(b"secret-0123456789", &token).as_deref(),
            Some("s_00ff")
        );
        assert!(with.warning().is_none());
        let without = OptOut::new("https://inbox.example/", None);
        assert_eq!(without.line("s_00ff"), OPTOUT_BY_REPLY);
        assert!(
            without
                .warning()
                .unwrap()
                .contains("AUSHANG_INBOX_TOKEN_SECRET")
        );
    }

    #[test]
    fn personalise_replaces_the_preview_line_appends_otherwise_and_never_doubles() {
        let o = OptOut::new("https://inbox.example", Some(b"k"));
        let preview = format!("Titel\nText\n{}", o.preview_line());
        assert!(preview.ends_with("abmelden?t=<persönlicher-Code>"));
        let mine = o.personalise(&preview, "s_1");
        assert_eq!(mine, format!("Titel\nText\n{}", o.line("s_1")));
        assert!(!mine.contains(OPTOUT_TOKEN_PLACEHOLDER));
        let appended = o.personalise("Vorlage. Abmelden: STOP antworten.\n", "s_2");
        assert!(
            appended.ends_with(&format!("\n{}", o.line("s_2"))),
            "{appended}"
        );
        // A WhatsApp preview with the opt-out button: the button's link becomes theirs.
        let button = format!("Vorlage.\n{}", o.preview_button());
        let theirs = o.personalise(&button, "s_4");
        assert_eq!(
            theirs,
            format!(
                "Vorlage.\n[ Abmelden ] → https://inbox.example/abmelden?t={}",
                o.button_token("s_4")
            )
        );
        let fallback = OptOut::new("https://inbox.example", None);
        assert!(
            fallback
                .personalise(&button, "s_4")
                .ends_with("abmelden?t=STOP")
        );
        let text = "Vorlage. Abmelden: STOP antworten";
        assert_eq!(fallback.personalise(text, "s_3"), text);
        assert_eq!(
            fallback.personalise("Titel", "s_3"),
            format!("Titel\n{OPTOUT_BY_REPLY}")
        );
    }
}
