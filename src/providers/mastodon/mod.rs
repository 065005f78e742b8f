//! A post on the town's Mastodon (or compatible) account, one per notice: `POST
//! /api/v1/statuses` with an `Idempotency-Key` derived from notice and channel, so a repeated
//! request cannot post twice; the instance's character limit (`/api/v2/instance`, every URL
//! counting as `characters_reserved_per_url`) is kept by shortening the summary, never the link;
//! 429 waits until `X-RateLimit-Reset`; an update is a reply to the notice's post.

use std::time::Duration;

use serde::Deserialize;

use crate::delivery::errors::ErrorClass;
use crate::delivery::message::Message;
use crate::delivery::outcome::Outcome;
use crate::providers::deliverer::Rendered;
use crate::providers::select::Rendering;
use crate::providers::telegram::truncate;
use crate::providers::{run_wide_retry, stable_digest};

pub const TOKEN_ENV: &str = "MASTODON_TOKEN";
/// The pseudo-subscriber a post is journaled under.
pub const AUDIENCE_ID: &str = "channel:mastodon";
/// Mastodon's defaults, used for previews (a run asks the instance).
pub const DEFAULT_MAX_CHARS: usize = 500;
pub const DEFAULT_URL_CHARS: usize = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Unlisted,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MastodonConfig {
    /// e.g. `https://social.bund.de`
    pub instance_url: String,
    #[serde(default)]
    pub visibility: Visibility,
}

impl MastodonConfig {
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        match super::check_api_url(&self.instance_url) {
            Ok(()) => vec![],
            Err(e) => vec![(
                "instance_url",
                format!("broadcast.channels.mastodon.instance_url: {e}"),
            )],
        }
    }
}

/// The post of one message, before the instance's limit is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MastodonPost {
    pub key: String,
    pub title: String,
    pub body: String,
    pub url: String,
    /// For an update: the id of the notice's own post (from the journal).
    pub in_reply_to: Option<String>,
}

impl MastodonPost {
    pub fn render(message: &Message, original: Option<String>) -> MastodonPost {
        let (title, body) = message.heading_and_text();
        MastodonPost {
            key: message.key.clone(),
            title,
            body,
            url: message.url.clone(),
            in_reply_to: original,
        }
    }

    /// The status text within `max` characters, the URL counting as `url_chars`: the summary is
    /// shortened first, then the title; the link always stays whole.
    pub fn status(&self, max: usize, url_chars: usize) -> String {
        let room = max.saturating_sub(url_chars + 4);
        let title = truncate(&self.title, room.min(200));
        let body_room = room.saturating_sub(title.chars().count());
        let body = truncate(&self.body, body_room);
        if body.is_empty() || body_room < 2 {
            format!("{title}\n\n{}", self.url)
        } else {
            format!("{title}\n\n{body}\n\n{}", self.url)
        }
    }

    /// The key the server remembers: the same for every try of this message on this channel.
    pub fn idempotency_key(&self) -> String {
        stable_digest(&["aushang-mastodon-v1", &self.key])
    }
}

/// How Mastodon counts a status: every URL as `url_chars`, everything else by character.
pub fn counted_chars(status: &str, url_chars: usize) -> usize {
    status
        .split_inclusive(char::is_whitespace)
        .map(|w| {
            let word = w.trim_end();
            let rest = w.chars().count() - word.chars().count();
            if word.starts_with("https://") || word.starts_with("http://") {
                url_chars + rest
            } else {
                w.chars().count()
            }
        })
        .sum()
}

/// The id of the notice's own post, journaled as its delivery's message id.
pub fn original_post(journal_dir: &std::path::Path, message: &Message) -> Option<String> {
    super::original_post(journal_dir, message, "mastodon", AUDIENCE_ID)
}

#[derive(Deserialize)]
struct Instance {
    configuration: Configuration,
}
#[derive(Deserialize)]
struct Configuration {
    statuses: Statuses,
}
#[derive(Deserialize)]
struct Statuses {
    max_characters: usize,
    #[serde(default = "url_chars")]
    characters_reserved_per_url: usize,
}
fn url_chars() -> usize {
    DEFAULT_URL_CHARS
}

#[derive(Deserialize)]
struct Status {
    id: String,
}

pub struct Mastodon {
    config: MastodonConfig,
    token: String,
    http: reqwest::Client,
    limits: tokio::sync::OnceCell<(usize, usize)>,
}

