//! The theme: the embedded default templates, the site's `templates/` overrides, and the one
//! compiled [`Tera`] that renders every page.
//!
//! Overrides replace default files by name (`templates/notice.html` replaces the default
//! `notice.html`); extra files in `templates/` become templates of their own (partials). A
//! `templates/style.css` replaces the default style sheet. Templates see only the data aushang
//! hands them: Tera 2 has no `get_env`, and none is registered, so secrets in the environment of a
//! CI step can never end up in a page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tera::{ErrorKind, Kwargs, State, Tera};

use crate::config::Config;
use crate::diagnostics::Problem;
use crate::site::dates;

/// Folder of a site that overrides the default theme.
pub const TEMPLATES_DIR: &str = "templates";

/// The default theme, compiled into the binary so a site without `templates/` still builds.
const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../theme/base.html")),
    (
        "notice_card.html",
        include_str!("../../theme/notice_card.html"),
    ),
    (
        "pagination.html",
        include_str!("../../theme/pagination.html"),
    ),
    ("index.html", include_str!("../../theme/index.html")),
    ("category.html", include_str!("../../theme/category.html")),
    ("archive.html", include_str!("../../theme/archive.html")),
    (
        "archive_index.html",
        include_str!("../../theme/archive_index.html"),
    ),
    ("notice.html", include_str!("../../theme/notice.html")),
    ("page.html", include_str!("../../theme/page.html")),
    (
        "signup_form.html",
        include_str!("../../theme/signup_form.html"),
    ),
    ("404.html", include_str!("../../theme/404.html")),
    ("redirect.html", include_str!("../../theme/redirect.html")),
    ("atom.xml", include_str!("../../theme/atom.xml")),
    ("sitemap.xml", include_str!("../../theme/sitemap.xml")),
    ("robots.txt", include_str!("../../theme/robots.txt")),
];

const DEFAULT_CSS: &str = include_str!("../../theme/style.css");
const CSS_NAME: &str = "style.css";
/// The e-mail's HTML part: a theme file (overridable, versioned) but no page template, rendered
/// by the e-mail provider (`providers::email::html`) and not part of the site's Tera.
const MAIL_HTML: &str = include_str!("../../theme/mail.html");
const MAIL_NAME: &str = "mail.html";

/// The embedded theme's text of `name` (a template or `style.css`), if the theme has that file.
pub fn default_text(name: &str) -> Option<&'static str> {
    if name == CSS_NAME {
        return Some(DEFAULT_CSS);
    }
    if name == MAIL_NAME {
        return Some(MAIL_HTML);
    }
    DEFAULT_TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The files under `templates/` (name, path) that replace a file of the embedded theme.
pub fn overrides_of_defaults(root: &Path) -> Vec<(String, PathBuf)> {
    override_files(root, &mut Vec::new())
        .into_iter()
        .filter(|(name, _)| default_text(name).is_some())
        .collect()
}

/// A template's text and the file it came from, so errors point at a file the user can open
/// (`templates/x.html` for overrides, `theme/x.html` for the embedded default).
#[derive(Debug, Clone)]
struct Source {
    text: String,
    file: PathBuf,
}

type Sources = BTreeMap<String, Source>;

/// The compiled theme.
pub struct Theme {
    pub tera: Tera,
    /// The style sheet (default or overridden).
    pub css: String,
    sources: Sources,
}

impl Theme {
    /// Loads the default theme plus the overrides in `<root>/templates/` and compiles it.
    /// Problems name the template file with line and column.
    pub fn load(config: &Config) -> Result<Theme, Vec<Problem>> {
        let mut sources: Sources = DEFAULT_TEMPLATES
            .iter()
            .map(|(name, text)| {
                let file = Path::new("theme").join(name);
                (
                    name.to_string(),
                    Source {
                        text: text.to_string(),
                        file,
                    },
                )
            })
            .collect();
        let mut css = DEFAULT_CSS.to_string();
        let mut problems = Vec::new();
        for (name, file) in override_files(&config.root, &mut problems) {
            if name == MAIL_NAME {
                continue; // the e-mail's, checked by `providers::email::html::check`
            }
            let display = Path::new(TEMPLATES_DIR).join(&name);
            match std::fs::read(&file) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) if name == CSS_NAME => css = text,
                    Ok(text) => {
                        sources.insert(
                            name,
                            Source {
                                text,
                                file: display,
                            },
                        );
                    }
                    Err(_) => {
                        problems.push(Problem::error(display, "die Vorlage ist kein UTF-8-Text"))
                    }
                },
                Err(e) => problems.push(Problem::error(
                    display,
                    format!("die Vorlage lässt sich nicht lesen: {e}"),
                )),
            }
        }
        let tera = compile(config, &sources, &mut problems);
        match tera {
            Some(tera) if problems.is_empty() => {
                // `url(/…)` in the style sheet, like links in pages, is below a sub-path base_url.
                let css = crate::site::base_path::prefix_css(&css, config.base_path());
                Ok(Theme { tera, css, sources })
            }
            _ => Err(problems),
        }
    }

    /// The file behind a template name, as shown in messages.
    pub fn file_of(&self, name: &str) -> PathBuf {
        origin_file(&self.sources, name)
    }

    /// The file of the first template (overrides first) whose text contains `needle`.
    pub fn file_with(&self, needle: &str) -> Option<PathBuf> {
        let mut sources: Vec<&Source> = self.sources.values().collect();
        sources.sort_by_key(|s| !s.file.starts_with(TEMPLATES_DIR));
        sources
            .into_iter()
            .find(|s| s.text.contains(needle))
            .map(|s| s.file.clone())
    }

    /// Turns a Tera error into a problem at the template file and line it points to.
    pub fn problem(&self, err: &tera::Error, fallback_template: &str) -> Problem {
        error_to_problems(err, &self.sources, fallback_template)
            .into_iter()
            .next()
            .unwrap_or_else(|| Problem::error(self.file_of(fallback_template), err.to_string()))
    }
}

