//! The files `aushang init` writes for a new town: settings, one notice, the standing pages as
//! German templates with blanks, the workflows (this repository's own, installing the pinned
//! release instead of building it), the pipeline and install scripts, and a README for editors.
//! Everything here is text; `cmd::init` writes it and creates the key pair.

use std::path::PathBuf;

use super::blanks::blank;
use super::{CI_TARGET, PIN_FILE, RELEASE_TARGETS};

/// This repository's workflows and scripts, embedded so a town gets the very same steps.
const CHECK_WORKFLOW: &str = include_str!("../../.github/workflows/check.yml");
const PUBLISH_WORKFLOW: &str = include_str!("../../.github/workflows/publish.yml");
const PIPELINE: &str = include_str!("../../scripts/pipeline");
const INSTALL: &str = include_str!("../../scripts/install-aushang");

const CONFIG: &str = include_str!("templates/aushang.yaml");
const WHATSAPP: &str = include_str!("templates/whatsapp.yaml");
const OUTBOX: &str = include_str!("templates/outbox.yaml");
const ACTION: &str = include_str!("templates/action.yml");
const README: &str = include_str!("templates/README.md");
const GITIGNORE: &str = include_str!("templates/gitignore");
const NOTICE: &str = include_str!("templates/notice.md");
const PAGES: [(&str, &str); 4] = [
    ("impressum", include_str!("templates/impressum.md")),
    ("datenschutz", include_str!("templates/datenschutz.md")),
    (
        "barrierefreiheit",
        include_str!("templates/barrierefreiheit.md"),
    ),
    ("anmelden", include_str!("templates/anmelden.md")),
];

/// How the town sends its notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Channel {
    /// WhatsApp Business Cloud API (braucht die Kennungen von Meta und das Secret WHATSAPP_TOKEN).
    Whatsapp,
    /// Noch kein Versand: Nachrichten werden in outbox/ geschrieben.
    Outbox,
}

/// What the town told `init`; `None` leaves a blank.
#[derive(Debug, Clone)]
pub struct Town {
    /// How the town calls itself, e.g. "Stadt Neuhof".
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub organisation: Option<String>,
    pub street: Option<String>,
    pub postcode: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub responsible: Option<String>,
    pub channel: Channel,
    pub phone_number_id: Option<String>,
    /// The date of the example notice.
    pub today: jiff::civil::Date,
    /// The release to pin: version, download URL and SHA-256 per target (from its SHA256SUMS).
    pub version: String,
    pub release_url: String,
    pub sums: Vec<(String, String)>,
}

/// One file to write, relative to the new site's folder.
#[derive(Debug, Clone)]
pub struct File {
    pub path: PathBuf,
    pub text: String,
    pub executable: bool,
}

impl Town {
    fn value(&self, key: &str) -> Option<String> {
        let v = match key {
            "name" => self.name.clone(),
            "title" => self.name.as_ref().map(|n| format!("{n} – Bekanntmachungen")),
            "description" => self.name.as_ref().map(|n| {
                format!("Aktuelle Bekanntmachungen – {n}: Straßensperrungen, Abfuhrtermine, Ratssitzungen und Veranstaltungen.")
            }),
            "base_url" => self.base_url.clone(),
            "organisation" => self.organisation.clone(),
            "street" => self.street.clone(),
            "postcode" => self.postcode.clone(),
            "city" => self.city.clone(),
            "phone" => self.phone.clone(),
            "email" => self.email.clone(),
            "responsible" => self.responsible.clone(),
            "phone_number_id" => self.phone_number_id.clone(),
            "template_body" => Some(format!(
                "Neue Bekanntmachung – {}: {{{{1}}}}. {{{{2}}}} Den vollständigen Text finden Sie über den Button. Abmelden: STOP antworten.",
                self.name.clone().unwrap_or_else(|| blank(Self::ask("name")))
            )),
            "date" => Some(self.today.to_string()),
            "requires" => Some(super::version::requirement_for(&self.version)),
            "aushang_home" => Some(
                self.release_url
                    .split("/releases/")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ),
            _ => None,
        };
        v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// What a blank for `key` asks for.
    fn ask(key: &str) -> &'static str {
        match key {
            "name" => "Name der Gemeinde, z. B. Stadt Neuhof",
            "title" => "Titel der Website, z. B. Stadt Neuhof – Bekanntmachungen",
            "description" => "ein Satz, worum es auf der Website geht",
            "base_url" => "Adresse der Website, z. B. www.neuhof.de",
            "organisation" => "Herausgeber, z. B. Stadt Neuhof – Der Bürgermeister",
            "street" => "Straße und Hausnummer der Verwaltung",
            "postcode" => "Postleitzahl",
            "city" => "Ort",
            "phone" => "Telefonnummer der Verwaltung",
            "email" => "E-Mail-Adresse der Verwaltung",
            "responsible" => "verantwortlich nach § 18 Abs. 2 MStV: Name, Funktion, Anschrift",
            "phone_number_id" => "Phone number ID aus dem WhatsApp Manager von Meta",
            _ => "Angabe",
        }
    }

