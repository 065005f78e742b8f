//! Choosing the deliverer of a run (WhatsApp, e-mail, Telegram, Mastodon or the outbox) with the
//! secrets the command's edge read, rendering a message for it, and the outbox's view of every
//! configured channel. The dry run's preview of them is `crate::broadcast::preview`.

use anyhow::bail;

use crate::config::Config;
use crate::delivery::journal::journal_dir;
use crate::delivery::message::Message;
use crate::providers::deliverer::{Deliverer, Rendered};
use crate::providers::email::{Email, EmailSettings, MailHtml, MailTemplate, PASSWORD_ENV};
use crate::providers::mastodon::{self, Mastodon, MastodonPost};
use crate::providers::outbox::Outbox;
use crate::providers::secrets::Secrets;
use crate::providers::telegram::{self, Telegram, TelegramPost};
use crate::providers::whatsapp::{TOKEN_ENV, WhatsAppClient};
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

/// Which channel this run uses, and why (a warning when it fell back to the outbox).
pub fn choose_deliverer(
    config: &Config,
    requested: Option<&str>,
    secrets: &Secrets,
) -> anyhow::Result<(Deliverer, Option<String>)> {
    let optout_secret = secrets.optout_secret.as_deref();
    // A weak opt-out key would let anyone forge the links that unsubscribe others.
    if config.inbox.is_some() {
        crate::subscribers::optout::checked_secret(optout_secret).map_err(anyhow::Error::msg)?;
    }
    let outbox = || Deliverer::Outbox {
        outbox: Outbox::for_site(config, optout_secret),
        whatsapp: config.broadcast.channels.whatsapp.clone(),
    };
    let token = secrets.whatsapp_token.clone();
    match requested {
        Some("outbox") => Ok((outbox(), None)),
        Some("whatsapp") => {
            let Some(cfg) = config.broadcast.channels.whatsapp.clone() else {
                bail!(
                    "--channel whatsapp, aber aushang.yaml hat keinen Abschnitt broadcast.channels.whatsapp"
                );
            };
            let Some(token) = token else {
                bail!(
                    "--channel whatsapp braucht das Zugangs-Token in der Umgebungsvariable {TOKEN_ENV}"
                );
            };
            let client =
                WhatsAppClient::new(&cfg.api_url, &cfg.phone_number_id, token).map_err(|e| {
                    anyhow::anyhow!("der WhatsApp-Zugang lässt sich nicht einrichten: {e}")
                })?;
            let optout = crate::subscribers::optout::OptOut::for_site(config, optout_secret);
            let warning = optout
                .as_ref()
                .filter(|_| cfg.template.optout_button)
                .and_then(|o| o.button_warning());
            Ok((
                Deliverer::WhatsApp {
                    client,
                    config: cfg,
                    optout,
                },
                warning,
            ))
        }
        Some(name) if NAMES.contains(&name) => choose(config, name, secrets),
        Some(other) => {
            bail!(
                "unbekannter Kanal `{other}` (bekannt: whatsapp, email, telegram, mastodon, outbox)"
            )
        }
        None => match (&config.broadcast.channels.whatsapp, token) {
            (Some(_), Some(_)) => choose_deliverer(config, Some("whatsapp"), secrets),
            (Some(_), None) => Ok((
                outbox(),
                Some(format!(
                    "{TOKEN_ENV} ist nicht gesetzt: Zustellung in den lokalen Ordner outbox/ statt über WhatsApp"
                )),
            )),
            (None, _) => Ok((
                outbox(),
                Some("kein echter Kanal eingestellt: Zustellung in den Ordner outbox/".into()),
            )),
        },
    }
}

/// The deliverer of `--channel email|telegram|mastodon`, and a warning for the run's report;
/// `secrets` were read at the command's edge.
pub fn choose(
    config: &Config,
    name: &str,
    secrets: &Secrets,
) -> anyhow::Result<(Deliverer, Option<String>)> {
    let channels = &config.broadcast.channels;
    let missing = |section: &str| {
        anyhow::anyhow!(
            "--channel {name}, aber aushang.yaml hat keinen Abschnitt broadcast.channels.{section}"
        )
    };
    match name {
        "email" => {
            let cfg = channels.email.clone().ok_or_else(|| missing("email"))?;
            let password = secrets.smtp_password.clone();
            if cfg.username.is_some() && password.is_none() {
                bail!(
                    "--channel email meldet sich als `username` an, aber {PASSWORD_ENV} ist nicht gesetzt"
                );
            }
            let token_secret = secrets.optout_secret.clone();
            let warning = match (&config.inbox, &token_secret) {
                (Some(_), Some(_)) => None,
                (None, _) => Some(
                    "kein Abschnitt inbox:, daher tragen Mails keinen Abmelde-Link mit einem Klick \
                     (List-Unsubscribe); große Mail-Anbieter erwarten ihn bei Massenmails"
                        .to_string(),
                ),
                (Some(_), None) => Some(format!(
                    "{} ist nicht gesetzt: Mails tragen keinen Abmelde-Link mit einem Klick \
                     (List-Unsubscribe) und bitten stattdessen um eine Antwort; solche Antworten \
                     muss jemand von Hand austragen (aushang subscribers remove)",
                    crate::subscribers::optout::TOKEN_SECRET_ENV
                )),
            };
            let email = Email::new(EmailSettings {
                config: cfg,
                password,
                inbox_url: config.inbox.as_ref().map(|i| i.url.clone()),
                token_secret: token_secret.map(String::into_bytes),
                site_title: config.title.clone(),
            })
            .with_html(MailHtml::for_site(&config.root).map_err(anyhow::Error::msg)?);
            Ok((Deliverer::Email(email), warning))
        }
        "telegram" => {
            let cfg = channels
                .telegram
                .clone()
                .ok_or_else(|| missing("telegram"))?;
            let Some(token) = secrets.telegram_token.clone() else {
                bail!(
                    "--channel telegram braucht das Bot-Token in {}",
                    telegram::TOKEN_ENV
                );
            };
            let client = Telegram::new(cfg, token)
                .map_err(anyhow::Error::msg)?
                .with_journal(journal_dir(&config.subscribers_dir()));
            Ok((Deliverer::Telegram(client), None))
        }
        "mastodon" => {
            let cfg = channels
                .mastodon
                .clone()
                .ok_or_else(|| missing("mastodon"))?;
            let Some(token) = secrets.mastodon_token.clone() else {
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

/// The outbox's view of `message` on every configured channel beyond WhatsApp, rendered
/// without secrets (the personal unsubscribe link shows as the preview placeholder, as in the
/// dry run). A channel that cannot render it says why in its header.
pub fn renderings(config: &Config, message: &Message) -> Vec<(&'static str, Rendered)> {
    NAMES
        .into_iter()
        .filter(|n| configured(config, n))
        .map(|name| {
            let rendered = choose(config, name, &Secrets::placeholder())
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
