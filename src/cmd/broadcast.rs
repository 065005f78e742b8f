//! `aushang broadcast`: send every due notice to its subscribers, exactly once.

use std::path::Path;
use std::process::ExitCode;

use aushang::broadcast::report::append_step_summary;
use aushang::broadcast::run::{BroadcastOptions, broadcast, dry_run};

use super::{load_site, parse_now};

#[derive(clap::Args)]
pub struct Args {
    /// Print the exact messages and recipient counts; send nothing (no key needed).
    #[arg(long)]
    pub dry_run: bool,
    /// Record every due notice as sent without sending (first set-up of a site with history).
    #[arg(long, conflicts_with = "dry_run")]
    pub mark_sent: bool,
    /// The instant to plan for (default: now), e.g. "2026-11-28 09:30".
    #[arg(long)]
    pub now: Option<String>,
    /// `whatsapp`, `email`, `telegram`, `mastodon` or `outbox` (default: WhatsApp when
    /// configured and WHATSAPP_TOKEN is set; the others only when named).
    #[arg(long)]
    pub channel: Option<String>,
    /// Skip the check that each notice page answers 200 before sending.
    #[arg(long)]
    pub no_link_check: bool,
    /// Resend to recipients whose earlier delivery has an unknown outcome (may duplicate).
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Record deliveries with an unknown outcome as delivered (`accepted`, without proof) and
    /// send nothing to them; then send the rest as usual.
    #[arg(long, conflicts_with_all = ["resend_uncertain", "dry_run", "mark_sent"])]
    pub accept_uncertain: bool,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some((config, content)) = load_site(root)? else {
        return Ok(ExitCode::FAILURE);
    };
    let now = parse_now(args.now.as_deref(), &config)?;
    if args.dry_run {
        let preview = dry_run(&config, &content.notices, now)?;
        print!("{preview}");
        append_step_summary(&preview);
        return Ok(ExitCode::SUCCESS);
    }
    let opts = BroadcastOptions {
        now,
        channel: args.channel,
        mark_sent: args.mark_sent,
        resend_uncertain: args.resend_uncertain,
        accept_uncertain: args.accept_uncertain,
        link_check: !args.no_link_check,
    };
    let report = broadcast(&config, &content.notices, &opts)?;
    print!("{}", report.to_text());
    if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
        print!("{}", report.annotations());
    }
    append_step_summary(&report.to_markdown());
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
