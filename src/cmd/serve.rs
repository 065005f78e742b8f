//! `aushang serve`: live preview of the site with broadcast previews; the work is in `aushang::serve`.

use std::path::Path;
use std::process::ExitCode;

use aushang::serve::rebuild::Clock;
use aushang::serve::{ServeOptions, serve};

#[derive(clap::Args)]
pub struct Args {
    /// Port auf 127.0.0.1 (0: ein freier Port; die Adresse wird ausgegeben).
    #[arg(long, default_value_t = 1111)]
    port: u16,
    /// Auch Entwürfe zeigen (als Entwurf markiert).
    #[arg(long)]
    drafts: bool,
    /// Auch geplante Bekanntmachungen zeigen, als wäre ihre Zeit schon gekommen.
    #[arg(long, conflicts_with = "now")]
    future: bool,
    /// Die Website zu diesem Zeitpunkt zeigen, z. B. 2026-12-01T09:00 (Zeitzone der Website). Standard: jetzt.
    #[arg(long)]
    now: Option<String>,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let clock = match (&args.now, args.future) {
        (Some(text), _) => {
            // The preview starts even with a broken aushang.yaml (it shows the errors), so the
            // time zone falls back to the default one.
            let tz = aushang::config::load(root)
                .map(|c| c.timezone)
                .unwrap_or_else(|_| {
                    jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC)
                });
            match aushang::content::parse_time(text, &tz) {
                Ok(t) => Clock::Fixed(t),
                Err(e) => {
                    eprintln!("Fehler: --now `{text}`: {e}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        (None, true) => Clock::Future,
        (None, false) => Clock::Real,
    };
    serve(ServeOptions {
        root: root.to_path_buf(),
        port: args.port,
        include_drafts: args.drafts,
        clock,
    })?;
    Ok(ExitCode::SUCCESS)
}
