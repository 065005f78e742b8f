//! The state of the WhatsApp templates as Meta reported it by webhook (status, category,
//! quality), kept in the committed, non-personal `subscribers/inbox/templates.json`, so a
//! paused, disabled or rejected notice/update/confirmation template stops `aushang broadcast`
//! before the first send, and every `aushang inbox pull` says so until Meta reports it
//! APPROVED or REINSTATED again. The inbox records the webhook's changes into the book
//! (`crate::inbox::template_events`); this side only reads and judges it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Config;

pub const TEMPLATES_FILE: &str = "templates.json";

/// Statuses in which Meta refuses (or will refuse) sends of the template.
pub const BLOCKING: [&str; 5] = [
    "PAUSED",
    "DISABLED",
    "REJECTED",
    "DELETED",
    "PENDING_DELETION",
];

/// What is known about one template (one name and language).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateState {
    pub name: String,
    #[serde(default)]
    pub language: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_at: Option<Timestamp>,
}

impl TemplateState {
    pub fn is_blocked(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| BLOCKING.contains(&s))
    }

    fn describe(&self) -> String {
        let lang = if self.language.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.language)
        };
        format!("`{}`{lang}", self.name)
    }
}

/// `subscribers/inbox/templates.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateBook {
    /// Keyed `name/language`.
    #[serde(default)]
    pub templates: BTreeMap<String, TemplateState>,
}

pub fn book_path(state: &Path) -> PathBuf {
    crate::subscribers::records_dir(state).join(TEMPLATES_FILE)
}

impl TemplateBook {
    /// Reads the book; a missing file is an empty book, an unreadable one an error naming it.
    pub fn load(state: &Path) -> Result<TemplateBook, String> {
        let path = book_path(state);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: Zeile {}, Spalte {}: {e} (die Datei schreibt `aushang inbox pull`; \
                     aus Git wiederherstellen)",
                    path.display(),
                    e.line(),
                    e.column()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TemplateBook::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn save(&self, state: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        crate::fsutil::write_atomic(&book_path(state), text.as_bytes())
    }

    /// The recorded state of `name` in `language` (a record without a language matches any).
    pub fn get(&self, name: &str, language: &str) -> Option<&TemplateState> {
        self.templates
            .get(&format!("{name}/{language}"))
            .or_else(|| self.templates.get(&format!("{name}/")))
    }
}

/// The templates this site sends: (role, name, language).
pub fn configured(config: &Config) -> Vec<(&'static str, String, String)> {
    let Some(w) = &config.broadcast.channels.whatsapp else {
        return Vec::new();
    };
    let lang = w.template.language.clone();
    let mut out = vec![("notice", w.template.name.clone(), lang.clone())];
    if let Some(u) = &w.template.update_name {
        out.push(("update", u.clone(), lang.clone()));
    }
    if let Some(c) = config
        .inbox
        .as_ref()
        .and_then(|i| i.confirmation_template.clone())
    {
        out.push(("confirmation", c, lang));
    }
    out
}

/// Why `name` must not be sent, if it must not: its recorded status, with time and reason.
pub fn blocked_reason(book: &TemplateBook, name: &str, language: &str) -> Option<String> {
    let state = book.get(name, language).filter(|s| s.is_blocked())?;
    Some(format!(
        "WhatsApp-Vorlage {} ist {} (gemeldet von Meta{}{}); sie wird nicht gesendet, bis ein Webhook \
         sie als APPROVED oder REINSTATED meldet (siehe subscribers/inbox/templates.json)",
        state.describe(),
        state.status.as_deref().unwrap_or_default(),
        state
            .status_at
            .map(|t| format!(" am {t}"))
            .unwrap_or_default(),
        state
            .reason
            .as_ref()
            .map(|r| format!(", Grund: {r}"))
            .unwrap_or_default(),
    ))
}

/// For `aushang broadcast`: the error that stops the run when the notice template (or, with
/// `update_due`, the update template) is in a blocking state. An unreadable record also stops
/// it: sending a template that may be paused is worse than waiting.
pub fn refusal(config: &Config, update_due: bool) -> Option<String> {
    let book = match TemplateBook::load(&config.subscribers_dir()) {
        Ok(b) => b,
        Err(e) => {
            return Some(format!(
                "der Zustand der Vorlagen lässt sich nicht lesen: {e}"
            ));
        }
    };
    configured(config)
        .into_iter()
        .filter(|(role, _, _)| *role == "notice" || (*role == "update" && update_due))
        .find_map(|(_, name, lang)| blocked_reason(&book, &name, &lang))
}

/// For the confirmation send in `aushang inbox pull`: why the confirmation template must not be
/// sent now, if it must not.
pub fn confirmation_refusal(config: &Config) -> Option<String> {
    let book = match TemplateBook::load(&config.subscribers_dir()) {
        Ok(b) => b,
        Err(e) => {
            return Some(format!(
                "der Zustand der Vorlagen lässt sich nicht lesen: {e}"
            ));
        }
    };
    configured(config)
        .into_iter()
        .filter(|(role, _, _)| *role == "confirmation")
        .find_map(|(_, name, lang)| blocked_reason(&book, &name, &lang))
}

/// The loud lines for `aushang inbox pull`: every configured template in a blocking state, and
/// category or quality changes worth an admin's attention.
pub fn alerts(config: &Config) -> Vec<String> {
    let book = match TemplateBook::load(&config.subscribers_dir()) {
        Ok(b) => b,
        Err(e) => {
            return vec![format!(
                "der Zustand der Vorlagen lässt sich nicht lesen: {e}"
            )];
        }
    };
    let mut out = Vec::new();
    for (role, name, lang) in configured(config) {
        let role = match role {
            "notice" => "Bekanntmachungs",
            "update" => "Aktualisierungs",
            "confirmation" => "Bestätigungs",
            other => other,
        };
        if let Some(why) = blocked_reason(&book, &name, &lang) {
            out.push(format!("{role}-Vorlage: {why}"));
        }
        let Some(state) = book.get(&name, &lang) else {
            continue;
        };
        if state.category.as_deref() == Some("MARKETING") {
            out.push(format!(
                "{role}-Vorlage {} wurde als MARKETING eingestuft (höherer Preis, Grenzen je \
                 Person, \"stop promotions\"); eine Prüfung beantragen oder eine UTILITY-Vorlage anlegen",
                state.describe()
            ));
        }
        if state.quality.as_deref() == Some("RED") {
            out.push(format!(
                "{role}-Vorlage {} hat die Qualität RED: Meta pausiert sie womöglich bald",
                state.describe()
            ));
        }
    }
    out
}
