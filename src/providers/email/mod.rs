//! E-mail to `channel: email` subscribers over SMTP (lettre, rustls): settings, the mail's
//! rendering, and the pooled client with its reply classification.

pub mod html;
pub mod mail;
pub mod settings;
pub mod smtp;

pub use html::MailHtml;
pub use mail::MailTemplate;
pub use settings::{EmailConfig, EmailSettings, PASSWORD_ENV, Security};
pub use smtp::SmtpPool;

use crate::delivery::errors::ErrorClass;
use crate::delivery::message::Message;
use crate::delivery::outcome::Outcome;
use crate::providers::deliverer::Rendered;
use crate::providers::select::Rendering;

/// Sends one mail outside a broadcast run (the inbox's sign-up confirmation): `Ok` with the
/// server's answer, `Err` with the reason (addresses masked), `fatal` when retrying cannot help
/// (login refused, sender refused, TLS refused).
pub async fn send_single(
    pool: &SmtpPool,
    mail: &lettre::Message,
) -> Result<String, (bool, String)> {
    match pool.send(mail).await {
        Outcome::Sent { id } => Ok(id),
        Outcome::Failed { class, detail, .. } => Err((matches!(class, ErrorClass::Fatal), detail)),
        Outcome::Uncertain { detail } => Err((false, detail)),
    }
}

/// The e-mail channel of one run.
pub struct Email {
    pub settings: EmailSettings,
    pub pool: SmtpPool,
    /// The HTML part's template (the theme's, or the town's override).
    pub html: MailHtml,
}

impl Email {
    /// With the theme's `mail.html`; see [`Email::with_html`].
    pub fn new(settings: EmailSettings) -> Email {
        Email {
            pool: SmtpPool::new(settings.clone()),
            settings,
            html: MailHtml::default(),
        }
    }

    /// The same channel with the HTML part from `html` (the town's `templates/mail.html`).
    pub fn with_html(self, html: MailHtml) -> Email {
        Email { html, ..self }
    }

    /// Builds this subscriber's mail and sends it.
    pub async fn deliver(
        &self,
        template: &MailTemplate,
        subscriber_id: &str,
        address: &str,
    ) -> Outcome {
        match template.build(&self.settings, subscriber_id, address) {
            Ok(mail) => self.pool.send(&mail).await,
            Err(detail) => Outcome::Failed {
                code: None,
                class: ErrorClass::Permanent,
                detail,
            },
        }
    }
}

/// `message` as a mail: the text part is what previews show.
pub fn rendered(message: &Message, email: &Email) -> Result<Rendered, String> {
    let settings = &email.settings;
    let mail = MailTemplate::render(message, settings, &email.html)?;
    Ok(Rendered {
        whatsapp: None,
        text: mail.preview_text(settings),
        header: format!("E-Mail, Betreff: {}", mail.subject),
        provider: Some(Rendering::Mail(mail)),
        per_channel: Vec::new(),
    })
}
