//! Messages: what a notice (or an update to it) says to a subscriber, the same for every
//! subscriber and every channel; each provider renders it in its own form.

use jiff::Timestamp;

use crate::config::Config;
use crate::content::Notice;
use crate::site::dates::date_de;

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
    /// The heading and text of a post or mail: a notice's title and summary, or
    /// "Aktualisierung: <title>" and the update's text.
    pub fn heading_and_text(&self) -> (String, String) {
        match &self.kind {
            MessageKind::Notice => (self.title.clone(), self.summary.clone()),
            MessageKind::Update { text, .. } => {
                (format!("Aktualisierung: {}", self.title), text.clone())
            }
        }
    }

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
