//! `aushang broadcast`: send every due notice to its subscribers, exactly once.

use std::path::Path;
use std::process::ExitCode;

use aushang::broadcast::report::append_step_summary;
use aushang::broadcast::run::{BroadcastOptions, broadcast, dry_run};
use aushang::broadcast::{claim, due};
use aushang::providers::secrets::Secrets;

use super::{load_site, parse_now};

#[path = "broadcast_all.rs"]
mod all;

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
    /// `whatsapp`, `email`, `telegram`, `mastodon`, `outbox`, or `all`: every real channel
    /// aushang.yaml configures, each with its secret (a missing one fails before anything is
    /// claimed or sent) (default: WhatsApp when configured and WHATSAPP_TOKEN is set; the others
    /// only when named).
    #[arg(long)]
    pub channel: Option<String>,
    /// Skip the check that each notice page answers 200 before sending.
    #[arg(long)]
    pub no_link_check: bool,
    /// Resend to recipients whose earlier delivery has an unknown outcome (may duplicate).
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Write-ahead: record in the journal who run RUN is about to send to, send nothing. Exit
    /// 0: something claimed; 3: nothing due; 4: nothing claimed but uncertain deliveries wait.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["dry_run", "mark_sent", "run", "due"])]
    pub claim: Option<String>,
    /// Send only to what `--claim RUN` claimed; release the rest afterwards.
    #[arg(long, value_name = "RUN", conflicts_with_all = ["dry_run", "mark_sent", "due", "accept_uncertain", "resend_uncertain"])]
    pub run: Option<String>,
    /// Whether a broadcast run has anything to do, from content and journal only (no key, no
    /// token): prints `due=true` or `due=false`.
    #[arg(long, conflicts_with_all = ["dry_run", "mark_sent"])]
    pub due: bool,
    /// With --due: also whether the site changed since this instant (the last deploy): prints
    /// `site_due=true` when a publish_at, expires or update date passed since.
    #[arg(long, requires = "due", value_name = "INSTANT")]
    pub site_since: Option<String>,
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
    if args.due {
        let mut report = due::due(&config, &content.notices, now)?;
        if let Some(since) = &args.site_since {
            let since = parse_now(Some(since), &config)?;
            report.site_changes = Some(due::site_changes(&content.notices, since, now));
        }
        print!("{}", report.to_text());
        return Ok(ExitCode::SUCCESS);
    }
    if args.dry_run {
        let preview = dry_run(&config, &content.notices, now)?;
        print!("{preview}");
        append_step_summary(&preview);
        return Ok(ExitCode::SUCCESS);
    }
    if args.channel.as_deref() == Some("all") {
        return all::run(&config, &content.notices, args, now);
    }
    let opts = BroadcastOptions {
        now,
        channel: args.channel,
        mark_sent: args.mark_sent,
        resend_uncertain: args.resend_uncertain,
        accept_uncertain: args.accept_uncertain,
        link_check: !args.no_link_check,
        run: args.run,
        secrets: secrets(),
    };
    if let Some(run) = &args.claim {
        let claimed = claim::claim(&config, &content.notices, &opts, run)?;
        print!("{}", claimed.to_text());
        return Ok(match (claimed.claimed(), claimed.uncertain()) {
            (0, 0) => ExitCode::from(3),
            (0, _) => ExitCode::from(4),
            _ => ExitCode::SUCCESS,
        });
    }
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

/// The providers' secrets from the environment: the one place a broadcast reads them.
pub(super) fn secrets() -> Secrets {
    Secrets::from_lookup(|name| std::env::var(name).ok())
}
