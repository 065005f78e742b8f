//! Internal links in notice and page bodies: a link to `/…` must lead somewhere on this site.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use pulldown_cmark::{Event, Parser, Tag};
use rayon::prelude::*;

use super::source::{line_of_offset, read_text};
use super::{SiteContent, markdown::markdown_options};
use crate::config::Config;
use crate::diagnostics::Problem;

/// Checks every `/…` link and image in the bodies of `content`.
///
/// A link is fine when it names a notice, an alias, a page, a file under `static/`, or a path for
/// which `is_site_path` says yes (pages the renderer generates: front page, archives, categories,
/// feeds). Problems point at the link's line and column in its file.
pub fn check_links(
    config: &Config,
    content: &SiteContent,
    is_site_path: &(dyn Fn(&str) -> bool + Sync),
) -> Vec<Problem> {
    let mut known: HashSet<&str> =
        HashSet::with_capacity(content.notices.len() * 2 + content.pages.len() + 1);
    known.insert("/");
    for n in &content.notices {
        known.insert(&n.path);
        known.extend(n.aliases.iter().map(String::as_str));
    }
    known.extend(content.pages.iter().map(|p| p.path.as_str()));
    let bodies = content
        .notices
        .iter()
        .map(|n| (n.source.as_path(), n.body_markdown.as_str()))
        .chain(
            content
                .pages
                .iter()
                .map(|p| (p.source.as_path(), p.body_markdown.as_str())),
        );
    let bodies: Vec<(&Path, &str)> = bodies.collect();
    // Suggestions compare a broken link only with addresses in the same folder, so a pull request
    // with many broken links costs links × folder size, not links × site size.
    let mut folders: HashMap<&str, Vec<&str>> = HashMap::new();
    for path in &known {
        folders.entry(folder_of(path)).or_default().push(path);
    }
    for paths in folders.values_mut() {
        paths.sort_unstable();
    }
    let known = Known {
        paths: known,
        folders,
    };
    bodies
        .par_iter()
        .flat_map_iter(|(file, body)| {
            let broken = broken_links(config, body, &known, is_site_path);
            locate(&config.root, file, body, broken)
        })
        .collect()
}

struct Known<'a> {
    paths: HashSet<&'a str>,
    /// Known paths by their parent folder, sorted.
    folders: HashMap<&'a str, Vec<&'a str>>,
}

/// `/bekanntmachungen/2026/wasser/` → `/bekanntmachungen/2026/`.
fn folder_of(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rfind('/').map_or("/", |i| &path[..=i])
}

/// Most addresses a suggestion is looked for among.
const MAX_SUGGESTION_CANDIDATES: usize = 2000;

struct Broken {
    offset: usize,
    message: String,
    hint: Option<String>,
    warning: bool,
}

/// Whether site path `path` (`/a/b/`, without query or fragment) names a page or a static file.
fn exists(
    root: &Path,
    path: &str,
    known: &Known,
    is_site_path: &(dyn Fn(&str) -> bool + Sync),
) -> bool {
    if known.paths.contains(path) || is_site_path(path) {
        return true;
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let rel = decoded.trim_start_matches('/');
    !rel.is_empty()
        && !rel.split('/').any(|s| s == "..")
        && !crate::site::statics::is_hidden(Path::new(rel))
        && root.join("static").join(rel).is_file()
        // The build does not copy symbolic links: a link to one would be dead.
        && super::fields::symlink_below(&root.join("static"), Path::new(rel)).is_none()
}

fn broken_links(
    config: &Config,
    body: &str,
    known: &Known,
    is_site_path: &(dyn Fn(&str) -> bool + Sync),
) -> Vec<Broken> {
    let root = config.root.as_path();
    let base_path = config.base_path();
    let mut broken = Vec::new();
    for (event, range) in Parser::new_ext(body, markdown_options()).into_offset_iter() {
        let dest = match &event {
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => dest_url,
            _ => continue,
        };
        // A full address of this site is checked like the site path it names.
        let dest = match dest.strip_prefix(config.base_url.as_str()) {
            Some(rest) => format!("/{rest}"),
            None => dest.to_string(),
        };
        if !dest.starts_with('/') || dest.starts_with("//") {
            continue;
        }
        let path = dest.split(['#', '?']).next().unwrap_or_default();
        if exists(root, path, known, is_site_path) {
            continue;
        }
        // Site paths are written without the base path of a sub-path base_url: aushang puts it
        // in front of every link. A link copied from the browser has it twice then.
        if let Some(rest) = path.strip_prefix(base_path).filter(|_| base_path != "/") {
            let without = format!("/{rest}");
            if exists(root, &without, known, is_site_path) {
                broken.push(Broken {
                    offset: range.start,
                    message: format!(
                        "der Link {path} führt ins Leere: aushang setzt {base_path} (aus base_url) selbst vor jeden Link"
                    ),
                    hint: Some(format!("schreiben Sie {without} (ohne {base_path} davor)")),
                    warning: false,
                });
                continue;
            }
        }
        let with_slash = format!("{path}/");
        if !path.ends_with('/')
            && (known.paths.contains(with_slash.as_str()) || is_site_path(&with_slash))
        {
            broken.push(Broken {
                offset: range.start,
                message: format!("der Link {path} endet nicht mit `/`"),
                hint: Some(format!("schreiben Sie {with_slash}")),
                warning: true,
            });
            continue;
        }
        let candidates = known
            .folders
            .get(folder_of(path))
            .map_or(&[][..], Vec::as_slice);
        let candidates = &candidates[..candidates.len().min(MAX_SUGGESTION_CANDIDATES)];
        let hint = super::did_you_mean(path, candidates.iter().copied())
            .map(|s| format!("meinten Sie {s}?"));
        broken.push(Broken {
            offset: range.start,
            message: format!("der Link {path} führt ins Leere: diese Seite oder Datei gibt es auf der Website nicht"),
            hint: Some(hint.unwrap_or_else(|| {
                "Links auf Bekanntmachungen sehen so aus: /bekanntmachungen/2026/name/; Dateien liegen unter static/".into()
            })),
            warning: false,
        });
    }
    broken
}

/// Turns body offsets into file positions; the file is read again only when something is broken.
fn locate(root: &Path, file: &Path, body: &str, broken: Vec<Broken>) -> Vec<Problem> {
    if broken.is_empty() {
        return Vec::new();
    }
    let text = read_text(&root.join(file), file)
        .ok()
        .filter(|t| t.ends_with(body));
    broken
        .into_iter()
        .map(|b| {
            let mut p = if b.warning {
                Problem::warning(file, b.message)
            } else {
                Problem::error(file, b.message)
            };
            if let Some(hint) = b.hint {
                p = p.with_hint(hint);
            }
            match &text {
                Some(text) => {
                    let at = text.len() - body.len() + b.offset;
                    let line = line_of_offset(text, at);
                    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let col = text[line_start..at].chars().count() + 1;
                    p.at(text, line, col)
                }
                None => p,
            }
        })
        .collect()
}
