//! A post to the town's Telegram channel, one per notice: Bot API `sendMessage` with HTML parse
//! mode and a link preview of the notice page. An update answers the notice's own post
//! (`reply_parameters` with the `message_id` the journal recorded for it). 429 waits
//! `parameters.retry_after`; a wrong token, a bot that is not the channel's admin or an unknown
//! chat are fatal (configuration errors).

use std::time::Duration;

use serde::Deserialize;

use crate::delivery::errors::ErrorClass;
use crate::delivery::message::Message;
use crate::delivery::outcome::Outcome;
use crate::providers::deliverer::Rendered;
use crate::providers::select::Rendering;
use crate::providers::{escape_html, run_wide_retry};

pub const TOKEN_ENV: &str = "TELEGRAM_BOT_TOKEN";
/// The pseudo-subscriber a channel post is journaled under.
pub const AUDIENCE_ID: &str = "channel:telegram";
/// Telegram's limit on a message's text after entity parsing.
pub const MAX_CHARS: usize = 4096;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// `@channelname` or the numeric `-100…` id.
    pub chat_id: String,
    #[serde(default = "default_api_url")]
    pub api_url: String,
}

fn default_api_url() -> String {
    "https://api.telegram.org".into()
}

impl TelegramConfig {
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let id = self.chat_id.trim();
        let numeric = id.strip_prefix('-').unwrap_or(id);
        if !(id.starts_with('@') && id.len() > 1
            || !numeric.is_empty() && numeric.chars().all(|c| c.is_ascii_digit()))
        {
            out.push((
                "chat_id",
                format!("telegram chat_id `{id}` ist weder @kanalname noch eine Zahl"),
            ));
        }
        if let Err(e) = super::check_api_url(&self.api_url) {
            out.push((
                "api_url",
                format!("broadcast.channels.telegram.api_url: {e}"),
            ));
        }
        out
    }
}

/// The channel post of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramPost {
    /// HTML for `parse_mode: HTML`.
    pub html: String,
    /// The link the preview shows.
    pub url: String,
    /// What the reader sees (no markup, the link's address after its text), for previews.
    pub plain: String,
    /// The characters Telegram counts (the text after entity parsing, without the link's
    /// address), which must stay within [`MAX_CHARS`].
    pub chars: usize,
    /// For an update: the `message_id` of the notice's own post (from the journal).
    pub reply_to: Option<i64>,
}

impl TelegramPost {
    pub fn render(message: &Message, original: Option<i64>) -> TelegramPost {
        let (title, body) = message.heading_and_text();
        let link_label = "Bekanntmachung lesen";
        // Room for the body once title and link are in (entities count as their text).
        let fixed = title.chars().count() + link_label.chars().count() + 4;
        let body = truncate(&body, MAX_CHARS.saturating_sub(fixed));
        TelegramPost {
            chars: title.chars().count() + body.chars().count() + link_label.chars().count() + 4,
            html: format!(
                "<b>{}</b>\n\n{}\n\n<a href=\"{}\">{link_label}</a>",
                escape_html(&title),
                escape_html(&body),
                escape_html(&message.url)
            ),
            plain: format!("{title}\n\n{body}\n\n{link_label}: {}", message.url),
            url: message.url.clone(),
            reply_to: original,
        }
    }
}

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out = out.trim_end().to_string();
    out.push('…');
    out
}

/// A Bot API client for one channel.
pub struct Telegram {
    config: TelegramConfig,
    token: String,
    http: reqwest::Client,
    /// The journal, where an update finds the notice's own post.
    journal: Option<std::path::PathBuf>,
}

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    result: Option<SentMessage>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct SentMessage {
    message_id: i64,
}

#[derive(Deserialize)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

impl Telegram {
    pub fn new(config: TelegramConfig, token: String) -> Result<Telegram, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("(Meldung der HTTP-Bibliothek: {e})"))?;
        Ok(Telegram {
            config,
            token,
            http,
            journal: None,
        })
    }

    /// The same client, finding an update's original post in the journal at `dir`.
    pub fn with_journal(self, dir: std::path::PathBuf) -> Telegram {
        Telegram {
            journal: Some(dir),
            ..self
        }
    }

    pub async fn post(&self, post: &TelegramPost) -> Outcome {
        let url = format!(
            "{}/bot{}/sendMessage",
            self.config.api_url.trim_end_matches('/'),
            self.token
        );
        let mut body = serde_json::json!({
            "chat_id": self.config.chat_id,
            "text": post.html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": false, "url": post.url},
        });
        if let Some(id) = post.reply_to {
            // A deleted original must not stop the update: then it is posted on its own.
            body["reply_parameters"] =
                serde_json::json!({"message_id": id, "allow_sending_without_reply": true});
        }
        let response = match self.http.post(&url).json(&body).send().await {
            Ok(r) => r,
            // Never the URL in messages: it holds the token.
            Err(e) if e.is_connect() => {
                return run_wide_retry(
                    None,
                    "keine Verbindung zur Telegram-Bot-API (nichts gesendet)".into(),
                    None,
                );
            }
            Err(e) => {
                return Outcome::Uncertain {
                    detail: format!(
                        "keine Antwort der Telegram-Bot-API ({}); unsicher, ob der Beitrag erschien",
                        if e.is_timeout() {
                            "Zeitüberschreitung"
                        } else {
                            "Verbindung abgebrochen"
                        }
                    ),
                };
            }
        };
        let status = response.status().as_u16();
        let answer: Option<Answer> = response.json().await.ok();
        classify(status, answer)
    }
}

