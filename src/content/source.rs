//! One content file as read from disk: size and encoding checks, the split into front matter and
//! body, and pointing problems at the right line of the `.md` file.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostics::Problem;

/// Notices are short; anything bigger is a mistake (a pasted PDF, a log file) and is refused
/// before it is read whole.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A content file split into its parts. `text` is the whole file (for the caret display).
#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the site root, as editors know it.
    pub file: PathBuf,
    pub text: String,
    /// Byte range of the YAML between the `---` lines.
    yaml: std::ops::Range<usize>,
    /// Byte offset where the body starts (after the closing `---` line).
    body_start: usize,
    /// Lines in front of the YAML (the opening `---`), to turn YAML lines into file lines.
    yaml_line_offset: usize,
}

impl SourceFile {
    /// Reads `root/file` with the size and encoding checks.
    pub fn read(root: &Path, file: &Path) -> Result<SourceFile, Box<Problem>> {
        let text = read_text(&root.join(file), file)?;
        SourceFile::parse(file.to_path_buf(), text)
    }

    /// Splits text already in memory (used by tests and by `read`).
    pub fn parse(file: PathBuf, text: String) -> Result<SourceFile, Box<Problem>> {
        if text.trim().is_empty() {
            return Err(Box::new(
                Problem::error(&file, "die Datei ist leer").with_hint(
                    "eine Bekanntmachung beginnt mit einem Kopf zwischen zwei `---`-Zeilen; \
                 `aushang new \"Titel\"` legt eine fertige Vorlage an",
                ),
            ));
        }
        let start = if text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        let mut lines = LineIter {
            text: &text,
            pos: start,
        };
        let first = lines.next().map(|(_, l)| l);
        if first.map(str::trim_end) != Some("---") {
            return Err(Box::new(
                Problem::error(&file, "die Datei beginnt nicht mit `---` (Kopf mit den Angaben fehlt)")
                    .at(&text, 1, 1)
                    .with_hint("die erste Zeile muss genau `---` sein, danach folgen title, date, summary …, dann wieder `---`"),
            ));
        }
        let yaml_start = lines.pos;
        while let Some((line_start, line)) = lines.next() {
            if line.trim_end() == "---" {
                return Ok(SourceFile {
                    yaml: yaml_start..line_start,
                    body_start: lines.pos,
                    yaml_line_offset: 1,
                    file,
                    text,
                });
            }
        }
        Err(Box::new(
            Problem::error(&file, "der Kopf wird nicht mit einer `---`-Zeile abgeschlossen")
                .at(&text, 1, 1)
                .with_hint("setzen Sie nach der letzten Angabe (z. B. `summary: …`) eine Zeile `---`, danach folgt der Text"),
        ))
    }

    pub fn yaml(&self) -> &str {
        &self.text[self.yaml.clone()]
    }

    /// The Markdown body: everything after the closing `---` line, unchanged, so that it is a
    /// suffix of the file and positions inside it can be mapped back to file lines.
    pub fn body(&self) -> &str {
        &self.text[self.body_start..]
    }

    /// The 1-based file line of the first body line.
    pub fn body_first_line(&self) -> usize {
        line_of_offset(&self.text, self.body_start)
    }

    /// An error about the whole file, shown at its first line.
    pub fn error(&self, message: impl Into<String>) -> Problem {
        Problem::error(&self.file, message).at(&self.text, 1, 1)
    }

    /// An error pointing at the YAML value `at`.
    pub fn error_at<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> Problem {
        self.point(Problem::error(&self.file, message), at)
    }

    pub fn warning_at<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> Problem {
        self.point(Problem::warning(&self.file, message), at)
    }

    /// The file line and column of a YAML value.
    pub fn position<T>(&self, at: &Spanned<T>) -> Option<(usize, usize)> {
        let loc = at.referenced;
        (loc.line() > 0).then(|| {
            (
                loc.line() as usize + self.yaml_line_offset,
                loc.column().max(1) as usize,
            )
        })
    }

    fn point<T>(&self, p: Problem, at: &Spanned<T>) -> Problem {
        match self.position(at) {
            Some((line, col)) => p.at(&self.text, line, col),
            None => p.at(&self.text, 1, 1),
        }
    }

