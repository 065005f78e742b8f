//! Messages: what a notice (or an update to it) says to a subscriber, and how each channel
//! renders it — the exact text the citizen will see, which `--dry-run` shows editors.

use jiff::Timestamp;

use crate::config::{Config, MessageMode, WhatsAppConfig};
use crate::content::Notice;
use crate::site::dates::date_de;

/// Longest title or summary put into a template parameter. Meta's per-parameter limit is not
/// documented; the whole filled-in body must stay within 1024 characters (error 132005).
pub const MAX_PARAM_CHARS: usize = 600;
const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    /// The first message about a notice.
    Notice,
    /// A dated update or correction to a notice that was already sent.
    Update { date: Timestamp, text: String },
}

/// One message about one notice, the same for every subscriber.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Journal key: `<notice path>#notice` or `<notice path>#update-<YYYYMMDDTHHMM>`.
    pub key: String,
    /// The same message under the notice's old paths (aliases), so a moved notice is not resent.
    pub alias_keys: Vec<String>,
    pub kind: MessageKind,
    pub notice_path: String,
    pub title: String,
    pub summary: String,
    pub category: Option<String>,
    pub urgent: bool,
    /// From when the message may be sent: the notice's publication, or the update's date.
    pub due_from: Timestamp,
    /// Absolute link to the notice page.
    pub url: String,
    /// The notice date in German, e.g. "28. November 2026".
    pub date_text: String,
}

impl Message {
    pub fn for_notice(notice: &Notice, config: &Config) -> Message {
        let key = format!("{}#notice", notice.path);
        Message {
            alias_keys: notice
                .aliases
                .iter()
                .map(|a| format!("{}#notice", with_slashes(a)))
                .collect(),
            key,
            kind: MessageKind::Notice,
            notice_path: notice.path.clone(),
            title: notice.title.clone(),
            summary: notice.summary.clone(),
            category: notice.category.clone(),
            urgent: notice.urgent,
            due_from: notice.published_at(),
            url: config.absolute_url(&notice.path),
            date_text: date_de(notice.published_at(), &config.timezone),
        }
    }

    pub fn for_update(
        notice: &Notice,
        update: &crate::content::Update,
        config: &Config,
    ) -> Message {
        let tag = update_tag(update.date, config);
        Message {
            key: format!("{}#update-{tag}", notice.path),
            alias_keys: notice
                .aliases
                .iter()
                .map(|a| format!("{}#update-{tag}", with_slashes(a)))
                .collect(),
            kind: MessageKind::Update {
                date: update.date,
                text: update.text.clone(),
            },
            due_from: update.date.max(notice.published_at()),
            date_text: date_de(update.date, &config.timezone),
            ..Message::for_notice(notice, config)
        }
    }

    /// The value of a notice field named in `template.params`.
    pub fn field(&self, name: &str) -> Option<String> {
        Some(match name {
            "title" => self.title.clone(),
            "summary" => self.summary.clone(),
            "update" => match &self.kind {
                MessageKind::Update { text, .. } => text.clone(),
                MessageKind::Notice => self.summary.clone(),
            },
            "url" => self.url.clone(),
            "path" => self.notice_path.clone(),
            "date" => self.date_text.clone(),
            "category" => self.category.clone().unwrap_or_default(),
            _ => return None,
        })
    }

    pub fn is_update(&self) -> bool {
        matches!(self.kind, MessageKind::Update { .. })
    }

    /// All journal keys under which this message may have been recorded.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.alias_keys.iter().map(String::as_str))
    }
}

/// Every message a notice has: the notice itself and one per update.
pub fn messages_of(notice: &Notice, config: &Config) -> Vec<Message> {
    let mut out = vec![Message::for_notice(notice, config)];
    out.extend(
        notice
            .updates
            .iter()
            .map(|u| Message::for_update(notice, u, config)),
    );
    out
}

/// The notice field names a template may use.
pub const FIELDS: &[&str] = &[
    "title", "summary", "update", "url", "path", "date", "category",
];

