//! One notice as an e-mail: subject, a plain-text part and an HTML part (the theme's
//! `mail.html` or the town's `templates/mail.html`, see [`super::html`]; accessible, no remote
//! images), rendered once per message; per subscriber only the
//! recipient, the unsubscribe link (RFC 8058 headers) and the Message-ID differ.

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use crate::delivery::message::Message;
use crate::providers::email::html::{MailHtml, one_line, parts};
use crate::providers::email::settings::EmailSettings;
use crate::providers::{escape_html, stable_digest};

/// Stands for the subscriber's own unsubscribe URL until a mail is built for them.
const UNSUBSCRIBE_SLOT: &str = "\u{1}AUSHANG-UNSUBSCRIBE\u{1}";

/// A message rendered for e-mail, the same for every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplate {
    pub key: String,
    pub subject: String,
    /// The text part, with a slot for the unsubscribe line.
    text: String,
    /// The HTML part, with a slot for the unsubscribe URL.
    html: String,
    /// Without a link the text asks to reply (a person at the town removes them: nothing reads
    /// e-mail replies automatically, so the mail must not promise a STOP keyword).
    has_link: bool,
}

impl MailTemplate {
    /// The mail of `message`, its HTML part from `html`.
    pub fn render(
        message: &Message,
        settings: &EmailSettings,
        html: &MailHtml,
    ) -> Result<MailTemplate, String> {
        let (subject, paragraphs) = parts(message);
        let has_link = settings.inbox_url.is_some() && settings.token_secret.is_some();
        let unsubscribe_text = if has_link {
            format!("Abmelden (ein Klick genügt): {UNSUBSCRIBE_SLOT}")
        } else {
            "Zum Abmelden antworten Sie auf diese E-Mail; die Gemeinde trägt Sie dann aus."
                .to_string()
        };
        let text = format!(
            "{subject}\n\n{}\n\nBekanntmachung lesen:\n{}\n\n-- \nSie erhalten diese E-Mail, weil \
             Sie die Bekanntmachungen von {} abonniert haben.\n{unsubscribe_text}\n",
            paragraphs.join("\n\n"),
            message.url,
            settings.site_title
        );
        let html = html
            .render(
                message,
                &settings.site_title,
                has_link.then_some(UNSUBSCRIBE_SLOT),
            )
            .map_err(|p| one_line(&p))?;
        Ok(MailTemplate {
            key: message.key.clone(),
            subject,
            text,
            html,
            has_link,
        })
    }

    /// The text part as `--dry-run` shows it (the personal link as a placeholder).
    pub fn preview_text(&self, settings: &EmailSettings) -> String {
        self.text.replace(UNSUBSCRIBE_SLOT, &preview_url(settings))
    }

    /// The mail to one subscriber. `Err` when the address cannot be used (permanent for them).
    pub fn build(
        &self,
        settings: &EmailSettings,
        subscriber_id: &str,
        address: &str,
    ) -> Result<lettre::Message, String> {
        let from: Mailbox = settings.config.from.parse().map_err(|e| {
            format!("from ist keine E-Mail-Adresse (Meldung der E-Mail-Bibliothek: {e})")
        })?;
        let to: Mailbox = address
            .trim()
            .parse()
            .map_err(|_| "die E-Mail-Adresse des Abonnenten ist ungültig".to_string())?;
        let unsubscribe = self
            .has_link
            .then(|| unsubscribe_url(settings, subscriber_id))
            .flatten();
        let slot = unsubscribe.clone().unwrap_or_default();
        let mut builder = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(self.subject.clone())
            .message_id(Some(message_id(&self.key, subscriber_id, &from)));
        if let Some(r) = &settings.config.reply_to {
            builder = builder.reply_to(r.parse().map_err(|e| {
                format!("reply_to ist keine E-Mail-Adresse (Meldung der E-Mail-Bibliothek: {e})")
            })?);
        }
        if let Some(url) = &unsubscribe {
            builder = builder
                .header(ListUnsubscribe(format!("<{url}>")))
                .header(ListUnsubscribePost);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                self.text.replace(UNSUBSCRIBE_SLOT, &slot),
                self.html.replace(UNSUBSCRIBE_SLOT, &escape_html(&slot)),
            ))
            .map_err(|e| {
                format!(
                    "die Mail lässt sich nicht zusammensetzen (Meldung der E-Mail-Bibliothek: {e})"
                )
            })
    }
}

