//! Notices and standing pages: the model, front matter, loading and validation.
//!
//! [`load`] reads everything under `content/` in parallel, validates it against the site
//! configuration and returns what loaded fine together with every problem found, so that an editor
//! sees all mistakes of a pull request at once.
//!
//! Address scheme (stable once published, never derived from the title, so fixing a typo in a
//! title never breaks a link already sent to citizens):
//! notices live at `/bekanntmachungen/<year of date>/<slug>/`, where the slug is front matter
//! `slug` or else the file name without a leading `YYYY-MM-DD-`; pages live at `/<slug>/`.

pub mod body_limits;
pub mod fields;
pub mod links;
pub mod markdown;
pub mod model;
pub mod notice;
pub mod notice_loader;
pub mod page_loader;
pub mod reserved;
pub mod slug;
pub mod source;
pub mod template;
pub mod time;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::Config;
use crate::diagnostics::Problem;

pub use links::check_links;
pub use markdown::render_markdown;
pub use notice::{Attachment, Image, Notice, Page, Update};
pub use slug::slugify;
pub use time::parse_time;

use notice_loader::{LoadedNotice, Outcome};
use page_loader::LoadedPage;

#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Load notices with `draft: true` (previews, `check`). Without this, drafts and their
    /// problems are left out, so a half-written draft never blocks publishing the rest.
    pub include_drafts: bool,
}

/// Everything under `content/` that loaded without errors.
#[derive(Debug, Clone, Default)]
pub struct SiteContent {
    /// Newest first (by `published_at`, then path): deterministic.
    pub notices: Vec<Notice>,
    /// By path.
    pub pages: Vec<Page>,
    /// Site paths of the files under `static/` that drafts left out of loading name: the build
    /// does not publish them while no public notice uses them.
    pub draft_files: Vec<String>,
}

pub const NOTICES_DIR: &str = "content/notices";
pub const PAGES_DIR: &str = "content/pages";

/// Loads and validates everything under content/. Returns what loaded fine plus ALL problems found.
pub fn load(config: &Config, opts: &LoadOptions) -> (SiteContent, Vec<Problem>) {
    load_bodies(config, opts, notice_loader::Body::Render)
}

/// Like [`load`] but notice bodies are not rendered (`body_html` is empty): for `check`, which
/// reports exactly the same problems and never shows HTML.
pub fn load_unrendered(config: &Config, opts: &LoadOptions) -> (SiteContent, Vec<Problem>) {
    load_bodies(config, opts, notice_loader::Body::MarkdownOnly)
}

fn load_bodies(
    config: &Config,
    opts: &LoadOptions,
    body: notice_loader::Body,
) -> (SiteContent, Vec<Problem>) {
    let mut problems = Vec::new();
    let notice_files = markdown_files(&config.root, NOTICES_DIR, usize::MAX, &mut problems);
    let page_files = markdown_files(&config.root, PAGES_DIR, 1, &mut problems);
    stray_files(&config.root, &mut problems);

    // Order of results follows the sorted file list, whatever the thread timing.
    let loaded: Vec<(Option<LoadedNotice>, Vec<Problem>, Vec<String>)> = notice_files
        .par_iter()
        .map(|file| {
            let mut p = Vec::new();
            match notice_loader::load_notice_with(config, file, opts.include_drafts, body, &mut p) {
                Outcome::Loaded(n) => (Some(*n), p, Vec::new()),
                Outcome::SkippedDraft(files) => (None, p, files),
                Outcome::Invalid => (None, p, Vec::new()),
            }
        })
        .collect();
    let pages: Vec<(Option<LoadedPage>, Vec<Problem>)> = page_files
        .par_iter()
        .map(|file| {
            let mut p = Vec::new();
            (page_loader::load_page(config, file, &mut p), p)
        })
        .collect();

    let mut notices = Vec::with_capacity(loaded.len());
    let mut draft_files = Vec::new();
    for (n, mut p, mut files) in loaded {
        problems.append(&mut p);
        notices.extend(n);
        draft_files.append(&mut files);
    }
    let mut loaded_pages = Vec::with_capacity(pages.len());
    for (pg, mut p) in pages {
        problems.append(&mut p);
        loaded_pages.extend(pg);
    }

    let (notices, pages) = claim_addresses(notices, loaded_pages, &mut problems);
    let mut notices: Vec<Notice> = notices;
    sort_notices(&mut notices);
    (
        SiteContent {
            notices,
            pages,
            draft_files,
        },
        problems,
    )
}

