//! Addresses the site generator writes itself, which an alias may not take, and aliases that
//! would collide with a file under `static/`.
//!
//! An alias becomes a folder with an `index.html` redirect, so `/atom.xml/` needs a folder named
//! `atom.xml` where the feed is a file: the build failed on it without naming the notice. The
//! loader reports such an alias at its line instead, for `check` and the build alike.

use std::path::Path;

/// First path segments of generated files and folders (see `aushang::site`): the feeds, sitemap,
/// robots.txt, 404 page, the front page's pages, the archive and the categories. Aliases under
/// `/bekanntmachungen/` stay allowed (an old notice address is what aliases are for); one equal
/// to a notice's own address is reported as a clash between the two files.
pub const GENERATED_ROOTS: &[&str] = &[
    "atom.xml",
    "sitemap.xml",
    "robots.txt",
    "404.html",
    "seite",
    "archiv",
    "kategorie",
];

/// Why the alias `path` (normalised, `/…/`) cannot be written, with a hint; `None` if it can.
pub fn alias_clash(root: &Path, path: &str) -> Option<(String, String)> {
    let rel = path.trim_matches('/');
    let first = rel.split('/').next().unwrap_or_default();
    if rel.is_empty()
        || GENERATED_ROOTS.contains(&first)
        || (first.starts_with("style.") && first.ends_with(".css"))
    {
        return Some((
            format!(
                "die Adresse {path} gehört der Website selbst (Startseite, Feeds, Archiv, Kategorien)"
            ),
            format!(
                "ein Alias ist eine alte Adresse dieser Bekanntmachung; Adressen, die mit {} beginnen, erzeugt aushang selbst",
                GENERATED_ROOTS
                    .iter()
                    .map(|r| format!("/{r}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let static_dir = root.join("static");
    let mut prefix = static_dir.clone();
    for part in rel.split('/') {
        prefix.push(part);
        if prefix.is_file() {
            return Some((
                format!(
                    "die Adresse {path} braucht einen Ordner, wo die Datei `static/{}` liegt",
                    prefix
                        .strip_prefix(&static_dir)
                        .unwrap_or(&prefix)
                        .display()
                ),
                "wählen Sie eine andere Adresse für den Alias".into(),
            ));
        }
    }
    if prefix.join("index.html").exists() {
        return Some((
            format!("unter der Adresse {path} liegt schon `static/{rel}/index.html`"),
            "wählen Sie eine andere Adresse für den Alias".into(),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_addresses_and_static_files_are_not_aliases() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("static/dokumente/alt")).unwrap();
        std::fs::write(root.path().join("static/dokumente/plan.pdf"), b"%PDF").unwrap();
        std::fs::write(root.path().join("static/dokumente/alt/index.html"), b"x").unwrap();
        for taken in [
            "/",
            "/atom.xml/",
            "/sitemap.xml/",
            "/seite/2/",
            "/archiv/",
            "/kategorie/verkehr/atom.xml/",
            "/style.0a1b2c3d.css/",
            "/dokumente/plan.pdf/",
            "/dokumente/plan.pdf/x/",
            "/dokumente/alt/",
        ] {
            assert!(alias_clash(root.path(), taken).is_some(), "{taken}");
        }
        for free in [
            "/wasser/",
            "/bekanntmachungen/2025/wasser/",
            "/dokumente/",
            "/atom/",
        ] {
            assert_eq!(alias_clash(root.path(), free), None, "{free}");
        }
    }
}
