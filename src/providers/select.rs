//! The glue between the sender and the providers beyond WhatsApp (`crate::providers`): choosing
//! one at the command's edge with its secret, rendering a message for it, and the dry run's
//! preview of every configured channel.

use std::fmt::Write as _;

use anyhow::bail;
use jiff::Timestamp;

use crate::broadcast::plan::{Decision, Guards, plan};
use crate::config::Config;
use crate::content::Notice;
use crate::delivery::journal::{Journal, journal_dir};
use crate::delivery::message::Message;
use crate::providers::deliverer::{Deliverer, Rendered};
use crate::providers::email::{Email, EmailSettings, MailTemplate, PASSWORD_ENV};
use crate::providers::mastodon::{self, Mastodon, MastodonPost};
use crate::providers::telegram::{self, Telegram, TelegramPost};
use crate::subscribers::{Channel, Status, Subscriber};

/// What a provider other than WhatsApp sends for one message.
#[derive(Debug, Clone)]
pub enum Rendering {
    Mail(MailTemplate),
    Telegram(TelegramPost),
    Mastodon(MastodonPost),
}

/// The channels this file serves.
pub const NAMES: [&str; 3] = ["email", "telegram", "mastodon"];

/// Whether aushang.yaml configures channel `name` (one of [`NAMES`]).
pub fn configured(config: &Config, name: &str) -> bool {
    let channels = &config.broadcast.channels;
    match name {
        "email" => channels.email.is_some(),
        "telegram" => channels.telegram.is_some(),
        "mastodon" => channels.mastodon.is_some(),
        _ => false,
    }
}

