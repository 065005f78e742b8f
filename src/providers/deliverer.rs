//! The channel a run delivers to, behind one interface: render a message once, deliver it to
//! one subscriber, and say what happened in the terms the journal records. Each provider folder
//! implements its part (`whatsapp::{rendered, deliver}`, `Outbox::deliver_rendered`,
//! `email::rendered` + `Email::deliver`, …); this enum only dispatches.

use crate::config::WhatsAppConfig;
use crate::delivery::errors::ErrorClass;
use crate::delivery::message::Message;
use crate::delivery::outcome::Outcome;
use crate::providers::outbox::Outbox;
use crate::providers::select::{self, Rendering};
use crate::providers::whatsapp::{self, WhatsAppClient, WhatsAppMessage};
use crate::providers::{email, email::Email, mastodon, mastodon::Mastodon};
use crate::providers::{telegram, telegram::Telegram};
use crate::subscribers::optout::OptOut;
use crate::subscribers::{Channel, Subscriber};

/// A message rendered for one channel: the same for every recipient.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub whatsapp: Option<WhatsAppMessage>,
    /// Exactly what the citizen sees.
    pub text: String,
    /// One line saying how it is sent (template name, language), for previews and the outbox.
    pub header: String,
    /// What the other providers (e-mail, Telegram, Mastodon) send.
    pub provider: Option<Rendering>,
    /// The outbox only: the same message as each other configured channel renders it
    /// (`email`, `telegram`, `mastodon`), so the outbox shows every channel.
    pub per_channel: Vec<(&'static str, Rendered)>,
}

pub enum Deliverer {
    /// Local files; stands in for every subscriber channel.
    Outbox {
        outbox: Outbox,
        whatsapp: Option<WhatsAppConfig>,
    },
    WhatsApp {
        client: WhatsAppClient,
        config: WhatsAppConfig,
        /// For the template's opt-out button (`optout_button`); `None` without an inbox.
        optout: Option<OptOut>,
    },
    /// `channel: email` subscribers, over SMTP.
    Email(Email),
    /// One post per notice to the town's Telegram channel.
    Telegram(Telegram),
    /// One post per notice on the town's Mastodon account; `journal` finds an update's original.
    Mastodon {
        client: Mastodon,
        journal: std::path::PathBuf,
    },
}