fn origin_file(sources: &Sources, name: &str) -> PathBuf {
    match sources.get(name) {
        Some(s) => s.file.clone(),
        None => Path::new(TEMPLATES_DIR).join(name),
    }
}

/// Files under `templates/`, keyed by their `/`-separated name, sorted.
fn override_files(root: &Path, problems: &mut Vec<Problem>) -> Vec<(String, PathBuf)> {
    let dir = root.join(TEMPLATES_DIR);
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem::error(
                    TEMPLATES_DIR,
                    format!("der Ordner lässt sich nicht lesen: {e}"),
                ));
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(&dir).unwrap_or(entry.path());
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        // Editor backups and notes (README.md, .swp) are not templates.
        let is_template = [".html", ".xml", ".txt", ".css"]
            .iter()
            .any(|s| name.ends_with(s));
        if is_template && !name.starts_with('.') && !name.contains("/.") {
            out.push((name, entry.path().to_path_buf()));
        }
    }
    out
}

/// Compiles all sources; a syntax error drops that template and compiling continues so that every
/// broken file is reported in one run.
fn compile(config: &Config, sources: &Sources, problems: &mut Vec<Problem>) -> Option<Tera> {
    let mut remaining: Vec<(&str, &str)> = sources
        .iter()
        .map(|(n, s)| (n.as_str(), s.text.as_str()))
        .collect();
    loop {
        let mut tera = new_tera(config);
        match tera.add_raw_templates(remaining.iter().copied()) {
            Ok(()) if problems.is_empty() => return Some(tera),
            Ok(()) => return None,
            Err(err) => {
                let failed = match err.kind() {
                    ErrorKind::SyntaxError(r) => Some(r.filename().to_string()),
                    _ => None,
                };
                problems.extend(error_to_problems(&err, sources, ""));
                match failed {
                    Some(name) if remaining.iter().any(|(n, _)| *n == name) => {
                        remaining.retain(|(n, _)| *n != name);
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// A Tera with aushang's filters and nothing that reaches outside the given data.
fn new_tera(config: &Config) -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on(vec![".html", ".xml"]);
    let tz = config.timezone.clone();
    tera.register_filter("datum", move |v: &str, _: Kwargs, _: &State| {
        parse_ts(v).map(|ts| dates::date_de(ts, &tz))
    });
    let tz = config.timezone.clone();
    tera.register_filter("datum_zeit", move |v: &str, _: Kwargs, _: &State| {
        parse_ts(v).map(|ts| dates::date_time_de(ts, &tz))
    });
    let tz = config.timezone.clone();
    tera.register_filter("bis", move |v: &str, _: Kwargs, _: &State| {
        parse_ts(v).map(|ts| dates::until_de(ts, &tz))
    });
    let tz: TimeZone = config.timezone.clone();
    tera.register_filter("iso", move |v: &str, _: Kwargs, _: &State| {
        parse_ts(v).map(|ts| dates::iso_local(ts, &tz))
    });
    tera
}

fn parse_ts(v: &str) -> tera::TeraResult<Timestamp> {
    v.parse::<Timestamp>().map_err(|e| {
        tera::Error::message(format!(
            "`{v}` ist kein Zeitpunkt für die Datumsfilter ({e})"
        ))
    })
}

/// Splits a Tera error (which may hold several reports) into problems with file, line, column.
fn error_to_problems(
    err: &tera::Error,
    sources: &Sources,
    fallback_template: &str,
) -> Vec<Problem> {
    match err.kind() {
        ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) => {
            let file = origin_file(sources, r.filename());
            let span = r.span();
            let source = template_source(sources, r.filename());
            let mut p = Problem::error(&file, format!("Vorlage fehlerhaft (Meldung der Vorlagen-Bibliothek: {})", r.message()));
            if let Some(src) = source {
                p = p.at(src, span.start_line, span.start_col + 1);
            } else {
                p.line = Some(span.start_line);
                p.column = Some(span.start_col + 1);
            }
            vec![p.with_hint(template_hint(r.message()))]
        }
        ErrorKind::Msg(text) if text.contains("--> ") => text
            .split("\n\n")
            .filter_map(|report| report_to_problem(report, sources))
            .collect(),
        ErrorKind::MissingParent { current, parent } => vec![
            Problem::error(
                origin_file(sources, current),
                format!("Vorlage fehlerhaft: `{current}` erweitert `{parent}`, diese Vorlage gibt es nicht"),
            )
            .with_hint(
                "den Namen in {% extends %} prüfen; die mitgelieferten Vorlagen stehen im README",
            ),
        ],
        _ => {
            let file = if fallback_template.is_empty() {
                PathBuf::from(TEMPLATES_DIR)
            } else {
                origin_file(sources, fallback_template)
            };
            vec![Problem::error(file, format!("Vorlage fehlerhaft (Meldung der Vorlagen-Bibliothek: {err})"))]
        }
    }
}

/// Parses one of Tera's text reports (`error: msg\n --> name:line:col\n...`).
fn report_to_problem(report: &str, sources: &Sources) -> Option<Problem> {
    let message = report
        .lines()
        .next()?
        .trim()
        .trim_start_matches("error: ")
        .to_string();
    let locus = report.lines().find_map(|l| l.trim().strip_prefix("--> "))?;
    let mut parts = locus.rsplitn(3, ':');
    let col: usize = parts.next()?.parse().ok()?;
    let line: usize = parts.next()?.parse().ok()?;
    let name = parts.next()?;
    let file = origin_file(sources, name);
    let p = Problem::error(
        file,
        format!("Vorlage fehlerhaft (Meldung der Vorlagen-Bibliothek: {message})"),
    );
    let p = match template_source(sources, name) {
        Some(src) => p.at(src, line, col),
        None => Problem {
            line: Some(line),
            column: Some(col),
            ..p
        },
    };
    Some(p.with_hint(template_hint(&message)))
}

fn template_source<'a>(sources: &'a Sources, name: &str) -> Option<&'a str> {
    sources.get(name).map(|s| s.text.as_str())
}

fn template_hint(message: &str) -> String {
    if message.contains("get_env") {
        "Vorlagen können keine Umgebungsvariablen lesen; Werte gehören in aushang.yaml".into()
    } else if message.contains("Unknown filter") {
        "aushang ergänzt die Filter datum, datum_zeit, bis und iso zu den Filtern von Tera".into()
    } else if message.contains("not found")
        || message.contains("Undefined")
        || message.contains("undefined")
    {
        "welche Variablen jede Vorlage bekommt, steht im README (Abschnitt Templates)".into()
    } else {
        "siehe die Dokumentation von Tera 2 unter https://keats.github.io/tera/".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_at(root: &Path) -> Config {
        let text = "title: T\nbase_url: https://example.org/\n";
        crate::config::parse(root, Path::new("aushang.yaml"), text).unwrap()
    }

    #[test]
    fn the_default_theme_compiles() {
        let dir = tempfile::tempdir().unwrap();
        let theme = Theme::load(&config_at(dir.path())).unwrap_or_else(|p| panic!("{p:?}"));
        assert!(theme.css.contains("focus-visible"));
        assert_eq!(theme.file_of("notice.html"), Path::new("theme/notice.html"));
    }

    #[test]
    fn get_env_is_not_available_to_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(
            dir.path().join("templates/404.html"),
            "{% extends \"base.html\" %}\n{% block main %}{{ get_env(name=\"HOME\") }}{% endblock main %}\n",
        )
        .unwrap();
        let problems = Theme::load(&config_at(dir.path()))
            .err()
            .expect("must fail");
        let p = &problems[0];
        assert_eq!(p.file, Path::new("templates/404.html"), "{problems:?}");
        assert!(p.message.contains("get_env"), "{p:?}");
        assert_eq!(p.line, Some(2), "{p:?}");
    }

    #[test]
    fn every_broken_template_is_reported_at_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/a.html"), "ok\n{% if %}\n").unwrap();
        std::fs::write(dir.path().join("templates/b.html"), "{{ x | nofilter }}").unwrap();
        std::fs::write(dir.path().join("templates/c.html"), "{% for %}").unwrap();
        let problems = Theme::load(&config_at(dir.path()))
            .err()
            .expect("must fail");
        let files: Vec<_> = problems
            .iter()
            .map(|p| p.file.display().to_string())
            .collect();
        assert!(
            files.contains(&"templates/a.html".to_string()),
            "{problems:?}"
        );
        assert!(
            files.contains(&"templates/c.html".to_string()),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.file == Path::new("templates/a.html") && p.line == Some(2))
        );
    }
}
