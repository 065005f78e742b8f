//! Checks shared by notices and pages: one-line texts (they become WhatsApp template parameters),
//! site paths, and files that must exist under `static/`.

use std::path::{Component, Path};

use serde_saphyr::Spanned;

use super::source::SourceFile;
use crate::diagnostics::Problem;

/// What WhatsApp accepts as a template parameter, checked up front so a send never fails on it:
/// no line breaks, no tabs, no run of more than four spaces; plus a length cap.
/// Returns the trimmed text, or `None` after pushing the problems.
pub fn one_line(
    src: &SourceFile,
    field: &str,
    value: &Spanned<String>,
    max_chars: usize,
    why: &str,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    let text = value.value.trim();
    let before = problems.len();
    if !no_control(src, field, value, problems) {
        return None;
    }
    if text.is_empty() {
        problems.push(src.error_at(value, format!("`{field}` ist leer")));
        return None;
    }
    if text.contains(['\n', '\r']) {
        problems.push(
            src.error_at(value, format!("`{field}` darf keinen Zeilenumbruch enthalten"))
                .with_hint(format!("{why}; schreiben Sie alles in eine Zeile (in Anführungszeichen, wenn es ein `:` enthält)")),
        );
    }
    if text.contains('\t') {
        problems.push(
            src.error_at(value, format!("`{field}` darf keinen Tabulator enthalten"))
                .with_hint(why.to_string()),
        );
    }
    if text.contains("     ") {
        problems.push(
            src.error_at(
                value,
                format!("`{field}` enthält mehr als vier Leerzeichen hintereinander"),
            )
            .with_hint(why.to_string()),
        );
    }
    let n = text.chars().count();
    if n > max_chars {
        problems.push(
            src.error_at(
                value,
                format!("`{field}` ist zu lang: {n} Zeichen, erlaubt sind höchstens {max_chars}"),
            )
            .with_hint(why.to_string()),
        );
    }
    (problems.len() == before).then(|| text.to_string())
}

/// Refuses a front-matter value with a control character (NUL, ESC, …; tab and line breaks are
/// left to the field's own checks): it would make `atom.xml` invalid XML and could rewrite a
/// terminal that prints it. YAML escapes such as `"\e"` count too,
/// as the check runs on the parsed value. Returns whether the value is free of them.
pub fn no_control(
    src: &SourceFile,
    field: &str,
    value: &Spanned<String>,
    problems: &mut Vec<Problem>,
) -> bool {
    let Some((_, c)) = crate::text::find_control(&value.value) else {
        return true;
    };
    problems.push(
        src.error_at(
            value,
            format!(
                "`{field}` enthält ein unsichtbares Steuerzeichen ({})",
                crate::text::describe_control(c)
            ),
        )
        .with_hint(
            "solche Zeichen entstehen beim Kopieren aus anderen Programmen; tippen Sie den Wert neu ein",
        ),
    );
    false
}

/// A site path such as `/alt/wasser/`: absolute, no host, no query, no `..`; normalised to end in `/`.
pub fn site_path(raw: &str) -> Result<String, String> {
    let p = raw.trim();
    if !p.starts_with('/') || p.starts_with("//") {
        return Err(format!(
            "`{p}` ist kein Pfad dieser Website; er muss mit `/` beginnen, z. B. /alte-adresse/"
        ));
    }
    if p.contains(|c: char| c.is_whitespace() || c == '?' || c == '#' || c == '\\') {
        return Err(format!(
            "`{p}` darf keine Leerzeichen, `?`, `#` oder `\\` enthalten"
        ));
    }
    if p.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(format!(
            "`{p}` darf keine `.`- oder `..`-Abschnitte enthalten"
        ));
    }
    Ok(if p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    })
}