impl Deliverer {
    /// The name under which deliveries are journaled.
    pub fn channel_name(&self) -> &'static str {
        match self {
            Deliverer::Outbox { .. } => "outbox",
            Deliverer::WhatsApp { .. } => "whatsapp",
            Deliverer::Email(_) => "email",
            Deliverer::Telegram(_) => "telegram",
            Deliverer::Mastodon { .. } => "mastodon",
        }
    }

    /// Whether `sub` is reached through this channel.
    pub fn serves(&self, sub: &Subscriber) -> bool {
        match self {
            Deliverer::Outbox { .. } => true,
            Deliverer::WhatsApp { .. } => sub.channel == Channel::WhatsApp,
            Deliverer::Email(_) => sub.channel == Channel::Email,
            Deliverer::Telegram(_) => sub.id == crate::providers::telegram::AUDIENCE_ID,
            Deliverer::Mastodon { .. } => sub.id == crate::providers::mastodon::AUDIENCE_ID,
        }
    }

    /// A public post's audience: the one pseudo-subscriber standing for the channel's readers
    /// (journaled like a subscriber, so a post goes out once per notice). `None`: the list.
    pub fn public_audience(&self) -> Option<Subscriber> {
        let id = match self {
            Deliverer::Telegram(_) => crate::providers::telegram::AUDIENCE_ID,
            Deliverer::Mastodon { .. } => crate::providers::mastodon::AUDIENCE_ID,
            _ => return None,
        };
        Some(select::channel_reader(id))
    }

    /// `(messages_per_second, concurrency, daily_limit)` of this channel; a public post is one
    /// request per notice.
    pub fn pacing(&self) -> (u32, usize, Option<u32>) {
        match self {
            Deliverer::WhatsApp { config, .. } => (
                config.messages_per_second,
                config.concurrency,
                config.daily_limit,
            ),
            Deliverer::Email(e) => (
                e.settings.config.messages_per_second,
                e.settings.config.concurrency,
                None,
            ),
            Deliverer::Telegram(_) | Deliverer::Mastodon { .. } => (1, 1, None),
            Deliverer::Outbox { .. } => (1000, 4, None),
        }
    }

    pub fn is_real(&self) -> bool {
        !matches!(self, Deliverer::Outbox { .. })
    }

    pub fn render(&self, message: &Message) -> Result<Rendered, String> {
        let (whatsapp, optout) = match self {
            Deliverer::Outbox { whatsapp, outbox } => (whatsapp.as_ref(), outbox.optout()),
            Deliverer::WhatsApp { config, optout, .. } => (Some(config), optout.as_ref()),
            Deliverer::Email(e) => return email::rendered(message, e),
            Deliverer::Telegram(t) => return Ok(telegram::rendered(message, t)),
            Deliverer::Mastodon { journal, .. } => {
                return Ok(mastodon::rendered(message, journal));
            }
        };
        let mut rendered = match whatsapp {
            Some(cfg) => whatsapp::rendered(message, cfg, optout)?,
            None => Rendered {
                // A plain-text channel can show a link: previews show where each subscriber's
                // own opt-out link goes (the outbox puts it in).
                text: match self {
                    Deliverer::Outbox { outbox, .. } if outbox.optout().is_some() => format!(
                        "{}\n{}",
                        plain_text(message),
                        outbox
                            .optout()
                            .map(|o| o.preview_line())
                            .unwrap_or_default()
                    ),
                    _ => plain_text(message),
                },
                header: "Textnachricht".into(),
                whatsapp: None,
                provider: None,
                per_channel: Vec::new(),
            },
        };
        if let Deliverer::Outbox { outbox, .. } = self
            && let Some(config) = outbox.site_config()
        {
            rendered.per_channel = select::renderings(config, message);
        }
        Ok(rendered)
    }

    /// The outbox only: writes each public post (Telegram, Mastodon) of `message` once, beside
    /// the subscribers' files. The other deliverers post in `deliver`.
    pub fn write_posts(&self, message: &Message, rendered: &Rendered) -> std::io::Result<()> {
        let Deliverer::Outbox { outbox, .. } = self else {
            return Ok(());
        };
        for (name, r) in &rendered.per_channel {
            if matches!(
                r.provider,
                Some(Rendering::Telegram(_) | Rendering::Mastodon(_))
            ) {
                outbox.write_post(&message.key, name, &r.header, &r.text)?;
            }
        }
        Ok(())
    }

    pub async fn deliver(
        &self,
        message: &Message,
        rendered: &Rendered,
        sub: &Subscriber,
        correlation: &str,
    ) -> Outcome {
        match self {
            Deliverer::Outbox { outbox, .. } => {
                outbox.deliver_rendered(&message.key, rendered, sub)
            }
            Deliverer::WhatsApp { client, optout, .. } => {
                whatsapp::deliver(client, rendered, optout.as_ref(), sub, correlation).await
            }
            Deliverer::Email(email) => match &rendered.provider {
                Some(Rendering::Mail(mail)) => email.deliver(mail, &sub.id, &sub.address).await,
                _ => not_rendered("E-Mail"),
            },
            Deliverer::Telegram(telegram) => match &rendered.provider {
                Some(Rendering::Telegram(post)) => telegram.post(post).await,
                _ => not_rendered("Telegram"),
            },
            Deliverer::Mastodon { client, .. } => match &rendered.provider {
                Some(Rendering::Mastodon(post)) => client.post(post).await,
                _ => not_rendered("Mastodon"),
            },
        }
    }
}

fn not_rendered(channel: &str) -> Outcome {
    Outcome::Failed {
        code: None,
        class: ErrorClass::Fatal,
        detail: format!("interner Fehler: die Nachricht wurde nicht für {channel} aufbereitet"),
    }
}

/// The message as plain text, for channels without a template.
pub fn plain_text(message: &Message) -> String {
    let lead = match &message.kind {
        crate::delivery::message::MessageKind::Update { text, .. } => {
            format!("Aktualisierung: {}\n{text}", message.title)
        }
        crate::delivery::message::MessageKind::Notice => {
            format!("{}\n{}", message.title, message.summary)
        }
    };
    format!("{lead}\n{}", message.url)
}

/// A rendered message in the Markdown job summary (or its error): how it is sent, then the text
/// as a quote. Shared by the dry run of every channel.
pub fn write_preview(out: &mut String, rendered: &Result<Rendered, String>) {
    use std::fmt::Write as _;
    match rendered {
        Ok(r) => {
            let _ = writeln!(out, "- Versand als: {}\n", r.header);
            for line in r.text.lines() {
                let _ = writeln!(out, "> {line}");
            }
            out.push('\n');
        }
        Err(e) => {
            let _ = writeln!(out, "- FEHLER: {e}\n");
        }
    }
}