fn classify(status: u16, answer: Option<Answer>) -> Outcome {
    let Some(a) = answer else {
        return if status >= 500 {
            run_wide_retry(
                Some(i64::from(status)),
                format!("Telegram antwortete mit HTTP {status} ohne lesbare Antwort"),
                None,
            )
        } else {
            Outcome::Uncertain {
                detail: format!(
                    "Telegram antwortete mit HTTP {status} ohne lesbare Antwort; unsicher, ob der \
                     Beitrag erschien"
                ),
            }
        };
    };
    if a.ok {
        return match a.result {
            Some(m) => Outcome::Sent {
                id: m.message_id.to_string(),
            },
            None => Outcome::Uncertain {
                detail: "Telegram meldete Erfolg, aber ohne die Nachricht".into(),
            },
        };
    }
    let code = a.error_code.unwrap_or(i64::from(status));
    let description = a.description.unwrap_or_default();
    let detail = format!(
        "Telegram-Fehler {code}: {} (Meldung der Bot-API: {description})",
        explanation(code, &description)
    );
    match code {
        // exactly the wait Telegram asks for
        429 => run_wide_retry(
            Some(code),
            detail,
            a.parameters
                .and_then(|p| p.retry_after)
                .map(|s| Duration::from_secs(s.max(1))),
        ),
        500..=599 => run_wide_retry(Some(code), detail, None),
        // 400 (e.g. "chat not found", a malformed post), 401, 403: configuration, for every post
        _ => Outcome::Failed {
            code: Some(code),
            class: ErrorClass::Fatal,
            detail,
        },
    }
}

/// What a Bot API error means, in German for the town's staff (Telegram's own English text is
/// shown after it).
fn explanation(code: i64, description: &str) -> &'static str {
    match code {
        401 => "das Bot-Token (TELEGRAM_BOT_TOKEN) ist ungültig",
        403 => {
            "der Bot darf in den Kanal nicht schreiben (als Administrator mit Schreibrecht hinzufügen)"
        }
        400 if description.contains("chat not found") => {
            "den Kanal gibt es nicht, oder der Bot ist nicht Mitglied (chat_id prüfen)"
        }
        400 => "Telegram lehnt den Beitrag ab",
        429 => "zu viele Anfragen; es wird nach der verlangten Pause erneut versucht",
        500..=599 => "Telegram ist gerade gestört; es wird später erneut versucht",
        _ => "Telegram lehnt die Anfrage ab",
    }
}

/// `message` as the channel post, with its character count; an update answers the notice's
/// post when `client`'s journal has it.
pub fn rendered(message: &Message, client: &Telegram) -> Rendered {
    let original = client
        .journal
        .as_deref()
        .and_then(|j| super::original_post(j, message, "telegram", AUDIENCE_ID))
        .and_then(|id| id.parse::<i64>().ok());
    let post = TelegramPost::render(message, original);
    let reply = match (post.reply_to, message.is_update()) {
        (Some(id), _) => format!(", Antwort auf Beitrag {id}"),
        (None, true) => ", eigener Beitrag (der ursprüngliche ist nicht im Journal)".into(),
        (None, false) => String::new(),
    };
    Rendered {
        whatsapp: None,
        header: format!(
            "Telegram-Kanalbeitrag ({} von {} Zeichen{reply})",
            post.chars, MAX_CHARS
        ),
        text: post.plain.clone(),
        provider: Some(Rendering::Telegram(post)),
        per_channel: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::message::MessageKind;

    #[test]
    fn retry_after_is_the_wait_and_configuration_errors_are_fatal() {
        let a: Answer = serde_json::from_str(
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        )
        .unwrap();
        match classify(429, Some(a)) {
            Outcome::Failed {
                class: ErrorClass::Retry { backoff, .. },
                ..
            } => {
                assert_eq!(backoff.base_delay(1), Duration::from_secs(7));
                assert_eq!(backoff.base_delay(3), Duration::from_secs(7));
            }
            other => panic!("{other:?}"),
        }
        for (code, text) in [
            (400, "Bad Request: chat not found"),
            (401, "Unauthorized"),
            (403, "Forbidden: bot is not a member of the channel chat"),
        ] {
            let a: Answer = serde_json::from_str(&format!(
                r#"{{"ok":false,"error_code":{code},"description":"{text}"}}"#
            ))
            .unwrap();
            assert!(matches!(
                classify(code as u16, Some(a)),
                Outcome::Failed {
                    class: ErrorClass::Fatal,
                    ..
                }
            ));
        }
    }

    #[test]
    fn the_post_escapes_html_and_stays_within_the_limit() {
        let long = "x".repeat(5000);
        let msg = Message {
            key: "/a#notice".into(),
            alias_keys: vec![],
            kind: MessageKind::Notice,
            notice_path: "/a/".into(),
            title: "A <b> & C".into(),
            summary: long,
            category: None,
            urgent: false,
            due_from: jiff::Timestamp::UNIX_EPOCH,
            url: "https://x.example/a/".into(),
            date_text: String::new(),
        };
        let p = TelegramPost::render(&msg, None);
        assert!(p.html.starts_with("<b>A &lt;b&gt; &amp; C</b>"));
        assert_eq!(p.chars, MAX_CHARS);
        assert!(p.plain.contains('…'));
        assert!(
            p.html
                .ends_with("<a href=\"https://x.example/a/\">Bekanntmachung lesen</a>")
        );
    }
}