/// A file the notice refers to under `static/`, written as `dokumente/x.pdf` or `/dokumente/x.pdf`.
/// Returns the site path (`/dokumente/x.pdf`) or a message with a hint.
pub fn static_file(root: &Path, raw: &str) -> Result<String, (String, String)> {
    let rel = raw.trim().trim_start_matches('/');
    if rel.is_empty() {
        return Err((
            "es ist keine Datei angegeben".into(),
            "z. B. dokumente/tagesordnung.pdf".into(),
        ));
    }
    if let Some(stripped) = rel.strip_prefix("static/") {
        return Err((
            format!("`{raw}`: der Pfad wird ohne `static/` geschrieben"),
            format!("schreiben Sie `{stripped}`"),
        ));
    }
    let rel_path = Path::new(rel);
    if rel.contains('\\')
        || !rel_path
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err((
            format!("`{raw}` ist kein gültiger Pfad unter static/"),
            "nur Ordner- und Dateinamen, getrennt durch `/`, ohne `..`".into(),
        ));
    }
    if crate::site::statics::is_hidden(rel_path) {
        return Err((
            format!(
                "`{raw}` ist eine versteckte Datei (Name mit Punkt am Anfang) und wird nicht veröffentlicht"
            ),
            "benennen Sie die Datei oder den Ordner ohne Punkt am Anfang".into(),
        ));
    }
    let full = root.join("static").join(rel_path);
    if let Some(link) = symlink_below(&root.join("static"), rel_path) {
        return Err((
            format!(
                "`static/{}` ist ein symbolischer Link; die Website veröffentlicht nur echte Dateien",
                link.display()
            ),
            "legen Sie die Datei selbst unter static/ ab (ein Link würde zu einem toten Link auf der Seite, und Links aus dem Repository hinaus werden nie veröffentlicht)".into(),
        ));
    }
    if full.is_file() {
        return Ok(format!("/{rel}"));
    }
    let hint = match (
        rel_path.parent(),
        rel_path.file_name().and_then(|n| n.to_str()),
    ) {
        (Some(dir), Some(name)) => {
            let siblings: Vec<String> = std::fs::read_dir(root.join("static").join(dir))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            match super::did_you_mean(name, siblings.iter().map(String::as_str)) {
                Some(s) => format!("meinten Sie `{}`?", dir.join(s).display()),
                None => format!(
                    "legen Sie die Datei unter static/{} ab (im Repository hochladen)",
                    dir.display()
                ),
            }
        }
        _ => "legen Sie die Datei unter static/ ab".into(),
    };
    Err((format!("die Datei `static/{rel}` gibt es nicht"), hint))
}

/// The first of `rel`'s folders or the file itself (below `base`) that is a symbolic link.
///
/// Links are refused rather than followed: the build copies `static/` without following links
/// (a link would be a dead link on the site), and following them would let a pull request
/// publish any file of the machine that builds (`static/x.pdf -> ~/.ssh/id_ed25519`).
pub(crate) fn symlink_below(base: &Path, rel: &Path) -> Option<std::path::PathBuf> {
    let mut path = base.to_path_buf();
    let mut shown = std::path::PathBuf::new();
    for part in rel.components() {
        path.push(part);
        shown.push(part);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(shown);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_are_normalised_and_checked() {
        assert_eq!(site_path("/alt/wasser").unwrap(), "/alt/wasser/");
        assert_eq!(site_path(" /alt/ ").unwrap(), "/alt/");
        for bad in [
            "alt/wasser",
            "//evil.example/x",
            "https://x.example/",
            "/a b/",
            "/a?x=1",
            "/a/../b",
            "/a#x",
        ] {
            assert!(site_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn static_files_must_exist_and_stay_inside_static() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("static/dokumente")).unwrap();
        std::fs::write(
            dir.path().join("static/dokumente/tagesordnung.pdf"),
            b"%PDF",
        )
        .unwrap();
        assert_eq!(
            static_file(dir.path(), "dokumente/tagesordnung.pdf").unwrap(),
            "/dokumente/tagesordnung.pdf"
        );
        assert_eq!(
            static_file(dir.path(), "/dokumente/tagesordnung.pdf").unwrap(),
            "/dokumente/tagesordnung.pdf"
        );
        let (msg, hint) = static_file(dir.path(), "dokumente/tagesordung.pdf").unwrap_err();
        assert!(msg.contains("static/dokumente/tagesordung.pdf"), "{msg}");
        assert!(hint.contains("dokumente/tagesordnung.pdf"), "{hint}");
        assert!(static_file(dir.path(), "../Cargo.toml").is_err());
        assert!(
            static_file(dir.path(), "static/dokumente/tagesordnung.pdf")
                .unwrap_err()
                .1
                .contains("dokumente/tagesordnung.pdf")
        );
    }
}