/// The site's order of notices: newest publication first, then by address.
pub(crate) fn sort_notices(notices: &mut [Notice]) {
    notices.sort_by(|a, b| {
        b.published_at()
            .cmp(&a.published_at())
            .then_with(|| a.path.cmp(&b.path))
    });
}

/// Gives each address to the first file (in path order) that claims it and reports every other
/// claimant, naming both files on both sides.
pub(crate) fn claim_addresses(
    notices: Vec<LoadedNotice>,
    pages: Vec<LoadedPage>,
    problems: &mut Vec<Problem>,
) -> (Vec<Notice>, Vec<Page>) {
    struct Claim<'a> {
        file: &'a Path,
        text: &'a str,
        line: usize,
        column: usize,
    }
    let mut owners: HashMap<&str, Claim> = HashMap::with_capacity(notices.len() * 2 + pages.len());
    let mut rejected_notices = vec![false; notices.len()];
    let mut rejected_pages = vec![false; pages.len()];
    let clash = |path: &str, me: Claim<'_>, first: &Claim<'_>, problems: &mut Vec<Problem>| {
        problems.push(
            Problem::error(me.file, format!("die Adresse {path} wird auch von {} benutzt", first.file.display()))
                .at(me.text, me.line, me.column)
                .with_hint("jede Bekanntmachung braucht eine eigene Adresse; setzen Sie in einer der Dateien einen anderen `slug` oder benennen Sie die Datei um"),
        );
        problems.push(
            Problem::error(
                first.file,
                format!(
                    "die Adresse {path} wird auch von {} benutzt",
                    me.file.display()
                ),
            )
            .at(first.text, first.line, first.column),
        );
    };
    for (i, n) in notices.iter().enumerate() {
        let claims = std::iter::once((n.notice.path.as_str(), n.path_at.clone())).chain(
            n.notice
                .aliases
                .iter()
                .map(String::as_str)
                .zip(n.aliases_at.iter().cloned()),
        );
        for (path, at) in claims {
            let me = Claim {
                file: &n.notice.source,
                text: &n.text,
                line: at.line,
                column: at.column,
            };
            match owners.get(path) {
                Some(first) if first.file == me.file => {
                    problems.push(
                        Problem::error(
                            me.file,
                            format!("die Adresse {path} ist doppelt eingetragen"),
                        )
                        .at(me.text, me.line, me.column),
                    );
                }
                Some(first) => {
                    clash(path, me, first, problems);
                    rejected_notices[i] = true;
                }
                None => {
                    owners.insert(path, me);
                }
            }
        }
    }
    for (i, p) in pages.iter().enumerate() {
        let me = Claim {
            file: &p.page.source,
            text: &p.text,
            line: p.path_at.line,
            column: p.path_at.column,
        };
        match owners.get(p.page.path.as_str()) {
            Some(first) => {
                clash(&p.page.path, me, first, problems);
                rejected_pages[i] = true;
            }
            None => {
                owners.insert(&p.page.path, me);
            }
        }
    }
    drop(owners);
    let notices = notices
        .into_iter()
        .zip(rejected_notices)
        .filter(|(_, rejected)| !rejected)
        .map(|(n, _)| n.notice)
        .collect();
    let pages = pages
        .into_iter()
        .zip(rejected_pages)
        .filter(|(_, r)| !r)
        .map(|(p, _)| p.page)
        .collect();
    (notices, pages)
}

