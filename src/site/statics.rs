//! Which files under `static/` are deployed: everything except hidden files and folders (`.env`,
//! `.git/`, `.DS_Store`; only `.well-known/` is public by design) and the attachments and image
//! of a notice that is not public yet (scheduled or draft), until it is.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::config::Config;
use crate::content::{Notice, Page};
use crate::diagnostics::Problem;
use crate::site::{output, theme::Theme};

/// The one hidden folder under `static/` that is deployed (RFC 8615: `security.txt` …).
const WELL_KNOWN: &str = ".well-known";

/// Placeholder files that keep an empty folder in git: not deployed, and not worth a warning.
const PLACEHOLDERS: [&str; 2] = [".gitkeep", ".keep"];

/// Whether `rel` (relative to `static/`) is hidden: a part of it starts with a dot.
pub fn is_hidden(rel: &Path) -> bool {
    rel.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        name.starts_with('.') && name != WELL_KNOWN
    })
}

/// Site paths (`/dokumente/plan.pdf`) of the files under `static/` that belong only to notices
/// not public at `now`: the attachments and image of a scheduled notice or a draft (drafts count
/// as public with `include_drafts`). A file that a public notice or page uses (as attachment,
/// image or in its text) or that a template names stays deployed. `draft_files` are the files of
/// drafts that were not loaded (see `SiteContent::draft_files`).
pub fn withheld<'a>(
    notices: impl IntoIterator<Item = &'a Notice>,
    draft_files: &[String],
    pages: &[Page],
    theme: Option<&Theme>,
    now: Timestamp,
    include_drafts: bool,
) -> HashSet<String> {
    let (public, hidden): (Vec<&Notice>, Vec<&Notice>) = notices
        .into_iter()
        .partition(|n| n.published_at() <= now && (!n.draft || include_drafts));
    let files_of = |n: &'a Notice| {
        n.attachments
            .iter()
            .map(|a| a.href.as_str())
            .chain(n.image.as_ref().map(|i| i.src.as_str()))
            .filter(|href| href.starts_with('/') && !href.starts_with("//"))
    };
    let mut withheld: HashSet<String> = hidden
        .iter()
        .flat_map(|n| files_of(n))
        .chain(draft_files.iter().map(String::as_str))
        .map(String::from)
        .collect();
    if withheld.is_empty() {
        return withheld;
    }
    for n in &public {
        for href in files_of(n) {
            withheld.remove(href);
        }
    }
    withheld.retain(|href| {
        let quoted = format!("\"{href}\"");
        let used = public.iter().any(|n| n.body_html.contains(&quoted))
            || pages.iter().any(|p| p.body_html.contains(&quoted))
            || theme.is_some_and(|t| t.file_with(href).is_some());
        !used
    });
    withheld
}

/// Files under `static/` with their output paths, sorted; hidden files and `withheld` ones (site
/// paths) are left out, and collisions with pages are problems.
pub fn static_files(
    config: &Config,
    generated: &HashSet<&Path>,
    withheld: &HashSet<String>,
    problems: &mut Vec<Problem>,
) -> Vec<(PathBuf, PathBuf)> {
    let dir = config.root.join("static");
    if !dir.is_dir() {
        return Vec::new();
    }
    // Folders the generated files need: a static file there, or a static folder where a
    // generated file goes, could not both be written.
    let generated_dirs: HashSet<&Path> = generated
        .iter()
        .flat_map(|f| f.ancestors().skip(1))
        .collect();
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(&dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !is_hidden(e.path().strip_prefix(&dir).unwrap_or(e.path())));
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::error(
                    "static",
                    format!("der Ordner lässt sich nicht lesen: {e}"),
                ));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(&dir)
            .unwrap_or(entry.path())
            .to_path_buf();
        if rel == Path::new(output::MARKER) {
            continue;
        }
        let href = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
        if withheld.contains(&href) {
            continue;
        }
        if generated_dirs.contains(rel.as_path())
            || rel.ancestors().skip(1).any(|dir| generated.contains(dir))
        {
            problems.push(
                Problem::error(
                    Path::new("static").join(&rel),
                    format!(
                        "static/{} steht einer Seite im Weg, die aushang erzeugt (eine Datei, wo ein Ordner nötig ist, oder umgekehrt)",
                        rel.display()
                    ),
                )
                .with_hint("die Datei umbenennen oder verschieben"),
            );
            continue;
        }
        if generated.contains(rel.as_path()) {
            problems.push(
                Problem::error(
                    Path::new("static").join(&rel),
                    format!(
                        "static/{} hat dieselbe Adresse wie eine Seite, die aushang erzeugt",
                        rel.display()
                    ),
                )
                .with_hint("die Datei umbenennen oder verschieben"),
            );
            continue;
        }
        out.push((rel, entry.path().to_path_buf()));
    }
    out
}

/// Warnings for `aushang check`: hidden files under `static/`, which are never deployed.
pub fn check_static(config: &Config) -> Vec<Problem> {
    let dir = config.root.join("static");
    let mut problems = Vec::new();
    let mut walk = walkdir::WalkDir::new(&dir).sort_by_file_name().into_iter();
    while let Some(Ok(entry)) = walk.next() {
        let rel = entry.path().strip_prefix(&dir).unwrap_or(entry.path());
        let name = entry.file_name().to_string_lossy();
        if !name.starts_with('.') || name == WELL_KNOWN || rel.as_os_str().is_empty() {
            continue;
        }
        if entry.file_type().is_dir() {
            walk.skip_current_dir();
        } else if PLACEHOLDERS.contains(&name.as_ref()) {
            continue;
        }
        problems.push(
            Problem::warning(
                Path::new("static").join(rel),
                format!(
                    "static/{}{} ist versteckt (der Name beginnt mit einem Punkt) und wird nicht veröffentlicht",
                    rel.display(),
                    if entry.file_type().is_dir() { "/" } else { "" }
                ),
            )
            .with_hint(
                "aus static/ entfernen (Geheimnisse wie .env gehören nie ins Repository)",
            ),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_means_a_dot_in_front_of_any_part_except_well_known() {
        assert!(is_hidden(Path::new(".env")));
        assert!(is_hidden(Path::new(".git/config")));
        assert!(is_hidden(Path::new("bilder/.DS_Store")));
        assert!(!is_hidden(Path::new(".well-known/security.txt")));
        assert!(!is_hidden(Path::new("dokumente/plan.v2.pdf")));
    }
}