    /// `@@key@@` replaced by its value, or a blank; `yaml` quotes values as YAML strings.
    fn fill(&self, template: &str, yaml: bool) -> String {
        let mut out = String::with_capacity(template.len() + 256);
        let mut rest = template;
        while let Some(start) = rest.find("@@") {
            let Some(len) = rest[start + 2..].find("@@") else {
                break;
            };
            let key = &rest[start + 2..start + 2 + len];
            out.push_str(&rest[..start]);
            let text = match (key, self.value(key)) {
                ("channels", _) => self.channels(),
                // Kept a valid absolute URL so the rest of the configuration can be checked.
                ("base_url", None) => format!("https://{}/", blank(Self::ask(key))),
                (_, Some(v)) => v,
                (_, None) => blank(Self::ask(key)),
            };
            if yaml && !matches!(key, "requires" | "channels") {
                out.push_str(&serde_json::to_string(&text).expect("a string"));
            } else {
                out.push_str(&text);
            }
            rest = &rest[start + 2 + len + 2..];
        }
        out.push_str(rest);
        out
    }

    fn channels(&self) -> String {
        match self.channel {
            Channel::Whatsapp => self.fill(WHATSAPP, true),
            Channel::Outbox => OUTBOX.to_string(),
        }
        .trim_end()
        .to_string()
    }

    fn config(&self) -> String {
        self.fill(CONFIG, true)
    }

    fn pin(&self) -> String {
        let mut text = format!(
            "# Die aushang-Version dieser Website: CI installiert sie (.github/actions/aushang), die\n\
             # Verwaltung mit scripts/install-aushang, der Posteingang-Server läuft mit ihr. Ein\n\
             # Update ist ein Pull Request: version= und jede SHA-256 unten, aus SHA256SUMS der\n\
             # Version kopiert und mit der Release-Seite verglichen (aushang-README, \"Upgrading\").\n\
             # release_url muss auf das echte Release-Repository (oder einen Spiegel) zeigen;\n\
             # cargo_git ist das Repository, dessen Tag v<version> gebaut wird, wenn kein Archiv passt.\n\
             version={}\n\
             release_url={}\n",
            self.version, self.release_url
        );
        // scripts/install-aushang --cargo-fallback builds this repository's tag v<version> (aushang
        // is not on crates.io).
        if let Some((home, _)) = self.release_url.split_once("/releases/") {
            text.push_str(&format!("cargo_git={home}\n"));
        }
        for target in RELEASE_TARGETS {
            match self.sums.iter().find(|(t, _)| t == target) {
                Some((_, sum)) => text.push_str(&format!("sha256-{target}={sum}\n")),
                // GitHub's runners need this one; the others only the laptops that use them.
                None if target == CI_TARGET => text.push_str(&format!(
                    "sha256-{target}={}\n",
                    blank(&format!(
                        "SHA-256 von aushang-{}-{target}.tar.gz aus SHA256SUMS",
                        self.version
                    ))
                )),
                None => text.push_str(&format!("# sha256-{target}=…\n")),
            }
        }
        text
    }

    /// Every file of the new site (the key pair is made separately).
    pub fn files(&self) -> Vec<File> {
        let file = |path: &str, text: String, executable: bool| File {
            path: PathBuf::from(path),
            text,
            executable,
        };
        let mut files = vec![
            file("aushang.yaml", self.config(), false),
            file(PIN_FILE, self.pin(), false),
            file("README.md", self.fill(README, false), false),
            file(".gitignore", GITIGNORE.to_string(), false),
            file(
                &format!(
                    "content/notices/{}/{}-neue-bekanntmachungsseite.md",
                    self.today.year(),
                    self.today
                ),
                self.fill(NOTICE, false),
                false,
            ),
            file(
                ".github/actions/aushang/action.yml",
                ACTION.to_string(),
                false,
            ),
            file(
                ".github/workflows/check.yml",
                town_workflow(CHECK_WORKFLOW),
                false,
            ),
            file(
                ".github/workflows/publish.yml",
                town_workflow(PUBLISH_WORKFLOW),
                false,
            ),
            file("scripts/pipeline", PIPELINE.to_string(), true),
            file("scripts/install-aushang", INSTALL.to_string(), true),
        ];
        for (name, template) in PAGES {
            files.push(file(
                &format!("content/pages/{name}.md"),
                self.fill(template, false),
                false,
            ));
        }
        files
    }
}

