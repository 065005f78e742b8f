//! `aushang serve`: live preview of the site with broadcast previews; the work is in `aushang::serve`.

use std::path::Path;
use std::process::ExitCode;

use aushang::serve::rebuild::Clock;
use aushang::serve::{ServeOptions, serve};

#[derive(clap::Args)]
pub struct Args {
    /// Port on 127.0.0.1 (0: any free port; the address is printed).
    #[arg(long, default_value_t = 1111)]
    port: u16,
    /// Show drafts too (marked as such).
    #[arg(long)]
    drafts: bool,
    /// Show scheduled notices too, as if their publication time had come.
    #[arg(long, conflicts_with = "now")]
    future: bool,
    /// Show the site as of this instant, e.g. 2026-12-01T09:00 (site time zone). Default: now.
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
