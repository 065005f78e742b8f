//! Which version of the embedded theme a `templates/` override was copied from, and what `check`
//! says when the theme's file has changed since.
//!
//! Every file of the embedded theme has a version: a short fingerprint of its text (it changes
//! exactly when the file does, with no number to forget to bump). An override records the
//! version it was copied from in its first line:
//!
//! ```text
//! {# aushang-theme: notice.html 3f9c0a51d2e4 -#}
//! /* aushang-theme: style.css 3f9c0a51d2e4 */
//! ```
//!
//! `check` warns, naming the template, when an override records no version, or an older one; the
//! warning lists the blocks and variables the theme's file has and the copy lacks (and blocks the
//! copy defines that the theme no longer has), and gives the line to put once the copy is updated.

use std::collections::BTreeSet;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::diagnostics::Problem;
use crate::site::theme::{TEMPLATES_DIR, default_text, overrides_of_defaults};

const MARKER: &str = "aushang-theme:";

/// Where a town (whose repository holds no `theme/`) reads this version's theme file.
fn theme_source(name: &str) -> String {
    format!(
        "{}/blob/v{}/theme/{name}",
        crate::town::REPOSITORY,
        env!("CARGO_PKG_VERSION")
    )
}

/// The version of the embedded theme's file `name`, if the theme has it.
pub fn version_of(name: &str) -> Option<String> {
    default_text(name).map(fingerprint)
}

/// The first line an override of `name` copied from today's theme carries.
pub fn marker_line(name: &str) -> Option<String> {
    let version = version_of(name)?;
    Some(if name.ends_with(".css") {
        format!("/* {MARKER} {name} {version} */")
    } else {
        format!("{{# {MARKER} {name} {version} -#}}")
    })
}

fn fingerprint(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..12].to_string()
}

/// The (template, version) an override's first line records, if it has the marker.
fn recorded(text: &str) -> Option<(String, String)> {
    let first = text.lines().next()?;
    let rest = &first[first.find(MARKER)? + MARKER.len()..];
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_string();
    let version = words
        .next()?
        .trim_end_matches(['#', '}', '-', '*', '/'])
        .to_string();
    (!version.is_empty()).then_some((name, version))
}

/// Warnings for every override in `<root>/templates/` whose theme file changed since it was
/// copied, or that does not say which version it was copied from.
pub fn check(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, path) in overrides_of_defaults(root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // the theme loader reports unreadable files
        };
        let (Some(theme), Some(current), Some(line)) =
            (default_text(&name), version_of(&name), marker_line(&name))
        else {
            continue;
        };
        let file = Path::new(TEMPLATES_DIR).join(&name);
        match recorded(&text) {
            Some((_, version)) if version == current => {}
            None => problems.push(
                Problem::warning(
                    &file,
                    format!(
                        "{} ersetzt theme/{name}, sagt aber nicht, von welcher Version des Themes es kopiert wurde; \
                         ändert sich das Theme, bemerkt das niemand",
                        file.display()
                    ),
                )
                .with_hint(format!(
                    "vergleichen Sie die Datei mit theme/{name} von aushang {} ({}) und setzen Sie als erste Zeile: {line}",
                    env!("CARGO_PKG_VERSION"),
                    theme_source(&name)
                )),
            ),
            Some((recorded_name, _)) if recorded_name != name => problems.push(
                Problem::warning(
                    &file,
                    format!(
                        "die erste Zeile nennt das Theme-Template {recorded_name}, die Datei ersetzt aber theme/{name}"
                    ),
                )
                .at(&text, 1, 1)
                .with_hint(format!("vergleichen Sie die Datei mit theme/{name} und setzen Sie als erste Zeile: {line}")),
            ),
            Some((_, version)) => {
                let changes = differences(theme, &text);
                let what = if changes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", changes.join("; "))
                };
                problems.push(
                    Problem::warning(
                        &file,
                        format!(
                            "theme/{name} hat sich geändert, seit {} kopiert wurde (Version {version} → {current}){what}",
                            file.display()
                        ),
                    )
                    .at(&text, 1, 1)
                    .with_hint(format!(
                        "übernehmen Sie die Änderungen aus theme/{name} von aushang {} ({}; was sich \
                         geändert hat, steht in CHANGELOG.md) und setzen Sie dann als erste Zeile: {line}",
                        env!("CARGO_PKG_VERSION"),
                        theme_source(&name)
                    )),
                );
            }
        }
    }
    problems
}

/// What the theme's file has that the copy lacks, and blocks only the copy still defines.
fn differences(theme: &str, copy: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (theme_blocks, copy_blocks) = (blocks(theme), blocks(copy));
    let added: Vec<_> = theme_blocks.difference(&copy_blocks).cloned().collect();
    let removed: Vec<_> = copy_blocks.difference(&theme_blocks).cloned().collect();
    let vars: Vec<_> = variables(theme)
        .difference(&variables(copy))
        .cloned()
        .collect();
    if !added.is_empty() {
        out.push(format!(
            "Blöcke im Theme, nicht in der Kopie: {}",
            added.join(", ")
        ));
    }
    if !removed.is_empty() {
        out.push(format!(
            "Blöcke nur noch in der Kopie (das Theme hat sie nicht mehr): {}",
            removed.join(", ")
        ));
    }
    if !vars.is_empty() {
        out.push(format!(
            "Variablen im Theme, nicht in der Kopie: {}",
            vars.join(", ")
        ));
    }
    out
}