    /// Deserialises the front matter into `T`, reporting unknown keys (with a suggestion from
    /// `known`) and YAML errors at their file positions. `None` when `T` could not be built.
    pub fn front_matter<T: serde::de::DeserializeOwned>(
        &self,
        known: &[&str],
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        // Empty front matter is an empty mapping: the missing required fields are reported
        // one by one instead of an obscure "expected a map".
        let yaml = if self.yaml().trim().is_empty() {
            "{}"
        } else {
            self.yaml()
        };
        let options = crate::config::yaml_options();
        // Fast path: when every top-level key is visibly a known one, a successful parse into `T`
        // is all there is to report; parsing the keys separately only pays for unknown keys or
        // for YAML that fails to parse (then the full path below reports it as before).
        if only_known_keys(yaml, known)
            && let Ok(v) = serde_saphyr::from_str_with_options::<T>(yaml, options.clone())
        {
            return Some(v);
        }
        match serde_saphyr::from_str_with_options::<TopKeys>(yaml, options.clone()) {
            Ok(TopKeys(keys)) => {
                for key in keys {
                    if !known.contains(&key.value.as_str()) {
                        let mut p =
                            self.error_at(&key, format!("unbekanntes Feld `{}`", key.value));
                        p = match super::did_you_mean(&key.value, known.iter().copied()) {
                            Some(s) => p.with_hint(format!("meinten Sie `{s}`?")),
                            None => p.with_hint(format!("erlaubt sind: {}", known.join(", "))),
                        };
                        problems.push(p);
                    }
                }
            }
            Err(e) => {
                problems.push(self.yaml_problem(yaml, &e));
                return None;
            }
        }
        match serde_saphyr::from_str_with_options::<T>(yaml, options) {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push(self.yaml_problem(yaml, &e));
                None
            }
        }
    }

    fn yaml_problem(&self, _yaml: &str, e: &serde_saphyr::Error) -> Problem {
        let p = Problem::from_yaml(&self.file, &self.text, e, self.yaml_line_offset);
        // The parser counts lines from the start of the front matter; the position shown is the
        // file's, so its own "at line …" would only confuse.
        let message = strip_yaml_location(&p.message);
        let mut p = Problem {
            message: format!("fehlerhafter Kopf (Meldung der YAML-Bibliothek: {message})"),
            ..p
        };
        if p.hint.is_none()
            && let Some(hint) = p.source_line.as_deref().and_then(yaml_hint)
        {
            p = p.with_hint(hint);
        }
        if p.line.is_some() {
            p
        } else {
            p.at(&self.text, 1, 1)
        }
    }
}

/// `unknown field … at line 6, column 5` → `unknown field …`.
fn strip_yaml_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i)
            if message[i + 9..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == ' ' || "column".contains(c)) =>
        {
            &message[..i]
        }
        _ => message,
    }
}

/// How the field on a line with a YAML error is written correctly.
fn yaml_hint(line: &str) -> Option<String> {
    if line.starts_with("- ") {
        return Some("der Kopf besteht aus Zeilen der Form `feld: wert`, ohne `-` davor".into());
    }
    let key = line
        .trim_start()
        .trim_start_matches("- ")
        .split(':')
        .next()?
        .trim();
    let example = match key {
        "tags" => "eine Liste in eckigen Klammern: `tags: [Baustelle, Umleitung]`",
        "aliases" => "eine Liste: `aliases: [/alte-adresse/]`",
        "attachments" => {
            "eine Liste; jeder Eintrag beginnt mit `  - file: dokumente/name.pdf`, darunter `    label: Beschriftung`"
        }
        "file" | "label" => "jeder Anhang hat genau die Felder `file` und `label`",
        "updates" => {
            "eine Liste; jeder Eintrag beginnt mit `  - date: 2026-11-28 10:00`, darunter `    text: …`"
        }
        "text" => "jede Aktualisierung hat genau die Felder `date` und `text`",
        "draft" | "urgent" | "broadcast" => "schreiben Sie `true` (ja) oder `false` (nein)",
        "title" | "summary" | "image_alt" | "description" => {
            "enthält der Text einen Doppelpunkt mit Leerzeichen (`: `) oder beginnt er mit einem Sonderzeichen, setzen Sie ihn in Anführungszeichen: `\"…\"`"
        }
        _ => return None,
    };
    Some(example.to_string())
}

/// Whether the YAML is a plain block mapping whose top-level keys are all in `known`, judged from
/// the text: the first content line and every line starting in column 0 (other than comments)
/// must be `key:` with a known, unquoted key. Anything else (quoted or complex keys, flow
/// mappings, documents markers, indentation at the top) answers `false`, and the caller parses
/// the keys properly. Since a block mapping's keys all start in the column of its first key,
/// `true` means no top-level key is unknown.
fn only_known_keys(yaml: &str, known: &[&str]) -> bool {
    let mut seen_key = false;
    for line in yaml.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if !seen_key {
                return false;
            }
            continue;
        }
        let Some((key, rest)) = line.split_once(':') else {
            return false;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) || !known.contains(&key) {
            return false;
        }
        seen_key = true;
    }
    seen_key
}