/// `<digest of notice key and subscriber id @ the From domain>`: the same on every run, so a
/// repeated mail is recognisable as the same one.
pub fn message_id(key: &str, subscriber_id: &str, from: &Mailbox) -> String {
    format!(
        "<{}@{}>",
        stable_digest(&["aushang-mail-v1", key, subscriber_id]),
        from.email.domain()
    )
}

/// The subscriber's one-click unsubscribe URL (the inbox's `abmelden` link with their signed
/// token, which the inbox also accepts as an RFC 8058 POST).
pub fn unsubscribe_url(settings: &EmailSettings, subscriber_id: &str) -> Option<String> {
    Some(crate::subscribers::optout::url(
        settings.inbox_url.as_deref()?,
        settings.token_secret.as_deref()?,
        subscriber_id,
    ))
}

fn preview_url(settings: &EmailSettings) -> String {
    match &settings.inbox_url {
        Some(url) => format!(
            "{}/abmelden?t={}",
            url.trim_end_matches('/'),
            crate::subscribers::optout::OPTOUT_TOKEN_PLACEHOLDER
        ),
        None => String::new(),
    }
}

/// `List-Unsubscribe: <https://…>` (RFC 2369, RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Debug, Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::message::MessageKind;
    use crate::providers::email::settings::{EmailConfig, Security};

    fn settings(secret: bool) -> EmailSettings {
        EmailSettings {
            config: EmailConfig {
                host: "127.0.0.1".into(),
                port: Some(2525),
                security: Security::None,
                username: None,
                from: "Stadt Teststadt <info@teststadt.example>".into(),
                reply_to: None,
                messages_per_second: 10,
                concurrency: 2,
            },
            password: None,
            inbox_url: Some("https://inbox.teststadt.example/".into()),
            token_secret: secret.then(|| b"0123456789abcdef".to_vec()),
            site_title: "Teststadt".into(),
        }
    }

    fn message() -> Message {
        Message {
            key: "/n/2026/x/#notice".into(),
            alias_keys: vec![],
            kind: MessageKind::Notice,
            notice_path: "/n/2026/x/".into(),
            title: "Straße <gesperrt> & mehr".into(),
            summary: "Ab Montag\n gesperrt.".into(),
            category: None,
            urgent: false,
            due_from: jiff::Timestamp::UNIX_EPOCH,
            url: "https://www.teststadt.example/n/2026/x/?a=1&b=2".into(),
            date_text: "1. Dezember 2026".into(),
        }
    }

    #[test]
    fn html_escapes_the_notice_and_carries_no_remote_images() {
        let s = settings(true);
        let t = MailTemplate::render(&message(), &s, &MailHtml::default()).unwrap();
        assert!(
            t.html.contains("Straße &lt;gesperrt&gt; &amp; mehr"),
            "{}",
            t.html
        );
        assert!(t.html.contains("?a=1&amp;b=2"));
        assert!(!t.html.contains("<img"));
        assert!(t.html.contains("lang=\"de\""));
        let mail = t.build(&s, "s_1", "anna@example.org").unwrap();
        let raw = String::from_utf8(mail.formatted()).unwrap();
        let url = unsubscribe_url(&s, "s_1").unwrap();
        assert!(raw.contains(&format!("List-Unsubscribe: <{url}>")), "{raw}");
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    }

    #[test]
    fn without_the_token_secret_there_is_no_list_unsubscribe_and_the_text_asks_for_a_reply() {
        let s = settings(false);
        let t = MailTemplate::render(&message(), &s, &MailHtml::default()).unwrap();
        let raw =
            String::from_utf8(t.build(&s, "s_1", "a@example.org").unwrap().formatted()).unwrap();
        assert!(!raw.contains("List-Unsubscribe"));
        assert!(
            t.preview_text(&s)
                .contains("antworten Sie auf diese E-Mail")
        );
        assert!(!t.preview_text(&s).contains("STOP"));
    }

    #[test]
    fn message_ids_depend_on_notice_and_subscriber_only() {
        let from: Mailbox = "x@teststadt.example".parse().unwrap();
        let a = message_id("/a#notice", "s_1", &from);
        assert_eq!(a, message_id("/a#notice", "s_1", &from));
        assert_ne!(a, message_id("/a#notice", "s_2", &from));
        assert_ne!(a, message_id("/b#notice", "s_1", &from));
        assert!(a.ends_with("@teststadt.example>"));
    }
}