/// The contents of every `{% … %}` and `{{ … }}` tag.
fn tags(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start..];
        let close = if after.starts_with("{%") {
            "%}"
        } else if after.starts_with("{{") {
            "}}"
        } else {
            rest = &after[1..];
            continue;
        };
        match after[2..].find(close) {
            Some(end) => {
                out.push(after[2..2 + end].trim_matches(['-', ' ', '\n', '\t']));
                rest = &after[2 + end + 2..];
            }
            None => break,
        }
    }
    out
}

/// Names of the blocks a template defines.
fn blocks(text: &str) -> BTreeSet<String> {
    tags(text)
        .into_iter()
        .filter_map(|t| t.strip_prefix("block "))
        .filter_map(|t| t.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// Dotted data paths a template reads (`notice.title`, `config.contact.phone`); text inside quotes
/// is skipped.
fn variables(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for tag in tags(text) {
        let mut quoted = None;
        let mut word = String::new();
        for c in tag.chars().chain([' ']) {
            if let Some(q) = quoted {
                if c == q {
                    quoted = None;
                }
                continue;
            }
            if c == '"' || c == '\'' || c == '`' {
                quoted = Some(c);
                word.clear();
            } else if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                word.push(c);
            } else {
                let w = word.trim_matches('.');
                if w.contains('.') && w.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    out.insert(w.to_string());
                }
                word.clear();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site_with(name: &str, text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(TEMPLATES_DIR)).unwrap();
        std::fs::write(dir.path().join(TEMPLATES_DIR).join(name), text).unwrap();
        dir
    }

    #[test]
    fn every_theme_file_has_a_version_that_follows_its_text() {
        let v = version_of("notice.html").unwrap();
        assert_eq!(v.len(), 12);
        assert_ne!(v, version_of("page.html").unwrap());
        assert!(version_of("style.css").is_some());
        assert!(version_of("partial.html").is_none());
        assert_eq!(fingerprint("a"), fingerprint("a"));
        assert_ne!(fingerprint("a"), fingerprint("b"));
    }

    #[test]
    fn a_copy_of_todays_theme_with_its_marker_passes() {
        let theme = default_text("notice.html").unwrap();
        let copy = format!("{}\n{theme}", marker_line("notice.html").unwrap());
        let dir = site_with("notice.html", &copy);
        assert!(check(dir.path()).is_empty(), "{:?}", check(dir.path()));
        let css = format!(
            "{}\n{}",
            marker_line("style.css").unwrap(),
            default_text("style.css").unwrap()
        );
        let dir = site_with("style.css", &css);
        assert!(check(dir.path()).is_empty());
    }

    #[test]
    fn a_copy_without_a_marker_is_named_with_the_line_to_add() {
        let dir = site_with("notice.html", default_text("notice.html").unwrap());
        let p = check(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(!p[0].is_error());
        assert_eq!(p[0].file, Path::new("templates/notice.html"));
        assert!(p[0].message.contains("theme/notice.html"), "{p:?}");
        let hint = p[0].hint.as_deref().unwrap();
        assert!(
            hint.contains(&marker_line("notice.html").unwrap()),
            "{hint}"
        );
    }

    #[test]
    fn a_copy_of_an_older_theme_names_what_changed() {
        let current = version_of("notice.html").unwrap();
        let copy = "{# aushang-theme: notice.html 000000000000 -#}\n\
                    {% extends \"base.html\" %}\n\
                    {% block main %}<h1>{{ notice.title }}</h1>{% endblock %}\n\
                    {% block sidebar_old %}{% endblock %}\n";
        let dir = site_with("notice.html", copy);
        let p = check(dir.path());
        assert_eq!(p.len(), 1, "{p:?}");
        let m = &p[0].message;
        assert!(
            m.contains("theme/notice.html hat sich geändert")
                && m.contains(&format!("000000000000 → {current}")),
            "{m}"
        );
        assert!(
            m.contains("Blöcke nur noch in der Kopie (das Theme hat sie nicht mehr): sidebar_old"),
            "{m}"
        );
        // the theme's notice page reads more than the title: those variables are listed
        let missing: Vec<_> = variables(default_text("notice.html").unwrap())
            .into_iter()
            .filter(|v| v != "notice.title")
            .collect();
        assert!(!missing.is_empty());
        assert!(m.contains(&missing[0]), "{m}");
        assert!(
            !m.contains("notice.title,") && !m.ends_with("notice.title"),
            "{m}"
        );
        assert_eq!(p[0].line, Some(1));
        let hint = p[0].hint.as_deref().unwrap();
        assert!(hint.contains("CHANGELOG.md"), "{hint}");
        assert!(
            hint.contains(&format!(
                "https://github.com/aushang/aushang/blob/v{}/theme/notice.html",
                env!("CARGO_PKG_VERSION")
            )),
            "a town without theme/ can read the file: {hint}"
        );
    }

    #[test]
    fn partials_of_its_own_are_not_versioned() {
        let dir = site_with("rathaus.html", "<p>Rathaus</p>");
        assert!(check(dir.path()).is_empty());
    }

    #[test]
    fn the_scanner_reads_blocks_and_dotted_variables_but_not_strings() {
        let t = "{%- block main -%}{{ notice.title | upper }}{% if config.contact.phone %}\
                 {{ \"a.b\" }}{% endif %}{% endblock main %}";
        assert_eq!(blocks(t), BTreeSet::from(["main".to_string()]));
        assert_eq!(
            variables(t),
            BTreeSet::from(["config.contact.phone".into(), "notice.title".into()])
        );
    }
}
