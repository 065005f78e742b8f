//! The inbox: a small HTTP server for sign-ups, opt-outs and WhatsApp webhooks that stores every
//! event encrypted to the subscriber list's public keys, and the batch side (`aushang inbox
//! pull`) that fetches, decrypts and applies those events to the list. See `docs/inbox.md`.

pub mod apply;
pub mod confirm;
pub mod editor_auth;
pub mod email_pages;
pub mod email_signup;
pub mod events;
pub mod forms;
pub mod listener;
pub mod memory;
pub mod outcome_text;
pub mod pages;
pub mod payload;
pub mod pull;
pub mod pull_api;
pub mod reach;
pub mod reach_ledger;
pub mod requests;
pub mod server;
pub mod signup;
pub mod statuses;
pub mod store;
pub mod template_events;
pub mod undeliverable;
pub mod validate;
pub mod webhook;

use crate::subscribers::optout::check_secret;
pub use listener::Limits;
pub use server::{Extras, RunningInbox, start, start_with, start_with_limits};

pub const APP_SECRET_ENV: &str = "WHATSAPP_APP_SECRET";
pub const VERIFY_TOKEN_ENV: &str = "WHATSAPP_VERIFY_TOKEN";
pub const PULL_TOKEN_ENV: &str = "AUSHANG_INBOX_PULL_TOKEN";

/// The server's secrets, read from its environment by the command's edge (`aushang inbox serve`).
/// `Debug` shows none of them.
#[derive(Clone)]
pub struct Secrets {
    /// Meta app secret: key of `X-Hub-Signature-256`.
    pub app_secret: String,
    /// The verify token entered in the Meta app dashboard.
    pub verify_token: String,
    /// Bearer token of `GET /events` and `POST /events/ack`.
    pub pull_token: String,
    /// Key of the opt-out link tokens; without it `/abmelden` refuses every link.
    pub token_secret: Option<String>,
    /// Access token for the STOP/START answers; without it nothing is answered.
    pub whatsapp_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("token_secret", &self.token_secret.as_ref().map(|_| "<set>"))
            .field(
                "whatsapp_token",
                &self.whatsapp_token.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// The secrets from `lookup` (the environment, at the command's edge); every missing or too
    /// short required one is named in the error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Secrets> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut missing = Vec::new();
        let mut required = |name: &'static str| match var(name) {
            Some(v) if name == APP_SECRET_ENV => v,
            Some(v) if v.len() >= 16 => v,
            Some(_) => {
                missing.push(format!(
                    "{name} (zu kurz: mindestens 16 zufällige Zeichen verwenden)"
                ));
                String::new()
            }
            None => {
                missing.push(name.to_string());
                String::new()
            }
        };
        let secrets = Secrets {
            app_secret: required(APP_SECRET_ENV),
            verify_token: required(VERIFY_TOKEN_ENV),
            pull_token: required(PULL_TOKEN_ENV),
            token_secret: var(crate::subscribers::optout::TOKEN_SECRET_ENV),
            whatsapp_token: var(crate::providers::whatsapp::TOKEN_ENV),
        };
        if !missing.is_empty() {
            anyhow::bail!(
                "der Posteingang braucht diese Umgebungsvariablen: {}\n  Hinweis: sie in das EnvironmentFile der systemd-Unit eintragen (docs/inbox.md)",
                missing.join(", ")
            );
        }
        // HMAC keys: at least 32 bytes (Meta's app secret has 32 characters).
        check_secret(APP_SECRET_ENV, &secrets.app_secret).map_err(anyhow::Error::msg)?;
        if let Some(t) = &secrets.token_secret {
            check_secret(crate::subscribers::optout::TOKEN_SECRET_ENV, t)
                .map_err(anyhow::Error::msg)?;
        }
        Ok(secrets)
    }
}