impl Mastodon {
    pub fn new(config: MastodonConfig, token: String) -> Result<Mastodon, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("(Meldung der HTTP-Bibliothek: {e})"))?;
        Ok(Mastodon {
            config,
            token,
            http,
            limits: tokio::sync::OnceCell::new(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.instance_url.trim_end_matches('/'))
    }

    /// `(max_characters, characters_reserved_per_url)` of the instance, asked once per run.
    async fn limits(&self) -> Result<(usize, usize), String> {
        self.limits
            .get_or_try_init(|| async {
                let r = self
                    .http
                    .get(self.url("/api/v2/instance"))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "die Zeichengrenze der Mastodon-Instanz lässt sich nicht abfragen \
                             (Meldung des Systems: {e})"
                        )
                    })?;
                if !r.status().is_success() {
                    return Err(format!(
                        "/api/v2/instance antwortete mit HTTP {}",
                        r.status().as_u16()
                    ));
                }
                let i: Instance = r.json().await.map_err(|e| {
                    format!(
                        "/api/v2/instance: Antwort nicht verstanden (Meldung der JSON-Bibliothek: {e})"
                    )
                })?;
                Ok((
                    i.configuration.statuses.max_characters,
                    i.configuration.statuses.characters_reserved_per_url,
                ))
            })
            .await
            .copied()
    }

    pub async fn post(&self, post: &MastodonPost) -> Outcome {
        let (max, url_chars) = match self.limits().await {
            Ok(l) => l,
            Err(detail) => return run_wide_retry(None, detail, None),
        };
        let mut form = vec![
            ("status", post.status(max, url_chars)),
            ("visibility", self.config.visibility.as_str().to_string()),
            ("language", "de".to_string()),
        ];
        if let Some(id) = &post.in_reply_to {
            form.push(("in_reply_to_id", id.clone()));
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let sent = self
            .http
            .post(self.url("/api/v1/statuses"))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", post.idempotency_key())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return run_wide_retry(
                    None,
                    "keine Verbindung zur Mastodon-Instanz (nichts gesendet)".into(),
                    None,
                );
            }
            Err(_) => {
                return Outcome::Uncertain {
                    detail: "keine Antwort der Mastodon-Instanz; unsicher, ob der Beitrag erschien \
                             (dank des Idempotency-Key ist --resend-uncertain etwa eine Stunde lang \
                             sicher)"
                        .into(),
                };
            }
        };
        let status = response.status().as_u16();
        let reset = response
            .headers()
            .get("x-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<jiff::Timestamp>().ok());
        match status {
            200..=299 => match response.json::<Status>().await {
                Ok(s) => Outcome::Sent { id: s.id },
                Err(_) => Outcome::Uncertain {
                    detail: "die Instanz nahm den Beitrag an, ihre Antwort ist aber unlesbar"
                        .into(),
                },
            },
            429 => {
                let wait = reset.map(|t| {
                    let secs = jiff::Timestamp::now().duration_until(t).as_secs().max(1);
                    Duration::from_secs(secs as u64)
                });
                run_wide_retry(
                    Some(429),
                    "Mastodon: zu viele Anfragen (429); es wird nach der Pause erneut versucht"
                        .into(),
                    wait,
                )
            }
            500..=599 => run_wide_retry(
                Some(i64::from(status)),
                format!("Mastodon antwortete mit HTTP {status} (Störung der Instanz)"),
                None,
            ),
            _ => {
                let text = response.text().await.unwrap_or_default();
                Outcome::Failed {
                    code: Some(i64::from(status)),
                    class: ErrorClass::Fatal,
                    detail: format!(
                        "Mastodon antwortete mit HTTP {status}: {} (Meldung der Instanz: {})",
                        explanation(status),
                        text.chars().take(200).collect::<String>()
                    ),
                }
            }
        }
    }
}

/// What a refusal of the instance means, in German for the town's staff.
fn explanation(status: u16) -> &'static str {
    match status {
        401 => "das Zugangs-Token (MASTODON_TOKEN) ist ungültig",
        403 => "das Zugangs-Token darf nicht veröffentlichen (Berechtigung write:statuses)",
        404 => "die Adresse führt zu keiner Mastodon-Instanz (instance_url prüfen)",
        422 => "die Instanz lehnt den Beitrag ab",
        _ => "die Instanz lehnt die Anfrage ab",
    }
}

/// `message` as a status, a reply to the original post when the journal knows it.
pub fn rendered(message: &Message, journal: &std::path::Path) -> Rendered {
    let post = MastodonPost::render(message, original_post(journal, message));
    let status = post.status(DEFAULT_MAX_CHARS, DEFAULT_URL_CHARS);
    let count = counted_chars(&status, DEFAULT_URL_CHARS);
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
            DEFAULT_MAX_CHARS, DEFAULT_URL_CHARS
        ),
        text: status,
        provider: Some(Rendering::Mastodon(post)),
        per_channel: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(body: &str) -> MastodonPost {
        MastodonPost {
            key: "/a#notice".into(),
            title: "Sperrung der Hauptstraße".into(),
            body: body.into(),
            url: format!("https://www.teststadt.example/{}", "lang/".repeat(30)),
            in_reply_to: None,
        }
    }

    #[test]
    fn a_long_summary_is_shortened_and_the_link_kept_whole() {
        let p = post(&"Wort ".repeat(300));
        let s = p.status(500, 23);
        assert!(counted_chars(&s, 23) <= 500, "{}", counted_chars(&s, 23));
        assert!(s.ends_with(&p.url));
        assert!(s.contains('…'));
        // the URL is far longer than 23 characters but counts as 23
        assert!(s.chars().count() > 500);
        let short = post("Kurz.").status(500, 23);
        assert!(short.contains("Kurz.") && !short.contains('…'));
    }

    #[test]
    fn the_idempotency_key_is_per_message() {
        let a = post("x");
        let mut b = post("y");
        assert_eq!(a.idempotency_key(), b.idempotency_key());
        b.key = "/a#update-20261201T1000".into();
        assert_ne!(a.idempotency_key(), b.idempotency_key());
    }
}
