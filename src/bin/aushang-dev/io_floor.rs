//! `aushang-dev io-floor`: the benchmark's I/O floor, see `aushang::devtools::io_floor`.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to read completely.
    #[arg(long, required = true)]
    input: Vec<PathBuf>,
    /// `<size> <relative path>` per line: the files to write.
    #[arg(long)]
    manifest: PathBuf,
    /// Folder to write them into.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let r = aushang::devtools::io_floor::run(&args.input, &args.manifest, &args.out)?;
    println!(
        "read {} files ({} bytes), wrote {} files ({} bytes)",
        r.files_read, r.bytes_read, r.files_written, r.bytes_written
    );
    Ok(ExitCode::SUCCESS)
}
