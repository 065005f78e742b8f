//! The pages only the preview server shows: the broadcast preview of each notice (the exact
//! message text from the broadcast renderer), a list of them, and the build-error page.

use serde::Serialize;
use tera::{Context, Tera};

use crate::config::Config;
use crate::content::Notice;
use crate::delivery::message::{Message, MessageKind, messages_of};
use crate::diagnostics::{self, Format, Problem};
use crate::providers::deliverer::Deliverer;
use crate::providers::outbox::Outbox;
use crate::serve::rebuild::Snapshot;
use crate::site::dates::date_de;

/// Where the broadcast preview of the notice at `/x/y/` lives: `/_vorschau/x/y/`.
pub const PREVIEW_PREFIX: &str = "/_vorschau";

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("pages/layout.html")),
    ("preview.html", include_str!("pages/preview.html")),
    (
        "preview_index.html",
        include_str!("pages/preview_index.html"),
    ),
    ("problems.html", include_str!("pages/problems.html")),
];

/// The compiled serve-only templates.
pub struct Pages {
    tera: Tera,
}

#[derive(Serialize)]
struct NoticeView {
    title: String,
    path: String,
    /// Where the browser finds the notice's page: its path below a sub-path `base_url`.
    href: String,
    source: String,
    status: String,
    broadcast: &'static str,
    /// Whether the notice has a page in the preview (published at the preview's instant).
    page: bool,
}

#[derive(Serialize)]
struct MessageView {
    label: String,
    key: String,
    header: String,
    due: String,
    text: String,
    error: Option<String>,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

impl Pages {
    pub fn new() -> Self {
        let mut tera = Tera::new();
        tera.autoescape_on(vec![".html"]);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .expect("the serve templates are part of the binary and compile");
        Pages { tera }
    }

    fn render(&self, name: &str, ctx: &Context) -> String {
        self.tera.render(name, ctx).unwrap_or_else(|e| {
            // Only a bug in the embedded templates gets here; say so instead of a blank page.
            format!("<!DOCTYPE html><html lang=\"de\"><title>Fehler</title><p>{e}</p></html>")
        })
    }

    /// Every build error, as `aushang build` prints them.
    pub fn problems(&self, problems: &[Problem]) -> String {
        let mut ctx = Context::new();
        let errors = problems.iter().filter(|p| p.is_error()).count();
        ctx.insert("count", &errors);
        ctx.insert("diagnostics", &diagnostics::render(problems, Format::Human));
        self.render("problems.html", &ctx)
    }

    /// The list of every loaded notice with a link to its broadcast preview.
    pub fn preview_index(&self, snap: &Snapshot) -> String {
        let notices: Vec<NoticeView> = snap
            .content
            .notices
            .iter()
            .map(|n| notice_view(n, snap))
            .collect();
        let mut ctx = Context::new();
        ctx.insert("notices", &notices);
        self.render("preview_index.html", &ctx)
    }

