//! One file per subcommand; each parses nothing itself and lets the library do the work.

pub mod broadcast;
pub mod build;
pub mod check;
pub mod help;
pub mod inbox;
pub mod init;
pub mod migrate;
pub mod new;
pub mod publish;
pub mod report;
pub mod serve;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aushang::config::{self, Config};
use aushang::content::{self, LoadOptions, SiteContent};
use aushang::diagnostics::{Format, render};

/// `--state DIR` (or `AUSHANG_STATE_DIR`), set once by `main` before any command runs.
static STATE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Records where the subscriber state lives when it is not `<root>/subscribers` (`--state`).
pub fn set_state_dir(dir: Option<PathBuf>) {
    if let Some(dir) = dir {
        let _ = STATE_DIR.set(dir);
    }
}

/// The subscriber state directory: `--state`, else `<root>/subscribers`.
pub fn subscribers_dir(root: &Path) -> PathBuf {
    STATE_DIR
        .get()
        .cloned()
        .unwrap_or_else(|| root.join("subscribers"))
}

/// `aushang.yaml` with `--state` applied: every command loads its configuration through here.
pub fn read_config(root: &Path) -> Result<Config, Vec<aushang::diagnostics::Problem>> {
    config::load(root).map(|mut c| {
        c.state_dir = STATE_DIR.get().cloned();
        c
    })
}

/// Loads `aushang.yaml`; prints every problem and returns `None` if there are any.
pub fn load_config(root: &Path) -> Option<Config> {
    match read_config(root) {
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
