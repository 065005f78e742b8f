//! `aushang build` (not written yet).

use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_root: &Path, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`aushang build` is not implemented yet")
}
