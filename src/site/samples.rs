//! Rendering every template with a tiny sample site, so `aushang check` finds template errors
//! that only show when rendering (unknown variables, wrong types) without building anything.

use std::path::PathBuf;

use jiff::Timestamp;

use crate::config::Config;
use crate::content::{Attachment, Image, Notice, Page, Update};
use crate::diagnostics::Problem;
use crate::site::plan::Site;
use crate::site::theme::Theme;
use crate::site::view;
use crate::site::{BuildOptions, base_path};

/// Renders every page type of a small sample site with `theme`, for `aushang check`: catches
/// template errors that only show when rendering (unknown variables, wrong types).
pub fn render_samples(config: &Config, theme: &mut Theme) -> Vec<Problem> {
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            return vec![Problem::error(
                "templates",
                format!("ein temporärer Ordner lässt sich nicht anlegen: {e}"),
            )];
        }
    };
    let mut sample_config = config.clone();
    sample_config.root = scratch.path().to_path_buf();
    let attachment = "/dokumente/beispiel.pdf";
    if let Some(file) = view::static_file(scratch.path(), attachment) {
        let _ = std::fs::create_dir_all(file.parent().unwrap_or(scratch.path()));
        let _ = std::fs::write(&file, b"%PDF-1.4\n");
    }
    let (notices, pages, now) = sample_site(config, attachment);
    let opts = BuildOptions {
        out_dir: scratch.path().join("out"),
        now,
        include_drafts: true,
    };
    let css_path = "/style.css";
    theme
        .tera
        .global_context()
        .insert("site", &view::site_view(config, css_path));
    let site = Site::new(&sample_config, &notices, &pages, &opts);
    let plan = site.plan();
    let mut problems: Vec<Problem> = plan
        .jobs
        .iter()
        .filter_map(|job| match site.render(theme, job, &plan.jobs) {
            Err(p) => Some(*p),
            Ok(html) if job.file.extension().is_some_and(|e| e == "html") => {
                links_leaving_the_site(config, theme, &job.path, &html)
            }
            Ok(_) => None,
        })
        .map(|mut p| {
            p.message = p
                .message
                .replace("(beim Erzeugen von ", "(beim Erzeugen der Probeseite ");
            p
        })
        .collect();
    problems.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    problems.dedup_by(|a, b| a.file == b.file && a.line == b.line && a.column == b.column);
    problems
}

/// A problem naming the links of a rendered sample page that lead outside the site's address
/// (see [`base_path::links_outside`]), at the template that has them.
fn links_leaving_the_site(
    config: &Config,
    theme: &Theme,
    path: &str,
    html: &[u8],
) -> Option<Problem> {
    let outside = base_path::links_outside(html, &config.absolute_url(path), &config.base_url);
    let first = outside.first()?;
    let file = theme
        .file_with(&format!("\"{first}\""))
        .unwrap_or_else(|| PathBuf::from("templates"));
    let list = outside
        .iter()
        .map(|l| format!("`{l}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(
        Problem::error(
            file,
            format!(
                "Links führen aus der Adresse der Website {} hinaus: {list} (auf der Probeseite {path})",
                config.base_url
            ),
        )
        .with_hint("Links innerhalb der Website als Pfad wie /archiv/ schreiben; aushang setzt den Basispfad aus base_url davor"),
    )
}

/// A tiny site with every feature used once.
fn sample_site(config: &Config, attachment: &str) -> (Vec<Notice>, Vec<Page>, Timestamp) {
    let t = |s: &str| s.parse::<Timestamp>().expect("sample dates are valid");
    let category = config.categories.first().map(|c| c.id.clone());
    let full = Notice {
        source: PathBuf::from("content/notices/beispiel.md"),
        path: "/bekanntmachungen/2026/beispiel/".into(),
        slug: "beispiel".into(),
        title: "Beispiel".into(),
        date: t("2026-03-01T08:30:00Z"),
        summary: "Zusammenfassung".into(),
        category,
        tags: vec!["Probe".into()],
        publish_at: None,
        expires: Some(t("2026-03-02T00:00:00Z")),
        draft: false,
        urgent: true,
        broadcast: true,
        aliases: vec!["/alt/beispiel/".into()],
        image: Some(Image {
            src: "/bilder/beispiel.jpg".into(),
            alt: "Bild".into(),
        }),
        attachments: vec![Attachment {
            href: attachment.into(),
            label: "Anlage".into(),
        }],
        updates: vec![Update {
            date: t("2026-03-01T12:00:00Z"),
            text: "Neu".into(),
        }],
        body_markdown: "Text".into(),
        body_html: "<p>Text</p>".into(),
    };
    let plain = Notice {
        source: PathBuf::from("content/notices/einfach.md"),
        path: "/bekanntmachungen/2026/einfach/".into(),
        slug: "einfach".into(),
        title: "Einfach".into(),
        category: None,
        tags: Vec::new(),
        expires: None,
        urgent: false,
        draft: true,
        aliases: Vec::new(),
        image: None,
        attachments: Vec::new(),
        updates: Vec::new(),
        ..full.clone()
    };
    let page = Page {
        source: PathBuf::from("content/pages/impressum.md"),
        path: "/impressum/".into(),
        slug: "impressum".into(),
        title: "Impressum".into(),
        description: String::new(),
        body_markdown: "Text".into(),
        body_html: "<p>Text</p>".into(),
    };
    (vec![full, plain], vec![page], t("2026-03-05T00:00:00Z"))
}