    /// The broadcast preview of the notice at `notice_path`, or `None` if no notice is there.
    pub fn preview(&self, snap: &Snapshot, notice_path: &str) -> Option<String> {
        let config = snap.config.as_deref()?;
        let notice = snap.notice_at(notice_path)?;
        let mut ctx = Context::new();
        ctx.insert("notice", &notice_view(notice, snap));
        ctx.insert("messages", &message_views(config, notice));
        Some(self.render("preview.html", &ctx))
    }
}

fn notice_view(n: &Notice, snap: &Snapshot) -> NoticeView {
    let status = if n.draft {
        "Entwurf".to_string()
    } else if n.published_at() > snap.now {
        format!(
            "geplant, erscheint am {}",
            snap.config
                .as_deref()
                .map(|c| date_de(n.published_at(), &c.timezone))
                .unwrap_or_default()
        )
    } else if n.is_expired(snap.now) {
        "abgelaufen".into()
    } else {
        "veröffentlicht".into()
    };
    NoticeView {
        title: n.title.clone(),
        path: n.path.clone(),
        href: snap
            .config
            .as_deref()
            .map_or_else(|| n.path.clone(), |c| c.href(&n.path)),
        source: n.source.display().to_string(),
        status,
        broadcast: if n.broadcast {
            "wird an die Abonnentinnen und Abonnenten gesendet"
        } else {
            "nur auf der Website (broadcast: false)"
        },
        page: n.published_at() <= snap.now,
    }
}

/// Each message of the notice, rendered by the broadcast code exactly as a run would send it.
fn message_views(config: &Config, notice: &Notice) -> Vec<MessageView> {
    // `for_site`: with an inbox, the preview shows where each subscriber's own opt-out link goes
    // (a placeholder: the preview needs no secret).
    let deliverer = Deliverer::Outbox {
        outbox: Outbox::for_site(config, None),
        whatsapp: config.broadcast.channels.whatsapp.clone(),
    };
    messages_of(notice, config)
        .iter()
        .map(|m: &Message| {
            let label = match &m.kind {
                MessageKind::Notice => "Nachricht zur Bekanntmachung".to_string(),
                MessageKind::Update { .. } => {
                    format!("Nachricht zur Aktualisierung vom {}", m.date_text)
                }
            };
            let due = date_de(m.due_from, &config.timezone);
            match deliverer.render(m) {
                Ok(r) => MessageView {
                    label,
                    key: m.key.clone(),
                    header: r.header,
                    due,
                    text: r.text,
                    error: None,
                },
                Err(e) => MessageView {
                    label,
                    key: m.key.clone(),
                    header: "–".into(),
                    due,
                    text: String::new(),
                    error: Some(e),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::rebuild::{Clock, Settings, Workspace};

    #[test]
    fn the_preview_shows_the_broadcast_text_of_the_example_notice() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = tempfile::tempdir().unwrap();
        let mut ws = Workspace::new(Settings {
            root: root.to_path_buf(),
            out_dir: out.path().join("site"),
            include_drafts: false,
            clock: Clock::Fixed("2026-11-28T12:00:00+01:00".parse().unwrap()),
        });
        let snap = ws.rebuild(&[]);
        assert!(snap.result.is_ok(), "{:?}", snap.result);
        let pages = Pages::new();
        let path = "/bekanntmachungen/2026/strassensperrung-hoennestrasse/";
        let html = pages.preview(&snap, path).expect("notice exists");

        // The very text the broadcast renderer gives, escaped for HTML.
        let config = snap.config.as_deref().unwrap();
        let notice = snap.notice_at(path).unwrap();
        let deliverer = Deliverer::Outbox {
            outbox: Outbox::for_site(config, None),
            whatsapp: config.broadcast.channels.whatsapp.clone(),
        };
        let messages = messages_of(notice, config);
        assert_eq!(messages.len(), 1 + notice.updates.len());
        for m in &messages {
            let text = deliverer.render(m).unwrap().text;
            let mut escaped = Vec::new();
            tera::escape_html(&text, &mut escaped).unwrap();
            let escaped = String::from_utf8(escaped).unwrap();
            assert!(html.contains(&escaped), "{text}\n---\n{html}");
        }
        assert!(html.contains("Nachricht zur Aktualisierung vom"));

        // On a plain-text channel the preview ends where each subscriber's opt-out link goes.
        let mut text_only = config.clone();
        text_only.broadcast.channels.whatsapp = None;
        let views = message_views(&text_only, notice);
        assert!(
            views.iter().all(|v| v.text.ends_with(&format!(
                "Abmelden: https://inbox.musterbach.example/abmelden?t={}",
                crate::subscribers::optout::OPTOUT_TOKEN_PLACEHOLDER
            ))),
            "{:?}",
            views.iter().map(|v| &v.text).collect::<Vec<_>>()
        );
        assert!(pages.preview(&snap, "/gibt/es/nicht/").is_none());
        let index = pages.preview_index(&snap);
        assert!(
            index.contains(&format!("href=\"/_vorschau{path}\"")),
            "{index}"
        );
    }

    #[test]
    fn the_problem_page_escapes_and_shows_file_and_line() {
        let p = Problem::error("content/notices/x.md", "bad <script>").at("a\nb: <c>\n", 2, 4);
        let html = Pages::new().problems(&[p]);
        assert!(html.contains("content/notices/x.md:2:4"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("bad &lt;script&gt;"));
    }
}
