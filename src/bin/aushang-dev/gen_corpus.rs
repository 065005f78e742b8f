//! `aushang-dev gen-corpus`: writes a generated notice site for benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use aushang::devtools::corpus::{self, CorpusOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The new site folder (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// How many notices.
    #[arg(long)]
    notices: usize,
    /// The same seed gives the same site.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let r = corpus::generate(
        &args.out,
        &CorpusOptions {
            notices: args.notices,
            seed: args.seed,
        },
    )?;
    println!(
        "wrote {} notices ({} drafts, {} scheduled after {}) in {} files, {} bytes, into {}",
        r.notices,
        r.drafts,
        r.scheduled,
        corpus::CORPUS_NOW,
        r.files,
        r.bytes,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
