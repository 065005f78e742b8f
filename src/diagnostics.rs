//! Problems found in a site's input, reported with file, line and column, for people and for CI.
//!
//! Every loader collects [`Problem`]s instead of stopping at the first one, so an editor sees all
//! mistakes of a pull request at once. Two renderings exist: `human` (a caret under the offending
//! text, like rustc) and `github` (workflow commands that GitHub turns into annotations on the diff).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::text::{for_terminal, for_terminal_keeping_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One thing wrong with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// Path as the user knows it: relative to the site root when possible.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column (in characters), when known.
    pub column: Option<usize>,
    pub message: String,
    /// How to fix it, in the words of a helpful colleague.
    pub hint: Option<String>,
    /// The text of the offending line, for the caret display.
    pub source_line: Option<String>,
}

impl Problem {
    pub fn error(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    pub fn warning(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, message)
        }
    }

    /// Points the problem at `line`/`column` (1-based) and keeps that line of `source` for display.
    pub fn at(mut self, source: &str, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column.max(1));
        self.source_line = source
            .lines()
            .nth(line.saturating_sub(1))
            .map(str::to_owned);
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// A YAML error from serde-saphyr; `line_offset` is the number of lines in front of the YAML
    /// (1 for front matter after the opening `---`).
    pub fn from_yaml(
        file: &Path,
        source: &str,
        err: &serde_saphyr::Error,
        line_offset: usize,
    ) -> Self {
        let message = err.without_snippet().render();
        let problem = Problem::error(file, message);
        match err.location() {
            Some(loc) if loc.line() > 0 => problem.at(
                source,
                loc.line() as usize + line_offset,
                loc.column() as usize,
            ),
            _ => problem,
        }
    }

    /// `file:line:col` as far as known.
    pub fn position(&self) -> String {
        let mut s = self.file.display().to_string();
        if let Some(line) = self.line {
            let _ = write!(s, ":{line}");
            if let Some(col) = self.column {
                let _ = write!(s, ":{col}");
            }
        }
        s
    }
}

/// How problems are printed: for people, or as GitHub workflow commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Für Menschen: Datei, Zeile und eine Markierung unter dem Fehler.
    #[default]
    Human,
    /// GitHub-Workflow-Befehle: Anmerkungen an den geänderten Zeilen.
    Github,
}

pub fn render(problems: &[Problem], format: Format) -> String {
    let mut out = String::new();
    for p in problems {
        match format {
            Format::Human => render_human(&mut out, p),
            Format::Github => render_github(&mut out, p),
        }
    }
    out
}

fn render_human(out: &mut String, p: &Problem) {
    let label = match p.severity {
        Severity::Error => "Fehler",
        Severity::Warning => "Warnung",
    };
    // Messages quote values from files (a title, a category); a control character in one must not
    // reach the terminal (an ESC sequence could hide or rewrite the output).
    let _ = writeln!(out, "{label}: {}", for_terminal_keeping_lines(&p.message));
    let _ = writeln!(out, "  --> {}", for_terminal(&p.position()));
    if let (Some(line), Some(text)) = (p.line, &p.source_line) {
        let text = for_terminal_keeping_lines(text);
        let width = line.to_string().len();
        let _ = writeln!(out, "{:width$} |", "");
        let _ = writeln!(out, "{line} | {text}");
        let col = p.column.unwrap_or(1);
        let _ = writeln!(out, "{:width$} | {}^", "", " ".repeat(col - 1));
    }
    if let Some(hint) = &p.hint {
        let _ = writeln!(out, "  = Hinweis: {}", for_terminal_keeping_lines(hint));
    }
    out.push('\n');
}

/// `::error file=…,line=…,col=…::message` — see GitHub's "workflow commands" documentation.
fn render_github(out: &mut String, p: &Problem) {
    let kind = match p.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = format!("file={}", escape_property(&p.file.display().to_string()));
    if let Some(line) = p.line {
        let _ = write!(props, ",line={line}");
    }
    if let Some(col) = p.column {
        let _ = write!(props, ",col={col}");
    }
    let mut message = p.message.clone();
    if let Some(hint) = &p.hint {
        let _ = write!(message, "\nHinweis: {hint}");
    }
    let _ = writeln!(out, "::{kind} {props}::{}", escape_data(&message));
}

fn escape_data(s: &str) -> String {
    for_terminal_keeping_lines(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_rendering_points_a_caret_at_the_column() {
        let src = "title: x\ncategory: verkher\n";
        let p = Problem::error("content/notices/a.md", "unknown category `verkher`")
            .at(src, 2, 11)
            .with_hint("did you mean `verkehr`?");
        let text = render(&[p], Format::Human);
        assert!(text.contains("--> content/notices/a.md:2:11"), "{text}");
        assert!(text.contains("2 | category: verkher"), "{text}");
        assert!(text.contains("  |           ^"), "{text}");
        assert!(text.contains("Hinweis: did you mean `verkehr`?"), "{text}");
        assert!(text.starts_with("Fehler: unknown category"), "{text}");
    }

    #[test]
    fn control_characters_from_files_never_reach_the_terminal_or_the_ci_log() {
        let p = Problem::error("content/a.md", "unbekannte Kategorie `x\u{1b}[2J`")
            .at("category: x\u{1b}[2J\n", 1, 11)
            .with_hint("meinten Sie `\u{1b}]0;y\u{7}`?");
        for format in [Format::Human, Format::Github] {
            let text = render(std::slice::from_ref(&p), format);
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{7}'),
                "{text:?}"
            );
            assert!(text.contains("x\\u{1b}[2J"), "{text}");
        }
    }

    #[test]
    fn github_rendering_escapes_newlines_and_property_separators() {
        let p = Problem::error("content/a,b.md", "bad\nthing").at("x\n", 1, 3);
        let text = render(&[p], Format::Github);
        assert_eq!(
            text,
            "::error file=content/a%2Cb.md,line=1,col=3::bad%0Athing\n"
        );
    }
}