/// The deliverer of `--channel email|telegram|mastodon`, and a warning for the run's report;
/// `secret` reads the environment (the command's edge), once.
pub fn choose(
    config: &Config,
    name: &str,
    secret: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<(Deliverer, Option<String>)> {
    let secret = |var: &str| secret(var).filter(|v| !v.trim().is_empty());
    let channels = &config.broadcast.channels;
    let missing = |section: &str| {
        anyhow::anyhow!(
            "--channel {name}, aber aushang.yaml hat keinen Abschnitt broadcast.channels.{section}"
        )
    };
    match name {
        "email" => {
            let cfg = channels.email.clone().ok_or_else(|| missing("email"))?;
            let password = secret(PASSWORD_ENV);
            if cfg.username.is_some() && password.is_none() {
                bail!(
                    "--channel email meldet sich als `username` an, aber {PASSWORD_ENV} ist nicht gesetzt"
                );
            }
            let token_secret = secret(crate::subscribers::optout::TOKEN_SECRET_ENV);
            let warning = match (&config.inbox, &token_secret) {
                (Some(_), Some(_)) => None,
                (None, _) => Some(
                    "kein Abschnitt inbox:, daher tragen Mails keinen Abmelde-Link mit einem Klick \
                     (List-Unsubscribe); große Mail-Anbieter erwarten ihn bei Massenmails"
                        .to_string(),
                ),
                (Some(_), None) => Some(format!(
                    "{} ist nicht gesetzt: Mails tragen keinen Abmelde-Link mit einem Klick \
                     (List-Unsubscribe) und bitten stattdessen, mit STOP zu antworten",
                    crate::subscribers::optout::TOKEN_SECRET_ENV
                )),
            };
            let email = Email::new(EmailSettings {
                config: cfg,
                password,
                inbox_url: config.inbox.as_ref().map(|i| i.url.clone()),
                token_secret: token_secret.map(String::into_bytes),
                site_title: config.title.clone(),
            });
            Ok((Deliverer::Email(email), warning))
        }
        "telegram" => {
            let cfg = channels
                .telegram
                .clone()
                .ok_or_else(|| missing("telegram"))?;
            let Some(token) = secret(telegram::TOKEN_ENV) else {
                bail!(
                    "--channel telegram braucht das Bot-Token in {}",
                    telegram::TOKEN_ENV
                );
            };
            let client = Telegram::new(cfg, token).map_err(anyhow::Error::msg)?;
            Ok((Deliverer::Telegram(client), None))
        }
        "mastodon" => {
            let cfg = channels
                .mastodon
                .clone()
                .ok_or_else(|| missing("mastodon"))?;
            let Some(token) = secret(mastodon::TOKEN_ENV) else {
                bail!(
                    "--channel mastodon braucht das Zugangs-Token in {}",
                    mastodon::TOKEN_ENV
                );
            };
            let client = Mastodon::new(cfg, token).map_err(anyhow::Error::msg)?;
            let journal = journal_dir(&config.subscribers_dir());
            Ok((Deliverer::Mastodon { client, journal }, None))
        }
        other => bail!("unbekannter Kanal `{other}`"),
    }
}

/// The pseudo-subscriber standing for a public channel's readers.
pub fn channel_reader(id: &str) -> Subscriber {
    Subscriber {
        id: id.to_string(),
        channel: Channel::Telegram,
        address: String::new(),
        name: None,
        topics: vec![],
        language: "de".into(),
        status: Status::Active,
        consent_at: None,
        consent_source: "channel".into(),
        consent_text: String::new(),
        confirmed_at: None,
        unsubscribed_at: None,
        bsuid: None,
    }
}

pub fn render_mail(message: &Message, settings: &EmailSettings) -> Result<Rendered, String> {
    let mail = MailTemplate::render(message, settings)?;
    Ok(Rendered {
        whatsapp: None,
        text: mail.preview_text(settings),
        header: format!("E-Mail, Betreff: {}", mail.subject),
        provider: Some(Rendering::Mail(mail)),
        per_channel: Vec::new(),
    })
}

pub fn render_telegram(message: &Message) -> Rendered {
    let post = TelegramPost::render(message);
    Rendered {
        whatsapp: None,
        header: format!(
            "Telegram-Kanalbeitrag ({} von {} Zeichen)",
            post.chars,
            telegram::MAX_CHARS
        ),
        text: post.plain.clone(),
        provider: Some(Rendering::Telegram(post)),
        per_channel: Vec::new(),
    }
}

pub fn render_mastodon(message: &Message, journal: &std::path::Path) -> Rendered {
    let post = MastodonPost::render(message, mastodon::original_post(journal, message));
    let status = post.status(mastodon::DEFAULT_MAX_CHARS, mastodon::DEFAULT_URL_CHARS);
    let count = mastodon::counted_chars(&status, mastodon::DEFAULT_URL_CHARS);
    let reply = match (&post.in_reply_to, message.is_update()) {
        (Some(id), _) => format!(", Antwort auf Beitrag {id}"),
        (None, true) => ", eigener Beitrag (der ursprüngliche ist nicht im Journal)".into(),
        (None, false) => String::new(),
    };
    Rendered {
        whatsapp: None,
        header: format!(
            "Mastodon-Beitrag ({count} von {} Zeichen, Links zählen {}{reply}; die Grenze der \
             Instanz wird beim Senden abgefragt)",
            mastodon::DEFAULT_MAX_CHARS,
            mastodon::DEFAULT_URL_CHARS
        ),
        text: status,
        provider: Some(Rendering::Mastodon(post)),
        per_channel: Vec::new(),
    }
}

/// The outbox's view of `message` on every configured channel beyond WhatsApp, rendered
/// without secrets (the personal unsubscribe link shows as the preview placeholder, as in the
/// dry run). A channel that cannot render it says why in its header.
pub fn renderings(config: &Config, message: &Message) -> Vec<(&'static str, Rendered)> {
    NAMES
        .into_iter()
        .filter(|n| configured(config, n))
        .map(|name| {
            let rendered = choose(config, name, |_| Some("preview".to_string()))
                .map_err(|e| format!("{e:#}"))
                .and_then(|(d, _)| d.render(message));
            let rendered = rendered.unwrap_or_else(|e| Rendered {
                whatsapp: None,
                text: String::new(),
                header: format!("{name}: nicht darstellbar: {e}"),
                provider: None,
                per_channel: Vec::new(),
            });
            (name, rendered)
        })
        .collect()
}

/// The dry run's section for every configured channel beyond WhatsApp: per open message the
/// exact rendering (mail subject and text part; the post with its character count). Needs no
/// secret: e-mail shows the personal unsubscribe link as a placeholder.
pub fn preview(config: &Config, notices: &[Notice], now: Timestamp) -> anyhow::Result<String> {
    let mut out = String::new();
    let journal = Journal::open(&journal_dir(&config.subscribers_dir()))?;
    for name in NAMES.into_iter().filter(|n| configured(config, n)) {
        // Rendering uses no secret (the personal link shows as a placeholder); the stand-in
        // only lets the clients be built, and nothing is sent.
        let (deliverer, _) = choose(config, name, |_| Some("preview".to_string()))?;
        let planned = plan(
            config,
            notices,
            &journal,
            name,
            now,
            Guards {
                quiet_hours: true,
                staleness: true,
            },
        );
        let open: Vec<_> = planned
            .iter()
            .filter(|p| p.decision == Decision::Due)
            .collect();
        let _ = writeln!(out, "## Vorschau {name}\n");
        let _ = writeln!(out, "{} Nachricht(en) jetzt fällig.\n", open.len());
        for p in open {
            let _ = writeln!(out, "### {}\n", p.message.title);
            crate::providers::deliverer::write_preview(&mut out, &deliverer.render(&p.message));
        }
    }
    Ok(out)
}
