//! The WhatsApp Business Cloud API channel: one HTTPS POST per recipient (contract §1), answers
//! parsed into a message id or a classified error, and the template status check before a run.

mod deliver;
pub mod errors;
mod params;
pub mod pricing;
mod render;
mod request;
pub mod templates;
pub mod webhook;

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

pub use deliver::{deliver, rendered};
pub use params::{clean_param, encode_url_suffix};
pub use render::{MAX_PARAM_CHARS, WhatsAppMessage, fill_placeholders, render_whatsapp};
use request::parse_success;
pub use request::{MAX_CORRELATION, MAX_TEXT_BODY, build_request};

use crate::delivery::errors::ErrorClass;
use errors::ApiError;

/// The access token of the WhatsApp Cloud API, read at the command's edge.
pub const TOKEN_ENV: &str = "WHATSAPP_TOKEN";

/// What one message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// An approved template; `body_params` fill `{{1}}`, `{{2}}`… in order (clean them with
    /// [`clean_param`] first); `button_suffix` is the raw notice path for URL button 0 and is
    /// percent-encoded here.
    Template {
        name: String,
        language: String,
        body_params: Vec<String>,
        button_suffix: Option<String>,
    },
    /// Free text: only works inside a 24 h window the citizen opened (testing, confirmations).
    Text { body: String, preview_url: bool },
    /// A template with a second URL button, `<inbox.url>abmelden?t={{1}}`, whose suffix is the
    /// subscriber's opt-out token (template setting `optout_button`): button 0 is the notice
    /// link when `button_suffix` is set, the opt-out button comes after it.
    TemplateWithOptOut {
        name: String,
        language: String,
        body_params: Vec<String>,
        button_suffix: Option<String>,
        optout_token: String,
    },
}