/// A WhatsApp template message, filled in for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsAppMessage {
    pub mode: MessageMode,
    pub template_name: String,
    pub language: String,
    /// Cleaned to the API's parameter rules (no newline/tab, no 5+ spaces, capped).
    pub body_params: Vec<String>,
    /// The notice path for the URL button, percent-encoded by the client.
    pub button_suffix: Option<String>,
    /// The template has an opt-out URL button after it (`optout_button`), filled per subscriber.
    pub optout_button: bool,
    /// Exactly what the citizen sees.
    pub preview: String,
}

/// Fills in the configured template for `msg`. Errors name the configuration problem.
pub fn render_whatsapp(msg: &Message, cfg: &WhatsAppConfig) -> Result<WhatsAppMessage, String> {
    let t = &cfg.template;
    let (name, body, params) = if msg.is_update() {
        let name = t.update_name.clone().ok_or_else(|| {
            "diese Bekanntmachung hat eine Aktualisierung, aber broadcast.channels.whatsapp.template.update_name ist nicht gesetzt"
                .to_string()
        })?;
        let body = t.update_body.clone().ok_or_else(|| {
            "broadcast.channels.whatsapp.template.update_body ist nicht gesetzt".to_string()
        })?;
        let params = t
            .update_params
            .clone()
            .unwrap_or_else(|| vec!["title".into(), "update".into()]);
        (name, body, params)
    } else {
        (t.name.clone(), t.body.clone(), t.params.clone())
    };
    let mut body_params = Vec::with_capacity(params.len());
    for field in &params {
        let raw = msg.field(field).ok_or_else(|| {
            format!(
                "unbekannter Vorlagen-Parameter `{field}` (bekannt: {})",
                FIELDS.join(", ")
            )
        })?;
        let cap = if field == "title" {
            MAX_TITLE_CHARS
        } else {
            MAX_PARAM_CHARS
        };
        body_params.push(crate::providers::whatsapp::clean_param(&raw, cap));
    }
    let filled = fill_placeholders(&body, &body_params);
    let button_suffix = t
        .url_button
        .then(|| msg.notice_path.trim_start_matches('/').to_string());
    let preview = match t.mode {
        MessageMode::Template if t.url_button => {
            format!("{filled}\n\n[ {} ] → {}", t.button_label, msg.url)
        }
        _ => format!("{filled}\n{}", msg.url),
    };
    Ok(WhatsAppMessage {
        mode: t.mode,
        template_name: name,
        language: t.language.clone(),
        body_params,
        button_suffix,
        optout_button: t.optout_button && t.mode == MessageMode::Template,
        preview,
    })
}

