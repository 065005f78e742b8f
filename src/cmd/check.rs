//! `aushang check`: validates configuration, notices, pages, templates and internal links without
//! writing anything; prints every problem and exits non-zero if any is an error.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::ExitCode;

use aushang::content::{self, LoadOptions};
use aushang::diagnostics::{self, Format, Problem};

#[derive(clap::Args)]
pub struct Args {
    /// `human` (für Menschen, mit Markierung unter dem Fehler) oder `github` (Anmerkungen im Pull Request).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Schlüssel nennen, die seit diesem Branch in subscribers/recipients.txt hinzukamen oder
    /// wegfielen (Standard: $GITHUB_BASE_REF aus Pull-Request-Workflows; außerhalb von git nichts).
    #[arg(long, value_name = "REF")]
    base: Option<String>,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let (mut problems, summary) = check(root);
    // Who can read the subscriber list: also when the rest could not be checked.
    let subscribers = root.join("subscribers");
    problems.extend(aushang::subscribers::review::demo_key_problems(
        &subscribers,
    ));
    if let Some(base) = aushang::subscribers::review::base_ref(args.base.as_deref()) {
        problems.extend(aushang::subscribers::review::changes_since(root, &base));
    }
    print!("{}", diagnostics::render(&problems, args.format));
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    let files: BTreeSet<_> = problems.iter().map(|p| &p.file).collect();
    let line = if problems.is_empty() {
        format!("Keine Probleme gefunden ({summary}).")
    } else {
        let mut found = Vec::new();
        if errors > 0 {
            found.push(count(errors, "Fehler", "Fehler"));
        }
        if warnings > 0 {
            found.push(count(warnings, "Warnung", "Warnungen"));
        }
        format!(
            "{} in {} ({summary}).",
            found.join(" und "),
            count(files.len(), "Datei", "Dateien")
        )
    };
    println!("{line}");
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// All problems of the site in `root`, sorted by file and line, and a short count of what was read.
fn check(root: &Path) -> (Vec<Problem>, String) {
    // Blanks left by `aushang init`, reported even when the configuration has other errors.
    let settings_blanks = aushang::town::blanks::in_settings(root);
    let config = match super::read_config(root) {
        Ok(c) => c,
        Err(mut problems) => {
            problems.extend(settings_blanks);
            return (
                problems,
                "Konfiguration fehlerhaft, Inhalte nicht geprüft".into(),
            );
        }
    };
    let (site, mut problems) = content::load_unrendered(
        &config,
        &LoadOptions {
            include_drafts: true,
        },
    );
    let site_paths = generated_paths(&config, &site);
    problems.extend(content::check_links(&config, &site, &|p: &str| {
        site_paths.contains(p)
    }));
    problems.extend(aushang::site::check_templates(&config));
    problems.extend(aushang::site::theme_versions::check(root));
    problems.extend(aushang::providers::email::html::check(root));
    problems.extend(aushang::site::editor::check(&config));
    problems.extend(settings_blanks);
    problems.extend(aushang::town::blanks::in_content(&config, &site));
    problems.extend(aushang::town::leftovers::check(&config, &site));
    problems.extend(aushang::town::version::check(
        root,
        config.requires_aushang.as_deref(),
    ));
    problems.extend(aushang::site::statics::check_static(&config));
    problems.sort_by(|a, b| {
        a.file
            .cmp(&b.file)
            .then(a.line.cmp(&b.line))
            .then(a.column.cmp(&b.column))
    });
    let summary = format!(
        "{} geprüft",
        [
            count(site.notices.len(), "Bekanntmachung", "Bekanntmachungen"),
            count(site.pages.len(), "Seite", "Seiten")
        ]
        .join(", ")
    );
    (problems, summary)
}

/// Paths the site renderer writes besides notices, aliases and pages, as documented in
/// `aushang::site` (front page, archive, categories, feeds), so notices may link to them.
fn generated_paths(
    config: &aushang::config::Config,
    site: &content::SiteContent,
) -> HashSet<String> {
    let mut paths: HashSet<String> = ["/", "/archiv/", "/atom.xml", "/sitemap.xml", "/robots.txt"]
        .into_iter()
        .map(String::from)
        .collect();
    for c in &config.categories {
        let path = aushang::site::view::category_path(&c.id);
        paths.insert(format!("{path}atom.xml"));
        paths.insert(path);
    }
    for n in &site.notices {
        paths.insert(format!(
            "/archiv/{}/",
            config.timezone.to_datetime(n.date).year()
        ));
    }
    paths
}