/// A template as the WABA reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TemplateInfo {
    pub name: String,
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`…
    pub status: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
}

impl TemplateInfo {
    pub fn is_approved(&self) -> bool {
        self.status.eq_ignore_ascii_case("APPROVED")
    }
    pub fn is_marketing(&self) -> bool {
        self.category.eq_ignore_ascii_case("MARKETING")
    }
}

/// A send that failed, split by what it means for exactly-once delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Meta (or whatever answers at `api_url`) answered. Never uncertain: a 2xx is success, any
    /// other answer means the message was not accepted.
    Api(ApiError),
    /// No answer arrived: see [`TransportError::uncertain`].
    Transport(TransportError),
    /// The request was not built because an input is invalid; nothing was sent.
    Invalid { field: &'static str, reason: String },
    /// `template_status` found no template with that name and language.
    TemplateNotFound { name: String, language: String },
}

/// A failure without any HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    /// `false`: the connection was never made (refused, DNS, connect timeout), so the request
    /// did not leave this machine and retrying cannot duplicate. `true`: the request may have
    /// been written (timeout or reset while waiting), so Meta may have accepted it.
    pub uncertain: bool,
    pub detail: String,
}

impl SendError {
    /// Whether the message may have been delivered although no success was seen.
    pub fn is_uncertain(&self) -> bool {
        matches!(self, SendError::Transport(t) if t.uncertain)
    }

    /// The error-table class. Transport failures: a refused connection is retryable for this
    /// recipient; an uncertain one must not be retried blindly, so it is `Permanent` here and
    /// the run loop records it as uncertain (check [`is_uncertain`](Self::is_uncertain) first).
    pub fn class(&self) -> ErrorClass {
        match self {
            SendError::Api(e) => e.class(),
            SendError::Transport(t) if t.uncertain => ErrorClass::Permanent,
            SendError::Transport(_) => ErrorClass::Retry {
                scope: crate::delivery::errors::Scope::Recipient,
                backoff: crate::delivery::errors::Backoff::Exponential {
                    base: Duration::from_secs(2),
                    cap: Duration::from_secs(120),
                },
            },
            SendError::Invalid { field: "to", .. } => ErrorClass::Permanent,
            SendError::Invalid { .. } | SendError::TemplateNotFound { .. } => ErrorClass::Fatal,
        }
    }

    /// The Graph error code, when there is one (for summaries and the journal).
    pub fn code(&self) -> Option<i64> {
        match self {
            SendError::Api(e) => e.code,
            _ => None,
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Api(e) => e.fmt(f),
            SendError::Transport(t) if t.uncertain => {
                write!(
                    f,
                    "keine Antwort, nachdem die Anfrage gesendet war (unsicher, ob sie ankam) \
                     (Meldung des Systems: {})",
                    t.detail
                )
            }
            SendError::Transport(t) => write!(
                f,
                "keine Verbindung zur WhatsApp-API (nichts gesendet) (Meldung des Systems: {})",
                t.detail
            ),
            SendError::Invalid { field, reason } => {
                write!(f, "ungültige Angabe `{field}`: {reason}")
            }
            SendError::TemplateNotFound { name, language } => {
                write!(
                    f,
                    "die Vorlage `{name}` in der Sprache `{language}` gibt es im WhatsApp-Konto nicht"
                )
            }
        }
    }
}

impl std::error::Error for SendError {}

/// A client for one business phone number. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct WhatsAppClient {
    http: reqwest::Client,
    api_url: String,
    phone_number_id: String,
    token: String,
}

impl fmt::Debug for WhatsAppClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhatsAppClient")
            .field("api_url", &self.api_url)
            .field("phone_number_id", &self.phone_number_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl WhatsAppClient {
    /// `api_url` includes the Graph version, e.g. `https://graph.facebook.com/v25.0`.
    /// Timeouts: 10 s to connect, 30 s for the whole request.
    pub fn new(api_url: &str, phone_number_id: &str, token: String) -> Result<Self, SendError> {
        Self::with_timeouts(
            api_url,
            phone_number_id,
            token,
            Duration::from_secs(10),
            Duration::from_secs(30),
        )
    }

    /// Like [`new`](Self::new) with other timeouts (tests, slow networks).
    pub fn with_timeouts(
        api_url: &str,
        phone_number_id: &str,
        token: String,
        connect: Duration,
        request: Duration,
    ) -> Result<Self, SendError> {
        let api_url = api_url.trim_end_matches('/').to_owned();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(SendError::Invalid {
                field: "api_url",
                reason: format!("`{api_url}` ist keine http(s)-Adresse"),
            });
        }
        if phone_number_id.is_empty() || !phone_number_id.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(SendError::Invalid {
                field: "phone_number_id",
                reason: "muss die numerische ID der geschäftlichen Telefonnummer sein".into(),
            });
        }
        if token.trim().is_empty() {
            return Err(SendError::Invalid {
                field: "token",
                reason: format!("{TOKEN_ENV} ist leer"),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(request)
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(concat!("aushang/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Invalid {
                field: "http client",
                reason: format!("(Meldung der HTTP-Bibliothek: {e})"),
            })?;
        Ok(WhatsAppClient {
            http,
            api_url,
            phone_number_id: phone_number_id.to_owned(),
            token,
        })
    }

    /// Sends one message to `to_e164` (`+` and digits) and returns its wamid. `correlation`
    /// goes into `biz_opaque_callback_data` (≤ 512 characters).
    pub async fn send(
        &self,
        to_e164: &str,
        payload: &Payload,
        correlation: &str,
    ) -> Result<String, SendError> {
        let body = build_request(to_e164, payload, correlation)?;
        let url = format!("{}/{}/messages", self.api_url, self.phone_number_id);
        let response = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e, to_e164))?;
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                // the status line arrived, so this is an answer, just an unreadable one
                return Err(SendError::Api(ApiError {
                    http_status: status,
                    code: None,
                    message: format!("Antwort unlesbar: {}", scrub_reqwest(&e, to_e164)),
                    details: None,
                    fbtrace_id: None,
                }));
            }
        };
        if !(200..300).contains(&status) {
            return Err(SendError::Api(ApiError::from_body(
                status,
                &bytes,
                Some(to_e164),
            )));
        }
        parse_success(&bytes).ok_or_else(|| {
            // a 2xx without a message id is not Meta's answer (wrong api_url, a proxy page):
            // classified fatal, since it carries no code and is not a 429/5xx
            let mut e = ApiError::from_body(status, &bytes, Some(to_e164));
            e.code = None;
            e.message = format!("HTTP {status} ohne Nachrichten-ID: {}", e.message);
            SendError::Api(e)
        })
    }

    /// Reads a template's approval status and category (contract §2.2). Cache the result: these
    /// calls count against the Graph API's hourly limits.
    pub async fn template_status(
        &self,
        waba_id: &str,
        name: &str,
        language: &str,
    ) -> Result<TemplateInfo, SendError> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            data: Vec<TemplateInfo>,
            #[serde(default)]
            paging: Option<Paging>,
        }
        #[derive(Deserialize)]
        struct Paging {
            #[serde(default)]
            next: Option<String>,
        }
        let mut url =
            reqwest::Url::parse(&format!("{}/{}/message_templates", self.api_url, waba_id))
                .map_err(|e| SendError::Invalid {
                    field: "waba_id",
                    reason: format!("(Meldung der URL-Bibliothek: {e})"),
                })?;
        url.query_pairs_mut()
            .append_pair("fields", "name,language,status,category")
            .append_pair("name", name)
            .append_pair("limit", "100");
        // follow `paging.next` a bounded number of times; a WABA holds at most 250 templates
        for _ in 0..10 {
            let response = self
                .http
                .get(url.clone())
                .bearer_auth(&self.token)
                .send()
                .await
                .map_err(|e| transport_error(&e, ""))?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await.map_err(|e| {
                SendError::Api(ApiError {
                    http_status: status,
                    code: None,
                    message: format!("Antwort unlesbar: {e}"),
                    details: None,
                    fbtrace_id: None,
                })
            })?;
            if !(200..300).contains(&status) {
                return Err(SendError::Api(ApiError::from_body(status, &bytes, None)));
            }
            let page: Page = serde_json::from_slice(&bytes).map_err(|e| {
                SendError::Api(ApiError {
                    http_status: status,
                    code: None,
                    message: format!("Vorlagenliste nicht verstanden: {e}"),
                    details: None,
                    fbtrace_id: None,
                })
            })?;
            if let Some(t) = page
                .data
                .into_iter()
                .find(|t| t.name == name && t.language == language)
            {
                return Ok(t);
            }
            match page.paging.and_then(|p| p.next) {
                Some(next) => {
                    url = reqwest::Url::parse(&next).map_err(|e| SendError::Invalid {
                        field: "paging.next",
                        reason: format!("(Meldung der URL-Bibliothek: {e})"),
                    })?
                }
                None => break,
            }
        }
        Err(SendError::TemplateNotFound {
            name: name.into(),
            language: language.into(),
        })
    }
}

