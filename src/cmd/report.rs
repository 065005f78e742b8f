//! `aushang report`: reach per notice, billed messages with their cost, and (with the list's
//! key) the subscriber trend, for a month or a year; text, Markdown, CSV or JSON, and an SVG.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aushang::content::{self, LoadOptions};
use aushang::report::{self, Period, cost::RateCard, render};
use aushang::subscribers::{Identity, SubscriberList};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Csv,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// Der Monat des Berichts, z. B. 2026-11 (Standard: der laufende Monat).
    #[arg(long, value_name = "JJJJ-MM", conflicts_with = "year")]
    month: Option<String>,
    /// Das Jahr des Berichts, z. B. 2026 (für den Jahresbericht an den Rat).
    #[arg(long, value_name = "JJJJ")]
    year: Option<String>,
    /// Das Format: text, markdown (Job-Zusammenfassung), csv (Tabellenkalkulation) oder json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Das Diagramm (Reichweite je Bekanntmachung, Abonnements je Woche) auch als SVG in FILE schreiben.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Mit --svg und --format markdown: das Diagramm wird als Artefakt NAME des Workflows
    /// hochgeladen (eine Job-Zusammenfassung zeigt kein lokales Bild); der Bericht nennt es,
    /// statt die Datei zu verlinken.
    #[arg(long, value_name = "NAME", requires = "svg")]
    svg_artifact: Option<String>,
    /// So tun, als wäre es dieser Zeitpunkt (für Tests), z. B. 2026-11-28 09:30.
    #[arg(long, hide = true)]
    now: Option<String>,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some(config) = super::load_config(root) else {
        return Ok(ExitCode::FAILURE);
    };
    let now = super::parse_now(args.now.as_deref(), &config)?;
    let period = match (&args.month, &args.year) {
        (Some(m), _) => Period::month(m).map_err(anyhow::Error::msg)?,
        (None, Some(y)) => Period::year(y).map_err(anyhow::Error::msg)?,
        (None, None) => Period::current_month(now, &config.timezone),
    };
    // Titles only: a notice with a mistake still has its title; problems are `check`'s business.
    let (site, _) = content::load(
        &config,
        &LoadOptions {
            include_drafts: false,
        },
    );
    let titles: HashMap<String, String> = site
        .notices
        .iter()
        .map(|n| (n.path.clone(), n.title.clone()))
        .collect();
    let rates = RateCard::of(&config);
    let state = config.subscribers_dir();
    // The trend needs the list, so the key: only when one is given (never the demo key, never
    // asked for); without it the report shows reach and cost, which need no key.
    let subscribers = match Identity::from_env() {
        Ok(identity) => Some(SubscriberList::load(&state, &identity)?),
        Err(_) => None,
    };
    let report = report::build(
        &state,
        period,
        &config.timezone,
        &titles,
        rates.as_ref(),
        subscribers.as_ref().map(|l| l.subscribers()),
        now,
    )?;
    if let Some(file) = &args.svg {
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        aushang::fsutil::write_atomic(file, report::svg::chart(&report).as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    }
    let svg_name = args
        .svg
        .as_ref()
        .and_then(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let out = match args.format {
        Format::Text => render::text(&report),
        Format::Markdown => render::markdown(
            &report,
            match (&args.svg_artifact, &svg_name) {
                (Some(name), _) => render::Chart::Artifact(name),
                (None, Some(file)) => render::Chart::Image(file),
                (None, None) => render::Chart::None,
            },
        ),
        Format::Csv => render::csv(&report),
        Format::Json => render::json(&report),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
