//! `aushang new` (not written yet).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_root: &Path, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`aushang new` is not implemented yet")
}