fn transport_error(e: &reqwest::Error, to: &str) -> SendError {
    // a connect error (refused, DNS, connect timeout) means no request bytes left this machine;
    // everything else (read timeout, reset, closed before the answer) happened after writing
    let uncertain = !e.is_connect();
    SendError::Transport(TransportError {
        uncertain,
        detail: scrub_reqwest(e, to),
    })
}

/// The error chain as text, with any phone number masked.
fn scrub_reqwest(e: &reqwest::Error, to: &str) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    errors::scrub(&text, (!to.is_empty()).then_some(to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_debug_hides_the_token() {
        let c = WhatsAppClient::new(
            "http://127.0.0.1:1/v25.0/",
            "106540352242922",
            "EAAGsecret".into(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("EAAG"));
        assert!(WhatsAppClient::new("ftp://x", "1", "t".into()).is_err());
        assert!(WhatsAppClient::new("http://x", "1", " ".into()).is_err());
    }

    #[test]
    fn messages_quote_names_plainly_not_as_rust_debug() {
        let e = SendError::TemplateNotFound {
            name: "neue_bekanntmachung".into(),
            language: "de".into(),
        };
        assert_eq!(
            e.to_string(),
            "die Vorlage `neue_bekanntmachung` in der Sprache `de` gibt es im WhatsApp-Konto nicht"
        );
        let Err(e) = WhatsAppClient::new("ftp://x", "1", "t".into()) else {
            panic!("ftp is refused")
        };
        assert!(e.to_string().contains("`ftp://x` ist keine"), "{e}");
        assert!(!e.to_string().contains('"'), "{e}");
    }
}
