//! Standing pages (`content/pages/*.md`): Impressum, Datenschutz and the like.

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::fields::{no_control, one_line};
use super::notice_loader::Anchor;
use super::source::SourceFile;
use super::{Page, body_limits, markdown, slug};
use crate::config::Config;
use crate::diagnostics::Problem;

/// The front-matter keys a page may have: the names in the content model's table.
pub static PAGE_FIELDS: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| super::model::names(super::model::PAGE));

/// First path segments the site itself uses; a page there would be overwritten or hide them.
pub const RESERVED_PAGE_SLUGS: &[&str] = &["bekanntmachungen", "archiv", "kategorie", "seite"];

#[derive(Deserialize)]
struct RawPage {
    title: Option<Spanned<String>>,
    description: Option<Spanned<String>>,
    slug: Option<Spanned<String>>,
}

#[derive(Clone)]
pub struct LoadedPage {
    pub page: Page,
    pub text: String,
    pub path_at: Anchor,
}

pub fn load_page(config: &Config, file: &Path, problems: &mut Vec<Problem>) -> Option<LoadedPage> {
    let src = match SourceFile::read(&config.root, file) {
        Ok(s) => s,
        Err(p) => {
            problems.push(*p);
            return None;
        }
    };
    page_from_source(src, problems)
}

pub fn page_from_source(src: SourceFile, problems: &mut Vec<Problem>) -> Option<LoadedPage> {
    let mut mine = Vec::new();
    let Some(raw) = src.front_matter::<RawPage>(&PAGE_FIELDS, &mut mine) else {
        problems.append(&mut mine);
        return None;
    };
    let title = match &raw.title {
        Some(t) => one_line(
            &src,
            "title",
            t,
            super::model::MAX_PAGE_TITLE_CHARS,
            "der Seitentitel ist eine Zeile",
            &mut mine,
        ),
        None => {
            mine.push(
                src.error("Pflichtfeld `title` fehlt")
                    .with_hint("ergänzen Sie im Kopf z. B. `title: Impressum`"),
            );
            None
        }
    };
    let description = match &raw.description {
        Some(d) => one_line(
            &src,
            "description",
            d,
            super::model::MAX_PAGE_DESCRIPTION_CHARS,
            "die Beschreibung erscheint in Suchmaschinen und Linkvorschauen; eine Zeile",
            &mut mine,
        ),
        None => Some(String::new()),
    };
    if let Some(s) = &raw.slug {
        no_control(&src, "slug", s, &mut mine);
    }
    let (slug, path_at) = match &raw.slug {
        Some(s) => {
            let (line, column) = src.position(s).unwrap_or((1, 1));
            let v = s.value.trim();
            if slug::is_valid_slug(v) {
                (Some(v.to_string()), Anchor { line, column })
            } else {
                mine.push(
                    src.error_at(s, format!("`slug` `{v}` ist ungültig"))
                        .with_hint(
                            "nur Kleinbuchstaben a–z, Ziffern und Bindestriche, z. B. impressum",
                        ),
                );
                (None, Anchor { line, column })
            }
        }
        None => {
            let stem = src
                .file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let s = super::slugify(stem);
            if s.is_empty() {
                mine.push(src.error(format!(
                    "aus dem Dateinamen `{stem}` lässt sich keine Adresse bilden"
                )));
                (None, Anchor { line: 1, column: 1 })
            } else {
                (Some(s), Anchor { line: 1, column: 1 })
            }
        }
    };
    if let Some(s) = &slug
        && RESERVED_PAGE_SLUGS.contains(&s.as_str())
    {
        mine.push(
            src.error(format!(
                "die Adresse `/{s}/` ist für die Website selbst reserviert"
            ))
            .with_hint("benennen Sie die Seite um oder setzen Sie einen anderen `slug`"),
        );
    }
    body_limits::check_body(&src, &mut mine);
    let ok = !mine.iter().any(Problem::is_error);
    problems.append(&mut mine);
    let (title, description, slug) = (title?, description?, slug?);
    if !ok {
        return None;
    }
    let body = src.body();
    let page = Page {
        source: src.file.clone(),
        path: format!("/{slug}/"),
        slug,
        title,
        description,
        body_markdown: body.to_string(),
        body_html: markdown::render_markdown(body),
    };
    Some(LoadedPage {
        page,
        text: src.text,
        path_at,
    })
}
