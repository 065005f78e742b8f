//! The file `aushang new` writes: required fields filled in, every optional field present but
//! commented out and explained in German, so editors learn the format from the file itself.

use std::fmt::Write as _;
use std::path::PathBuf;

use jiff::Timestamp;

use super::{NOTICES_DIR, slugify};
use crate::config::Config;

/// The first words of the body `new` writes; `check` refuses a notice still holding them.
pub const PLACEHOLDER_BODY: &str = "Hier steht der ausführliche Text der Bekanntmachung.";

/// A new notice file: where it goes (relative to the site root) and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub file: PathBuf,
    pub text: String,
}

/// Prepares a notice titled `title`, dated `now` in the site's time zone.
pub fn new_notice(
    config: &Config,
    title: &str,
    category: Option<&str>,
    now: Timestamp,
) -> Result<NewNotice, String> {
    let title = title.trim();
    if title.is_empty() {
        return Err("der Titel ist leer".into());
    }
    if title.chars().any(char::is_control) {
        return Err("der Titel muss eine Zeile ohne Tabulatoren sein".into());
    }
    if title.chars().count() > super::notice_loader::MAX_TITLE_CHARS {
        return Err(format!(
            "der Titel ist zu lang (höchstens {} Zeichen)",
            super::notice_loader::MAX_TITLE_CHARS
        ));
    }
    if let Some(c) = category
        && config.category(c).is_none()
    {
        let ids: Vec<&str> = config.categories.iter().map(|c| c.id.as_str()).collect();
        let suggestion = super::did_you_mean(c, ids.iter().copied())
            .map(|s| format!("meinten Sie `{s}`? "))
            .unwrap_or_default();
        return Err(format!(
            "unbekannte Kategorie `{c}`; {suggestion}erlaubt sind: {}",
            ids.join(", ")
        ));
    }
    let slug = slugify(title);
    if slug.is_empty() {
        return Err(format!(
            "aus dem Titel `{title}` lässt sich keine Adresse bilden; verwenden Sie Buchstaben oder Ziffern"
        ));
    }
    let local = config.timezone.to_datetime(now);
    let date = local.date();
    let file = PathBuf::from(NOTICES_DIR)
        .join(date.year().to_string())
        .join(format!("{date}-{slug}.md"));
    let when = format!("{date} {:02}:{:02}", local.hour(), local.minute());
    Ok(NewNotice {
        file,
        text: render(config, title, category, &when, &slug),
    })
}

