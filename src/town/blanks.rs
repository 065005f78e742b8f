//! Blanks `aushang init` leaves in a new town site (`[[AUSFÜLLEN: …]]`): `check` reports each one
//! still there as an error with file, line and column, so a site never goes live with them.

use std::path::{Path, PathBuf};

use crate::config::{CONFIG_FILE, Config};
use crate::content::SiteContent;
use crate::diagnostics::Problem;

/// Opens a blank; `]]` closes it.
pub const OPEN: &str = "[[AUSFÜLLEN:";

/// The text of a blank asking for `what`.
pub fn blank(what: &str) -> String {
    format!("{OPEN} {what}]]")
}

/// One problem per blank in `text` (file shown as `display`).
pub fn in_text(display: &Path, text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(start) = line[from..].find(OPEN).map(|s| s + from) {
            let rest = &line[start + OPEN.len()..];
            let what = rest.split("]]").next().unwrap_or(rest).trim();
            let column = line[..start].chars().count() + 1;
            problems.push(
                Problem::error(display, format!("Noch nicht ausgefüllt: {what}"))
                    .at(text, i + 1, column)
                    .with_hint(
                        "ersetzen Sie [[AUSFÜLLEN: …]] samt Klammern durch den richtigen Text",
                    ),
            );
            from = start + OPEN.len();
        }
    }
    problems
}

/// Blanks in `aushang.yaml` and the pin file of the site in `root` (read even when the
/// configuration has other errors).
pub fn in_settings(root: &Path) -> Vec<Problem> {
    [CONFIG_FILE, super::PIN_FILE]
        .iter()
        .filter_map(|name| {
            let text = std::fs::read_to_string(root.join(name)).ok()?;
            Some(in_text(Path::new(name), &text))
        })
        .flatten()
        .collect()
}

/// Blanks in notices and pages. Only a file whose loaded text holds a blank is read again (for
/// the line numbers), so a large site costs no extra reading.
pub fn in_content(config: &Config, site: &SiteContent) -> Vec<Problem> {
    let notices = site.notices.iter().map(|n| {
        (
            &n.source,
            [&n.title, &n.summary, &n.body_markdown]
                .iter()
                .any(|t| t.contains(OPEN)),
        )
    });
    let pages = site.pages.iter().map(|p| {
        (
            &p.source,
            [&p.title, &p.description, &p.body_markdown]
                .iter()
                .any(|t| t.contains(OPEN)),
        )
    });
    notices
        .chain(pages)
        .filter(|(_, has)| *has)
        .flat_map(|(source, _): (&PathBuf, bool)| {
            let text = std::fs::read_to_string(config.root.join(source)).unwrap_or_default();
            in_text(source, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blank_is_found_with_line_and_column() {
        let text = "a\nTelefon: [[AUSFÜLLEN: Telefon]] und [[AUSFÜLLEN: Fax]]\nfertig\n";
        let p = in_text(Path::new("x.md"), text);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].line, p[0].column), (Some(2), Some(10)));
        assert!(p[0].message.ends_with("Telefon"), "{}", p[0].message);
        assert!(p[1].message.ends_with("Fax"));
        assert!(p.iter().all(Problem::is_error));
        assert!(in_text(Path::new("x.md"), "[[nichts]] hier").is_empty());
    }
}
