//! `aushang migrate`: upgrades the site's persisted formats in place (see `aushang::town::migrate`).

use std::path::Path;
use std::process::ExitCode;

use aushang::subscribers::{Identity, StoreError};
use aushang::town::migrate::{self, Step};

#[derive(clap::Args)]
pub struct Args {
    /// Nur sagen, was sich ändern würde; Exit-Code 1, wenn sich etwas ändern würde.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let _lock = if args.dry_run {
        None
    } else {
        Some(aushang::lock::SiteLock::wait(
            root,
            std::time::Duration::from_secs(30),
        )?)
    };
    // The key is optional: without it the list is reported as not checked, the rest still runs.
    let identity = match Identity::from_env_for(&root.join("subscribers")) {
        Ok(id) => Some(id),
        Err(StoreError::MissingIdentity { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let steps = migrate::run(root, identity.as_ref(), args.dry_run)?;
    print!("{}", migrate::describe(&steps, args.dry_run));
    let pending = steps
        .iter()
        .any(|s| matches!(s, Step::Changed { .. } | Step::Manual { .. }));
    Ok(if args.dry_run && pending {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