/// This repository's workflow for a town: the tool's own source paths dropped from the triggers,
/// the pin file added (a version bump is checked like any change).
pub fn town_workflow(workflow: &str) -> String {
    let tool_paths = ["\"src/**\"", "\"theme/**\"", "\"Cargo.*\""];
    let mut out = String::with_capacity(workflow.len());
    for line in workflow.lines() {
        let item = line.trim_start().strip_prefix("- ").map(str::trim);
        if item.is_some_and(|i| tool_paths.contains(&i)) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
        if item == Some("\"aushang.yaml\"") {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push_str(&format!("{indent}- \"{PIN_FILE}\"\n"));
        }
    }
    out
}

/// Reads a release's `SHA256SUMS` (`<hex>  aushang-<version>-<target>.tar.gz`) into the sums of
/// `version` per target.
pub fn parse_sums(text: &str, version: &str) -> Result<Vec<(String, String)>, String> {
    let prefix = format!("aushang-{version}-");
    let mut sums = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((sum, name)) = line.split_once(char::is_whitespace) else {
            return Err(format!("Zeile {}: erwartet `<sha256>  <datei>`", i + 1));
        };
        let name = name.trim().trim_start_matches('*');
        if sum.len() != 64 || !sum.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("Zeile {}: `{sum}` ist keine SHA-256", i + 1));
        }
        if let Some(target) = name
            .strip_prefix(&prefix)
            .and_then(|t| t.strip_suffix(".tar.gz"))
        {
            sums.push((target.to_string(), sum.to_ascii_lowercase()));
        }
    }
    if sums.is_empty() {
        return Err(format!("darin steht kein aushang-{version}-….tar.gz"));
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn town() -> Town {
        Town {
            name: Some("Stadt Neuhof".into()),
            base_url: None,
            organisation: Some("Stadt \"Neuhof\"".into()),
            street: None,
            postcode: Some("12345".into()),
            city: None,
            phone: None,
            email: None,
            responsible: None,
            channel: Channel::Whatsapp,
            phone_number_id: None,
            today: jiff::civil::date(2026, 12, 6),
            version: "0.2.0".into(),
            release_url: crate::town::DEFAULT_RELEASE_URL.into(),
            sums: vec![],
        }
    }

    #[test]
    fn the_configuration_parses_and_keeps_its_blanks() {
        let text = town().config();
        let config = crate::config::parse(
            std::path::Path::new("/x"),
            std::path::Path::new("aushang.yaml"),
            &text,
        )
        .unwrap_or_else(|p| panic!("{p:?}\n{text}"));
        assert_eq!(config.contact.organisation, "Stadt \"Neuhof\"");
        assert_eq!(config.contact.postcode, "12345");
        assert!(config.contact.street.starts_with("[[AUSFÜLLEN:"));
        assert!(config.base_url.starts_with("https://[[AUSFÜLLEN:"));
        assert!(config.broadcast.channels.whatsapp.is_some());
        let blanks = crate::town::blanks::in_text(std::path::Path::new("aushang.yaml"), &text);
        assert!(blanks.iter().any(|p| p.message.contains("Phone number ID")));
        let outbox = Town {
            channel: Channel::Outbox,
            ..town()
        };
        let c = crate::config::parse(
            std::path::Path::new("/x"),
            std::path::Path::new("aushang.yaml"),
            &outbox.config(),
        )
        .unwrap_or_else(|p| panic!("{p:?}"));
        assert!(c.broadcast.channels.whatsapp.is_none());
    }

    #[test]
    fn town_workflows_drop_the_tool_sources_and_watch_the_pin() {
        let w = town_workflow(CHECK_WORKFLOW);
        assert!(!w.contains("src/**") && !w.contains("Cargo."), "{w}");
        assert!(w.contains("- \".aushang-version\""), "{w}");
        for w in [&w, &town_workflow(PUBLISH_WORKFLOW)] {
            assert!(w.contains("uses: ./.github/actions/aushang"), "{w}");
            assert!(!w.contains("cargo "), "{w}");
        }
        assert!(!ACTION.contains("cargo build"));
    }

    #[test]
    fn the_pin_holds_given_sums_and_a_blank_for_ci_otherwise() {
        let sum = "ab".repeat(32);
        let sums = parse_sums(
            &format!("{sum}  aushang-0.2.0-x86_64-apple-darwin.tar.gz\n{sum}  aushang-0.2.0-x86_64-pc-windows-msvc.zip\n"),
            "0.2.0",
        )
        .unwrap();
        assert_eq!(sums, vec![("x86_64-apple-darwin".to_string(), sum.clone())]);
        let pin = Town { sums, ..town() }.pin();
        assert!(
            pin.contains(&format!("sha256-x86_64-apple-darwin={sum}")),
            "{pin}"
        );
        assert!(
            pin.contains("sha256-x86_64-unknown-linux-musl=[[AUSFÜLLEN:"),
            "{pin}"
        );
        assert!(
            pin.contains(&format!("cargo_git={}\n", crate::town::REPOSITORY)),
            "{pin}"
        );
        assert!(parse_sums("zz  aushang-0.2.0-x.tar.gz", "0.2.0").is_err());
    }
}
