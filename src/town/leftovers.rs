//! Leftovers of the Musterbach example in a real town's site: its standing pages ("Diese Website
//! ist ein Beispiel"), its demo PDF and image, the demo key. `check` warns about each one in any
//! site that is not the example itself (whose `base_url` is on musterbach.example).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::{CONFIG_FILE, Config};
use crate::content::SiteContent;
use crate::diagnostics::Problem;

/// The example's host; a site published anywhere else is a real town's.
const EXAMPLE_HOST: &str = "musterbach.example";
/// Words only the example uses.
const EXAMPLE_WORDS: [&str; 2] = ["Diese Website ist ein Beispiel", "Musterbach"];
/// The example's demo files under `static/`, with their SHA-256 (a file of the same name with
/// other contents is the town's own).
const DEMO_FILES: [(&str, &str); 2] = [
    (
        "static/dokumente/2026-12-10-tagesordnung-stadtrat.pdf",
        "12562a82dde67db8e9c10f25c4709ea8fe5b39dcf10accc464609344f0b8ba4e",
    ),
    (
        "static/bilder/sommerfest-marktplatz.png",
        "1f4a8f2e5209f31e9266466910c7626f5d2b4129762e58f97c73e589403c9156",
    ),
];
const DEMO_KEY: &str = "subscribers/demo-identity.txt";

/// Whether `config` is the Musterbach example itself.
pub fn is_example(config: &Config) -> bool {
    config
        .base_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .is_some_and(|host| host == EXAMPLE_HOST || host.ends_with(&format!(".{EXAMPLE_HOST}")))
}

/// One warning per leftover of the example; none for the example itself.
pub fn check(config: &Config, site: &SiteContent) -> Vec<Problem> {
    if is_example(config) {
        return Vec::new();
    }
    let root = &config.root;
    let mut problems = Vec::new();
    let mut in_file = |file: &Path, hint: &str| {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            return;
        };
        // The first line naming the example, per file: one warning is enough to act on.
        let hit = text.lines().enumerate().find_map(|(i, line)| {
            EXAMPLE_WORDS.iter().find_map(|w| {
                line.find(w)
                    .map(|c| (i + 1, line[..c].chars().count() + 1, *w))
            })
        });
        if let Some((line, column, word)) = hit {
            problems.push(
                Problem::warning(file, format!("Rest des Beispiels: „{word}“"))
                    .at(&text, line, column)
                    .with_hint(hint),
            );
        }
    };
    in_file(
        Path::new(CONFIG_FILE),
        "ersetzen Sie die Angaben der Beispielstadt durch Ihre eigenen",
    );
    for page in &site.pages {
        if EXAMPLE_WORDS
            .iter()
            .any(|w| page.body_markdown.contains(w) || page.description.contains(w))
        {
            in_file(
                &page.source,
                "das ist die Seite der erfundenen Beispielstadt; schreiben Sie Ihre eigene (aushang init legt Vorlagen an)",
            );
        }
    }
    for notice in &site.notices {
        if EXAMPLE_WORDS.iter().any(|w| {
            notice.title.contains(w)
                || notice.summary.contains(w)
                || notice.body_markdown.contains(w)
        }) {
            in_file(
                &notice.source,
                "eine Bekanntmachung der Beispielstadt; löschen Sie sie",
            );
        }
    }
    for (file, sum) in DEMO_FILES {
        if let Ok(bytes) = std::fs::read(root.join(file))
            && hex::encode(Sha256::digest(&bytes)) == sum
        {
            problems.push(
                Problem::warning(
                    file,
                    "Beispieldatei der Musterbach-Vorlage wird mitveröffentlicht",
                )
                .with_hint("löschen Sie die Datei (und die Bekanntmachungen, die sie verwenden)"),
            );
        }
    }
    if root.join(DEMO_KEY).exists() {
        problems.push(
            Problem::warning(DEMO_KEY, "der öffentlich bekannte Demo-Schlüssel des Beispiels liegt noch im Repository")
                .with_hint("löschen Sie ihn, entfernen Sie seine Zeile aus subscribers/recipients.txt und führen Sie `aushang subscribers rekey` aus"),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> Config {
        let text = format!("title: T\nbase_url: {base_url}\n");
        crate::config::parse(Path::new("/x"), Path::new("aushang.yaml"), &text).unwrap()
    }

    #[test]
    fn only_the_musterbach_host_is_the_example() {
        assert!(is_example(&config("https://www.musterbach.example/")));
        assert!(is_example(&config("http://musterbach.example:8080/x/")));
        assert!(!is_example(&config("https://www.neuhof.de/")));
        assert!(!is_example(&config("https://musterbach.example.evil.de/")));
    }
}
