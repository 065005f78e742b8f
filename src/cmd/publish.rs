//! `aushang publish`: build the site, apply the inbox's events (when an inbox is configured and
//! its pull token is in the environment), then broadcast — the whole job on one machine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{load_site, parse_now};

#[derive(clap::Args)]
pub struct Args {
    /// Der Zeitpunkt der Veröffentlichung (Standard: jetzt).
    #[arg(long)]
    pub now: Option<String>,
    /// Ausgabeordner der Website (Standard: public/).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Ein Kanal: `whatsapp`, `email`, `telegram`, `mastodon` oder `outbox` (Standard: WhatsApp,
    /// wenn eingerichtet und WHATSAPP_TOKEN gesetzt ist; alle Kanäle auf einmal sendet
    /// `aushang broadcast --channel all`).
    #[arg(long)]
    pub channel: Option<String>,
    /// Vor dem Senden nicht prüfen, ob jede Seite einer Bekanntmachung erreichbar ist (200).
    #[arg(long)]
    pub no_link_check: bool,
}

pub fn run(root: &Path, args: Args) -> anyhow::Result<ExitCode> {
    let Some((config, content)) = load_site(root)? else {
        return Ok(ExitCode::FAILURE);
    };
    let now = parse_now(args.now.as_deref(), &config)?;
    let out_dir = args.out.unwrap_or_else(|| config.root.join("public"));
    let options = aushang::site::BuildOptions {
        out_dir: out_dir.clone(),
        now,
        include_drafts: false,
    };
    let build = match aushang::site::build(&config, &content, &options) {
        Ok(report) => report,
        Err(aushang::site::BuildError::Problems(problems)) => {
            let text = aushang::diagnostics::render(&problems, aushang::diagnostics::Format::Human);
            eprint!("{text}");
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => anyhow::bail!(e),
    };
    eprintln!(
        "{} Seiten nach {} gebaut",
        build.pages_written,
        out_dir.display()
    );
    // Before sending, so a STOP the inbox received since the last run is honoured by this one.
    if let Some(outcome) = inbox_pull(&config, now)? {
        eprintln!("{outcome}");
    }
    let opts = aushang::broadcast::run::BroadcastOptions {
        run: None,
        now,
        channel: args.channel,
        mark_sent: false,
        resend_uncertain: false,
        accept_uncertain: false,
        link_check: !args.no_link_check,
        secrets: super::broadcast::secrets(),
    };
    let report = aushang::broadcast::run::broadcast(&config, &content.notices, &opts)?;
    print!("{}", report.to_text());
    aushang::broadcast::report::append_step_summary(&report.to_markdown());
    Ok(if report.success() && report.deferred_by_budget() > 0 {
        ExitCode::from(5)
    } else if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Pulls the inbox's events before the broadcast. `Ok(None)`: no inbox configured. Without the
/// pull token (a fresh clone, the example site) the pull is skipped with a notice; with it, a
/// failed pull stops the run before anything is sent, because the list might still hold
/// someone who wrote STOP.
fn inbox_pull(
    config: &aushang::config::Config,
    now: jiff::Timestamp,
) -> anyhow::Result<Option<String>> {
    use anyhow::Context;
    let Some(inbox) = &config.inbox else {
        return Ok(None);
    };
    let token = std::env::var(aushang::inbox::PULL_TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let Some(pull_token) = token else {
        return Ok(Some(format!(
            "Hinweis: ein Posteingang ist eingestellt ({}), aber {} ist in dieser Umgebung nicht gesetzt: \
             der Abruf entfällt (Anmeldungen und STOP/START warten im Posteingang auf einen Lauf mit Token)",
            inbox.url,
            aushang::inbox::PULL_TOKEN_ENV
        )));
    };
    let identity = aushang::subscribers::Identity::from_env_for(&config.root.join("subscribers"))
        .context("der Abruf aus dem Posteingang braucht den Schlüssel der Liste")?;
    let whatsapp_token = std::env::var(aushang::providers::whatsapp::TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let report = aushang::inbox::pull::pull(
        config,
        &identity,
        &aushang::inbox::pull::PullOptions {
            url: inbox.url.clone(),
            pull_token,
            whatsapp_token,
            now,
            defer_ack: None,
        },
    )
    .context(
        "der Abruf aus dem Posteingang ist fehlgeschlagen, deshalb wurde nichts versandt (ein STOP kann im Posteingang warten)",
    )?;
    let mut text = report.to_text();
    // As `scripts/pipeline inbox-pull` does: ask again whoever's confirmation request was lost,
    // with `aushang inbox confirm --resend`'s defaults. A failure here must not hold back the
    // notices, so it is reported, not raised.
    if inbox.confirmation_template.is_some() {
        let opts = aushang::inbox::confirm::ResendOptions {
            older_than: jiff::SignedDuration::from_hours(48),
            every: jiff::SignedDuration::from_hours(7 * 24),
            max_resends: 2,
            whatsapp_token: std::env::var(aushang::providers::whatsapp::TOKEN_ENV)
                .ok()
                .filter(|t| !t.trim().is_empty()),
            dry_run: false,
            now,
        };
        match aushang::inbox::confirm::resend(config, &identity, &opts) {
            Ok(r) => text.push_str(&r.to_text()),
            Err(e) => text.push_str(&format!(
                "Warnung: erneutes Senden der Bestätigungsanfragen: {e:#}\n"
            )),
        }
    }
    Ok(Some(text.trim_end().to_string()))
}
