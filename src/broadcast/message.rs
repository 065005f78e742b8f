//! Messages: what a notice (or an update to it) says to a subscriber, and how each channel
//! renders it — the exact text the citizen will see, which `--dry-run` shows editors.

use jiff::Timestamp;

use crate::config::{Config, MessageMode, WhatsAppConfig};
use crate::content::Notice;

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
            alias_keys: notice.aliases.iter().map(|a| format!("{}#notice", with_slashes(a))).collect(),
            key,
            kind: MessageKind::Notice,
            notice_path: notice.path.clone(),
            title: notice.title.clone(),
            summary: notice.summary.clone(),
            category: notice.category.clone(),
            urgent: notice.urgent,
            due_from: notice.published_at(),
            url: config.absolute_url(&notice.path),
            date_text: german_date(notice.published_at(), config),
        }
    }

    pub fn for_update(notice: &Notice, update: &crate::content::Update, config: &Config) -> Message {
        let tag = update_tag(update.date, config);
        Message {
            key: format!("{}#update-{tag}", notice.path),
            alias_keys: notice
                .aliases
                .iter()
                .map(|a| format!("{}#update-{tag}", with_slashes(a)))
                .collect(),
            kind: MessageKind::Update { date: update.date, text: update.text.clone() },
            due_from: update.date.max(notice.published_at()),
            date_text: german_date(update.date, config),
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
    out.extend(notice.updates.iter().map(|u| Message::for_update(notice, u, config)));
    out
}

/// The notice field names a template may use.
pub const FIELDS: &[&str] = &["title", "summary", "update", "url", "path", "date", "category"];

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
    /// Exactly what the citizen sees.
    pub preview: String,
}

/// Fills in the configured template for `msg`. Errors name the configuration problem.
pub fn render_whatsapp(msg: &Message, cfg: &WhatsAppConfig) -> Result<WhatsAppMessage, String> {
    let t = &cfg.template;
    let (name, body, params) = if msg.is_update() {
        let name = t.update_name.clone().ok_or_else(|| {
            "this notice has an update, but broadcast.channels.whatsapp.template.update_name is not set"
                .to_string()
        })?;
        let body = t.update_body.clone().ok_or_else(|| {
            "broadcast.channels.whatsapp.template.update_body is not set".to_string()
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
            format!("unknown template parameter `{field}` (known: {})", FIELDS.join(", "))
        })?;
        let cap = if field == "title" { MAX_TITLE_CHARS } else { MAX_PARAM_CHARS };
        body_params.push(crate::broadcast::channels::whatsapp::clean_param(&raw, cap));
    }
    let filled = fill_placeholders(&body, &body_params);
    let button_suffix = t.url_button.then(|| msg.notice_path.trim_start_matches('/').to_string());
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
        preview,
    })
}

/// Replaces `{{1}}`, `{{2}}`… with the parameters, as WhatsApp renders a template.
pub fn fill_placeholders(body: &str, params: &[String]) -> String {
    let mut out = body.to_string();
    for (i, p) in params.iter().enumerate().rev() {
        out = out.replace(&format!("{{{{{}}}}}", i + 1), p);
    }
    out
}

/// German long date, "28. November 2026", in the site's time zone.
pub fn german_date(t: Timestamp, config: &Config) -> String {
    const MONTHS: [&str; 12] = [
        "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
        "Oktober", "November", "Dezember",
    ];
    let d = t.to_zoned_datetime(config.timezone.clone()).date();
    format!("{}. {} {}", d.day(), MONTHS[(d.month() - 1) as usize], d.year())
}

fn update_tag(t: Timestamp, config: &Config) -> String {
    t.to_zoned_datetime(config.timezone.clone())
        .strftime("%Y%m%dT%H%M")
        .to_string()
}

fn with_slashes(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() { "/".into() } else { format!("/{trimmed}/") }
}