/// Replaces `{{1}}`, `{{2}}`… with the parameters, as WhatsApp renders a template: in one pass
/// over the body, so a parameter that itself contains `{{1}}` is shown literally, never filled
/// again. A placeholder without a parameter stays as written.
pub fn fill_placeholders(body: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(body.len() + params.iter().map(String::len).sum::<usize>());
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let param = (digits > 0 && after[digits..].starts_with("}}"))
            .then(|| after[..digits].parse::<usize>().ok())
            .flatten()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| params.get(i));
        match param {
            Some(p) => {
                out.push_str(p);
                rest = &after[digits + 2..];
            }
            None => {
                // Not a placeholder here; one may start at the next brace (`{{{1}}}`).
                out.push('{');
                rest = &rest[open + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn update_tag(t: Timestamp, config: &Config) -> String {
    t.to_zoned_datetime(config.timezone.clone())
        .strftime("%Y%m%dT%H%M")
        .to_string()
}

fn with_slashes(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        format!("/{trimmed}/")
    }
}

/// Shown in previews where each subscriber's own opt-out token will stand.
pub const OPTOUT_TOKEN_PLACEHOLDER: &str = "<persönlicher-Code>";
/// The opt-out button's suffix without the secret: the inbox answers it with a page that asks
/// the person to write STOP (a template button cannot be left out).
pub const OPTOUT_FALLBACK_TOKEN: &str = "STOP";
/// The opt-out button's label in previews.
pub const OPTOUT_BUTTON_LABEL: &str = "Abmelden";
/// The opt-out line of channels that cannot show a link, and the fallback without the secret.
pub const OPTOUT_BY_REPLY: &str = "Abmelden: STOP antworten";

/// How an outgoing message tells its subscriber how to leave, when an inbox is configured:
/// `Abmelden: <inbox.url>abmelden?t=<token>` with the same HMAC token as `aushang inbox link`.
#[derive(Clone)]
pub struct OptOut {
    inbox_url: String,
    /// `AUSHANG_INBOX_TOKEN_SECRET`; without it messages fall back to [`OPTOUT_BY_REPLY`].
    secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for OptOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptOut")
            .field("inbox_url", &self.inbox_url)
            .field("secret", &self.secret.as_ref().map(|_| "set"))
            .finish()
    }
}

impl OptOut {
    pub fn new(inbox_url: &str, secret: Option<&[u8]>) -> OptOut {
        OptOut {
            inbox_url: inbox_url.to_string(),
            secret: secret.filter(|s| !s.is_empty()).map(<[u8]>::to_vec),
        }
    }

    /// `None` without an inbox; the secret comes from `AUSHANG_INBOX_TOKEN_SECRET`.
    pub fn from_env(config: &Config) -> Option<OptOut> {
        let inbox = config.inbox.as_ref()?;
        let secret = std::env::var(crate::subscribers::optout::TOKEN_SECRET_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        Some(OptOut::new(
            &inbox.url,
            secret.as_deref().map(str::as_bytes),
        ))
    }

    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// Why messages carry no link, when they carry none.
    pub fn warning(&self) -> Option<String> {
        (!self.has_secret()).then(|| {
            format!(
                "ein Posteingang ist eingestellt, aber {} ist nicht gesetzt: Nachrichten sagen „{OPTOUT_BY_REPLY}“ \
                 statt eines persönlichen Abmelde-Links",
                crate::subscribers::optout::TOKEN_SECRET_ENV
            )
        })
    }

    /// The subscriber's own opt-out URL, when the secret is known.
    pub fn url(&self, subscriber_id: &str) -> Option<String> {
        let secret = self.secret.as_ref()?;
        Some(crate::subscribers::optout::url(
            &self.inbox_url,
            secret,
            subscriber_id,
        ))
    }

    /// The last line of a message to one subscriber.
    pub fn line(&self, subscriber_id: &str) -> String {
        match self.url(subscriber_id) {
            Some(url) => format!("Abmelden: {url}"),
            None => OPTOUT_BY_REPLY.to_string(),
        }
    }

    /// The link as previews show it, with a placeholder for the personal token.
    pub fn preview_url(&self) -> String {
        format!(
            "{}/abmelden?t={OPTOUT_TOKEN_PLACEHOLDER}",
            self.inbox_url.trim_end_matches('/')
        )
    }

    /// The line as previews show it.
    pub fn preview_line(&self) -> String {
        format!("Abmelden: {}", self.preview_url())
    }

    /// The opt-out URL button of a WhatsApp template, as previews show it.
    pub fn preview_button(&self) -> String {
        format!("[ {OPTOUT_BUTTON_LABEL} ] → {}", self.preview_url())
    }

    /// The suffix of the opt-out URL button for one subscriber: their token, or without the
    /// secret [`OPTOUT_FALLBACK_TOKEN`].
    pub fn button_token(&self, subscriber_id: &str) -> String {
        match &self.secret {
            Some(secret) => crate::subscribers::optout::token(secret, subscriber_id),
            None => OPTOUT_FALLBACK_TOKEN.to_string(),
        }
    }

    /// Why the opt-out button carries no personal link, when it carries none.
    pub fn button_warning(&self) -> Option<String> {
        (!self.has_secret()).then(|| {
            format!(
                "{} ist nicht gesetzt: der Abmelde-Knopf öffnet eine Seite, die bittet, STOP zu schreiben, \
                 statt sofort abzumelden",
                crate::subscribers::optout::TOKEN_SECRET_ENV
            )
        })
    }

    /// `text` for one subscriber: the preview line (or a preview's button link) replaced by
    /// theirs, or their line appended (unless the text already says exactly that, as a template
    /// with "STOP antworten" does).
    pub fn personalise(&self, text: &str, subscriber_id: &str) -> String {
        let line = self.line(subscriber_id);
        let preview = self.preview_line();
        if text.contains(&preview) {
            text.replace(&preview, &line)
        } else if text.contains(&self.preview_url()) {
            let url = format!(
                "{}/abmelden?t={}",
                self.inbox_url.trim_end_matches('/'),
                self.button_token(subscriber_id)
            );
            text.replace(&self.preview_url(), &url)
        } else if text.contains(&line) {
            text.to_string()
        } else {
            format!("{}\n{line}", text.trim_end())
        }
    }
}

#[cfg(test)]
mod optout_tests {
    use super::*;

    #[test]
    fn the_line_carries_the_same_token_as_inbox_link_or_falls_back_to_stop() {
        let with = OptOut::new("https://inbox.example/", Some(b"secret-0123456789"));
        let token = crate::subscribers::optout::token(b"secret-0123456789", "s_00ff");
        assert_eq!(
            with.line("s_00ff"),
            format!("Abmelden: https://inbox.example/abmelden?t={token}")
        );
        assert_eq!(
            crate::subscribers::optout::verify(b"secret-0123456789", &token).as_deref(),
            Some("s_00ff")
        );
        assert!(with.warning().is_none());
        let without = OptOut::new("https://inbox.example/", None);
        assert_eq!(without.line("s_00ff"), OPTOUT_BY_REPLY);
        assert!(
            without
                .warning()
                .unwrap()
                .contains("AUSHANG_INBOX_TOKEN_SECRET")
        );
    }

    #[test]
    fn personalise_replaces_the_preview_line_appends_otherwise_and_never_doubles() {
        let o = OptOut::new("https://inbox.example", Some(b"k"));
        let preview = format!("Titel\nText\n{}", o.preview_line());
        assert!(preview.ends_with("abmelden?t=<persönlicher-Code>"));
        let mine = o.personalise(&preview, "s_1");
        assert_eq!(mine, format!("Titel\nText\n{}", o.line("s_1")));
        assert!(!mine.contains(OPTOUT_TOKEN_PLACEHOLDER));
        let appended = o.personalise("Vorlage. Abmelden: STOP antworten.\n", "s_2");
        assert!(
            appended.ends_with(&format!("\n{}", o.line("s_2"))),
            "{appended}"
        );
        // A WhatsApp preview with the opt-out button: the button's link becomes theirs.
        let button = format!("Vorlage.\n{}", o.preview_button());
        let theirs = o.personalise(&button, "s_4");
        assert_eq!(
            theirs,
            format!(
                "Vorlage.\n[ Abmelden ] → https://inbox.example/abmelden?t={}",
                o.button_token("s_4")
            )
        );
        let fallback = OptOut::new("https://inbox.example", None);
        assert!(
            fallback
                .personalise(&button, "s_4")
                .ends_with("abmelden?t=STOP")
        );
        let text = "Vorlage. Abmelden: STOP antworten";
        assert_eq!(fallback.personalise(text, "s_3"), text);
        assert_eq!(
            fallback.personalise("Titel", "s_3"),
            format!("Titel\n{OPTOUT_BY_REPLY}")
        );
    }
}

#[cfg(test)]
mod placeholder_tests {
    use super::fill_placeholders;

    fn params(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_placeholder_inside_a_parameter_is_shown_literally() {
        let body = "Neu: {{1}}. {{2}} Mehr über den Button.";
        let filled = fill_placeholders(body, &params(&["Titel {{2}}", "Siehe {{1}} und {{2}}."]));
        assert_eq!(
            filled,
            "Neu: Titel {{2}}. Siehe {{1}} und {{2}}. Mehr über den Button."
        );
    }

    #[test]
    fn unknown_or_malformed_placeholders_stay_as_written() {
        let p = params(&["A", "B"]);
        assert_eq!(fill_placeholders("{{2}}{{1}}{{2}}", &p), "BAB");
        assert_eq!(
            fill_placeholders("{{3}} {{0}} {{ 1 }} {{x}} {{1} {{{1}}}", &p),
            "{{3}} {{0}} {{ 1 }} {{x}} {{1} {A}"
        );
        assert_eq!(fill_placeholders("ohne", &p), "ohne");
        assert_eq!(fill_placeholders("Ende {{", &p), "Ende {{");
    }
}
