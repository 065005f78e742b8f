//! `aushang new "Titel"`: writes a new notice file with every front-matter field explained.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use aushang::content::template;

#[derive(clap::Args)]
pub struct Args {
    /// Der Titel der Bekanntmachung, z. B. "Straßensperrung in der Hönnestraße".
    title: String,
    /// Kategorie-Kennung aus aushang.yaml, z. B. verkehr.
    #[arg(long, short)]
    category: Option<String>,
    /// Pretend it is this time (for tests), e.g. 2026-11-28 09:30.
    #[arg(long, hide = true)]
    now: Option<String>,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some(config) = super::load_config(root) else {
        return Ok(ExitCode::FAILURE);
    };
    let now = super::parse_now(args.now.as_deref(), &config)?;
    let new = template::new_notice(&config, &args.title, args.category.as_deref(), now)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let full = root.join(&new.file);
    let dir = full.parent().expect("notice files live in a folder");
    std::fs::create_dir_all(dir)?;
    // Written to a temporary file and moved into place without replacing an existing notice.
    let mut tmp = tempfile::Builder::new()
        .prefix(".aushang-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(new.text.as_bytes())?;
    tmp.as_file().sync_all()?;
    if let Err(e) = tmp.persist_noclobber(&full) {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::bail!(
                "{} gibt es schon; wählen Sie einen anderen Titel oder bearbeiten Sie die vorhandene Datei",
                new.file.display()
            );
        }
        return Err(e.error.into());
    }
    println!("{}", new.file.display());
    Ok(ExitCode::SUCCESS)
}
