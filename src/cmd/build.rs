//! `aushang build`: load config and content, stop on any error, render the site into public/.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aushang::content::{self, LoadOptions};
use aushang::diagnostics::{self, Format};
use aushang::site::{self, BuildError, BuildOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Ausgabeordner (Standard: public/ im Ordner der Website). Dateien eines früheren Laufs, die
    /// nicht mehr zur Website gehören, werden gelöscht; ein fremder, nicht leerer Ordner wird abgelehnt.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Die Website zu diesem Zeitpunkt erstellen, z. B. 2026-12-01T09:00 (Zeitzone der Website)
    /// oder mit Versatz: entscheidet, was veröffentlicht, geplant oder abgelaufen ist. Standard: jetzt.
    #[arg(long)]
    now: Option<String>,
    /// Entwürfe einbeziehen (als Entwurf markiert, für Suchmaschinen verborgen), für Vorschauen.
    #[arg(long)]
    drafts: bool,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some(config) = super::load_config(root) else {
        return Ok(ExitCode::FAILURE);
    };
    let now = super::parse_now(args.now.as_deref(), &config)?;
    let (site_content, problems) = content::load(
        &config,
        &LoadOptions {
            include_drafts: args.drafts,
        },
    );
    if !problems.is_empty() {
        eprint!("{}", diagnostics::render(&problems, Format::Human));
    }
    if problems.iter().any(|p| p.is_error()) {
        eprintln!("Nichts geschrieben: beheben Sie die Fehler oben und bauen Sie erneut.");
        return Ok(ExitCode::FAILURE);
    }
    let out_dir = args.out.unwrap_or_else(|| root.join("public"));
    let opts = BuildOptions {
        out_dir: out_dir.clone(),
        now,
        include_drafts: args.drafts,
    };
    let started = std::time::Instant::now();
    match site::build(&config, &site_content, &opts) {
        Ok(r) => {
            println!(
                "Gebaut: {} Seiten und {} statische Dateien in {} ({} Dateien geändert, {} veraltete entfernt); {} Bekanntmachungen veröffentlicht, davon {} aktuell; {} ms",
                r.pages_written,
                r.static_files,
                out_dir.display(),
                r.files_changed,
                r.stale_removed,
                r.notices_published,
                r.notices_current,
                started.elapsed().as_millis()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(BuildError::Problems(problems)) => {
            eprint!("{}", diagnostics::render(&problems, Format::Human));
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("Fehler: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
