//! `aushang publish`: build the site, then broadcast — the whole job on one machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{load_site, parse_now};

#[derive(clap::Args)]
pub struct Args {
    /// The instant to publish for (default: now).
    #[arg(long)]
    pub now: Option<String>,
    /// Output folder of the site (default: public/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `whatsapp` or `outbox` (default: WhatsApp when configured and WHATSAPP_TOKEN is set).
    #[arg(long)]
    pub channel: Option<String>,
    /// Skip the check that each notice page answers 200 before sending.
    #[arg(long)]
    pub no_link_check: bool,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some((config, content)) = load_site(root)? else {
        return Ok(ExitCode::FAILURE);
    };
    let now = parse_now(args.now.as_deref(), &config)?;
    let out_dir = args.out.unwrap_or_else(|| config.root.join("public"));
    let build = aushang::site::build(
        &config,
        &content,
        &aushang::site::BuildOptions { out_dir: out_dir.clone(), now, include_drafts: false },
    )?;
    eprintln!("built {} pages into {}", build.pages_written, out_dir.display());
    let opts = aushang::broadcast::run::BroadcastOptions {
        now,
        channel: args.channel,
        mark_sent: false,
        resend_uncertain: false,
        link_check: !args.no_link_check,
    };
    let report = aushang::broadcast::run::broadcast(&config, &content.notices, &opts)?;
    print!("{}", report.to_text());
    aushang::broadcast::report::append_step_summary(&report.to_markdown());
    Ok(if report.success() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