/// Reads a file as UTF-8 text, refusing big files before reading them.
pub fn read_text(path: &Path, display: &Path) -> Result<String, Box<Problem>> {
    let cannot = |e: std::io::Error| {
        Box::new(Problem::error(
            display,
            format!("die Datei kann nicht gelesen werden: {e}"),
        ))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    let too_big = |len: u64| {
        Box::new(Problem::error(
            display,
            format!(
                "die Datei ist zu groß ({} KiB; höchstens {} KiB)",
                len / 1024,
                MAX_FILE_BYTES / 1024
            ),
        )
        .with_hint("Bekanntmachungen sind kurze Texte; lange Dokumente gehören als PDF unter static/ und werden mit `attachments` angehängt"))
    };
    if len > MAX_FILE_BYTES {
        return Err(too_big(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // The file may grow between the size check and the read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let good = std::str::from_utf8(good).unwrap_or_default();
        let line = good.matches('\n').count() + 1;
        let col = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let mut p = Problem::error(display, "die Datei ist kein UTF-8-Text (falsche Zeichenkodierung)")
            .with_hint("speichern Sie die Datei als UTF-8; der GitHub-Editor tut das von selbst, Word- oder Windows-Editoren manchmal nicht");
        p.line = Some(line);
        p.column = Some(col);
        Box::new(p)
    })
}

/// 1-based line of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Lines with their start offsets; a line excludes its `\n` (a `\r` stays and is trimmed by callers).
struct LineIter<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for LineIter<'a> {
    type Item = (usize, &'a str);
    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.pos >= self.text.len() {
            return None;
        }
        let start = self.pos;
        let rest = &self.text[start..];
        let (line, advance) = match rest.find('\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        self.pos += advance;
        Some((start, line))
    }
}

/// The top-level keys of the front matter with their positions, values skipped.
struct TopKeys(Vec<Spanned<String>>);

impl<'de> Deserialize<'de> for TopKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("Zeilen der Form `feld: wert`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopKeys, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(TopKeys(keys))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Result<SourceFile, Box<Problem>> {
        SourceFile::parse(PathBuf::from("content/notices/x.md"), text.to_string())
    }

    #[test]
    fn splits_front_matter_and_body() {
        let s = src("---\ntitle: A\n---\nText\n").unwrap();
        assert_eq!(s.yaml(), "title: A\n");
        assert_eq!(s.body(), "Text\n");
        assert_eq!(s.body_first_line(), 4);
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let s = src("\u{feff}---\r\ntitle: A\r\n---\r\nText\r\n").unwrap();
        assert_eq!(s.yaml(), "title: A\r\n");
        assert_eq!(s.body(), "Text\r\n");
    }

    #[test]
    fn empty_missing_and_unclosed_front_matter_are_errors() {
        assert!(src("").unwrap_err().message.contains("leer"));
        assert!(src(" \n\n").unwrap_err().message.contains("leer"));
        assert!(
            src("title: A\n")
                .unwrap_err()
                .message
                .contains("beginnt nicht mit `---`")
        );
        let p = src("---\ntitle: A\nText\n").unwrap_err();
        assert!(
            p.message
                .contains("nicht mit einer `---`-Zeile abgeschlossen"),
            "{p:?}"
        );
    }

    #[test]
    fn yaml_positions_are_not_repeated_in_the_message() {
        assert_eq!(
            strip_yaml_location("unknown field `x` at line 6, column 5"),
            "unknown field `x`"
        );
        assert_eq!(strip_yaml_location("at line one"), "at line one");
    }

    #[test]
    fn yaml_errors_in_known_fields_get_a_hint() {
        let s = src("---\ntitle: A\ntags: Baustelle\n---\n").unwrap();
        let mut problems = Vec::new();
        #[derive(serde::Deserialize)]
        struct T {
            #[allow(dead_code)]
            tags: Vec<String>,
        }
        assert!(
            s.front_matter::<T>(&["title", "tags"], &mut problems)
                .is_none()
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, Some(3));
        assert!(!problems[0].message.contains("at line"), "{problems:?}");
        assert!(
            problems[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("tags: [Baustelle, Umleitung]")
        );
    }

    #[test]
    fn known_keys_are_recognised_from_the_text_only_when_certain() {
        let known = ["title", "date", "tags"];
        assert!(only_known_keys("title: A\ndate: 2026-11-28\n", &known));
        assert!(only_known_keys(
            "# Kopf\ntitle: A\r\ntags:\n  - x\n\ndate:\n",
            &known
        ));
        for unsure in [
            "",
            "titel: A\n",
            "title: A\nTitle: B\n",
            "\"title\": A\n",
            "  title: A\n",
            "{title: A}\n",
            "title:A\n",
            "? title\n: A\n",
            "title: A\n<<: *x\n",
            "title: A\n---\n",
        ] {
            assert!(!only_known_keys(unsure, &known), "{unsure:?}");
        }
    }

    #[test]
    fn body_may_be_missing() {
        let s = src("---\ntitle: A\n---").unwrap();
        assert_eq!(s.body(), "");
    }
}
