//! The providers' secrets, read once at the command's edge (`src/cmd`) and passed down, so that
//! nothing below (rendering, sending, the outbox) reads the environment. `Debug` shows none.

use crate::providers::{email, mastodon, telegram, whatsapp};
use crate::subscribers::optout;

/// Every provider secret a broadcast may need; a blank value counts as unset. Values are kept as
/// given: whoever uses one trims it where that was always done (the opt-out key).
#[derive(Clone, Default)]
pub struct Secrets {
    /// `WHATSAPP_TOKEN`: the Cloud API access token.
    pub whatsapp_token: Option<String>,
    /// `AUSHANG_INBOX_TOKEN_SECRET`: the key of the opt-out links.
    pub optout_secret: Option<String>,
    /// `SMTP_PASSWORD`: the e-mail relay's password.
    pub smtp_password: Option<String>,
    /// `TELEGRAM_BOT_TOKEN`.
    pub telegram_token: Option<String>,
    /// `MASTODON_TOKEN`.
    pub mastodon_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| if v.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Secrets")
            .field("whatsapp_token", &set(&self.whatsapp_token))
            .field("optout_secret", &set(&self.optout_secret))
            .field("smtp_password", &set(&self.smtp_password))
            .field("telegram_token", &set(&self.telegram_token))
            .field("mastodon_token", &set(&self.mastodon_token))
            .finish()
    }
}

impl Secrets {
    /// The secrets from `lookup` (at the command's edge: the process environment), by their
    /// variable names.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Secrets {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Secrets {
            whatsapp_token: var(whatsapp::TOKEN_ENV),
            optout_secret: var(optout::TOKEN_SECRET_ENV),
            smtp_password: var(email::PASSWORD_ENV),
            telegram_token: var(telegram::TOKEN_ENV),
            mastodon_token: var(mastodon::TOKEN_ENV),
        }
    }

    /// Stand-ins that only let the clients be built for a preview, where nothing is sent and
    /// rendering uses no secret (a personal link shows as a placeholder).
    pub fn placeholder() -> Secrets {
        Secrets::from_lookup(|_| Some("preview".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_are_unset_and_debug_shows_no_value() {
        let s = Secrets::from_lookup(|name| match name {
            "WHATSAPP_TOKEN" => Some("tok-123".into()),
            "AUSHANG_INBOX_TOKEN_SECRET" => Some("  ".into()),
            _ => None,
        });
        assert_eq!(s.whatsapp_token.as_deref(), Some("tok-123"));
        assert_eq!(s.optout_secret, None);
        let shown = format!("{s:?}");
        assert!(!shown.contains("tok-123"), "{shown}");
        assert!(shown.contains("whatsapp_token: \"<set>\""), "{shown}");
    }
}
