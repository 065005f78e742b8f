//! One file per subcommand; each parses nothing itself and lets the library do the work.

pub mod broadcast;
pub mod build;
pub mod check;
pub mod inbox;
pub mod init;
pub mod new;
pub mod publish;
pub mod serve;

use std::path::Path;

use aushang::config::{self, Config};
use aushang::content::{self, LoadOptions, SiteContent};
use aushang::diagnostics::{Format, render};

/// Loads `aushang.yaml`; prints every problem and returns `None` if there are any.
pub fn load_config(root: &Path) -> Option<Config> {
    match config::load(root) {
        Ok(c) => Some(c),
        Err(problems) => {
            eprint!("{}", render(&problems, Format::Human));
            None
        }
    }
}

/// Loads configuration and content; prints every problem and returns `None` if any is an error.
pub fn load_site(root: &Path) -> anyhow::Result<Option<(Config, SiteContent)>> {
    let Some(config) = load_config(root) else {
        return Ok(None);
    };
    let (site, problems) = content::load(
        &config,
        &LoadOptions {
            include_drafts: false,
        },
    );
    if !problems.is_empty() {
        eprint!("{}", render(&problems, Format::Human));
    }
    if problems.iter().any(|p| p.is_error()) {
        return Ok(None);
    }
    Ok(Some((config, site)))
}

/// `--now` as given, in the site's time zone, or the current instant.
pub fn parse_now(now: Option<&str>, config: &Config) -> anyhow::Result<jiff::Timestamp> {
    match now {
        None => Ok(jiff::Timestamp::now()),
        Some(s) => content::parse_time(s, &config.timezone)
            .map_err(|e| anyhow::anyhow!("--now `{s}`: {e}")),
    }
}
pub mod subscribers;