/// Files directly in `content/` belong nowhere; an upload in the wrong folder of the GitHub web
/// editor ends up there.
fn stray_files(root: &Path, problems: &mut Vec<Problem>) {
    let Ok(entries) = std::fs::read_dir(root.join("content")) else {
        return;
    };
    let mut stray: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| Path::new("content").join(e.file_name()))
        .collect();
    stray.sort();
    for file in stray {
        problems.push(
            Problem::warning(
                file,
                "die Datei wird ignoriert: sie liegt direkt in content/",
            )
            .with_hint(
                "Bekanntmachungen gehören nach content/notices/<Jahr>/, Seiten nach content/pages/",
            ),
        );
    }
}

/// The `.md` files under `root/dir`, relative to `root`, sorted. Other files are reported as
/// warnings (a `wasser.txt` was probably meant to be a notice).
pub(crate) fn markdown_files(
    root: &Path,
    dir: &str,
    max_depth: usize,
    problems: &mut Vec<Problem>,
) -> Vec<PathBuf> {
    let base = root.join(dir);
    if !base.is_dir() {
        return Vec::new();
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&base)
        .max_depth(max_depth)
        .sort_by_file_name()
    {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let at = e
                    .path()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .unwrap_or(Path::new(dir))
                    .to_path_buf();
                problems.push(Problem::error(
                    at,
                    format!("kann nicht gelesen werden: {e}"),
                ));
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        if entry.file_type().is_file() {
            if entry.path().extension().is_some_and(|e| e == "md") {
                files.push(rel);
            } else {
                problems.push(
                    Problem::warning(rel, "die Datei wird ignoriert: nur .md-Dateien sind Bekanntmachungen oder Seiten")
                        .with_hint("Bilder und PDFs gehören unter static/"),
                );
            }
        }
    }
    files
}

/// The closest candidate to a mistyped word, if one is close enough to be a likely typo.
/// Knows the German words editors reach for first.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = input.trim().to_lowercase();
    let translated = match lower.as_str() {
        "titel" | "überschrift" => Some("title"),
        "datum" => Some("date"),
        "zusammenfassung" | "kurzfassung" | "kurztext" | "beschreibung" => Some("summary"),
        "kategorie" | "rubrik" => Some("category"),
        "schlagworte" | "schlagwörter" | "stichworte" => Some("tags"),
        "veröffentlichen" | "veröffentlichung" | "publish" => Some("publish_at"),
        "ablauf" | "ablaufdatum" | "bis" | "gültig_bis" => Some("expires"),
        "entwurf" => Some("draft"),
        "dringend" | "eilmeldung" => Some("urgent"),
        "bild" => Some("image"),
        "bildbeschreibung" | "alt" | "alt_text" => Some("image_alt"),
        "anhang" | "anhänge" | "anlagen" | "dateien" => Some("attachments"),
        "aktualisierungen" | "nachträge" | "updates_" => Some("updates"),
        _ => None,
    };
    let mut best: Option<(f64, &'a str)> = None;
    for c in candidates {
        if translated == Some(c) {
            return Some(c);
        }
        let score = strsim::jaro_winkler(&lower, &c.to_lowercase());
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_for_typos_and_german_words() {
        let fields = &*notice_loader::NOTICE_FIELDS;
        assert_eq!(did_you_mean("titel", fields.iter().copied()), Some("title"));
        assert_eq!(
            did_you_mean("summmary", fields.iter().copied()),
            Some("summary")
        );
        assert_eq!(
            did_you_mean("Kategorie", fields.iter().copied()),
            Some("category")
        );
        assert_eq!(
            did_you_mean("expire", fields.iter().copied()),
            Some("expires")
        );
        assert_eq!(did_you_mean("xyzzy", fields.iter().copied()), None);
        assert_eq!(
            did_you_mean("verkher", ["verkehr", "abfall"]),
            Some("verkehr")
        );
    }
}
