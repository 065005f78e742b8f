//! The template of the e-mail's HTML part: the theme's `mail.html`, or the town's
//! `templates/mail.html` when it has one. `aushang check` compiles and renders an override with
//! sample messages ([`check`]), naming file and line; whether it was copied from today's theme
//! is checked with the site's overrides (`site::theme_versions`).

use std::path::{Path, PathBuf};

use crate::delivery::message::{Message, MessageKind};
use crate::diagnostics::Problem;
use crate::site::theme::{TEMPLATES_DIR, default_text};

/// The template's name, in the theme and in `templates/`.
pub const NAME: &str = "mail.html";

/// The text of the HTML part's template and the file it came from, as shown in messages
/// (`theme/mail.html` or `templates/mail.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailHtml {
    pub text: String,
    pub file: PathBuf,
}

impl Default for MailHtml {
    /// The theme's own template.
    fn default() -> MailHtml {
        MailHtml {
            text: default_text(NAME)
                .expect("the theme has mail.html")
                .to_string(),
            file: Path::new("theme").join(NAME),
        }
    }
}

impl MailHtml {
    /// The town's `<root>/templates/mail.html`, else the theme's.
    pub fn for_site(root: &Path) -> Result<MailHtml, String> {
        let file = Path::new(TEMPLATES_DIR).join(NAME);
        match std::fs::read(root.join(&file)) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(MailHtml { text, file }),
                Err(_) => Err(format!("{} ist kein UTF-8-Text", file.display())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(MailHtml::default()),
            Err(e) => Err(format!(
                "{} lässt sich nicht lesen (Meldung des Systems: {e})",
                file.display()
            )),
        }
    }

    /// The HTML of one message (the same for every recipient): `unsubscribe` is the link (or
    /// the slot for it) when mails carry one.
    pub fn render(
        &self,
        message: &Message,
        site_title: &str,
        unsubscribe: Option<&str>,
    ) -> Result<String, Box<Problem>> {
        let (subject, paragraphs) = parts(message);
        let mut ctx = tera::Context::new();
        ctx.insert("subject", &subject);
        ctx.insert("title", &message.title);
        ctx.insert("update", &message.is_update());
        ctx.insert("paragraphs", &paragraphs);
        ctx.insert("url", &message.url);
        ctx.insert("date", &message.date_text);
        ctx.insert("site_title", site_title);
        ctx.insert("unsubscribe", &unsubscribe);
        let mut tera = tera::Tera::new();
        tera.autoescape_on(vec![".html"]);
        tera.add_raw_template(NAME, &self.text)
            .map_err(|e| Box::new(self.problem(&e)))?;
        tera.render(NAME, &ctx)
            .map_err(|e| Box::new(self.problem(&e)))
    }

    /// A Tera error at this template's file, line and column.
    fn problem(&self, err: &tera::Error) -> Problem {
        let what = "die Vorlage der E-Mail ist fehlerhaft";
        match err.kind() {
            tera::ErrorKind::SyntaxError(r) | tera::ErrorKind::RenderingError(r) => {
                let span = r.span();
                Problem::error(
                    &self.file,
                    format!("{what} (Meldung der Vorlagen-Bibliothek: {})", r.message()),
                )
                .at(&self.text, span.start_line, span.start_col + 1)
            }
            _ => Problem::error(
                &self.file,
                format!("{what} (Meldung der Vorlagen-Bibliothek: {err})"),
            ),
        }
        .with_hint(
            "die Vorlage bekommt subject, title, update, paragraphs, url, date, site_title und \
             unsubscribe (README, Abschnitt E-Mail); sie steht für sich und kann keine Vorlage \
             der Website erweitern",
        )
    }
}

/// A problem as one line for a run's report: `file:line:column: message`.
pub fn one_line(p: &Problem) -> String {
    format!("{}: {}", p.position(), p.message)
}

/// The mail's subject (one line) and its paragraphs.
pub fn parts(message: &Message) -> (String, Vec<String>) {
    let (subject, text) = message.heading_and_text();
    let paragraphs = vec![text];
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    (subject, paragraphs)
}

/// For `aushang check`: the town's `templates/mail.html` (if any), compiled and rendered with a
/// sample notice and a sample update, with and without an unsubscribe link.
pub fn check(root: &Path) -> Vec<Problem> {
    if !root.join(TEMPLATES_DIR).join(NAME).is_file() {
        return Vec::new();
    }
    let html = match MailHtml::for_site(root) {
        Ok(h) => h,
        Err(e) => return vec![Problem::error(Path::new(TEMPLATES_DIR).join(NAME), e)],
    };
    let notice = Message {
        key: "/bekanntmachungen/2026/beispiel/#notice".into(),
        alias_keys: Vec::new(),
        kind: MessageKind::Notice,
        notice_path: "/bekanntmachungen/2026/beispiel/".into(),
        title: "Beispiel: Sperrung der Hauptstraße".into(),
        summary: "Die Hauptstraße ist ab Montag gesperrt.".into(),
        category: None,
        urgent: false,
        due_from: jiff::Timestamp::UNIX_EPOCH,
        url: "https://www.example.org/bekanntmachungen/2026/beispiel/".into(),
        date_text: "28. November 2026".into(),
    };
    let update = Message {
        key: "/bekanntmachungen/2026/beispiel/#update-20261130T0900".into(),
        kind: MessageKind::Update {
            date: jiff::Timestamp::UNIX_EPOCH,
            text: "Die Sperrung endet schon am Freitag.".into(),
        },
        ..notice.clone()
    };
    for message in [&notice, &update] {
        for unsubscribe in [Some("https://inbox.example.org/abmelden?t=x"), None] {
            if let Err(p) = html.render(message, "Beispielstadt", unsubscribe) {
                return vec![*p];
            }
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(TEMPLATES_DIR)).unwrap();
        std::fs::write(dir.path().join(TEMPLATES_DIR).join(NAME), text).unwrap();
        dir
    }

    #[test]
    fn without_an_override_the_theme_is_used_and_nothing_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(MailHtml::for_site(dir.path()).unwrap(), MailHtml::default());
        assert!(check(dir.path()).is_empty());
    }

    #[test]
    fn a_working_override_passes_and_is_used() {
        let dir = site_with("<p class=\"rathaus\">{{ title }}</p>\n");
        assert!(check(dir.path()).is_empty(), "{:?}", check(dir.path()));
        let html = MailHtml::for_site(dir.path()).unwrap();
        assert_eq!(html.file, Path::new("templates/mail.html"));
    }

    #[test]
    fn a_syntax_error_is_named_with_file_and_line() {
        let dir = site_with("<p>\n{{ title }}\n{% if %}\n</p>\n");
        let p = check(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].is_error());
        assert_eq!(p[0].file, Path::new("templates/mail.html"));
        assert_eq!(p[0].line, Some(3), "{p:?}");
        assert!(
            p[0].message
                .starts_with("die Vorlage der E-Mail ist fehlerhaft")
        );
    }

    #[test]
    fn a_rendering_error_is_named_with_file_and_line() {
        // a variable the mail does not have: fails only when rendered
        let dir = site_with("<p>{{ title }}</p>\n<p>{{ notice.summary }}</p>\n");
        let p = check(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, Some(2), "{p:?}");
    }
}
