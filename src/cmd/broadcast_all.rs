//! `aushang broadcast --channel all`: claim, send or check every real channel aushang.yaml
//! configures in one call, so the pipeline needs no list of channels of its own.

use std::process::ExitCode;

use aushang::broadcast::claim;
use aushang::broadcast::report::append_step_summary;
use aushang::broadcast::run::{BroadcastOptions, broadcast, real_channels};
use aushang::config::Config;
use aushang::content::Notice;
use aushang::providers::select::choose_deliverer;
use jiff::Timestamp;

use super::Args;

pub fn run(
    config: &Config,
    notices: &[Notice],
    args: Args,
    now: Timestamp,
) -> anyhow::Result<ExitCode> {
    let channels = real_channels(config);
    if channels.is_empty() {
        // A town with only the outbox (`aushang init --channel outbox`): a notice, not an error.
        println!(
            "Hinweis: aushang.yaml richtet keinen echten Kanal ein (whatsapp, email, telegram, \
             mastodon): nichts zu senden; `aushang publish` schreibt die Vorschau nach outbox/"
        );
        return Ok(if args.claim.is_some() {
            ExitCode::from(3)
        } else {
            ExitCode::SUCCESS
        });
    }
    // Every configured channel must be able to send (its secret set): a missing one fails the
    // whole call before anything is claimed or sent, never a silent skip of that channel.
    // (`--mark-sent` sends nothing and needs none.)
    let secrets = super::secrets();
    let problems: Vec<String> = channels
        .iter()
        .filter(|_| !args.mark_sent)
        .filter_map(|ch| choose_deliverer(config, Some(ch), &secrets).err())
        .map(|e| format!("{e:#}"))
        .collect();
    if !problems.is_empty() {
        anyhow::bail!(
            "--channel all: nicht jeder eingerichtete Kanal kann senden, daher wurde nichts \
             übernommen oder gesendet:\n  {}",
            problems.join("\n  ")
        );
    }
    let opts = |ch: &str| BroadcastOptions {
        now,
        channel: Some(ch.to_string()),
        mark_sent: args.mark_sent,
        resend_uncertain: args.resend_uncertain,
        accept_uncertain: args.accept_uncertain,
        link_check: !args.no_link_check,
        run: args.run.clone(),
        secrets: secrets.clone(),
    };
    if let Some(run) = &args.claim {
        let (mut claimed, mut uncertain, mut over_budget) = (0, 0, false);
        for ch in &channels {
            let report = claim::claim(config, notices, &opts(ch), run)?;
            print!("{}", report.to_text());
            claimed += report.claimed();
            uncertain += report.uncertain();
            if let Some(lines) = aushang::broadcast::budget::claim_notice(&report) {
                if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
                    print!("{}", lines.annotations);
                }
                append_step_summary(&lines.markdown);
                over_budget = true;
            }
        }
        return Ok(ExitCode::from(claim::exit_status(
            claimed,
            uncertain,
            over_budget,
        )));
    }
    // Sending: one channel's failure does not keep the others' claimed messages back.
    let (mut ok, mut over_budget) = (true, false);
    for ch in &channels {
        match broadcast(config, notices, &opts(ch)) {
            Ok(report) => {
                print!("{}", report.to_text());
                if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
                    print!("{}", report.annotations());
                }
                append_step_summary(&report.to_markdown());
                ok &= report.success();
                over_budget |= report.deferred_by_budget() > 0;
            }
            Err(e) => {
                eprintln!("Fehler: {ch}: {e:#}");
                ok = false;
            }
        }
    }
    Ok(if ok && over_budget {
        ExitCode::from(5)
    } else if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