fn yaml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn render(config: &Config, title: &str, category: Option<&str>, when: &str, slug: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "---");
    t.push_str(
        "# Neue Bekanntmachung. Zeilen mit # am Anfang sind Erklärungen oder ausgeschaltete Felder:\n\
         # Um ein Feld zu benutzen, das # am Zeilenanfang entfernen. Prüfen mit: aushang check\n\n",
    );
    t.push_str("# Titel: eine Zeile, höchstens 200 Zeichen. Steht auf der Website und in der WhatsApp-Nachricht.\n");
    let _ = writeln!(t, "title: {}\n", yaml_string(title));
    t.push_str(
        "# Datum und Uhrzeit (Ortszeit). Ab dann steht die Bekanntmachung auf der Website.\n",
    );
    t.push_str("# Nur ein Datum (2026-11-28) bedeutet: ab 0 Uhr an diesem Tag.\n");
    let _ = writeln!(t, "date: {when}\n");
    t.push_str(
        "# Kurzfassung – BITTE ERSETZEN: ein bis zwei Sätze in EINER Zeile, höchstens 600 Zeichen.\n\
         # Das ist der Text der WhatsApp-Nachricht an alle Abonnenten (wer, was, wann, wo).\n",
    );
    let _ = writeln!(t, "summary: {}\n", yaml_string(title));
    t.push_str("# Kategorie, eine von:\n");
    for c in &config.categories {
        let _ = writeln!(t, "#   {} – {}", c.id, c.name);
    }
    match category {
        Some(c) => {
            let _ = writeln!(t, "category: {c}\n");
        }
        None => {
            let example = config
                .categories
                .first()
                .map_or("verkehr", |c| c.id.as_str());
            let _ = writeln!(t, "# category: {example}\n");
        }
    }
    t.push_str(&format!(
        "# Schlagworte.\n\
         # tags: [Baustelle, Umleitung]\n\n\
         # Geplante Veröffentlichung: erst ab diesem Zeitpunkt auf der Website und verschickt.\n\
         # publish_at: {when}\n\n\
         # Ablauf: danach verschwindet die Meldung von der Startseite; ihre Seite bleibt erreichbar.\n\
         # Ein Datum ohne Uhrzeit gilt bis zum Ende dieses Tages.\n\
         # expires: 2030-12-31\n\n\
         # Entwurf: wird weder veröffentlicht noch verschickt.\n\
         # draft: true\n\n\
         # Dringend: wird oben auf der Startseite hervorgehoben (z. B. Trinkwasser, Unwetter).\n\
         # urgent: true\n\n\
         # Nur auf der Website, keine WhatsApp-Nachricht verschicken.\n\
         # broadcast: false\n\n\
         # Eigener Adressteil statt des Dateinamens. Nach der Veröffentlichung NICHT mehr ändern,\n\
         # sonst führen verschickte Links ins Leere.\n\
         # slug: {slug}\n\n\
         # Frühere Adressen, die auf diese Bekanntmachung weiterleiten sollen.\n\
         # aliases:\n\
         #   - /alte-adresse/\n\n\
         # Bild: Datei unter static/bilder/ (oder eine https-Adresse) und eine Beschreibung in einem Satz\n\
         # für Menschen, die das Bild nicht sehen können (Pflicht, wenn es ein Bild gibt).\n\
         # image: bilder/beispiel.jpg\n\
         # image_alt: Was auf dem Bild zu sehen ist\n\n\
         # Anhänge: Dateien unter static/ (z. B. PDFs) mit dem Linktext.\n\
         # attachments:\n\
         #   - file: dokumente/beispiel.pdf\n\
         #     label: Tagesordnung\n\n\
         # Nachträge mit Datum; jeder neue Nachtrag wird an die Abonnenten verschickt.\n\
         # updates:\n\
         #   - date: {when}\n\
         #     text: Die Sperrung wird bis Freitag verlängert.\n"
    ));
    t.push_str("---\n\n");
    t.push_str(PLACEHOLDER_BODY);
    t.push_str(
        " Absätze werden durch eine Leerzeile getrennt.\n\n\
         ## Zwischenüberschrift\n\n\
         - Aufzählungen beginnen mit einem Strich\n\
         - **fett** schreiben Sie mit zwei Sternchen\n",
    );
    t
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::content::notice_loader::{Outcome, notice_from_source};
    use crate::content::source::SourceFile;
    use crate::diagnostics::Problem;

    fn config() -> Config {
        let text = "title: T\nbase_url: https://t.example/\ncategories:\n  - id: verkehr\n    name: Verkehr\n";
        crate::config::parse(Path::new("/nonexistent"), Path::new("aushang.yaml"), text).unwrap()
    }

    #[test]
    fn titles_with_yaml_syntax_survive_the_round_trip() {
        let c = config();
        let title = r#"Achtung: "Baustelle" am C:\Weg #3 – ab 7 Uhr"#;
        let now: Timestamp = "2026-03-29T01:30:00Z".parse().unwrap();
        let new = new_notice(&c, title, Some("verkehr"), now).unwrap();
        // 03:30 summer time in Berlin, the hour after the clocks jumped.
        assert_eq!(
            new.file,
            Path::new("content/notices/2026/2026-03-29-achtung-baustelle-am-c-weg-3-ab-7-uhr.md")
        );
        assert!(
            new.text.contains("date: 2026-03-29 03:30\n"),
            "{}",
            new.text
        );
        // The placeholders are refused until replaced: summary and body, both errors.
        let src = SourceFile::parse(new.file.clone(), new.text.clone()).unwrap();
        let mut problems = Vec::new();
        notice_from_source(&c, src, false, &mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(Problem::is_error), "{problems:?}");
        assert!(problems[0].message.contains("wiederholt nur den Titel"));
        assert!(problems[1].message.contains("Platzhalter"), "{problems:?}");
        let body_line = new
            .text
            .lines()
            .position(|l| l.starts_with(PLACEHOLDER_BODY));
        assert_eq!(problems[1].line, body_line.map(|i| i + 1));

        let filled = new
            .text
            .replacen("summary: ", "summary: \"Ab Montag gesperrt.\" # ", 1)
            .replace(PLACEHOLDER_BODY, "Der Text.");
        let src = SourceFile::parse(new.file.clone(), filled).unwrap();
        let mut problems = Vec::new();
        let Outcome::Loaded(n) = notice_from_source(&c, src, false, &mut problems) else {
            panic!("{problems:?}");
        };
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(n.notice.title, title);
        assert_eq!(n.notice.category.as_deref(), Some("verkehr"));
        assert_eq!(n.notice.date, now);
    }

    #[test]
    fn unusable_titles_and_categories_are_refused() {
        let c = config();
        let now = Timestamp::UNIX_EPOCH;
        assert!(new_notice(&c, "  ", None, now).is_err());
        assert!(new_notice(&c, "Zeile\nzwei", None, now).is_err());
        assert!(
            new_notice(&c, "!!!", None, now)
                .unwrap_err()
                .contains("keine Adresse")
        );
        assert!(new_notice(&c, &"x".repeat(201), None, now).is_err());
        let err = new_notice(&c, "Test", Some("verkher"), now).unwrap_err();
        assert!(err.contains("meinten Sie `verkehr`"), "{err}");
    }
}
